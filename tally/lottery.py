"""The two lotteries of a tally, seeded by the hash of the motion's `close`
entry so that anyone can redo them: the order in which still-tied choices
win a seat, and the order in which deputies receive the instructions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from vocabulary import CHOICES

from .apportion import ApportionError

_KEY = re.compile(r"[0-9a-f]{64}")
ZERO_SEED = bytes(32)  # the seed of provisional tallies, before any close


def check_seed(close_hash: bytes) -> None:
    """Raises ApportionError unless `close_hash` is 32 raw bytes."""
    if not isinstance(close_hash, bytes) or len(close_hash) != 32:
        n = len(close_hash) if isinstance(close_hash, (bytes, bytearray)) else type(close_hash).__name__
        raise ApportionError("bad_seed", f"close hash is {n} bytes, want 32")


def choice_order(close_hash: bytes) -> list[str]:
    """The choices by SHA-256(close_hash || UTF-8 name) ascending: the first
    wins a tie that more votes did not break."""
    check_seed(close_hash)
    names = [c.value for c in CHOICES]
    return sorted(names, key=lambda n: hashlib.sha256(close_hash + n.encode()).digest())


def deputy_order(close_hash: bytes, roster: Sequence[str]) -> list[str]:
    """The roster by SHA-256(close_hash || raw 32-byte key) ascending. Raises
    ApportionError on a key that is not 64 lowercase hex digits or a deputy
    listed twice."""
    check_seed(close_hash)
    for k in roster:
        if not isinstance(k, str) or not _KEY.fullmatch(k):
            raise ApportionError("bad_deputy", f"deputy key {k!r}, want 64 lowercase hex digits")
    if len(set(roster)) != len(roster):
        raise ApportionError("duplicate_deputy", "a deputy is listed twice in the roster")
    return sorted(roster, key=lambda k: hashlib.sha256(close_hash + bytes.fromhex(k)).digest())
