"""From an Electorate (keys as strings) to the integer arrays of the fast
engine, at 10^6 members.

The plain way, a dict from key to index and one lookup per setting and per
ballot, is memory-bound at that size: each lookup in a million-entry dict is
a few cache misses (about 0.5 µs here), and 1.3 million of them cost ten
times the resolution itself. Keys are 64 lowercase hex digits in practice
(SPEC.md section 10), so the fast path joins each list of keys into one
string and turns it into the keys' 32 raw bytes with one `bytes.fromhex`,
puts the members in a NumPy open-addressing table keyed by those bytes, and
finds every holder, target and voter with a few vectorised probes, each
match checked on all 32 bytes. Each holder's setting for the chain is picked
from the scope ranks of all settings flattened into one array, with a
segmented minimum; what is left per holder runs in C (`map`, `compress`,
`str.join`), not in Python bytecode.

Whenever the fast path cannot vouch for the exact answer (a member key that
is not 64 lowercase hex digits, two members with the same 64-bit digest, a
null target, a key with a space in it), it gives up and the plain dict path
decides, so the results are always those of `resolve.compile_electorate`;
test_delegation_compile.py checks both paths against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain as concat
from itertools import compress, repeat
from operator import getitem
from typing import Any

import numpy as np

from vocabulary import SELF

from .model import CHOICE_CODE, Electorate, ElectorateError
from .resolve import EXPELLED, NO_SETTING, setting_for

KEY_CHARS = 64  # a key is the hex of 32 bytes
_SEP = " "  # joins keys into one text; bytes.fromhex skips it
_LOST = frozenset((None, SELF))
_MAX_ROUNDS = 512  # probes per key before the table gives up


class KeyIndex(Mapping[str, int]):
    """Member key -> position in `members`, built on first use: the tally
    itself never needs it, only per-member queries of a Resolution do."""

    __slots__ = ("_members", "_index")

    def __init__(self, members: Sequence[str]) -> None:
        self._members = members
        self._index: dict[str, int] | None = None

    def _get(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self._members, range(len(self._members))))
        return self._index

    def __getitem__(self, key: str) -> int:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._get()


def compile_arrays(e: Electorate) -> tuple[Mapping[str, int], np.ndarray, np.ndarray]:
    """`resolve.compile_electorate` with NumPy arrays out: (index, target,
    choice), `target` int64 and `choice` int8, same values. Raises
    ElectorateError like compile_electorate (empty_chain, duplicate_member,
    bad_choice)."""
    if not e.chain:
        raise ElectorateError("empty_chain", "scope chain is empty, want at least one scope")
    fast = _compile_hex(e)
    if fast is not None:
        return fast
    return compile_with_dict(e)


def compile_with_dict(e: Electorate) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """The plain path, for any string keys: one dict lookup per key. Raises
    ElectorateError like compile_electorate."""
    if not e.chain:
        raise ElectorateError("empty_chain", "scope chain is empty, want at least one scope")
    members = e.members
    n = len(members)
    index = dict(zip(members, range(n)))
    if len(index) != n:
        raise ElectorateError("duplicate_member", f"{n} members but {len(index)} distinct keys")
    get = index.get
    chain = tuple(e.chain)
    eff = [setting_for(scopes, chain) for scopes in e.settings.values()]
    k = len(eff)
    # dict.get is overloaded, which map() cannot type; the values are ints.
    holder = np.fromiter(map(get, e.settings, repeat(-1)), dtype=np.int64, count=k)
    to = np.fromiter(map(get, eff, repeat(EXPELLED)), dtype=np.int64, count=k)  # type: ignore[arg-type]
    lost = np.fromiter(map(_LOST.__contains__, eff), dtype=bool, count=k)
    keep = (holder >= 0) & ~lost
    target = np.full(n, NO_SETTING, dtype=np.int64)
    target[holder[keep]] = to[keep]
    b = len(e.ballots)
    voter = np.fromiter(map(get, e.ballots, repeat(-1)), dtype=np.int64, count=b)
    code = np.fromiter(map(CHOICE_CODE.get, e.ballots.values(), repeat(-1)), dtype=np.int8, count=b)
    return index, target, _choices(e.ballots, n, voter, code)


def _choices(ballots: Mapping[str, str], n: int, voter: np.ndarray, code: np.ndarray) -> np.ndarray:
    """The choice array from each ballot's member index (-1: not active) and
    choice code (-1: unknown). Raises ElectorateError bad_choice for an
    active member's unknown choice."""
    active = voter >= 0
    if (code[active] < 0).any():
        at = int(np.flatnonzero(active & (code < 0))[0])
        bad = next(c for i, c in enumerate(ballots.values()) if i == at)
        raise ElectorateError("bad_choice", f"a ballot is {bad!r}, want yes, no or abstain")
    choice = np.full(n, -1, dtype=np.int8)
    choice[voter[active]] = code[active]
    return choice


