"""Properties of delegation resolution, checked by hypothesis against a naive
reference written here from the rules (a per-member walk with a visited set),
plus a 1,000,000-long chain to show that nothing recurses."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import Electorate, analyse, analyse_arrays, compile_arrays, resolve, resolve_reference, vote_path

CHAIN = ["motion:M", "topic:T", "topic:P", "*"]
SCOPES = CHAIN + ["topic:Q"]
CHOICES = ["yes", "no", "abstain"]


def naive(e: Electorate) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """member -> (outcome, carrier, path of members visited), straight from
    the rules, with no memoisation and no cleverness."""
    active = set(e.members)
    ballots = {m: c for m, c in e.ballots.items() if m in active}

    def setting(m):
        for s in e.chain:
            if s in e.settings.get(m, {}):
                return e.settings[m][s]
        return None

    out = {}
    for m in e.members:
        if m in ballots:
            out[m] = (ballots[m], m, (m,))
            continue
        seen, path, cur, result = {m}, [m], m, None
        while result is None:
            t = setting(cur)
            if t is None or t == "self":
                result = ("absent" if cur == m else "dead_end", None)
            elif t not in active:
                result = ("dead_end", None)
            elif t in seen:
                result = ("cycle", None)
            elif t in ballots:
                path.append(t)
                result = (ballots[t], t)
            else:
                seen.add(t)
                path.append(t)
                cur = t
        out[m] = (*result, tuple(path))
    return out


@st.composite
def electorates(draw):
    n = draw(st.integers(0, 14))
    members = [f"{i:064x}" for i in range(n)]
    expelled = [f"{i + 100:064x}" for i in range(draw(st.integers(0, 3)))]
    people = members + expelled
    targets = st.sampled_from(people + ["self"]) if people else st.just("self")
    settings = {}
    for m in people:
        s = draw(st.dictionaries(st.sampled_from(SCOPES), targets, max_size=3))
        if s:
            settings[m] = s
    ballots = {m: draw(st.sampled_from(CHOICES)) for m in people if draw(st.booleans())}
    return Electorate(members, CHAIN, settings, ballots)


def labels(r, e):
    return {m: (r.outcome_of(m), r.carrier_of(m)) for m in e.members}


@settings(max_examples=250, deadline=None)
@given(electorates())
def test_engines_match_naive_reference(e):
    want = naive(e)
    for engine in (resolve, resolve_reference):
        r = engine(e)
        assert labels(r, e) == {m: (o, c) for m, (o, c, _) in want.items()}
        c = r.counts
        assert c.yes + c.no + c.abstain + c.dead_end + c.cycle + c.absent == c.members == len(e.members)
        assert c.delegated == c.yes + c.no + c.abstain - c.direct
        assert sum(r.weights().values()) == c.yes + c.no + c.abstain
    for m in e.members:
        assert vote_path(e, m).outcome == want[m][0]


@settings(max_examples=100, deadline=None)
@given(electorates(), st.randoms(use_true_random=False))
def test_member_order_changes_nothing(e, rnd):
    shuffled = list(e.members)
    rnd.shuffle(shuffled)
    e2 = Electorate(shuffled, e.chain, e.settings, e.ballots)
    assert labels(resolve(e), e) == labels(resolve(e2), e)
    assert resolve(e).counts == resolve(e2).counts


@settings(max_examples=150, deadline=None)
@given(electorates(), st.data())
def test_voting_directly_only_changes_chains_through_the_voter(e, data):
    quiet = [m for m in e.members if m not in e.ballots]
    if not quiet:
        return
    m = data.draw(st.sampled_from(quiet))
    before = naive(e)
    e2 = Electorate(e.members, e.chain, e.settings, {**e.ballots, m: data.draw(st.sampled_from(CHOICES))})
    after = labels(resolve(e2), e2)
    for k, (o, c, path) in before.items():
        if m not in path:
            assert after[k] == (o, c)


def test_million_long_chain_does_not_recurse():
    n = 1_000_000
    members = [f"{i:064x}" for i in range(n)]
    settings = {members[i]: {"*": members[i + 1]} for i in range(n - 1)}
    e = Electorate(members, CHAIN, settings, {members[-1]: "yes"})
    for engine in (resolve, resolve_reference):
        c = engine(e).counts
        assert (c.yes, c.direct, c.delegated) == (n, 1, n - 1)


def test_long_voterless_loop():
    n = 100_000
    members = [f"{i:064x}" for i in range(n)]
    settings = {members[i]: {"*": members[(i + 1) % n]} for i in range(n)}
    e = Electorate(members, CHAIN, settings, {})
    assert resolve(e).counts.cycle == resolve_reference(e).counts.cycle == n
    p = vote_path(e, members[0])
    assert len(p.path) == n + 1 and p.path[-1] == members[0] and p.outcome == "cycle"


def test_graph_analytics():
    k = [f"{i:064x}" for i in range(210)]
    s = {
        k[1]: {"*": k[0]},
        k[2]: {"*": k[1]},
        k[3]: {"*": k[0]},  # 2->1->0, 3->0
        k[4]: {"*": k[5]},
        k[5]: {"*": k[6]},
        k[6]: {"*": k[4]},  # cycle 4,5,6
        k[7]: {"*": k[4]},
        k[8]: {"*": "f" * 64},
    }  # tail; expelled
    for i in range(10, 210):  # 200 members delegate to 9 one each ...
        s[k[i]] = {"*": k[9]} if i < 110 else {"*": k[i - 100]}  # ... or to 10..109
    e = Electorate(k, CHAIN, s, {k[0]: "yes", k[9]: "no"})
    g = analyse(e, top=2)
    assert g.cycles == ((k[4], k[5], k[6]),)
    assert g.largest == ((k[9], 201), (k[0], 4))
    assert g.longest[0].length == 4 and g.longest[0].path == (k[7], k[4], k[5], k[6], k[4])
    assert g.longest[1].length == 2
    # 2 delegates carry 200 + 3 delegated votes; the top 1% is one delegate.
    c = g.concentration
    assert (c.delegates, c.top, c.carried, c.delegated, c.per_mille) == (2, 1, 200, 203, 985)
    assert (k[8], "f" * 64) not in g.edges and (k[1], k[0]) in g.edges
    import json

    json.dumps(g.as_dict())


def test_graph_of_random_electorate_is_consistent():
    rnd = random.Random(5)
    k = [f"{i:064x}" for i in range(300)]
    s = {m: {"*": rnd.choice(k)} for m in k if rnd.random() < 0.7}
    e = Electorate(k, CHAIN, s, {m: "yes" for m in k if rnd.random() < 0.1})
    g = analyse(e, top=300)
    r = resolve_reference(e)
    assert g.weights == r.weights()
    assert sum(len(cy) for cy in g.cycles) <= r.counts.cycle
    assert all(ch.length + 1 == len(ch.path) for ch in g.longest)


def test_array_core_refuses_bad_arrays():
    import numpy as np
    import pytest

    from delegation import ElectorateError, resolve_arrays

    with pytest.raises(ElectorateError, match="bad_arrays"):
        resolve_arrays(np.array([0, 1]), np.array([-1]))
    with pytest.raises(ElectorateError, match="bad_arrays"):
        resolve_arrays(np.array([5]), np.array([-1]))
    outcome, carrier, counts = resolve_arrays(np.array([1, -1]), np.array([-1, 2]))
    assert (counts.abstain, counts.delegated, list(carrier)) == (2, 1, [1, 1])


@settings(max_examples=150, deadline=None)
@given(electorates(), st.integers(0, 4), st.integers(0, 6))
def test_array_analysis_equals_the_graph_analysis(e, top, path_limit):
    """`analyse_arrays` (NumPy, what the server answers `/api/graph` with)
    gives `analyse`'s report (networkx) to the last field."""
    _, target, choice = compile_arrays(e)
    got = analyse_arrays(e.members, target, choice, top=top, path_limit=path_limit)
    assert got == analyse(e, top=top, path_limit=path_limit)
    assert got.as_dict() == analyse(e, top=top, path_limit=path_limit).as_dict()


def test_array_analysis_of_a_long_chain_and_a_long_loop():
    n = 5_000
    k = [f"{i:064x}" for i in range(2 * n)]
    s = {k[i]: {"*": k[i + 1]} for i in range(n - 1)}  # a chain ending at a voter
    s.update({k[n + i]: {"*": k[n + (i + 1) % n]} for i in range(n)})  # a loop
    e = Electorate(k, CHAIN, s, {k[n - 1]: "yes"})
    _, target, choice = compile_arrays(e)
    assert analyse_arrays(k, target, choice) == analyse(e)
