"""The resolution of one open motion, kept up to date statement by statement
(docs/SPEC.md section 10; issue 16).

`resolve` and `resolve_reference` recompute the whole electorate, O(N): at
10^6 members that is a second per read. `LiveResolution` holds the same
answer on integer member indices (assigned once, at enrolment) and changes it
in place: a ballot, a withdrawal, a delegation change, an enrolment or an
expulsion costs the length of the delegation paths it touches, not N.

The structure: every active member i has a raw `target[i]` (a member index,
NO_SETTING or EXPELLED) and a `choice[i]` (0..2 or -1). Member i has an
*effective edge* to `target[i]` when it did not vote and `target[i] >= 0`;
following effective edges, each member's vote reaches a *root* (a member
without an effective edge: a voter, or a member whose chain stops) or goes
round a *cycle*. For a member off every cycle, `size[i]` is the number of
members whose vote passes through i (i itself included): for a root that is
all the votes that end there. For a member on a cycle, `size[i]` counts only
its own hanging tree (the members that reach the cycle at i). The counts
follow: a voter root adds `size` to its choice; a root without a setting is
one absent member and `size - 1` dead ends; a root delegating to an expelled
member is `size` dead ends; every member of a cycle component counts as a
cycle. Cutting or adding one edge walks from its target to the root or the
cycle and adds or subtracts one size along the way; closing or breaking a
cycle walks the cycle once.

Nothing here knows keys beyond `keys[i]`, used to order the weights of
direct voters (heaviest first, then by key, like `Resolution.weights`).
The tests hold this structure to `resolve_reference` after every statement
of random sequences (test_delegation_live.py).
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Sequence

import numpy as np

from .model import Counts, ElectorateError, Outcome
from .resolve import EXPELLED, NO_SETTING

YES, NO, ABSTAIN = int(Outcome.YES), int(Outcome.NO), int(Outcome.ABSTAIN)
DEAD, CYCLE, ABSENT = int(Outcome.DEAD_END), int(Outcome.CYCLE), int(Outcome.ABSENT)
_UNCHANGED = -99


class LiveResolution:
    """One motion's resolution, maintained in place (see the module
    docstring). Build it with `LiveResolution.build(keys, active, target,
    choice)`; then `set_choice`, `set_target`, `add_member`, `expel`, and
    read `counts()` and `weights(limit)` at any time without recomputing.
    `version` counts the changes, for readers that keep what they derive."""

    __slots__ = ("keys", "active", "target", "choice", "size", "on_cycle", "by", "direct", "version", "_heap")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys  # shared with the caller: index -> key, only for ordering weights
        self.active = bytearray()
        self.target = array("i")
        self.choice = array("b")
        self.size = array("i")
        self.on_cycle = bytearray()
        self.by = [0] * len(Outcome)  # members per Outcome code
        self.direct = 0
        # Counts the changes (ballots, settings, members) since the build, so
        # that a reader can keep what it derived until this moves.
        self.version = 0
        self._heap: list[tuple[int, str, int]] = []  # (-weight, key, index); stale entries skipped on read

    # -- building ------------------------------------------------------------

    @classmethod
    def build(cls, keys: list[str], active: Sequence[bool], target: np.ndarray, choice: np.ndarray) -> LiveResolution:
        """The structure for members 0..len(keys)-1 from their raw targets
        (member index, NO_SETTING or EXPELLED; a target that is an inactive
        member must already be EXPELLED) and choices; inactive members are
        left out whatever their target and choice. Vectorised: O(N) NumPy
        work plus one NumPy step per level of the deepest delegation tree.
        Raises ElectorateError on arrays of the wrong length or values out
        of range."""
        n = len(keys)
        act = np.asarray(active, dtype=bool)
        tgt = np.asarray(target, dtype=np.int64).copy()
        ch = np.asarray(choice, dtype=np.int8).copy()
        if act.shape != (n,) or tgt.shape != (n,) or ch.shape != (n,):
            raise ElectorateError("bad_arrays", f"{n} keys, want active, target and choice of that length")
        if n and (tgt.min() < EXPELLED or tgt.max() >= n or ch.min() < -1 or ch.max() > 2):
            raise ElectorateError("bad_arrays", "a target or choice is out of range")
        tgt[~act] = NO_SETTING
        ch[~act] = -1
        on = tgt >= 0
        if (on & ~act[np.where(on, tgt, 0)]).any():
            raise ElectorateError("bad_arrays", "an active member targets an inactive one; pass EXPELLED")
        idx = np.arange(n, dtype=np.int64)
        eff = (ch < 0) & on
        nxt = np.where(eff, tgt, idx)
        # After 2^k >= n steps every vote is at its root or on its cycle; the
        # nodes it lands on in cycle components are exactly the cycle nodes.
        ptr = nxt.copy()
        for _ in range(max(n, 1).bit_length() + 1):
            ptr = ptr[ptr]
        landed = ptr[eff[ptr]] if n else ptr
        cyc = np.zeros(n, dtype=bool)
        cyc[landed] = True
        # Subtree sizes on the forest left when cycle edges are cut: peel the
        # leaves level by level (Kahn), adding each level's sizes to its targets.
        forest = eff & ~cyc
        size = np.ones(n, dtype=np.int64)
        indeg = np.bincount(nxt[forest], minlength=n)
        level = np.flatnonzero(forest & (indeg == 0))
        while len(level):
            up = nxt[level]
            np.add.at(size, up, size[level])
            np.subtract.at(indeg, up, 1)
            up = np.unique(up)
            level = up[forest[up] & (indeg[up] == 0)]
        self = cls(keys)
        self.active = bytearray(act.astype(np.uint8).tobytes())
        self.target = array("i", tgt.astype(np.int32).tobytes())
        self.choice = array("b", ch.tobytes())
        self.size = array("i", size.astype(np.int32).tobytes())
        self.on_cycle = bytearray(cyc.astype(np.uint8).tobytes())
        roots = act & ~eff
        voter = roots & (ch >= 0)
        by = [0] * len(Outcome)
        for c in (YES, NO, ABSTAIN):
            by[c] = int(size[voter & (ch == c)].sum())
        unset = roots & ~voter & (tgt == NO_SETTING)
        by[ABSENT] = int(unset.sum())
        by[DEAD] = int(size[unset].sum()) - by[ABSENT] + int(size[roots & ~voter & (tgt == EXPELLED)].sum())
        by[CYCLE] = int(size[cyc].sum())
        self.by = by
        self.direct = int(voter.sum())
        self._rebuild_heap()
        return self

    # -- reading -------------------------------------------------------------

    def counts(self) -> Counts:
        return Counts.from_outcomes(self.by, self.direct)

    def weight(self, i: int) -> int:
        """Votes member i casts (its own included) if it voted, else 0."""
        return self.size[i] if self.active[i] and self.choice[i] >= 0 else 0

    def weights(self, limit: int | None = None) -> list[tuple[str, int]]:
        """(key, weight) of the direct voters, heaviest first, then by key;
        the first `limit` of them. O(limit log V) plus the stale heap entries
        dropped on the way."""
        heap, seen = self._heap, set()
        out: list[tuple[int, str, int]] = []
        want = self.direct if limit is None else min(limit, self.direct)
        while heap and len(out) < want:
            entry = heapq.heappop(heap)
            w, _, i = entry
            if i in seen or self.weight(i) != -w:
                continue
            seen.add(i)
            out.append(entry)
        for entry in out:
            heapq.heappush(heap, entry)
        return [(k, -w) for w, k, _ in out]

    def carried(self, i: int) -> list[int]:
        """The members whose vote member i casts (i excluded), in index
        order; none unless i voted. One NumPy pass over the targets per
        level of i's delegation tree."""
        if not self.weight(i):
            return []
        tgt = np.frombuffer(self.target, dtype=np.int32)
        ch = np.frombuffer(self.choice, dtype=np.int8)
        act = np.frombuffer(self.active, dtype=np.uint8)
        eff = (ch < 0) & (tgt >= 0) & (act > 0)
        up = np.maximum(tgt, 0)
        del tgt, ch, act  # the arrays cannot grow while a view holds their buffers
        mark = np.zeros(len(eff), dtype=bool)
        mark[i] = True
        found: list[np.ndarray] = []
        level = np.array([i])
        while len(level):
            level = np.flatnonzero(eff & mark[up] & ~mark)
            mark[level] = True
            found.append(level)
        return sorted(np.concatenate(found).tolist()) if found else []

    # -- changing ------------------------------------------------------------

    def add_member(self) -> int:
        """A newly enrolled member: no setting, no ballot. Returns its index,
        which must be the next one of `keys` (the caller appends the key)."""
        i = len(self.target)
        if i >= len(self.keys):
            raise ElectorateError("bad_index", f"member {i} has no key; append it to keys first")
        self.version += 1
        self.active.append(1)
        self.target.append(NO_SETTING)
        self.choice.append(-1)
        self.size.append(1)
        self.on_cycle.append(0)
        self.by[ABSENT] += 1
        return i

    def set_choice(self, i: int, choice: int) -> None:
        """Member i's ballot: 0 yes, 1 no, 2 abstain, or -1 (none, withdrawn)."""
        if not -1 <= choice <= 2:
            raise ElectorateError("bad_choice", f"choice code {choice}, want -1..2")
        self._change(i, choice, _UNCHANGED)

    def set_target(self, i: int, target: int) -> None:
        """Member i's effective setting for this motion: a member index,
        NO_SETTING (none, or "self") or EXPELLED. A target that is not an
        active member counts as EXPELLED."""
        if target >= 0 and (target >= len(self.active) or not self.active[target]):
            target = EXPELLED
        if target < EXPELLED:
            raise ElectorateError("bad_target", f"target code {target}")
        self._change(i, _UNCHANGED, target)

    def expel(self, i: int) -> None:
        """Member i leaves the electorate: votes delegated to it stop there
        (dead ends), its own ballot and setting no longer count. O(N) NumPy
        scan for who delegates to i, then O(paths) per delegator."""
        self._check(i)
        self.version += 1
        view = np.frombuffer(self.target, dtype=np.int32)
        holders = np.flatnonzero(view == i).tolist()
        del view  # the array cannot grow while a view holds its buffer
        for j in holders:
            if j != i:
                self._change(j, _UNCHANGED, EXPELLED)
        self._change(i, -1, NO_SETTING)
        self._count_root(i, -1)  # a root of size 1 without a setting: one absent member less
        self.active[i] = 0

    # -- the machinery -------------------------------------------------------

    def _check(self, i: int) -> None:
        if not 0 <= i < len(self.active) or not self.active[i]:
            raise ElectorateError("not_member", f"member {i} is not active")

    def _eff(self, i: int) -> bool:
        return self.choice[i] < 0 and self.target[i] >= 0

    def _change(self, i: int, choice: int, target: int) -> None:
        self._check(i)
        self.version += 1
        old = self.choice[i]
        if self._eff(i):
            self._cut(i)
        else:
            self._count_root(i, -1)
        if choice != _UNCHANGED:
            self.choice[i] = choice
            self.direct += (choice >= 0) - (old >= 0)
        if target != _UNCHANGED:
            self.target[i] = target
        if self._eff(i):
            self._link(i)
        else:
            self._count_root(i, 1)

    def _sink(self, r: int, delta: int) -> None:
        """`delta` more votes end at root r (beyond r itself)."""
        c = self.choice[r]
        if c >= 0:
            self.by[c] += delta
            heapq.heappush(self._heap, (-self.size[r], self.keys[r], r))
            self._trim_heap()
        else:
            self.by[DEAD] += delta

    def _count_root(self, r: int, sign: int) -> None:
        """Add (sign 1) or take away (sign -1) everything that ends at root r."""
        s = self.size[r]
        c = self.choice[r]
        if c >= 0:
            self.by[c] += sign * s
            if sign > 0:
                heapq.heappush(self._heap, (-s, self.keys[r], r))
                self._trim_heap()
        elif self.target[r] == NO_SETTING:
            self.by[ABSENT] += sign
            self.by[DEAD] += sign * (s - 1)
        else:
            self.by[DEAD] += sign * s

    def _cut(self, i: int) -> None:
        """Remove i's effective edge: i becomes a root whose votes are
        counted nowhere until `_link` or `_count_root` places them."""
        size, target, on_cycle = self.size, self.target, self.on_cycle
        if on_cycle[i]:
            # Breaking the cycle at i: the cycle becomes a chain ending at i.
            acc, x = 0, target[i]
            while x != i:
                acc += size[x]
                size[x] = acc
                on_cycle[x] = 0
                x = target[x]
            size[i] += acc
            on_cycle[i] = 0
            self.by[CYCLE] -= size[i]
            return
        s, x = size[i], target[i]
        while True:
            size[x] -= s
            if on_cycle[x]:
                self.by[CYCLE] -= s
                return
            if not self._eff(x):
                self._sink(x, -s)
                return
            x = target[x]

    def _link(self, i: int) -> None:
        """Add i's effective edge; i is a root counted nowhere (after `_cut`)."""
        size, target, on_cycle = self.size, self.target, self.on_cycle
        s, x = size[i], target[i]
        path: list[int] = []
        while x != i:
            path.append(x)
            if on_cycle[x] or not self._eff(x):
                break
            x = target[x]
        else:
            # The walk came back to i: a new cycle; each member on it keeps
            # only its own hanging tree.
            prev = 0
            for y in path:
                sy = size[y]
                size[y] = sy - prev
                prev = sy
                on_cycle[y] = 1
            size[i] = s - prev
            on_cycle[i] = 1
            self.by[CYCLE] += s
            return
        for y in path:
            size[y] += s
        end = path[-1]
        if on_cycle[end]:
            self.by[CYCLE] += s
        else:
            self._sink(end, s)

    def _trim_heap(self) -> None:
        if len(self._heap) > 4 * self.direct + 1024:
            self._rebuild_heap()

    def _rebuild_heap(self) -> None:
        """One entry per direct voter (the stale ones dropped): O(V)."""
        ch = np.frombuffer(self.choice, dtype=np.int8)
        act = np.frombuffer(self.active, dtype=np.uint8)
        voters = np.flatnonzero((ch >= 0) & (act > 0)).tolist()
        del ch, act
        size, keys = self.size, self.keys
        self._heap = [(-size[i], keys[i], i) for i in voters]
        heapq.heapify(self._heap)
