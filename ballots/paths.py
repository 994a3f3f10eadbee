"""The vote paths of a closed motion as they stood at its close (docs/SPEC.md
section 9, "Vote paths"; issue 13).

Ballots freeze at the close, delegations and the roll of members do not: a
path resolved later with the settings of the day is not the one that was
counted. So when ``apply`` folds a `close` entry it takes a `ClosedPaths` of
the motion: per member index (``ballots.live``: enrolment order, never
reused), the member's effective setting for the motion and their ballot, as
of that entry. That is all ``delegation.vote_path`` reads, so any member's
path, outcome, reason, weight and carried votes follow from it exactly as
the full resolution at the close gives them (tests/test_closed_paths.py).

Five bytes a member (an int32 target, an int8 choice), zlib-compressed in
the projection table ``closed_path_data``, one row per closed motion; the
state keeps only each one's size and SHA-256 (``Summary``, the projection
``closed_paths``, which the keyed projection digest covers, so a changed
blob is caught when it is read). The box reads a blob when a member asks
and keeps the last few (``PathCache``): memory does not grow with the
number of closed motions.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ballots import errors as E
from delegation import Electorate, compile_arrays, setting_for
from delegation.model import Outcome, Reason
from delegation.resolve import EXPELLED, NO_SETTING
from vocabulary import MOTION_PREFIX, SELF

if TYPE_CHECKING:  # ballots.state imports this module
    from ballots.state import AssemblyState

# Codes of `ClosedPaths.target` below zero (no code -2: delegation.resolve's
# EXPELLED is resolved to the target's own index, or to an extra key).
NONE = NO_SETTING  # no setting for the motion
SELF_CODE = -3  # "self"
EXTRA = -4  # EXTRA - k: the k-th of `extra`, a target key that never was a member
# Codes of `ClosedPaths.choice` below zero.
NO_BALLOT = -1
NOT_MEMBER = -2  # enrolled before the close, expelled before it
NOT_MEMBER_REASON = "not a member at the close"
_MAGIC = b"LMCP1\n"
COMPRESSION = 1  # zlib level: measured in bench/closed_paths.py


@dataclass(frozen=True, slots=True)
class Summary:
    """What the state keeps of a closed motion's paths: the index of its
    `close` entry, how many members had been enrolled by then, and the
    SHA-256 (hex) of the snapshot's bytes (`ClosedPaths.raw`)."""

    close_index: int
    members: int
    digest: str


