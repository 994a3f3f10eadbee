"""The graph's kept and live answers (ballots.scope_power.PowerCache)
against the full ones, after every statement of random sequences of
enrolments, expulsions, delegation changes, ballots and motions folded in
through ballots.state.apply, as the box does (issue 14; docs/SPEC.md
section 9, "People"): the trees, the summary and the delegate picker equal
`ScopePower.build` from scratch, the `/api/graph` report (NumPy, from
the live resolution on an open motion) equals `delegation.analyse`'s
(networkx) on the electorate compiled from the state, and on a motion the figures equal those of
`delegation.analyse`'s weights. A ballot never rebuilds the trees of `*`
or of a topic."""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import delegation
from ballots import views
from ballots.closing import electorate
from ballots.people import delegates
from ballots.scope_power import PowerCache, ScopePower
from ballots.state import AssemblyState
from delegation.power import power_figures
from tests.test_delegation_live import Log, ops, random_op

SCOPES = ["*", "topic:T", "topic:P", "topic:Q", "motion:M", "motion:N"]


def same_trees(a: ScopePower, b: ScopePower) -> None:
    assert a.scope == b.scope and a.keys == b.keys
    for field in ("size", "up", "carrier"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.figures == b.figures


def analysed(state: AssemblyState, scope: str) -> dict[str, Any]:
    """The `/api/graph` report by `delegation.analyse` (networkx) on the
    electorate compiled from the state's settings and ballots: the
    reference of what the server answers (NumPy, from the live resolution
    on an open motion)."""
    if scope.startswith("motion:"):
        e = electorate(state, scope[len("motion:") :])
    else:
        active = [k for k, m in state.members.items() if m.active]
        e = delegation.Electorate(active, state.scope_chain(scope), state.settings, {})
    names = {k: state.members[k].name for k in e.members}
    return {**delegation.analyse(e).as_dict(), "scope": scope, "names": names, "as_of": None}


def check(cache: PowerCache, state: AssemblyState, report: str | None = None) -> None:
    """The kept trees of every scope against a full build; the kept
    `/api/graph` report of scope ``report`` against `views.graph`."""
    for scope in SCOPES:
        if scope == "motion:N" and "N" not in state.motions:
            continue
        full = ScopePower.build(state, scope)
        kept = cache.get(state, scope)
        same_trees(kept, full)
        # The summary's partial selection (kept, before the picker needs its
        # order) against the first members of the full order.
        assert full.order is not None
        for top in (1, 3):
            assert kept.summary(state, top) == full.summary(state, top)
        assert delegates(state, kept, "", 50) == delegates(state, full, "", 50)
        if scope.startswith("motion:"):
            weights = delegation.resolve(electorate(state, scope[len("motion:") :])).weights()
            assert kept.figures == power_figures(list(weights.values()), len(full.keys))
        if scope == report:
            want = analysed(state, scope)
            assert cache.report(state, scope) == want
            assert views.graph(state, scope) == want
            if scope.startswith("motion:"):  # analyse's weights are the resolution's
                assert delegation.analyse(electorate(state, scope[len("motion:") :])).weights == weights


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 12), ops)
def test_kept_and_live_trees_equal_the_full_ones_after_every_statement(members: int, sequence: list[Any]) -> None:
    log = Log(members)
    cache = PowerCache()
    check(cache, log.state, "*")
    for n, op in enumerate(sequence):
        before = {s: cache.get(log.state, s) for s in ("*", "topic:T")}
        graph_changed = log.state.graph_changed
        log.step(op)
        if log.state.graph_changed == graph_changed:  # a ballot, a motion, or nothing: kept as they were
            assert all(cache.get(log.state, s) is p for s, p in before.items())
        check(cache, log.state, SCOPES[n % len(SCOPES)])


def test_seeded_sequences_with_a_state_without_live_resolutions() -> None:
    """Longer seeded sequences; beside the live state, a copy without live
    resolutions (as ballots.closing sees one), whose motion trees are kept
    per log size and built in full."""
    rng = random.Random(14)
    for _ in range(6):
        log = Log(rng.randint(0, 10))
        cache, plain = PowerCache(), PowerCache()
        for n in range(50):
            log.step(random_op(rng))
            check(cache, log.state, SCOPES[n % len(SCOPES)])
            if n % 5 == 4:
                bare = copy.deepcopy(log.state)
                bare.live = None
                check(plain, bare)


def test_a_live_motion_is_not_resolved_again_and_a_ballot_moves_its_version() -> None:
    log = Log(4)
    cache = PowerCache()
    live = log.state.live
    assert live is not None
    first = cache.get(log.state, "motion:M")
    assert cache.get(log.state, "motion:M") is first  # nothing changed
    v = live.motions["M"].res.version
    log.step(("ballot", 1, "M", "yes"))
    assert live.motions["M"].res.version > v
    again = cache.get(log.state, "motion:M")
    assert again is not first and int(again.size[1]) == 1 and bool(again.carrier[1])
    star = cache.get(log.state, "*")
    log.step(("delegate", 2, "*", 1))  # a delegation: `*` is built again, and follows it
    assert cache.get(log.state, "*") is not star
    assert int(cache.get(log.state, "*").up[2]) == 1
    # Another state (a restore) drops what was kept, even at the same version.
    other = copy.deepcopy(log.state)
    assert cache.get(other, "*") is not cache.get(log.state, "*")
