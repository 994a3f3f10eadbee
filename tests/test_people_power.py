"""`ballots.people.ScopePower` (the graph summary and the delegate picker's
weights) against the plain definition on random delegation graphs
(hypothesis): follow each member's vote with `delegation.vote_path`; a
carrier's weight is the number of votes that stop with them (docs/SPEC.md
section 9, "People"); the figures are those of these weights."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

import delegation
from ballots.people import ScopePower
from ballots.state import AssemblyState, Member
from delegation.power import power_figures
from vocabulary import SELF


def key(i: int) -> str:
    return f"{i + 1:064x}"


@st.composite
def assemblies(draw: st.DrawFn) -> AssemblyState:
    n = draw(st.integers(min_value=1, max_value=14))
    expelled = draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=max(0, n - 1)))
    members = {key(i): Member(key(i), f"m{i}", i not in expelled, i, f"{i:064x}") for i in range(n)}
    settings_: dict[str, dict[str, str]] = {}
    for i in range(n):
        to = draw(st.one_of(st.none(), st.just(SELF), st.integers(min_value=0, max_value=n - 1)))
        if to is None or to == i:
            continue
        settings_[key(i)] = {"*": to if to == SELF else key(to)}
    return AssemblyState(size=n, members=members, settings=settings_)


@settings(max_examples=120, deadline=None)
@given(assemblies())
def test_weights_and_figures_follow_the_vote_paths(state: AssemblyState) -> None:
    power = ScopePower.build(state, "*")
    active = [k for k, m in state.members.items() if m.active]
    e = delegation.Electorate(members=active, chain=["*"], settings=state.settings, ballots={})
    ends: Counter[str] = Counter()
    passes: Counter[str] = Counter()
    on_cycle = set()
    for k in active:
        p = delegation.vote_path(e, k)
        if str(p.reason) in ("no delegation", "self"):
            ends[p.path[-1]] += 1
        if p.outcome == "cycle" and p.path[-1] == k:
            on_cycle.add(k)
        passes.update(set(p.path) & set(active))
    carriers = {power.keys[i]: int(power.size[i]) for i in range(len(active)) if power.carrier[i]}
    assert carriers == dict(ends)
    for i, k in enumerate(power.keys):
        if k not in on_cycle:  # a cycle's members count only their own hanging trees
            assert int(power.size[i]) == passes[k]
    assert power.figures == power_figures(list(ends.values()), len(active))
    # `order` is every member once, heaviest first; `children` point back up.
    assert sorted(int(i) for i in power.order) == list(range(len(active)))
    sizes = [int(power.size[i]) for i in power.order]
    assert sizes == sorted(sizes, reverse=True)
    for i in range(len(active)):
        kids, total = power.children(i, len(active))
        assert total == len(kids) and all(int(power.up[j]) == i for j in kids)


@settings(max_examples=100, deadline=None)
@given(
    assemblies(),
    st.lists(st.sampled_from(["Ana", "anne", "Bo", "ÉLO", "élodie", "ß", "ss", ""]), min_size=14, max_size=14),
    st.sampled_from(["an", "AN", "é", "ss", "0001", "o", "zz"]),
    st.integers(min_value=1, max_value=5),
)
def test_the_search_index_finds_what_the_plain_scan_finds(
    state: AssemblyState, names: list[str], q: str, limit: int
) -> None:
    from ballots.people import NameIndex, delegates

    for m, name in zip(state.members.values(), names, strict=False):
        m.name = name
    power = ScopePower.build(state, "*")
    fast = delegates(state, power, q, limit, names=NameIndex.build(state, power))
    assert fast == delegates(state, power, q, limit)
    assert all(q.casefold() in (d["name"].casefold() + "\t" + d["key"]) for d in fast["delegates"])
