"""Analytics of the delegation graph of a scope chain, for the graph view and
for organizers: who carries how many votes, the longest chains, the cycles
that swallow votes, and how concentrated delegated power is.

Plain values out (dataclasses with `as_dict()` ready for JSON). Integers only: the
concentration is an exact fraction plus its floor in per-mille.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .fast import resolve, resolve_arrays
from .model import Counts, Electorate
from .resolve import compile_electorate


@dataclass(frozen=True, slots=True)
class Chain:
    """A maximal delegation chain: it starts at a member nobody delegates to
    and follows effective delegations; `length` counts the hops, `path` holds
    the keys (at most `path_limit` of them, `truncated` says if cut)."""

    length: int
    path: tuple[str, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Concentration:
    """Share of delegated votes carried by the top 1% of delegates (direct
    voters who carry at least one other vote; top = one per hundred delegates, rounded up).
    The share is `carried / delegated` exactly; `per_mille` is its floor."""

    delegates: int
    top: int
    carried: int
    delegated: int
    per_mille: int


@dataclass(frozen=True, slots=True)
class GraphReport:
    edges: tuple[tuple[str, str], ...]
    weights: dict[str, int]
    largest: tuple[tuple[str, int], ...]
    longest: tuple[Chain, ...]
    cycles: tuple[tuple[str, ...], ...]
    concentration: Concentration
    counts: Counts

    def as_dict(self) -> dict[str, object]:
        c = self.concentration
        return {
            "edges": [list(e) for e in self.edges],
            "weights": dict(self.weights),
            "largest": [{"member": k, "weight": w} for k, w in self.largest],
            "longest": [{"length": ch.length, "path": list(ch.path), "truncated": ch.truncated} for ch in self.longest],
            "cycles": [list(cy) for cy in self.cycles],
            "concentration": {
                "delegates": c.delegates,
                "top": c.top,
                "carried": c.carried,
                "delegated": c.delegated,
                "per_mille": c.per_mille,
            },
            "counts": self.counts.as_dict(),
        }


def effective_edges(e: Electorate) -> list[tuple[str, str]]:
    """Delegations that take effect for the chain: from each active member
    without a ballot (a direct vote overrides) to an active target, in member
    order. Settings to expelled members are left out: those votes stop there."""
    c = compile_electorate(e)
    m = c.members
    return [(m[i], m[t]) for i, t in enumerate(c.target) if t >= 0 and c.choice[i] < 0]


def _hops(targets: dict[str, str]) -> dict[str, int]:
    """Hops each member's chain makes before it stops or repeats a member,
    computed iteratively with memoisation (chains may be very long)."""
    hops: dict[str, int] = {}
    for start in targets:
        if start in hops:
            continue
        path: list[str] = []
        pos: dict[str, int] = {}
        k = start
        while k in targets and k not in hops and k not in pos:
            pos[k] = len(path)
            path.append(k)
            k = targets[k]
        if k in pos:  # a cycle: its members all make len(cycle) hops
            entry = pos[k]
            for m in path[entry:]:
                hops[m] = len(path) - entry
            path = path[:entry]
            base = hops[k]
        else:
            base = hops.get(k, 0)
        for d, m in enumerate(reversed(path), 1):
            hops[m] = base + d
    return hops


def analyse(e: Electorate, *, top: int = 10, path_limit: int = 1000) -> GraphReport:
    """Analytics of `e` (pass empty ballots for a scope with no motion).
    Raises ElectorateError like `compile_electorate`, ValueError if `top` or
    `path_limit` is negative."""
    if top < 0 or path_limit < 0:
        raise ValueError(f"top={top}, path_limit={path_limit}, want both >= 0")
    edges = effective_edges(e)
    targets = dict(edges)
    g = nx.DiGraph(edges)
    r = resolve(e)
    weights = r.weights()
    largest = tuple(sorted(weights.items(), key=lambda kw: (-kw[1], kw[0]))[:top])

    hops = _hops(targets)
    starts = [k for k in targets if g.in_degree(k) == 0]
    starts.sort(key=lambda k: (-hops[k], k))
    longest = []
    for s in starts[:top]:
        path, k = [s], s
        while len(path) < min(hops[s] + 1, path_limit) and k in targets:
            k = targets[k]
            path.append(k)
        longest.append(Chain(hops[s], tuple(path), hops[s] + 1 > len(path)))

    cycles = []
    for cy in nx.simple_cycles(g):
        i = cy.index(min(cy))
        cycles.append(tuple(cy[i:] + cy[:i]))
    cycles.sort()

    carried_each = sorted((w - 1 for w in weights.values() if w > 1), reverse=True)
    delegates = len(carried_each)
    n_top = -(-delegates // 100)
    carried = sum(carried_each[:n_top])
    delegated = r.counts.delegated
    per_mille = carried * 1000 // delegated if delegated else 0
    conc = Concentration(delegates, n_top, carried, delegated, per_mille)
    return GraphReport(tuple(edges), weights, largest, tuple(longest), tuple(cycles), conc, r.counts)


def analyse_arrays(
    members: Sequence[str], target: np.ndarray, choice: np.ndarray, *, top: int = 10, path_limit: int = 1000
) -> GraphReport:
    """`analyse` on an indexed electorate, in NumPy: ``target`` and
    ``choice`` as `compile_arrays` gives them for ``members`` (or as a
    live resolution holds them), the same report as `analyse` of that
    electorate (test_delegation_properties.py holds the two together).
    O(N log N) array work (pointer doubling for the hops) plus Python work
    in the size of the answer (edges, weights, cycles), where `analyse`
    builds a networkx graph: 0.7 s at 10^5 members. Raises ValueError
    like `analyse`, ElectorateError like `resolve_arrays`."""
    if top < 0 or path_limit < 0:
        raise ValueError(f"top={top}, path_limit={path_limit}, want both >= 0")
    target = np.asarray(target, dtype=np.int64)
    choice = np.asarray(choice, dtype=np.int8)
    _, carrier, counts = resolve_arrays(target, choice)
    n = len(members)
    idx = np.arange(n, dtype=np.int64)
    eff = (choice < 0) & (target >= 0)
    src = np.flatnonzero(eff)
    dst = target[src]
    key = members.__getitem__
    edges = tuple(zip(map(key, src.tolist()), map(key, dst.tolist()), strict=True))

    w = np.bincount(carrier[carrier >= 0], minlength=n) if n else np.zeros(0, dtype=np.int64)
    voters = np.flatnonzero(w)
    weights = dict(zip(map(key, voters.tolist()), w[voters].tolist(), strict=True))
    largest = tuple((members[i], v) for i, v in _heaviest(members, voters, w[voters], top))

    # The cycles: where 2^k >= n effective steps land, among members that
    # still have an effective edge there, are exactly the cycles' members.
    nxt = np.where(eff, target, idx)
    ptr = nxt.copy()
    for _ in range(max(n, 1).bit_length() + 1):
        ptr = ptr[ptr]
    on_cycle = np.zeros(n, dtype=bool)
    on_cycle[ptr[eff[ptr]]] = True
    cyclen = np.zeros(n, dtype=np.int64)
    cycles = []
    nxt_list = nxt.tolist()
    for start in np.flatnonzero(on_cycle).tolist():
        if cyclen[start]:
            continue
        cy, k = [start], nxt_list[start]
        while k != start:
            cy.append(k)
            k = nxt_list[k]
        cyclen[cy] = len(cy)
        names = [members[i] for i in cy]
        first = names.index(min(names))
        cycles.append(tuple(names[first:] + names[:first]))
    cycles.sort()

    # Hops: to the end of the chain, plus the cycle's length for a chain
    # that ends on one (as `_hops`), by pointer doubling with distances.
    tree = eff & ~on_cycle
    ptr = np.where(tree, target, idx)
    dist = tree.astype(np.int64)
    for _ in range(max(n, 1).bit_length() + 1):
        dist = dist + dist[ptr]
        ptr = ptr[ptr]
    hops = np.where(on_cycle, cyclen, dist + cyclen[ptr])
    indeg = np.bincount(dst, minlength=n) if n else np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(eff & (indeg == 0))
    longest = []
    for i, h in _heaviest(members, starts, hops[starts], top):
        path, k = [i], i
        while len(path) < min(h + 1, path_limit) and eff[k]:
            k = nxt_list[k]
            path.append(k)
        longest.append(Chain(h, tuple(members[j] for j in path), h + 1 > len(path)))

    carried_each = sorted((x - 1 for x in weights.values() if x > 1), reverse=True)
    delegates = len(carried_each)
    n_top = -(-delegates // 100)
    carried = sum(carried_each[:n_top])
    delegated = counts.delegated
    per_mille = carried * 1000 // delegated if delegated else 0
    conc = Concentration(delegates, n_top, carried, delegated, per_mille)
    return GraphReport(edges, weights, largest, tuple(longest), tuple(cycles), conc, counts)


def _heaviest(members: Sequence[str], at: np.ndarray, values: np.ndarray, top: int) -> list[tuple[int, int]]:
    """(position, value) of the ``top`` largest ``values`` (of the members
    at positions ``at``), largest first, then by key: a partial selection,
    then a sort of those at least as large as the top-th."""
    if len(at) > top:
        if top == 0:
            return []
        kth = np.partition(values, len(values) - top)[len(values) - top]
        keep = values >= kth
        at, values = at[keep], values[keep]
    pairs = sorted(zip(at.tolist(), values.tolist(), strict=True), key=lambda p: (-p[1], members[p[0]]))
    return pairs[:top]
