"""Analytics of the delegation graph of a scope chain, for the graph view and
for organizers: who carries how many votes, the longest chains, the cycles
that swallow votes, and how concentrated delegated power is.

Plain values out (dataclasses with `as_dict()` ready for JSON). Integers only: the
concentration is an exact fraction plus its floor in per-mille.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .fast import resolve
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
