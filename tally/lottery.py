"""The lotteries, and the seed nobody can choose (docs/SPEC.md section 16).

A lottery `L` (`motion:<id>`, or `draw:<id>`) has a secret r that the server
derives from its own key (``lottery_secret``) and commits to, as
SHA-256(r) (``commit_hash``), right after the motion or draw is accepted;
at close it reveals r. The seed mixes r with a digest of who took part and
what they chose (``participants_digest`` of ``ballot_item`` or
``pool_item``), never with a signature, a seq or a time: ``lottery_seed``.

The tally's two lotteries use the seed: the order in which still-tied
choices win a seat (``choice_order``), and the order in which deputies
receive the instructions (``deputy_order``); a draw orders its pool the same
way as ``deputy_order``. All pure functions of bytes and strings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence

from vocabulary import CHOICES

from .apportion import ApportionError

_KEY = re.compile(r"[0-9a-f]{64}")
ZERO_SEED = bytes(32)  # the seed of provisional tallies, before any close
SECRET_PREFIX = b"liquid-mandate/v1/lottery-secret\n"
SEED_PREFIX = b"liquid-mandate/v1/lottery\n"


def lottery_secret(key_seed: bytes, assembly_id: str, lottery: str) -> bytes:
    """r = HMAC-SHA256(key_seed, `liquid-mandate/v1/lottery-secret\\n` ||
    assembly id hex || `\\n` || lottery), with ``key_seed`` the 32-byte
    Ed25519 seed of the server key. Derived, never stored: the same in every
    process that holds the key, after any restart or restore, and not the
    server's to pick. Raises ValueError on a seed that is not 32 bytes."""
    if not isinstance(key_seed, bytes) or len(key_seed) != 32:
        raise ValueError("the server key's seed must be 32 bytes")
    msg = SECRET_PREFIX + assembly_id.encode("ascii") + b"\n" + lottery.encode("ascii")
    return hmac.new(key_seed, msg, hashlib.sha256).digest()


def commit_hash(r: bytes) -> str:
    """The `hash` of a `commit` statement: hex SHA-256(r)."""
    return hashlib.sha256(r).hexdigest()


def reveal_matches(reveal: str, commit: str) -> bool:
    """Whether a `reveal` (hex r) opens a `commit` hash (hex SHA-256(r))."""
    try:
        r = bytes.fromhex(reveal)
    except ValueError:
        return False
    return len(r) == 32 and hmac.compare_digest(commit_hash(r), commit)


def ballot_item(key: str, choice: str) -> bytes:
    """A motion's participant item: SHA-256(raw 32-byte key || UTF-8 choice)."""
    return hashlib.sha256(bytes.fromhex(key) + choice.encode("utf-8")).digest()


def pool_item(key: str) -> bytes:
    """A draw's participant item: SHA-256(raw 32-byte key)."""
    return hashlib.sha256(bytes.fromhex(key)).digest()


def participants_digest(items: Iterable[bytes]) -> bytes:
    """D = SHA-256 of the 32-byte items sorted ascending as bytes and
    concatenated; with no item, SHA-256 of the empty string. Raises
    ValueError on an item that is not 32 bytes."""
    got = sorted(items)
    if any(len(x) != 32 for x in got):
        raise ValueError("a participant item must be 32 bytes")
    return hashlib.sha256(b"".join(got)).digest()


def ballots_digest(members: Iterable[str], ballots: Mapping[str, str]) -> bytes:
    """D of a motion: one ``ballot_item`` per active member (``members``)
    who has a ballot (``ballots``: member -> choice, withdrawn ballots
    absent), as at the close entry: the ballots the tally counts."""
    return participants_digest(ballot_item(k, ballots[k]) for k in members if k in ballots)


def lottery_seed(r: bytes, d: bytes) -> bytes:
    """seed = SHA-256(`liquid-mandate/v1/lottery\\n` || r || D). Raises
    ValueError unless r and D are 32 bytes each."""
    if len(r) != 32 or len(d) != 32:
        raise ValueError("r and D must be 32 bytes each")
    return hashlib.sha256(SEED_PREFIX + r + d).digest()


def check_seed(seed: bytes) -> None:
    """Raises ApportionError unless ``seed`` is 32 raw bytes."""
    if not isinstance(seed, bytes) or len(seed) != 32:
        n = len(seed) if isinstance(seed, (bytes, bytearray)) else type(seed).__name__
        raise ApportionError("bad_seed", f"seed is {n} bytes, want 32")


def choice_order(seed: bytes) -> list[str]:
    """The choices by SHA-256(seed || UTF-8 name) ascending: the first
    wins a tie that more votes did not break."""
    check_seed(seed)
    names = [c.value for c in CHOICES]
    return sorted(names, key=lambda n: hashlib.sha256(seed + n.encode()).digest())


def deputy_order(seed: bytes, roster: Sequence[str]) -> list[str]:
    """The roster by SHA-256(seed || raw 32-byte key) ascending (a draw
    orders its pool the same way). Raises ApportionError on a key that is
    not 64 lowercase hex digits or a key listed twice."""
    check_seed(seed)
    for k in roster:
        if not isinstance(k, str) or not _KEY.fullmatch(k):
            raise ApportionError("bad_deputy", f"deputy key {k!r}, want 64 lowercase hex digits")
    if len(set(roster)) != len(roster):
        raise ApportionError("duplicate_deputy", "a deputy is listed twice in the roster")
    return sorted(roster, key=lambda k: hashlib.sha256(seed + bytes.fromhex(k)).digest())
