"""Power in a scope, for the graph at any size and the delegate picker
(issue 14; docs/SPEC.md section 9, "People"): the delegation trees of a
scope (`ScopePower`), a search string over its members (`NameIndex`), and
the server's cache of both (`PowerCache`).

A scope's trees are O(N) NumPy work. They change rarely, so they are kept:
the trees of `*` and `topic:` scopes depend only on who the members are and
whom they delegate to, so they are kept until an enrolment, an expulsion or
a delegation arrives (`AssemblyState.graph_changed`), whatever the ballots,
comments or reports in between. An open motion's trees also follow its
ballots; they are read from the motion's live resolution (`ballots.live`,
issue 16), which the box keeps up to date entry by entry, instead of being
resolved again from the settings (`ScopePower.from_live`: a few NumPy
passes, no key lookup). What is built in full (`ScopePower.build`) is the
reference; tests/test_scope_power.py holds the kept and the live answers to
it, and to `delegation.analyse`, after every statement of random sequences.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np

import delegation
from ballots import views
from ballots.paths import ClosedPaths
from ballots.state import AssemblyState
from delegation.live import LiveResolution
from delegation.power import PowerFigures, power_figures
from delegation.resolve import NO_SETTING
from vocabulary import MOTION_PREFIX


def active_members(state: AssemblyState) -> list[str]:
    """The active members' keys in enrolment order."""
    return [k for k, m in state.members.items() if m.active]


