"""The participants digest D of each open motion, kept as ballots arrive
(docs/SPEC.md section 16.2), so that a close hashes what is already sorted.

D is SHA-256 over the sorted 32-byte items, one per counted direct voter:
a member active at the close whose latest ballot has a choice, item =
SHA-256(raw key || UTF-8 choice) (``tally.ballot_item``). Computed at the
close from the ballots, that is one SHA-256 per ballot and a sort: 1.4 s of
CPU for 300,000 ballots (docs/PERFORMANCE.md). Here each item is hashed
once, when its ballot is applied, and put in its place in a ``SortedItems``;
a withdrawal, a changed choice or the author's expulsion takes it out, so
the close is one pass of ``hashlib`` over the items already in order.

`LiveSeeds` follows the log beside ``ballots.live.LiveTallies`` (which owns
it and calls ``after`` for every statement ``apply`` folds in); it keeps
only the motions not yet tallied. ``tally.ballots_digest`` stays the
reference, and ``ballots.closing.seed`` compares the two under
``--full-check``.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ballots.state import AssemblyState
from ballots.statements import Kind, Statement
from tally import ballot_item

WIDTH = 32  # bytes per item
# Items per chunk as built; a chunk is split in two past 2 x CHUNK items
# (32 KiB), so an insertion moves at most that many bytes.
CHUNK = 512


class SortedItems:
    """32-byte items kept in ascending order, packed end to end in chunks
    (``bytearray`` of at most 2 x CHUNK items; the last item of each in
    ``maxes``). Adding or removing one costs a bisection of ``maxes``, a
    binary search in one chunk and a move of under 32 KiB; the digest is
    one ``hashlib`` update per chunk over bytes already in place, with no
    object per item to touch (a list of 300,000 ``bytes`` took 17-27 ms
    just to join, against 7 ms for the hash)."""

    __slots__ = ("chunks", "maxes", "count")
    chunk: ClassVar[int] = CHUNK

    def __init__(self, items: Iterable[bytes] = ()) -> None:
        got, n = sorted(items), self.chunk
        if any(len(x) != WIDTH for x in got):
            raise ValueError("an item must be 32 bytes")
        self.chunks: list[bytearray] = [bytearray(b"".join(got[i : i + n])) for i in range(0, len(got), n)]
        self.maxes: list[bytes] = [got[min(i + n, len(got)) - 1] for i in range(0, len(got), n)]
        self.count = len(got)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[bytes]:
        for c in self.chunks:
            for i in range(0, len(c), WIDTH):
                yield bytes(c[i : i + WIDTH])

    def __deepcopy__(self, memo: dict[int, Any]) -> SortedItems:
        # A copy of a state (tests follow a log in two states) copies these too.
        new = type(self)()
        new.chunks, new.maxes, new.count = [bytearray(c) for c in self.chunks], list(self.maxes), self.count
        return new

    @staticmethod
    def _find(chunk: bytearray, item: bytes) -> int:
        """The byte offset of the first item of ``chunk`` that is >= ``item``."""
        lo, hi = 0, len(chunk) // WIDTH
        while lo < hi:
            mid = (lo + hi) // 2
            at = mid * WIDTH
            if chunk[at : at + WIDTH] < item:
                lo = mid + 1
            else:
                hi = mid
        return lo * WIDTH

    def add(self, item: bytes) -> None:
        """Insert ``item`` in its place. Raises ValueError unless it is 32 bytes."""
        if len(item) != WIDTH:
            raise ValueError("an item must be 32 bytes")
        item = bytes(item)
        pos = bisect_left(self.maxes, item)
        if pos == len(self.maxes):  # above every item: at the end of the last chunk
            if not self.chunks:
                self.chunks.append(bytearray())
                self.maxes.append(item)
            pos = len(self.chunks) - 1
            self.chunks[pos] += item
            self.maxes[pos] = item
        else:
            chunk = self.chunks[pos]
            at = self._find(chunk, item)
            chunk[at:at] = item
        self.count += 1
        chunk, n = self.chunks[pos], self.chunk
        if len(chunk) > 2 * n * WIDTH:
            half = n * WIDTH
            self.chunks[pos : pos + 1] = [chunk[:half], chunk[half:]]
            self.maxes[pos : pos + 1] = [bytes(chunk[half - WIDTH : half]), self.maxes[pos]]

    def remove(self, item: bytes) -> None:
        """Remove one occurrence of ``item``. Raises KeyError if absent."""
        pos = bisect_left(self.maxes, item)
        if pos == len(self.maxes):
            raise KeyError(item)
        chunk = self.chunks[pos]
        at = self._find(chunk, item)
        if chunk[at : at + WIDTH] != item:
            raise KeyError(item)
        del chunk[at : at + WIDTH]
        self.count -= 1
        if not chunk:
            del self.chunks[pos], self.maxes[pos]
        elif at == len(chunk):  # it was the chunk's last
            self.maxes[pos] = bytes(chunk[-WIDTH:])

    def digest(self) -> bytes:
        """SHA-256 of the items concatenated in order:
        ``tally.participants_digest`` of the same items."""
        h = hashlib.sha256()
        for c in self.chunks:
            h.update(c)
        return h.digest()


class MotionItems:
    """One motion's D items, and the choice each counted author's item was
    made of (a changed choice or an expulsion must take the old item out,
    and ``apply`` has already replaced the old choice when it tells us; the
    choice is the same str object as in ``state.ballots``, so this costs a
    dict entry per ballot, not a copy of its item)."""

    __slots__ = ("items", "counted")

    def __init__(self, ballots: dict[str, str], active: Any) -> None:
        self.counted = {k: c for k, c in ballots.items() if active(k)}
        self.items = SortedItems(ballot_item(k, c) for k, c in self.counted.items())

    def __deepcopy__(self, memo: dict[int, Any]) -> MotionItems:
        new = MotionItems.__new__(MotionItems)
        new.counted, new.items = dict(self.counted), self.items.__deepcopy__(memo)
        return new

    def put(self, author: str, choice: str | None) -> None:
        """``author``'s counted ballot is now ``choice`` (None: not counted)."""
        self.drop(author)
        if choice is not None:
            self.counted[author] = choice
            self.items.add(ballot_item(author, choice))

    def drop(self, author: str) -> None:
        old = self.counted.pop(author, None)
        if old is not None:
            self.items.remove(ballot_item(author, old))