class _Parsed:
    """`count` keys, parsed: `words` the 32 bytes of each key that is 64
    lowercase hex digits as four uint64 words, and `pos` the positions of
    those keys among the `count` (None when they are all)."""

    __slots__ = ("count", "pos", "words")

    def __init__(self, count: int, pos: np.ndarray | None, words: np.ndarray) -> None:
        self.count, self.pos, self.words = count, pos, words


def _words(text: str, count: int) -> np.ndarray | None:
    """The words of `count` keys joined by _SEP if every key is 64 lowercase
    hex digits (then bytes.fromhex does all the work in C), else None."""
    if count == 0:
        return np.zeros((0, 4), np.uint64)
    # Separators exactly every 65 characters and 32 * count bytes out of
    # fromhex (which skips whitespace) leave no room for a key of another
    # length or with a space inside.
    if (
        len(text) != (KEY_CHARS + 1) * count - 1
        or text[KEY_CHARS :: KEY_CHARS + 1] != _SEP * (count - 1)
        or any(map(text.__contains__, "ABCDEF"))
    ):
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    if len(raw) != 32 * count:  # fromhex also skips other whitespace
        return None
    return np.frombuffer(raw, np.uint64).reshape(-1, 4)


def _parse(text: str, count: int) -> _Parsed | None:
    """Parse `count` keys joined by _SEP; None if a key holds _SEP itself
    (the keys cannot be told apart, so the dict path decides)."""
    words = _words(text, count)
    if words is not None:
        return _Parsed(count, None, words)
    # Some key is not 64 lowercase hex digits: such a key is no member, so
    # keep the others (rare, so plain Python is fine here).
    keys = text.split(_SEP)
    if len(keys) != count:
        return None
    ok = np.fromiter(map(bool, map(_HEX_KEY.fullmatch, keys)), dtype=bool, count=count)
    pos = np.flatnonzero(ok)
    words = _words(_SEP.join(compress(keys, ok.tolist())), len(pos))
    if words is None:  # every key kept is 64 lowercase hex digits: not reached
        return None
    return _Parsed(count, pos, words)


_HEX_KEY = re.compile(f"[0-9a-f]{{{KEY_CHARS}}}")


def _digest(words: np.ndarray) -> np.ndarray:
    """64 bits per key, to place it in the table; keys are hashes or public
    keys, so any of their bits will do, and equal digests only cost probes."""
    digest: np.ndarray = words[:, 0] ^ words[:, 1] ^ words[:, 2] ^ words[:, 3]
    return digest