def _key_ranks(keys: list[str]) -> np.ndarray:
    """Each key's place among the keys sorted as Python sorts strings.
    Member keys are hex (SPEC section 3): sorted as fixed-width bytes,
    four times faster than as Python objects at 10^5; any other key
    (not ASCII, or holding a NUL, which NumPy strings drop) as objects."""
    n = len(keys)
    joined = "".join(keys)
    if joined.isascii() and "\0" not in joined:
        by = np.argsort(np.array(keys, dtype="S"), kind="stable")
    else:
        by = np.argsort(np.array(keys, dtype=object), kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[by] = np.arange(n)
    return ranks


class ScopePower:
    """The delegation trees of one scope: ``size[i]`` is the number of
    votes that pass through active member ``keys[i]`` (their own
    included; for a member on a cycle, its own hanging tree), ``up[i]``
    the member their vote goes to next (-1 for none), ``carrier[i]``
    whether their vote stops with them and counts (a direct voter on a
    motion; a member without a setting in a scope without motion), and
    ``figures`` the concentration figures of the carriers' weights.

    What only some readers need is computed on first use and kept:
    ``order`` (every member by ``size`` descending, then key: the delegate
    picker), the members whose vote goes next to each member (the trees),
    ``index`` (key -> position). The graph summary needs only the heaviest
    few and their children, so it never sorts all the members by key."""

    __slots__ = (
        "scope",
        "keys",
        "size",
        "up",
        "carrier",
        "figures",
        "_order",
        "_ranks",
        "_down",
        "_kids",
        "_heads",
        "_index",
        "as_of",
    )

    def __init__(self, scope: str, keys: list[str], size: np.ndarray, up: np.ndarray, carrier: np.ndarray) -> None:
        self.scope, self.keys, self.size, self.up, self.carrier = scope, keys, size, up, carrier
        weights, counts = np.unique(size[carrier], return_counts=True)
        self.figures: PowerFigures = power_figures(
            {int(w): int(c) for w, c in zip(weights, counts, strict=True)}, len(keys)
        )
        self._order: np.ndarray | None = None
        self._ranks: np.ndarray | None = None
        self._down: tuple[np.ndarray, np.ndarray] | None = None
        self._kids: dict[int, list[int]] = {}
        self._heads: dict[int, list[int]] = {}
        self._index: dict[str, int] | None = None
        self.as_of: int | None = None  # the close entry's index, for trees as of a close

    # -- building ------------------------------------------------------------

    @classmethod
    def build(cls, state: AssemblyState, scope: str, members: list[str] | None = None) -> ScopePower:
        """From the settings and ballots, in full: the fast compiler and a
        fresh resolution over the active members (O(N) NumPy work plus one
        pass per level of the deepest tree). ``members``: the active
        members' keys in enrolment order, if the caller has them (they are
        shared, not copied). Raises KeyError for a scope that names no
        motion or topic."""
        keys = active_members(state) if members is None else members
        motion = scope[len(MOTION_PREFIX) :] if scope.startswith(MOTION_PREFIX) else None
        ballots = state.ballots.get(motion, {}) if motion is not None else {}
        e = delegation.Electorate(
            members=keys, chain=state.scope_chain(scope), settings=state.settings, ballots=ballots
        )
        return cls.resolved(scope, e)

    @classmethod
    def from_closed(cls, state: AssemblyState, motion_id: str, closed: ClosedPaths) -> ScopePower:
        """A closed motion's trees as they stood at its close: resolved from
        its snapshot (``closed``; ballots.paths), with the members of then,
        whatever changed since (docs/SPEC.md section 9, "People"). ``as_of``
        is the close entry's index."""
        e = closed.electorate(views.member_keys(state)[0], motion_id)
        power = cls.resolved(MOTION_PREFIX + motion_id, e)
        power.as_of = state.motions[motion_id].close_index
        return power

    @classmethod
    def resolved(cls, scope: str, e: delegation.Electorate) -> ScopePower:
        """The trees of electorate ``e`` (its ``members`` a list, kept as
        ``keys``): the fast compiler and a fresh resolution."""
        keys = list(e.members) if not isinstance(e.members, list) else e.members
        motion = scope.startswith(MOTION_PREFIX)
        _, target, choice = delegation.compile_arrays(e)
        n = len(keys)
        res = LiveResolution.build(keys, [True] * n, target, choice)
        size = np.frombuffer(res.size, dtype=np.int32).astype(np.int64)
        cyc = np.frombuffer(res.on_cycle, dtype=np.uint8).astype(bool)
        eff = (choice < 0) & (target >= 0)
        up = np.where(eff, target, -1)
        carrier = ~eff & ~cyc & ((choice >= 0) if motion else (target == NO_SETTING))
        return cls(scope, keys, size, up, carrier)

    @classmethod
    def from_live(cls, state: AssemblyState, motion_id: str, members: list[str] | None = None) -> ScopePower | None:
        """An untallied motion's trees from its live resolution, which
        holds them already on member indices (inactive members included):
        only the active members are kept, in enrolment order, as `build`
        lists them (``members``, as for `build`). O(N) NumPy passes. None
        when the state keeps no live resolution of that motion."""
        read = views.live_active(state, motion_id)
        if read is None:
            return None
        res, act, target, choice, pos, place = read
        size = np.frombuffer(res.size, dtype=np.int32).astype(np.int64)
        cyc = np.frombuffer(res.on_cycle, dtype=np.uint8).astype(bool)
        # An active member's target is active (LiveResolution turns any
        # other into EXPELLED), so an effective edge lands on a place.
        eff = (choice < 0) & (target >= 0) & act
        up = np.where(eff, place[np.maximum(target, 0)], -1)[pos]
        carrier = (~eff & ~cyc & (choice >= 0))[pos]
        keys = views.active_keys(state, act) if members is None else members
        if len(keys) != len(pos):
            raise ValueError(f"{len(keys)} members given, the live resolution has {len(pos)} active")
        return cls(MOTION_PREFIX + motion_id, keys, size[pos], up, carrier)

    # -- reading -------------------------------------------------------------

    @property
    def ranks(self) -> np.ndarray:
        """Each member's place in key order."""
        if self._ranks is None:
            self._ranks = _key_ranks(self.keys)
        return self._ranks

    @property
    def order(self) -> np.ndarray:
        """Every member by ``size`` descending, then key."""
        if self._order is None:
            n = len(self.keys)
            self._order = np.lexsort((self.ranks, -self.size)) if n else np.zeros(0, dtype=np.int64)
        return self._order

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.keys, range(len(self.keys))))
        return self._index

    def _edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Who passes their vote to whom, grouped by receiver (CSR: the
        senders to member i are ``src[start[i]:start[i + 1]]``)."""
        if self._down is None:
            n = len(self.keys)
            src = np.flatnonzero(self.up >= 0)
            src = src[np.argsort(self.up[src], kind="stable")]
            start = np.searchsorted(self.up[src], np.arange(n + 1)) if n else np.zeros(1, dtype=np.int64)
            self._down = (src, start)
        return self._down

    def delegators(self, i: int) -> int:
        """How many members pass their vote to member i directly."""
        _, start = self._edges()
        return int(start[i + 1] - start[i])

    def _by_weight(self, members: np.ndarray) -> list[int]:
        """``members`` heaviest first, then by key (vectorised: a big
        delegate's thousands of delegators, or a run of equal weights)."""
        if len(members) < 2:
            return [int(i) for i in members]
        ranks = _key_ranks([self.keys[i] for i in members.tolist()])
        return [int(i) for i in members[np.lexsort((ranks, -self.size[members]))]]

    def children(self, i: int, limit: int) -> tuple[list[int], int]:
        """The first ``limit`` members whose vote goes next to member i,
        heaviest first, then by key, and how many there are in all."""
        kids = self._kids.get(i)
        if kids is None:
            src, start = self._edges()
            kids = self._kids[i] = self._by_weight(src[start[i] : start[i + 1]])
        return kids[:limit], len(kids)

    def heaviest(self, top: int) -> list[int]:
        """The ``top`` members of largest weight above 1, heaviest first,
        then by key: from ``order`` if it was computed, else from those
        at least as heavy as the top-th (a partial selection, no sort of
        every key)."""
        heads = self._heads.get(top)
        if heads is not None:
            return heads
        if self._order is not None or top <= 0:
            heads = [int(i) for i in self.order[: max(top, 0)] if self.size[i] > 1]
        else:
            big = np.flatnonzero(self.size > 1)
            if len(big) > top:
                kth = np.partition(self.size[big], len(big) - top)[len(big) - top]
                big = big[self.size[big] >= kth]
            heads = self._by_weight(big)[:top]
        self._heads[top] = heads
        return heads

    def tree(self, state: AssemblyState, i: int, depth: int, width: int) -> dict[str, Any]:
        """Member i with the members whose votes reach them, ``depth``
        levels deep and at most ``width`` per member (the rest counted)."""
        kids, total = self.children(i, width if depth > 0 else 0)
        return {
            "member": self.keys[i],
            "name": state.members[self.keys[i]].name,
            "weight": int(self.size[i]),
            "carrier": bool(self.carrier[i]),
            "from": [self.tree(state, j, depth - 1, width) for j in kids],
            "more": total - len(kids),
        }

    def summary(self, state: AssemblyState, top: int, depth: int = 2, width: int = 5) -> dict[str, Any]:
        """The figures and the ``top`` heaviest members with their trees:
        what the graph view draws at any size (O(top x width^depth) once
        the trees are built)."""
        return {
            "scope": self.scope,
            "members": len(self.keys),
            "figures": self.figures.as_dict(),
            "largest": [self.tree(state, i, depth, width) for i in self.heaviest(top)],
            "as_of": self.as_of,
        }


@dataclass(frozen=True, slots=True)
class NameIndex:
    """The members of a `ScopePower` in its order, one line each
    (case-folded pseudonym, a tab, the key), in one string: a search is
    ``str.find`` (C speed) from match to match, not a Python loop over
    every member. Pseudonyms hold no control character (SPEC section 3),
    so a query cannot match across lines."""

    text: str
    starts: list[int]

    @classmethod
    def build(cls, state: AssemblyState, power: ScopePower) -> NameIndex:
        lines = [f"{state.members[power.keys[int(i)]].name.casefold()}\t{power.keys[int(i)]}" for i in power.order]
        return cls("\n".join(lines), [0, *accumulate(len(line) + 1 for line in lines)][:-1] if lines else [])

    def positions(self, q: str) -> Iterator[int]:
        """Places in ``power.order`` of the lines that contain ``q``, in order."""
        i = self.text.find(q)
        while i != -1:
            j = bisect_right(self.starts, i) - 1
            yield j
            if j + 1 >= len(self.starts):
                return
            i = self.text.find(q, self.starts[j + 1])


class PowerCache:
    """The last `ScopePower` and `/api/graph` report of each scope, kept
    while what they depend on is unchanged (`version`), for one state at a
    time: another state (a restore, a reload) drops them all."""

    def __init__(self, scopes: int = 16) -> None:
        self._state: AssemblyState | None = None
        self._kept: dict[tuple[str, bool], tuple[object, ScopePower]] = {}
        self._reports: dict[str, tuple[object, dict[str, Any]]] = {}
        self._scopes = scopes
        self._names: tuple[ScopePower, NameIndex] | None = None
        # The active members change only with `graph_changed`: one list for every scope.
        self._members: tuple[int, list[str]] | None = None
        self._name_map: tuple[int, dict[str, str]] | None = None

    @staticmethod
    def version(state: AssemblyState, scope: str) -> object:
        """What the scope's trees depend on, as a value that changes when
        they may: for an untallied motion its live resolution and that
        resolution's change count (it moves with every ballot, setting or
        member that concerns the motion); for a tallied motion (its ballots
        are final), `*` and a topic, the last enrolment, expulsion or
        delegation; for a state without live resolutions, the log size."""
        if scope.startswith(MOTION_PREFIX):
            if state.live is None:
                return ("log", state.size)
            live = state.live.motions.get(scope[len(MOTION_PREFIX) :])
            if live is not None:
                return ("live", live.res, live.res.version)  # the object itself: its id cannot be reused meanwhile
        return ("graph", state.graph_changed)

    def _same_state(self, state: AssemblyState) -> None:
        if state is not self._state:
            self._state = state
            self._kept.clear()
            self._reports.clear()
            self._names = None
            self._members = None
            self._name_map = None

    def _names_of(self, state: AssemblyState) -> dict[str, str]:
        """The active members' pseudonyms by key, kept like their list (a
        name never changes; the set of members only with `graph_changed`)."""
        if self._name_map is None or self._name_map[0] != state.graph_changed:
            members = state.members
            self._name_map = (state.graph_changed, {k: members[k].name for k in self._active(state)})
        return self._name_map[1]

    def _active(self, state: AssemblyState) -> list[str]:
        if self._members is None or self._members[0] != state.graph_changed:
            self._members = (state.graph_changed, active_members(state))
        return self._members[1]

    def get(self, state: AssemblyState, scope: str, closed: ClosedPaths | None = None) -> ScopePower:
        """The trees of ``scope`` (which must name a motion or topic of the
        state, or be `*`; KeyError otherwise). With ``closed``, the
        snapshot of the closed motion the scope names, its trees as of the
        close (`ScopePower.from_closed`), kept while that snapshot is the
        motion's (they never change); without it, as the log stands now."""
        self._same_state(state)
        if closed is not None:
            v: object = ("closed", closed.digest)
            at: tuple[str, bool] = (scope, True)
        else:
            v, at = self.version(state, scope), (scope, False)
        hit = self._kept.get(at)
        if hit is not None and hit[0] == v:
            return hit[1]
        power = None
        if closed is not None:
            power = ScopePower.from_closed(state, scope[len(MOTION_PREFIX) :], closed)
        elif scope.startswith(MOTION_PREFIX):
            power = ScopePower.from_live(state, scope[len(MOTION_PREFIX) :], self._active(state))
        if power is None:
            power = ScopePower.build(state, scope, self._active(state))
        self._keep(self._kept, at, (v, power))
        return power

    def report(self, state: AssemblyState, scope: str, closed: ClosedPaths | None = None) -> dict[str, Any]:
        """`views.graph` (every edge and cycle of the scope, for small
        assemblies), kept like the trees; a closed motion's as of its close
        from its snapshot ``closed``. The caller must not change it."""
        self._same_state(state)
        v = ("closed", closed.digest) if closed is not None else self.version(state, scope)
        hit = self._reports.get(scope)
        if hit is not None and hit[0] == v:
            return hit[1]
        report = views.graph(state, scope, closed, None if closed is not None else self._names_of(state))
        self._keep(self._reports, scope, (v, report))
        return report

    def _keep(self, kept: dict[Any, Any], at: object, value: Any) -> None:
        if len(kept) >= self._scopes and at not in kept:
            kept.pop(next(iter(kept)))
        kept[at] = value

    def names(self, state: AssemblyState, power: ScopePower) -> NameIndex:
        """The search index of ``power``, built once for it."""
        hit = self._names
        if hit is None or hit[0] is not power:
            hit = self._names = (power, NameIndex.build(state, power))
        return hit[1]