class LiveSeeds:
    """The D items of every motion not yet tallied, following the log."""

    __slots__ = ("motions",)

    def __init__(self) -> None:
        self.motions: dict[str, MotionItems] = {}

    @classmethod
    def build(cls, state: AssemblyState) -> LiveSeeds:
        """From a loaded state (start-up, rebuild, restore): one SHA-256 per
        counted ballot of each untallied motion, and one sort."""
        seeds = cls()
        for m in state.motions.values():
            if m.result_index is None:
                seeds.motions[m.id] = MotionItems(state.ballots.get(m.id, {}), state.is_active)
        return seeds

    def digest(self, motion_id: str) -> bytes | None:
        """D of ``motion_id`` as the ballots stand, or None for a motion not
        kept (unknown, or already tallied)."""
        m = self.motions.get(motion_id)
        return None if m is None else m.items.digest()

    def after(self, state: AssemblyState, st: Statement) -> None:
        """Called once ``st`` is folded into ``state``. Mirrors the rule
        exactly even for a log the rules would refuse (a replayed tamper):
        only an active author's ballot counts, an expulsion takes the
        member's items out of every open motion, and a key enrolled again
        brings its standing ballots back."""
        b: dict[str, Any] = st.body
        match st.kind:
            case Kind.BALLOT:
                on = self.motions.get(b["motion"])
                if on is not None:
                    on.put(st.author, b["choice"] if state.is_active(st.author) else None)
            case Kind.EXPEL:
                for m in self.motions.values():
                    m.drop(b["member"])
            case Kind.ENROLL:
                for motion_id, m in self.motions.items():
                    m.put(st.author, state.ballots.get(motion_id, {}).get(st.author))
            case Kind.MOTION:
                self.motions[b["id"]] = MotionItems(state.ballots.get(b["id"], {}), state.is_active)
            case Kind.RESULT:
                self.motions.pop(b["motion"], None)
            case _:
                pass