class _Members:
    """The active members in an open-addressing hash table (linear probing,
    at most half full), filled and probed for all keys at once, one NumPy
    pass per probe. `ok` is False when a member key is there twice, or the
    table would need more than _MAX_ROUNDS probes; then the dict path
    decides."""

    def __init__(self, words: np.ndarray) -> None:
        n = len(words)
        bits = max(1, (2 * n - 1).bit_length())
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.words = words
        self.digests = d = _digest(words)
        table: np.ndarray = np.full(1 << bits, -1, dtype=np.int32 if n < 2**31 else np.int64)
        self.table = table
        self.ok = False
        pending = np.arange(n)
        slot = (d >> self.shift).astype(np.int64)
        table[slot] = pending  # the first round: every slot is free
        for _ in range(_MAX_ROUNDS):
            lost = table[slot] != pending
            pending, slot = pending[lost], slot[lost]
            # Passing a member with the same digest: maybe the same key.
            if (d[table[slot]] == d[pending]).any():
                return
            if not len(pending):
                self.ok = True
                return
            slot = (slot + 1) & self.mask
            free = table[slot] < 0
            table[slot[free]] = pending[free]

    def find(self, keys: _Parsed) -> np.ndarray | None:
        """Member index of each parsed key, or -1; None after _MAX_ROUNDS."""
        q = keys.words
        found = np.full(len(q), -1, dtype=np.int64)
        live = np.arange(len(q))
        slot = (_digest(q) >> self.shift).astype(np.int64)
        for _ in range(_MAX_ROUNDS):
            if not len(live):
                break
            c = self.table[slot]
            occupied = c >= 0  # an empty slot ends the search: no such member
            live, slot, c = live[occupied], slot[occupied], c[occupied]
            hit = _same(self.words.take(c, axis=0), q.take(live, axis=0))
            found[live[hit]] = c[hit]
            live, slot = live[~hit], (slot[~hit] + 1) & self.mask
        else:
            return None
        if keys.pos is None:
            return found
        out = np.full(keys.count, -1, dtype=np.int64)
        out[keys.pos] = found
        return out


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality of two (m, 4) word arrays."""
    x = a ^ b
    same: np.ndarray = (x[:, 0] | x[:, 1] | x[:, 2] | x[:, 3]) == 0
    return same


def _positions(items: list[Any], value: object) -> list[int]:
    """Positions of the items equal to `value`."""
    found: list[int] = []
    at = -1
    find = items.index
    while True:
        try:
            at = find(value, at + 1)
        except ValueError:
            return found
        found.append(at)


def _lengths(items: Sequence[Any]) -> np.ndarray | None:
    try:
        return np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    except TypeError:  # None or another object without a length
        return None


def _compile_hex(e: Electorate) -> tuple[KeyIndex, np.ndarray, np.ndarray] | None:
    """The fast path; None when it cannot vouch for the exact answer."""
    members = e.members
    n = len(members)
    try:
        words = _words(_SEP.join(members), n)
    except TypeError:  # a key that is not a string
        return None
    if words is None:
        return None  # some member key is not 64 lowercase hex digits
    book = _Members(words)
    if not book.ok:
        return None  # a duplicate member, or keys that crowd the table

    # `resolve.setting_for` for every holder at once (an optimisation of it,
    # held to it by test_delegation_compile.py): the first scope of the chain
    # with a setting is the one of least rank among the keys of the holder's
    # settings (scopes outside the chain rank len(chain)): ranks of all keys
    # flattened, then a minimum per holder.
    chain = tuple(e.chain)
    rank: dict[str, int] = {}
    for r, scope in enumerate(chain):
        rank.setdefault(scope, r)
    outside = len(chain)
    scope_of = np.array(chain, dtype=object)
    hs, mine = list(e.settings), list(e.settings.values())
    sizes = _lengths(mine)
    if sizes is None:
        return None
    ranks = np.fromiter(
        map(rank.get, concat.from_iterable(mine), repeat(outside)),
        dtype=np.int8 if outside < 127 else np.int64,
        count=int(sizes.sum()),
    )
    best = np.full(len(mine), outside, dtype=ranks.dtype)
    nonempty = np.flatnonzero(sizes)
    if len(nonempty):
        best[nonempty] = np.minimum.reduceat(ranks, (np.cumsum(sizes) - sizes)[nonempty])
    chosen = best < outside
    who = np.flatnonzero(chosen)
    to = list(map(getitem, compress(mine, chosen.tolist()), scope_of[best[who]].tolist()))
    # "self" means no delegation: leave those holders out (list.index finds
    # them in C, comparing by identity first).
    selfs = _positions(to, SELF)
    if selfs:
        keep = np.ones(len(to), dtype=bool)
        keep[selfs] = False
        to = list(compress(to, keep.tolist()))
        chosen[who[selfs]] = False
    try:
        holders = _parse(_SEP.join(compress(hs, chosen.tolist())), len(to))
        targets = _parse(_SEP.join(to), len(to))
    except TypeError:  # a None target (the dict path looks further) or not a string
        return None
    if holders is None or targets is None:
        return None
    h, t = book.find(holders), book.find(targets)
    if h is None or t is None:
        return None
    on = h >= 0
    target = np.full(n, NO_SETTING, dtype=np.int64)
    target[h[on]] = np.where(t[on] >= 0, t[on], EXPELLED)

    b = len(e.ballots)
    try:
        ballots = _parse(_SEP.join(e.ballots), b)
    except TypeError:  # a key that is not a string
        return None
    if ballots is None:
        return None
    code = np.fromiter(map(CHOICE_CODE.get, e.ballots.values(), repeat(-1)), dtype=np.int8, count=b)
    voter = book.find(ballots)
    if voter is None:
        return None
    return KeyIndex(members), target, _choices(e.ballots, n, voter, code)
