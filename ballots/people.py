"""Read models about people (issue 14; docs/SPEC.md section 9, "People"):
a member's public record, the delegates a member may choose from, what
a member's delegates did with their vote, and the power of each member
in a scope, for the graph at any size.

Every answer is computed from the box's state plus rows the caller read
from SQL (a member's own entries, their delegators: indexed reads). The
one O(N) computation, a scope's delegation trees (`ScopePower`), is NumPy
work done once per scope and log size and kept (`PowerCache`); requests
then cost their page. Nothing here writes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any

import numpy as np

import delegation
from ballots.state import AssemblyState
from ballots.statements import format_time
from ballots.views import ActiveMembers, motion_state
from delegation.live import LiveResolution
from delegation.power import PowerFigures, power_figures
from delegation.resolve import NO_SETTING
from vocabulary import MOTION_PREFIX


def fingerprint(key: str) -> str:
    """What two people compare to know they mean the same key: the first
    16 bytes of SHA-256 of the raw public key, as 8 groups of 4 hex digits
    (docs/SPEC.md section 9, "People"). Raises ValueError for a key that is
    not hex."""
    digest = hashlib.sha256(bytes.fromhex(key)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


# -- power in a scope ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopePower:
    """The delegation trees of one scope at one log size: ``size[i]`` is
    the number of votes that pass through member ``keys[i]`` (their own
    included), ``up[i]`` the member their vote goes to next (-1 for none),
    ``carrier[i]`` whether their vote stops with them and counts (a direct
    voter on a motion; a member without a setting in a scope without
    motion). ``order`` lists every member by ``size`` descending, then
    key; ``down`` and ``down_start`` the members whose vote goes next to
    each member (CSR, heaviest first)."""

    scope: str
    log_size: int
    keys: list[str]
    index: dict[str, int]
    size: np.ndarray
    up: np.ndarray
    carrier: np.ndarray
    order: np.ndarray
    down: np.ndarray
    down_start: np.ndarray
    figures: PowerFigures

    @classmethod
    def build(cls, state: AssemblyState, scope: str) -> ScopePower:
        """O(N) NumPy work plus one pass per level of the deepest tree."""
        keys = [k for k, m in state.members.items() if m.active]
        motion = scope[len(MOTION_PREFIX) :] if scope.startswith(MOTION_PREFIX) else None
        ballots = state.ballots.get(motion, {}) if motion is not None else {}
        e = delegation.Electorate(
            members=keys, chain=state.scope_chain(scope), settings=state.settings, ballots=ballots
        )
        _, target, choice = delegation.compile_arrays(e)
        n = len(keys)
        res = LiveResolution.build(keys, [True] * n, target, choice)
        size = np.frombuffer(res.size, dtype=np.int32).astype(np.int64)
        cyc = np.frombuffer(res.on_cycle, dtype=np.uint8).astype(bool)
        eff = (choice < 0) & (target >= 0)
        up = np.where(eff, target, -1)
        carrier = ~eff & ~cyc & ((choice >= 0) if motion is not None else (target == NO_SETTING))
        rank = np.argsort(np.array(keys, dtype=object), kind="stable") if n else np.zeros(0, dtype=np.int64)
        key_rank = np.empty(n, dtype=np.int64)
        key_rank[rank] = np.arange(n)
        order = np.lexsort((key_rank, -size)) if n else np.zeros(0, dtype=np.int64)
        # Children of each member, heaviest first: sort the edges by (target, place in `order`).
        place = np.empty(n, dtype=np.int64)
        place[order] = np.arange(n)
        src = np.flatnonzero(up >= 0)
        by = np.lexsort((place[src], up[src]))
        down = src[by]
        down_start = np.searchsorted(up[down], np.arange(n + 1)) if n else np.zeros(1, dtype=np.int64)
        weights, counts = np.unique(size[carrier], return_counts=True)
        figures = power_figures({int(w): int(c) for w, c in zip(weights, counts, strict=True)}, n)
        return cls(
            scope, state.size, keys, dict(zip(keys, range(n))), size, up, carrier, order, down, down_start, figures
        )

    def children(self, i: int, limit: int) -> tuple[list[int], int]:
        """The first ``limit`` members whose vote goes next to member i,
        heaviest first, and how many there are in all."""
        a, b = int(self.down_start[i]), int(self.down_start[i + 1])
        return [int(j) for j in self.down[a : min(b, a + limit)]], b - a

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
        what the graph view draws at any size (O(top x width^depth))."""
        heads = [int(i) for i in self.order[:top] if self.size[i] > 1]
        return {
            "scope": self.scope,
            "members": len(self.keys),
            "figures": self.figures.as_dict(),
            "largest": [self.tree(state, i, depth, width) for i in heads],
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
    """The last `ScopePower` of each scope, rebuilt when the log grew (or
    the state was replaced, after a restore)."""

    def __init__(self, scopes: int = 16) -> None:
        self._kept: dict[str, tuple[int, int, ScopePower]] = {}
        self._scopes = scopes
        self._names: tuple[ScopePower, NameIndex] | None = None

    def get(self, state: AssemblyState, scope: str) -> ScopePower:
        hit = self._kept.get(scope)
        if hit is not None and hit[0] == id(state) and hit[1] == state.size:
            return hit[2]
        power = ScopePower.build(state, scope)
        if len(self._kept) >= self._scopes and scope not in self._kept:
            self._kept.pop(next(iter(self._kept)))
        self._kept[scope] = (id(state), state.size, power)
        return power

    def names(self, state: AssemblyState, power: ScopePower) -> NameIndex:
        """The search index of ``power``, built once for it."""
        hit = self._names
        if hit is None or hit[0] is not power:
            hit = self._names = (power, NameIndex.build(state, power))
        return hit[1]


# -- delegates to choose from ----------------------------------------------------


def recent_votes(state: AssemblyState, key: str, limit: int = 3) -> list[dict[str, Any]]:
    """The member's ballots on the latest motions (newest motion first):
    O(motions), whatever the number of members."""
    out = []
    for m in reversed(state.motions.values()):
        choice = state.ballots.get(m.id, {}).get(key)
        if choice is not None:
            out.append({"motion": m.id, "title": m.title, "choice": choice})
            if len(out) == limit:
                break
    return out


def delegates(
    state: AssemblyState,
    power: ScopePower,
    query: str,
    limit: int,
    exclude: str | None = None,
    names: NameIndex | None = None,
) -> dict[str, Any]:
    """Active members whose pseudonym or key contains ``query`` (case
    folded), heaviest first under scope ``*`` then by key, at most
    ``limit``, each with their weight and latest votes. Stops at ``limit``
    matches; with ``names`` (`PowerCache.names`) a query is a C-speed scan
    of one string, else a Python loop over the members."""
    q = query.casefold().strip()
    if not q:
        places: Iterator[int] = iter(range(len(power.keys)))
    elif names is not None:
        places = names.positions(q)
    else:
        places = (
            j
            for j, i in enumerate(power.order)
            if q in state.members[power.keys[int(i)]].name.casefold() or q in power.keys[int(i)]
        )
    found: list[dict[str, Any]] = []
    for j in places:
        i = int(power.order[j])
        key = power.keys[i]
        if key == exclude:
            continue
        found.append(
            {
                "key": key,
                "name": state.members[key].name,
                "weight": int(power.size[i]),
                "delegators": int(power.down_start[i + 1] - power.down_start[i]),
                "recent": recent_votes(state, key),
            }
        )
        if len(found) == limit:
            break
    return {"query": query, "members": len(power.keys), "delegates": found}


# -- a member's public record ---------------------------------------------------


def open_motions(state: AssemblyState, now: datetime) -> list[Any]:
    return [m for m in state.motions.values() if motion_state(m, now) == "open"]


def record(
    state: AssemblyState,
    key: str,
    entries: list[tuple[dict[str, Any], str]],
    delegators: list[tuple[str, str]],
    now: datetime,
    texts: dict[int, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The member page's data: who they are, their public votes (the
    latest ballot per motion) and delegation settings (the latest per
    scope, with its entry), whose votes they are given, the weight they
    carry on each open bill, and their comments. ``entries`` are the
    entries the key signed (``BallotBox.entries_by``), ``delegators`` the
    (member, scope) settings naming them (``BallotBox.delegators``)."""
    m = state.members.get(key)
    votes: dict[str, dict[str, Any]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for e, _digest in entries:
        st = e["statement"]
        if st["kind"] == "ballot":
            votes[st["motion"]] = {"choice": st["choice"], "index": e["index"], "received": e["received"]}
        elif st["kind"] == "delegate":
            settings[st["scope"]] = {"to": st["to"], "index": e["index"], "received": e["received"]}
    vote_list = []
    for motion_id, v in sorted(votes.items(), key=lambda kv: -kv[1]["index"]):
        mo = state.motions.get(motion_id)
        if mo is None or v["choice"] is None:
            continue
        vote_list.append(
            {"motion": motion_id, "title": mo.title, "state": motion_state(mo, now), **v, "counted": mo.close_index}
        )
    by: dict[str, list[str]] = {}
    for who, scope in delegators:
        if state.is_active(who):
            by.setdefault(who, []).append(scope)
    carried = []
    if m is not None and m.active:
        for mo in open_motions(state, now):
            carried.append(
                {"motion": mo.id, "title": mo.title, "closes": format_time(mo.closes), **weight_on(state, key, mo.id)}
            )
    comments = []
    for i in reversed(state.comments_by.get(key, [])[-50:]):
        c = state.comments[i]
        text = None if c.redacted_by is not None or texts is None else texts.get(i, (None, None))[0]
        comments.append(
            {
                "index": i,
                "target": c.target,
                "stance": c.stance,
                "received": c.received,
                "redacted": c.redacted_by is not None,
                "text": text,
            }
        )
    return {
        "key": key,
        "fingerprint": fingerprint(key),
        "name": m.name if m else None,
        "member": m is not None,
        "active": bool(m and m.active),
        "enrolled_index": m.enrolled_index if m else None,
        "organizer": key in state.organizers,
        "deputy": key in state.active_roster(),
        "votes": vote_list,
        "delegations": [
            {"scope": s, **v}
            for s, v in sorted(settings.items())
            if v["to"] is not None and s in state.settings.get(key, {})
        ],
        "delegated_by": [{"member": w, "name": state.members[w].name, "scopes": sorted(s)} for w, s in by.items()],
        "carries": carried,
        "comments": comments,
    }


def weight_on(state: AssemblyState, key: str, motion_id: str) -> dict[str, Any]:
    """What member ``key`` carries on an open motion: ``weight``, the votes
    they cast (0 unless they voted), and ``passing``, the votes that reach
    them (their own included), which they would cast by voting. From the
    live resolution: O(1)."""
    live = None if state.live is None else state.live.motions.get(motion_id)
    if live is not None and state.live is not None and key in state.live.index:
        i = state.live.index[key]
        return {"weight": live.res.weight(i), "passing": int(live.res.size[i])}
    power = ScopePower.build(state, MOTION_PREFIX + motion_id)  # a state without live resolutions
    i = power.index[key]
    return {"weight": int(power.size[i]) if power.carrier[i] else 0, "passing": int(power.size[i])}


# -- what my delegates did --------------------------------------------------------


def delegates_did(state: AssemblyState, key: str, now: datetime) -> list[dict[str, Any]]:
    """The open motions on which ``key`` has not voted and a delegate's
    vote counts for them: the choice, the path, and when the motion closes
    (until then a ballot of their own overrides). O(open motions x path)."""
    if not state.is_active(key):
        return []
    members = ActiveMembers(state)
    out = []
    for mo in open_motions(state, now):
        ballots = state.ballots.get(mo.id, {})
        if key in ballots:
            continue
        e = delegation.Electorate(
            members=members,  # type: ignore[arg-type]  # vote_path takes a Mapping
            chain=state.scope_chain(MOTION_PREFIX + mo.id),
            settings=state.settings,
            ballots=ballots,
        )
        p = delegation.vote_path(e, key)
        if len(p.path) < 2 or p.outcome not in ("yes", "no", "abstain"):
            continue
        carrier = p.path[-1]
        out.append(
            {
                "motion": mo.id,
                "title": mo.title,
                "closes": format_time(mo.closes),
                "choice": p.outcome,
                "path": list(p.path),
                "delegate": p.path[1],
                "carrier": carrier,
                "carrier_name": state.members[carrier].name,
            }
        )
    return out