class ClosedPaths:
    """One closed motion's resolution inputs as of its close (module
    docstring), read-only: `vote_path` answers for any key."""

    __slots__ = ("target", "choice", "extra", "raw", "digest")

    def __init__(self, target: np.ndarray, choice: np.ndarray, extra: Sequence[str]) -> None:
        self.target = np.ascontiguousarray(target, dtype="<i4")
        self.choice = np.ascontiguousarray(choice, dtype=np.int8)
        self.extra = tuple(extra)
        n = len(self.target)
        self.raw = b"".join(
            (
                _MAGIC,
                struct.pack("<Q", n),
                self.target.tobytes(),
                self.choice.tobytes(),
                "\n".join(self.extra).encode("utf-8"),
            )
        )
        self.digest = hashlib.sha256(self.raw).hexdigest()

    @property
    def members(self) -> int:
        return len(self.target)

    def summary(self, close_index: int) -> Summary:
        return Summary(close_index, self.members, self.digest)

    def compressed(self) -> bytes:
        return zlib.compress(self.raw, COMPRESSION)

    @classmethod
    def decode(cls, data: bytes, digest: str) -> ClosedPaths:
        """A snapshot from its stored (compressed) bytes, which must hash to
        ``digest``, the one the projections hold. Raises LogCorrupted."""
        try:
            raw = zlib.decompress(data)
        except zlib.error:
            raise E.LogCorrupted("the stored vote paths of a closed motion do not decompress") from None
        if hashlib.sha256(raw).hexdigest() != digest or not raw.startswith(_MAGIC):
            raise E.LogCorrupted("the stored vote paths of a closed motion differ from their digest")
        at = len(_MAGIC)
        (n,) = struct.unpack_from("<Q", raw, at)
        at += 8
        target = np.frombuffer(raw, dtype="<i4", count=n, offset=at)
        choice = np.frombuffer(raw, dtype=np.int8, count=n, offset=at + 4 * n)
        tail = raw[at + 5 * n :].decode("utf-8")
        return cls(target, choice, tail.split("\n") if tail else ())

    # -- answering -----------------------------------------------------------

    def electorate(self, keys: Sequence[str], motion_id: str) -> Electorate:
        """The motion's electorate as it stood at the close, for the graph
        and its summary (docs/SPEC.md section 9, "People"): the members
        active then (in enrolment order, ``keys`` being today's member
        indices), each one's setting for the motion then (the chain is the
        motion's scope alone, the setting the one the chain picked), the
        ballots then. Its resolution is the one the close counted
        (tests/test_closed_graph.py). O(N) Python, once per closed motion."""
        scope = MOTION_PREFIX + motion_id
        target, choice = self.target.tolist(), self.choice.tolist()
        labels = [Outcome(c).label for c in range(3)]
        members: list[str] = []
        settings: dict[str, dict[str, str]] = {}
        ballots: dict[str, str] = {}
        for i, (t, c) in enumerate(zip(target, choice, strict=True)):
            if c == NOT_MEMBER:
                continue
            k = keys[i]
            members.append(k)
            if c >= 0:
                ballots[k] = labels[c]
            if t == NONE:
                continue
            to = SELF if t == SELF_CODE else self.extra[EXTRA - t] if t <= EXTRA else keys[t]
            settings[k] = {scope: to}
        return Electorate(members=members, chain=(scope,), settings=settings, ballots=ballots)

    def vote_path(self, keys: Sequence[str], index: Mapping[str, int], key: str, motion_id: str) -> dict[str, Any]:
        """``GET /api/members/{key}/motions/{id}`` for the closed motion:
        the steps of ``delegation.vote_path`` on the electorate at the close,
        over indices (``keys``/``index``: the member indices of today's
        state, a superset of those at the close). O(path) for the path, one
        NumPy pass per level of the member's tree for the carried votes."""
        i = index.get(key)
        target, choice = self.target, self.choice
        if i is None or i >= len(target) or choice[i] == NOT_MEMBER:
            return _answer(key, motion_id, [key], "not_member", NOT_MEMBER_REASON, 0, [])
        path = [key]
        if choice[i] >= 0:
            carried = self.carried(i)
            return _answer(
                key,
                motion_id,
                path,
                Outcome(int(choice[i])).label,
                str(Reason.VOTED),
                1 + len(carried),
                [keys[j] for j in carried],
            )
        seen = {i}
        m = i
        while True:
            t = int(target[m])
            if t in (NONE, SELF_CODE):
                lost = Outcome.ABSENT if m == i else Outcome.DEAD_END
                reason = Reason.NO_DELEGATION if t == NONE else Reason.SELF
                return _answer(key, motion_id, path, lost.label, str(reason), 0, [])
            if t <= EXTRA:
                path.append(self.extra[EXTRA - t])
                return _answer(key, motion_id, path, Outcome.DEAD_END.label, str(Reason.EXPELLED), 0, [])
            path.append(keys[t])
            if choice[t] == NOT_MEMBER:
                return _answer(key, motion_id, path, Outcome.DEAD_END.label, str(Reason.EXPELLED), 0, [])
            if t in seen:
                return _answer(key, motion_id, path, Outcome.CYCLE.label, str(Reason.CYCLE), 0, [])
            if choice[t] >= 0:
                return _answer(key, motion_id, path, Outcome(int(choice[t])).label, str(Reason.DELEGATED), 0, [])
            seen.add(t)
            m = t

    def carried(self, i: int) -> list[int]:
        """The members whose vote member i cast at the close (i excluded), in
        index order; none unless i voted. Like LiveResolution.carried: one
        pass over the targets per level of i's delegation tree."""
        choice, target = self.choice, self.target
        if choice[i] < 0:
            return []
        up = np.maximum(target, 0)
        # An effective edge: no ballot, a setting naming a member still in at the close.
        eff = (choice == NO_BALLOT) & (target >= 0)
        eff &= choice[up] != NOT_MEMBER
        mark = np.zeros(len(target), dtype=bool)
        mark[i] = True
        found: list[np.ndarray] = []
        while True:
            level = np.flatnonzero(eff & mark[up] & ~mark)
            if not len(level):
                break
            mark[level] = True
            found.append(level)
        return sorted(np.concatenate(found).tolist()) if found else []


def _answer(
    key: str, motion_id: str, path: list[str], outcome: str, reason: str, weight: int, carried: list[str]
) -> dict[str, Any]:
    return {
        "member": key,
        "motion": motion_id,
        "path": path,
        "outcome": outcome,
        "reason": reason,
        "weight": weight,
        "carried": carried,
    }


# -- taking the snapshot -----------------------------------------------------


def take(state: AssemblyState, motion_id: str) -> ClosedPaths:
    """The snapshot of ``motion_id`` in ``state`` (at its `close` entry):
    from the motion's live resolution when the state keeps one (O(N)
    copies, no resolution), else compiled from the state (the fast
    compiler, O(N)). Both give the same arrays (tests/test_closed_paths.py)."""
    chain = state.scope_chain(MOTION_PREFIX + motion_id)
    live = state.live
    on = None if live is None else live.motions.get(motion_id)
    if live is not None and on is not None:
        keys, index = live.keys, live.index
        act = np.frombuffer(on.res.active, dtype=np.uint8).astype(bool)
        target = np.frombuffer(on.res.target, dtype=np.int32).astype("<i4")
        choice = np.frombuffer(on.res.choice, dtype=np.int8).copy()
        selfers: Any = live.self_setters(state)
    else:
        keys = list(state.members)
        index = {k: i for i, k in enumerate(keys)}
        n = len(keys)
        act = np.fromiter((m.active for m in state.members.values()), dtype=bool, count=n)
        members = [k for k, a in zip(keys, act.tolist(), strict=True) if a]
        e = Electorate(members=members, chain=chain, settings=state.settings, ballots=state.ballots.get(motion_id, {}))
        _, t, c = compile_arrays(e)
        pos = np.flatnonzero(act)  # electorate position -> member index
        target = np.full(n, NONE, dtype="<i4")
        target[pos] = np.where(t >= 0, pos[np.maximum(t, 0)], t)
        choice = np.full(n, NO_BALLOT, dtype=np.int8)
        choice[pos] = c
        selfers = (k for k, s in state.settings.items() if SELF in s.values())
    target[~act] = NONE
    choice[~act] = NOT_MEMBER
    extra: list[str] = []
    for i in np.flatnonzero(target == EXPELLED).tolist():  # a target no longer (or never) a member
        to = setting_for(state.settings.get(keys[i]), chain)
        j = index.get(to) if to is not None else None
        if j is None:
            extra.append(str(to))
            target[i] = EXTRA - (len(extra) - 1)
        else:
            target[i] = j
    for k in selfers:
        at = index.get(k)
        if at is not None and act[at] and setting_for(state.settings.get(k), chain) == SELF:
            target[at] = SELF_CODE
    return ClosedPaths(target, choice, extra)


class PathCache:
    """The last few snapshots read or taken, by motion and digest (a small
    LRU: each is 5 bytes a member)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], ClosedPaths] = OrderedDict()

    def get(self, motion_id: str, digest: str) -> ClosedPaths | None:
        hit = self._items.get((motion_id, digest))
        if hit is not None:
            self._items.move_to_end((motion_id, digest))
        return hit

    def put(self, motion_id: str, snap: ClosedPaths) -> None:
        self._items[(motion_id, snap.digest)] = snap
        self._items.move_to_end((motion_id, snap.digest))
        while len(self._items) > self.size:
            self._items.popitem(last=False)
