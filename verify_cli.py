#!/usr/bin/env python3
"""Liquid Mandate: the standalone verifier (docs/SPEC.md).

One file, the Python standard library and PyNaCl only, written from the
written contract (docs/SPEC.md) and never from the server's code, so that one
bug cannot hide in both. Copy it anywhere and run:

    python verify_cli.py http://host:port            # fetch the log and check it
    python verify_cli.py export.jsonl                 # an exported log (JSON Lines)
    python verify_cli.py SRC --checkpoint cp.txt      # also check this signed checkpoint
    python verify_cli.py SRC --receipt my.json        # my statement is in, and how it counted
    python verify_cli.py SRC --since old.checkpoint   # the log was only appended to
    python verify_cli.py SRC --texts texts.jsonl      # check comment texts against their hashes
    python verify_cli.py SRC --json                   # a machine-readable report
    python verify_cli.py SRC --no-fast                # the reference path only (slow)
    python verify_cli.py SRC --witness NAME=KEYHEX    # also check this witness's cosignatures
    python verify_cli.py URL --follow --state DIR     # a monitor: check again every few seconds

Checks, in order; every failure is reported with its entry index and the
SPEC section it belongs to:

1. canonical   every line is exactly the RFC 8785 bytes of its entry (SPEC 1, 5);
2. chain       indexes dense from 0, ``prev`` links, ``received`` never decreases (SPEC 5);
3. signatures  every Ed25519 signature verifies with its author's key (SPEC 2);
4. rules       the statement is well formed (SPEC 3) and every acceptance rule
               of SPEC 4, replayed in log order, holds (who may sign which
               kind is one of them);
5. checkpoint  root and server signature of each checkpoint given, consistent
               with the log read (SPEC 6, 11);
6. results     a ``close`` is followed by its ``result`` (SPEC 4), which equals
               the tally recomputed (SPEC 7, 8, 10) field by field;
7. cosignatures every cosignature/v1 line of a known witness verifies (SPEC 14.1);
8. forks       no two checkpoints read or fetched disagree (SPEC 14.4);
9. witnessed_closes  each close is witnessed by the time rule (SPEC 14.3),
               or reported not judged (skipped), never passed.
10. texts      (when texts are given with --texts, or fetched from a server
               SOURCE) every comment has its text, whose hash is the
               comment's ``text_hash``, or a redaction the log holds (SPEC 15.2).
               Redacted comments are reported as such, texts given or not;
               without texts the verdict on the log is the same.

How to read this file. Part one is the rules: the SPEC, section by section,
ending with ``Verifier.check_entry``, whose numbered steps are the checks
above, made on one entry; ``--no-fast`` runs only part one. Part two, at the
end, is the speed machinery (a ballot fast path, a re-encoding shortcut,
signature worker processes, key caches): each piece says what it assumes,
and a test (tests/test_verify_paths.py) checks that both paths give the same
report on valid and tampered logs. A new statement kind adds its fields to
``BODIES``, its signer to ``ORGANIZER_KINDS``/``SERVER_KINDS``, and one
``Replay._rule_<kind>`` and ``Replay._apply_<kind>`` method; a kind that
closes a lottery under the time rule also goes to ``CLOSINGS`` (``drawn`` is
there already).

Exit status: 0 everything holds; 1 something does not; 2 could not run
(unreachable server, unreadable file); 3 ran, nothing failed, but some check
could not be made (it is reported as skipped, never as passed).

Choices where SPEC.md is silent are marked "SPEC:" in the comments.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import concurrent.futures
import hashlib
import heapq
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from calendar import timegm
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from fractions import Fraction
from typing import Any

import nacl.bindings
import nacl.exceptions

# ===========================================================================
# PART ONE: THE RULES (docs/SPEC.md, section by section)
# ===========================================================================


class Problem(Exception):
    """One thing the log gets wrong: the single error type of every check.

    ``check`` is the report line it counts against (one of CHECKS),
    ``section`` the docs/SPEC.md section that states the rule, ``code`` a
    stable name (the SPEC 4 refusal code where the SPEC gives one),
    ``index`` the entry (None for the log as a whole) and ``detail`` the
    human explanation."""

    def __init__(self, check: str, section: str, code: str, index: int | None, detail: str) -> None:
        super().__init__(f"[{check}, SPEC {section}] {code}: {detail}")
        self.check, self.section, self.code, self.index, self.detail = check, section, code, index, detail

    @property
    def reason(self) -> str:
        # Rule problems lead with their SPEC 4 code, as the server's refusals do.
        return f"{self.code}: {self.detail}" if self.check == "rules" else self.detail


# ---------------------------------------------------------------------------
# 1. Canonical bytes (SPEC 1: an RFC 8785 subset)
# ---------------------------------------------------------------------------

MAX_INT = 2**53 - 1


class CanonicalError(ValueError):
    """Bytes that are not canonical-JSON material (float, duplicate key, ...)."""


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _esc(m: re.Match[str]) -> str:
    c = m.group(0)
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def _enc_str(s: str) -> str:
    if _SURROGATE.search(s):
        raise CanonicalError("lone surrogate in a string")
    return '"' + _TO_ESCAPE.sub(_esc, s) + '"'


def _enc(v: Any) -> str:
    # Written out by hand (not json.dumps) so that key order follows UTF-16
    # code units as RFC 8785 section 3.2.3 demands.
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        if not -MAX_INT <= v <= MAX_INT:
            raise CanonicalError(f"integer {v} outside ±(2^53-1)")
        return str(v)
    if isinstance(v, str):
        return _enc_str(v)
    if isinstance(v, list):
        return "[" + ",".join(_enc(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_enc_str(k) + ":" + _enc(v[k]) for k in keys) + "}"
    raise CanonicalError(f"{type(v).__name__} has no canonical form")


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; raises CanonicalError for floats, big
    integers, lone surrogates and other types."""
    return _enc(value).encode("utf-8")


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer")


def _refuse_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


def _no_dups(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise CanonicalError(f"duplicate key {k!r}")
            seen.add(k)
    return d


def _refuse_long_int(text: str) -> int:
    # Before int(): thousands of digits hit Python's digit limit (a ValueError
    # that is not a JSON error); 2^53-1 has 16 digits.
    if len(text.lstrip("-")) > 16:
        raise CanonicalError(f"integer of {len(text.lstrip('-'))} digits outside ±(2^53-1)")
    return int(text)


_STRICT = json.JSONDecoder(
    object_pairs_hook=_no_dups, parse_float=_refuse_float, parse_int=_refuse_long_int, parse_constant=_refuse_constant
)


def _walk_check(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                raise CanonicalError("lone surrogate in a string")
        elif isinstance(v, bool) or v is None:
            pass
        elif isinstance(v, int):
            if not -MAX_INT <= v <= MAX_INT:
                raise CanonicalError(f"integer {v} outside ±(2^53-1)")
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if _SURROGATE.search(k):
                    raise CanonicalError("lone surrogate in a key")
                stack.append(x)


def parse_strict(data: bytes | str) -> Any:
    """One JSON value, strictly: refuses floats, NaN/Infinity, duplicate keys,
    integers outside ±(2^53-1), lone surrogates, invalid UTF-8 and trailing
    data (surrounding whitespace is allowed). Raises CanonicalError."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CanonicalError(f"invalid UTF-8 at byte {e.start}") from None
    start = len(data) - len(data.lstrip(" \t\r\n"))
    try:
        value, end = _STRICT.raw_decode(data, start)
    except json.JSONDecodeError as e:
        raise CanonicalError(f"invalid JSON: {e.msg} at {e.pos}") from None
    except RecursionError:
        raise CanonicalError("nesting too deep") from None
    if data[end:].strip(" \t\r\n"):
        raise CanonicalError(f"trailing data at {end}")
    _walk_check(value)
    return value


def read_canonical_exact(line: bytes) -> tuple[Any, bytes, str | None]:
    """Parse one log line (without its newline), the reference way (SPEC 1,
    5). Returns (value, canonical bytes, problem): problem is None when the
    line is exactly canonical; value is None when the line cannot be parsed
    at all."""
    try:
        value = parse_strict(line)
        canon = canonical(value)
    except CanonicalError as e:
        return None, line, str(e)
    if canon != line:
        return value, canon, "line is valid JSON but not its canonical encoding"
    return value, line, None


# ---------------------------------------------------------------------------
# 2. Keys, hashes, signatures (SPEC 2)
# ---------------------------------------------------------------------------

STATEMENT_PREFIX = b"liquid-mandate/v1/statement\n"


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def check_signature(public_key: bytes, message: bytes, signature: bytes, index: int | None = None) -> None:
    """SPEC 2: ``signature`` is the Ed25519 signature of ``message`` by
    ``public_key`` (PyNaCl's public binding). Raises Problem."""
    try:
        if len(public_key) != 32 or len(signature) != 64:
            raise ValueError("a key is 32 bytes and a signature 64")
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        raise Problem(
            "signatures", "2", "bad_signature", index, "signature does not verify with the author's key"
        ) from None


# ---------------------------------------------------------------------------
# 3. Merkle tree (SPEC 6, 11.1-11.4: RFC 9162 section 2.1)
# ---------------------------------------------------------------------------


class ProofError(ValueError):
    """An inclusion or consistency proof does not verify."""


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right)


class TreeBuilder:
    """Streams leaf hashes in and gives the root of the prefix read so far."""

    __slots__ = ("size", "_stack")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def push(self, lh: bytes) -> None:
        n, h, st = self.size, lh, self._stack
        while n & 1:
            h = _sha(b"\x01" + st.pop() + h)
            n >>= 1
        st.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return _sha(b"")
        h = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


def _largest_pow2_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(leaves: LeafStore, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from stored leaf hashes (RFC 9162 2.1.1)."""
    if hi == lo:
        return _sha(b"")
    t = TreeBuilder()
    for i in range(lo, hi):
        t.push(leaves[i])
    return t.root()


def inclusion_proof(leaves: LeafStore, m: int, n: int) -> list[bytes]:
    """PATH(m, D[0:n]) of RFC 9162 2.1.3.1."""
    if not 0 <= m < n:
        raise ProofError(f"index {m} not in a tree of size {n}")
    out: list[bytes] = []

    def path(m: int, lo: int, hi: int) -> None:
        if hi - lo == 1:
            return
        k = _largest_pow2_below(hi - lo)
        if m < k:
            path(m, lo, lo + k)
            out.append(subtree_root(leaves, lo + k, hi))
        else:
            path(m - k, lo + k, hi)
            out.append(subtree_root(leaves, lo, lo + k))

    path(m, 0, n)
    return out


def consistency_proof(leaves: LeafStore, m: int, n: int) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 2.1.4.1 (0 < m <= n)."""
    if not 0 < m <= n:
        raise ProofError(f"no consistency proof from size {m} to {n}")
    out: list[bytes] = []

    def sub(m: int, lo: int, hi: int, b: bool) -> None:
        if m == hi - lo:
            if not b:
                out.append(subtree_root(leaves, lo, hi))
            return
        k = _largest_pow2_below(hi - lo)
        if m <= k:
            sub(m, lo, lo + k, b)
            out.append(subtree_root(leaves, lo + k, hi))
        else:
            sub(m - k, lo + k, hi, False)
            out.append(subtree_root(leaves, lo, lo + k))

    sub(m, 0, n, True)
    return out


def verify_inclusion(*, index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2. Raises ProofError."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} not below size {size}")
    if len(leaf) != 32 or len(root) != 32 or any(len(p) != 32 for p in proof):
        raise ProofError("hashes must be 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"proof has {len(proof)} hashes, too many")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"proof has {len(proof)} hashes, too few")
    if r != root:
        raise ProofError("computed root differs from the checkpoint root")


def verify_consistency(*, size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> None:
    """RFC 9162 2.1.4.2. Raises ProofError; a proof from size 0 is refused
    (it proves nothing)."""
    if size1 <= 0 or size2 < size1:
        raise ProofError(f"no consistency proof from size {size1} to {size2}")
    if size1 == size2:
        # As transparency-dev/merkle: equal sizes need no proof, only equal roots.
        if proof:
            raise ProofError(f"proof has {len(proof)} hashes, want 0 for equal sizes")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if len(root1) != 32 or len(root2) != 32 or any(len(p) != 32 for p in proof):
        raise ProofError("hashes must be 32 bytes")
    if not proof:
        raise ProofError("empty proof for different sizes")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof has too few hashes")
    if fr != root1:
        raise ProofError("proof does not lead to the old root")
    if sr != root2:
        raise ProofError("proof does not lead to the new root")


class LeafStore:
    """Leaf hashes of the whole log, packed 32 bytes each."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def append(self, h: bytes) -> None:
        self._buf += h

    def __len__(self) -> int:
        return len(self._buf) // 32

    def __getitem__(self, i: int) -> bytes:
        return bytes(self._buf[32 * i : 32 * i + 32])


# ---------------------------------------------------------------------------
# 4. Checkpoints (SPEC 6, 11.5: C2SP signed-note, tlog-checkpoint)
# ---------------------------------------------------------------------------


class NoteError(ValueError):
    """A checkpoint note that cannot be read or whose signature fails."""


def note_key_id(name: str, public_key: bytes) -> bytes:
    return _sha(name.encode("utf-8") + b"\n\x01" + public_key)[:4]


MAX_NOTE_SIGNATURES = 100  # SPEC 11.5: more signature lines than this and the note is refused
_NOTE_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_NOTE_NAME_BAD = re.compile(r"[\s+]")


def _b64_canonical(s: str, what: str) -> bytes:
    """Strict standard base64 whose re-encoding is ``s`` (SPEC 11.5): one
    spelling per byte string, so a note cannot be altered and still read."""
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise NoteError(f"{what} is not canonical base64")
    return raw


class Checkpoint:
    """A parsed tlog-checkpoint note (its signatures not yet checked), read
    by the strict rule of SPEC 11.5: the text ends at the last blank line;
    1 to 100 signature lines ``— <name> <base64>``, each canonical base64 of
    a 4-byte key id and a signature; the text is exactly origin, a decimal
    size without leading zeros (at most 20 digits), and the canonical base64
    of a 32-byte root; no ASCII control character but newline."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.note = text
        if _NOTE_CONTROL.search(text):
            raise NoteError("note holds an ASCII control character other than newline")
        if not text.endswith("\n"):
            raise NoteError("note does not end in a newline")
        split = text.rfind("\n\n")
        if split < 0:
            raise NoteError("not a signed note: no blank line before the signature lines")
        self.text, sig_block = text[: split + 1], text[split + 2 :]
        sig_lines = sig_block.split("\n")[:-1]
        if not sig_lines:
            raise NoteError("note has no signature line")
        if len(sig_lines) > MAX_NOTE_SIGNATURES:
            raise NoteError(f"note has {len(sig_lines)} signature lines, at most {MAX_NOTE_SIGNATURES}")
        lines = self.text.split("\n")[:-1]
        if len(lines) != 3:
            raise NoteError(f"checkpoint text has {len(lines)} lines, want 3")
        self.origin, size, root = lines
        if not self.origin:
            raise NoteError("origin is empty")
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size):
            raise NoteError(f"size {size!r} is not a decimal without leading zeros")
        self.size = int(size)
        self.root = _b64_canonical(root, "root")
        if len(self.root) != 32:
            raise NoteError(f"root has {len(self.root)} bytes, want 32")
        self.signatures: list[tuple[str, bytes, bytes]] = []
        for k, line in enumerate(sig_lines):
            if not line.startswith("\u2014 "):
                raise NoteError(f"signature line {k} does not start with an em dash and a space")
            fields = line[2:].split(" ")
            if len(fields) != 2 or not fields[0] or _NOTE_NAME_BAD.search(fields[0]):
                raise NoteError(f"signature line {k} is not '\u2014 <name> <signature>'")
            raw = _b64_canonical(fields[1], f"signature line {k}")
            if len(raw) < 5:
                raise NoteError(f"signature line {k} is too short for a key id and a signature")
            self.signatures.append((fields[0], raw[:4], raw[4:]))

    def verify(self, *, origin: str, public_key: bytes) -> None:
        """Raise NoteError unless the origin is right and a signature line by
        ``public_key`` under that name verifies; any line with the server's
        name and key id that does not verify rejects the note (SPEC 11.5,
        as C2SP signed-note recommends), even when another one does."""
        if self.origin != origin:
            raise NoteError(f"origin is {self.origin!r}, want {origin!r}")
        kid = note_key_id(origin, public_key)
        verified = False
        for name, key_id, sig in self.signatures:
            if name == origin and key_id == kid:
                try:
                    check_signature(public_key, self.text.encode("utf-8"), sig)
                except Problem:
                    raise NoteError("a signature line of the server's key does not verify") from None
                verified = True
        if not verified:
            raise NoteError("no signature by the server key")


# ---------------------------------------------------------------------------
# 5. Statements (SPEC 3)
# ---------------------------------------------------------------------------

CHOICES = ("yes", "no", "abstain")
STANCES = ("for", "against", "neutral")
METHODS = ("largest_remainder", "dhondt", "sainte_lague")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX128 = re.compile(r"[0-9a-f]{128}\Z")
# SPEC 3: ASCII digits only ([0-9], never \d, which matches other scripts' digits).
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z\Z")
# Hours, minutes and seconds are checked here; the calendar date by time_key.
_RECEIVED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z\Z")
# SPEC 3: a member's name holds no Cc control and no bidirectional control.
_NAME_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def time_key(s: Any) -> str | None:
    """A comparable form of a SPEC time (six fractional digits), or None when
    it is not a real UTC time of the SPEC format."""
    m = _TIME.match(s) if isinstance(s, str) else None
    if not m:
        return None
    y, mo, d, h, mi, sec, frac = m.groups()
    try:
        datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec))
    except ValueError:
        return None
    return f"{y}-{mo}-{d}T{h}:{mi}:{sec}.{(frac or '').ljust(6, '0')}Z"


# SPEC 4, witnesses: what a C2SP key name may not hold (every Unicode
# White_Space character, the C0 controls, DEL and '+'), spelled out.
_BAD_KEY_NAME = re.compile(r"[\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000+]")


def _is_str(v: Any, empty: bool = False) -> bool:
    return isinstance(v, str) and (empty or v != "") and len(v) <= 10_000


def _is_name(v: Any) -> bool:
    """SPEC 3: a member's name, at most 64 code points, no control character."""
    return _is_str(v, True) and len(v) <= 64 and _NAME_FORBIDDEN.search(v) is None


def _is_int(v: Any, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _is_key(v: Any) -> bool:
    return isinstance(v, str) and _HEX64.match(v) is not None


def _is_slug(v: Any) -> bool:
    return isinstance(v, str) and _SLUG.match(v) is not None


def _is_keys(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= 10_000 and all(_is_key(k) for k in v)


def _is_scope(v: Any) -> bool:
    if v == "*":
        return True
    if isinstance(v, str) and v.startswith(("topic:", "motion:")):
        return _is_slug(v.split(":", 1)[1])
    return False


def _is_rules(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and v.keys() == {"method", "quorum", "no_quorum"}
        and v["method"] in METHODS
        and _is_int(v["quorum"], 0, 100)
        and v["no_quorum"] in ("abstain", "no")
    )


def _is_lottery(v: Any) -> bool:
    """SPEC 16: a lottery is named `motion:<slug>` or `draw:<slug>`."""
    return isinstance(v, str) and v.startswith(("motion:", "draw:")) and _is_slug(v.split(":", 1)[1])


def _is_count(v: Any) -> bool:
    return _is_int(v, 0, MAX_INT)


def _is_url(v: Any, empty: bool = True) -> bool:
    """SPEC 3: a url is empty (where allowed) or starts with https:// or http://."""
    return _is_str(v, empty) and (v == "" or v.startswith(("https://", "http://")))


VOTED = ("yes", "no", "abstain", "absent")  # SPEC 3: what a deputy voted (report, record)


def _is_motion_url(v: Any) -> bool:
    """SPEC 3, 13: a motion's url may also be `proposal:<slug>`."""
    if isinstance(v, str) and v.startswith("proposal:"):
        return _is_slug(v[9:])
    return _is_url(v)


def _is_instructions(v: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(x, dict) and x.keys() == {"deputy", "choice"} and _is_key(x["deputy"]) and x["choice"] in CHOICES
        for x in v
    )


def _is_cosigners(v: Any) -> bool:
    # SPEC 3 (witnesses): the form only; names, distinctness and URLs are rules (SPEC 4).
    return (
        isinstance(v, list)
        and len(v) <= 10_000
        and all(
            isinstance(c, dict)
            and c.keys() == {"name", "key", "url"}
            and _is_str(c["name"])
            and _is_key(c["key"])
            and _is_str(c["url"])
            for c in v
        )
    )


BODIES: dict[str, dict[str, Any]] = {
    "assembly": {"name": _is_str, "organizers": _is_keys, "server": _is_key, "rules": _is_rules},
    "invite": {"code_hash": _is_key, "note": lambda v: _is_str(v, True)},
    "enroll": {"code": _is_str, "name": _is_name},
    "expel": {"member": _is_key, "reason": _is_str},
    "topic": {
        "id": _is_slug,
        "title": _is_str,
        "description": lambda v: _is_str(v, True),
        "parent": lambda v: v is None or _is_slug(v),
    },
    "motion": {
        "id": _is_slug,
        "topic": _is_slug,
        "title": _is_str,
        "summary": _is_str,
        "url": _is_motion_url,
        "opens": lambda v: time_key(v) is not None,
        "closes": lambda v: time_key(v) is not None,
        "quorum": lambda v: v is None or _is_int(v, 0, 100),
    },
    "deputies": {"roster": _is_keys},
    "delegate": {"scope": _is_scope, "to": lambda v: v is None or v == "self" or _is_key(v)},
    "ballot": {"motion": _is_slug, "choice": lambda v: v is None or (isinstance(v, str) and v in CHOICES)},
    "close": {"motion": _is_slug, "reveal": _is_key},
    "commit": {"lottery": lambda v: _is_lottery(v), "hash": _is_key},
    "result": {
        "motion": _is_slug,
        "close": _is_key,
        "seed": _is_key,
        "members": _is_count,
        "yes": _is_count,
        "no": _is_count,
        "abstain": _is_count,
        "direct": _is_count,
        "delegated": _is_count,
        "dead_end": _is_count,
        "cycle": _is_count,
        "absent": _is_count,
        "quorum": lambda v: (
            isinstance(v, dict)
            and v.keys() == {"required", "met"}
            and _is_int(v["required"], 0, 100)
            and isinstance(v["met"], bool)
        ),
        "method": lambda v: isinstance(v, str) and v in METHODS,
        "seats": lambda v: (
            isinstance(v, dict) and v.keys() == {"yes", "no", "abstain"} and all(_is_count(x) for x in v.values())
        ),
        "instructions": _is_instructions,
    },
    "report": {
        "motion": _is_slug,
        "voted": lambda v: isinstance(v, str) and v in VOTED,
        "source": _is_url,
        "note": lambda v: _is_str(v, True),
    },
    "record": {
        "motion": _is_slug,
        "deputy": _is_key,
        "voted": lambda v: isinstance(v, str) and v in VOTED,
        "source": lambda v: _is_url(v, False),
    },
    "draw": {
        "id": _is_slug,
        "title": _is_str,
        "seats": lambda v: _is_int(v, 1, 10_000),
        "opens": lambda v: time_key(v) is not None,
        "closes": lambda v: time_key(v) is not None,
        "certified": lambda v: isinstance(v, bool),
    },
    "volunteer": {"draw": _is_slug, "standing": lambda v: isinstance(v, bool)},
    "certify": {"draw": _is_slug, "member": _is_key},
    "drawn": {"draw": _is_slug, "reveal": _is_key, "seed": _is_key, "pool": _is_count, "chosen": _is_keys},
    "witnesses": {"cosigners": _is_cosigners, "quorum": _is_count, "grace": lambda v: _is_int(v, 1, 60)},
    # SPEC 15: deliberation
    "comment": {
        "motion": lambda v: v is None or _is_slug(v),
        "proposal": lambda v: v is None or _is_slug(v),
        "stance": lambda v: isinstance(v, str) and v in STANCES,
        "reply_to": lambda v: v is None or _is_int(v, 0, MAX_INT),
        "text_hash": _is_key,
    },
    "redact": {"entry": lambda v: _is_int(v, 0, MAX_INT), "reason": _is_str},
    "proposal": {
        "id": _is_slug,
        "topic": _is_slug,
        "title": _is_str,
        "summary": _is_str,
        "url": _is_url,
        "amends": lambda v: v is None or _is_slug(v),
    },
    "support": {"proposal": _is_slug, "on": lambda v: isinstance(v, bool)},
}
HEADER = ("v", "assembly", "kind", "author", "seq")
KEYSETS = {kind: frozenset(HEADER) | frozenset(body) for kind, body in BODIES.items()}
ORGANIZER_KINDS = frozenset(
    {"invite", "expel", "topic", "motion", "deputies", "record", "draw", "certify", "witnesses"}
)
SERVER_KINDS = frozenset({"commit", "close", "result", "drawn"})
# SPEC 16: a lottery's name is its kind's prefix and its id.
MOTION, DRAW = "motion:", "draw:"
# SPEC 16: the kinds that reveal a lottery's r, and the lottery each reveals.
REVEALS: dict[str, Callable[[dict[str, Any]], str]] = {
    "close": lambda st: "motion:" + st["motion"],
    "drawn": lambda st: "draw:" + st["draw"],
}
RESULT_FIELDS = tuple(BODIES["result"])


def check_form(index: int, st: Any) -> None:
    """SPEC 3: the statement object is well formed (its kind's fields, all
    required, no others, each of its format). Raises Problem (``malformed``)."""
    why = _form_problem(st)
    if why is not None:
        raise Problem("rules", "3", "malformed", index, why)


def _form_problem(st: Any) -> str | None:
    """Why a statement object breaks SPEC 3, or None."""
    if not isinstance(st, dict):
        return "statement is not an object"
    kind = st.get("kind")
    if not isinstance(kind, str) or kind not in BODIES:
        return f"unknown kind {kind!r}"
    if st.keys() != KEYSETS[kind]:
        missing = sorted(KEYSETS[kind] - st.keys())
        return f"missing field {missing[0]!r}" if missing else f"unknown field {sorted(st.keys() - KEYSETS[kind])[0]!r}"
    if st["v"] != 1 or isinstance(st["v"], bool):
        return "v is not 1"
    if not _is_key(st["author"]):
        return "author is not a key"
    if not _is_int(st["seq"], 1, MAX_INT):
        return "seq is not an integer in 1..2^53-1"
    if kind == "assembly":
        if st["assembly"] != "":
            return "assembly is not '' in the genesis statement"
    elif not _is_key(st["assembly"]):
        return "assembly is not a hex id"
    for name, ok in BODIES[kind].items():
        if not ok(st[name]):
            return f"field {name!r} is ill-formed"
    if kind == "assembly":
        orgs = st["organizers"]
        if not orgs or len(set(orgs)) != len(orgs) or st["author"] not in orgs:
            return "organizers must be non-empty, distinct and include the author"
    if kind == "comment" and (st["motion"] is None) == (st["proposal"] is None):
        return "a comment names exactly one of motion and proposal, the other null"
    return None


# ---------------------------------------------------------------------------
# 6. Tally (SPEC 7, 8, 10)
# ---------------------------------------------------------------------------

DEAD, CYCLE = "dead_end", "cycle"


def _lot(c: bytes, name: str) -> bytes:
    return _sha(c + name.encode("utf-8"))


def apportion(method: str, votes: dict[str, int], seats: int, c: bytes) -> dict[str, int]:
    """Seats per choice in exact integer arithmetic (SPEC 10). Ties go to
    more votes, then to the smaller SHA-256(c || name)."""
    total = sum(votes.values())
    out = dict.fromkeys(CHOICES, 0)
    if seats == 0 or total == 0:
        return out

    def tiebreak(ch: str) -> tuple[int, bytes]:
        return (-votes[ch], _lot(c, ch))

    if method == "largest_remainder":
        for ch in CHOICES:
            out[ch] = votes[ch] * seats // total
        left = seats - sum(out.values())
        ranked = sorted(CHOICES, key=lambda ch: (-(votes[ch] * seats % total), *tiebreak(ch)))
        for ch in ranked[:left]:
            out[ch] += 1
        return out
    if method not in ("dhondt", "sainte_lague"):
        raise ValueError(f"unknown method {method!r}")
    for _ in range(seats):

        def quotient(ch: str) -> Fraction:
            s = out[ch]
            return Fraction(votes[ch], s + 1 if method == "dhondt" else 2 * s + 1)

        best = min(CHOICES, key=lambda ch: (-quotient(ch), *tiebreak(ch)))
        out[best] += 1
    return out


LOTTERY_PREFIX = b"liquid-mandate/v1/lottery\n"


def participants_digest(items: Iterable[bytes]) -> bytes:
    """SPEC 16: D = SHA-256 of the 32-byte items, sorted ascending as bytes,
    concatenated (SHA-256 of the empty string when there is none)."""
    return _sha(b"".join(sorted(items)))


def lottery_seed(r: bytes, d: bytes) -> bytes:
    """SPEC 16: seed = SHA-256(`liquid-mandate/v1/lottery\n` || r || D)."""
    return _sha(LOTTERY_PREFIX + r + d)


def ballots_digest(voters: dict[str, str]) -> bytes:
    """SPEC 16: D of a motion, one item SHA-256(raw key || UTF-8 choice) per
    counted direct voter (active, ballot not withdrawn)."""
    return participants_digest(_sha(bytes.fromhex(k) + ch.encode("utf-8")) for k, ch in voters.items())


def instructions(roster: list[str], seats: dict[str, int], c: bytes) -> list[dict[str, str]]:
    order = sorted(roster, key=lambda k: _sha(c + bytes.fromhex(k)))
    told: dict[str, str] = {}
    for i, k in enumerate(order):
        told[k] = "yes" if i < seats["yes"] else "no" if i < seats["yes"] + seats["no"] else "abstain"
    return [{"deputy": k, "choice": told[k]} for k in roster]


# ---------------------------------------------------------------------------
# 7. Rules of acceptance, replayed in log order (SPEC 4)
# ---------------------------------------------------------------------------


def _refused(index: int, code: str, detail: str) -> Problem:
    """A SPEC 4 refusal, found in the log."""
    return Problem("rules", "4", code, index, detail)


class Motion:
    __slots__ = (
        "id",
        "topic",
        "opens",
        "closes",
        "quorum",
        "index",
        "close_index",
        "close_hash",
        "ballots",
        "result",
        "result_index",
        "track",
    )

    def __init__(self, st: dict[str, Any], index: int) -> None:
        self.id, self.topic, self.quorum, self.index = st["id"], st["topic"], st["quorum"], index
        self.opens, self.closes = time_key(st["opens"]), time_key(st["closes"])
        self.close_index: int | None = None
        self.close_hash: bytes | None = None
        self.ballots: dict[str, tuple[str, int]] = {}  # member -> (choice, entry index)
        self.result: dict[str, Any] | None = None  # recomputed
        self.result_index: int | None = None
        self.track: dict[str, Any] = {}  # receipts: member -> how they counted


class Draw:
    """A draw by lot as the replay knows it (SPEC 4, draws)."""

    __slots__ = ("id", "seats", "opens", "closes", "certified", "index", "standing", "certifications", "drawn_index")

    def __init__(self, st: dict[str, Any], index: int) -> None:
        self.id, self.seats, self.certified, self.index = st["id"], st["seats"], st["certified"], index
        self.opens, self.closes = time_key(st["opens"]), time_key(st["closes"])
        self.standing: dict[str, bool] = {}
        self.certifications: set[str] = set()
        self.drawn_index: int | None = None


class Comment:
    """SPEC 15: a comment entry, and the redact that erased its text."""

    __slots__ = ("index", "author", "target", "text_hash", "redact", "reason")

    def __init__(self, st: dict[str, Any], index: int) -> None:
        self.index, self.author, self.text_hash = index, st["author"], st["text_hash"]
        self.target = ("motion", st["motion"]) if st["motion"] is not None else ("proposal", st["proposal"])
        self.redact: int | None = None
        self.reason: str | None = None


class Proposal:
    """SPEC 15: a proposal, its supporters (in the order they last began to
    support it) and the motion it became."""

    __slots__ = ("id", "supporters", "motion")

    def __init__(self, st: dict[str, Any]) -> None:
        self.id = st["id"]
        self.supporters: dict[str, None] = {}
        self.motion: str | None = None


class Replay:
    """The state the entries before the current one established (SPEC 4:
    "state is what the entries before the statement established"), and the
    rules that decide whether the current one could have been accepted.

    Each ``check_*`` and ``_rule_<kind>`` method raises Problem (check
    "rules", SPEC 4, the SPEC's refusal code); ``apply`` then changes the
    state by one accepted statement, through ``_apply_<kind>``."""

    def __init__(self, track: Iterable[str] = ()) -> None:
        self.assembly_id: str | None = None
        self.assembly_id_b: bytes | None = None
        self.organizers: frozenset[str] = frozenset()
        self.server: str | None = None
        self.rules: dict[str, Any] = {}
        self.last_seq: dict[str, int] = {}
        self.invites: dict[str, bool] = {}  # code_hash -> used
        self.enrolled: set[str] = set()
        self.active: set[str] = set()
        self.names: dict[str, str] = {}
        self.topics: dict[str, str | None] = {}
        self.motions: dict[str, Motion] = {}
        self.draws: dict[str, Draw] = {}
        self.roster: list[str] = []
        self.settings: dict[str, dict[str, tuple[str, int]]] = {}  # member -> scope -> (to, index)
        self.kinds: dict[str, int] = {}
        # SPEC 4, witnesses: every policy in log order, (index, statement);
        # the one in force at index I is the last before I.
        self.witness_policies: list[tuple[int, dict[str, Any]]] = []
        self.pending_close: Motion | None = None
        # SPEC 16: lottery -> (SHA-256(r) committed, commit entry index); the
        # lottery whose commit must be the next entry; the lotteries revealed.
        self.commits: dict[str, tuple[bytes, int]] = {}
        self.pending_commit: tuple[str, int] | None = None
        self.revealed: dict[str, bytes] = {}
        # heap of (closes, lottery) not yet closed: `motion:<id>` or `draw:<id>`
        # (SPEC 4, close first: the order in which due lotteries close)
        self.due: list[tuple[str, str]] = []
        self.track = set(track)
        # SPEC 4, witnesses: every policy in log order, (index, statement);
        # the one in force at index I is the last before I.
        self.witness_policies: list[tuple[int, dict[str, Any]]] = []
        # SPEC 14: witness policies, the policy of each lottery, the closings to judge.
        self.policy: Policy | None = None
        self.policies: list[Policy] = []
        self.lottery_policy: dict[str, Policy | None] = {}
        self.closings: list[Closing] = []
        # SPEC 15: entry index -> comment; proposal id -> proposal
        self.comments: dict[int, Comment] = {}
        self.proposals: dict[str, Proposal] = {}

    # -- SPEC 4, "always" and the signer column of the table ------------------
    def check_signer(self, index: int, st: dict[str, Any]) -> None:
        """SPEC 4: organizer kinds are signed by an organizer of the genesis,
        server kinds by the genesis server key."""
        kind, author = st["kind"], st["author"]
        if kind in ORGANIZER_KINDS and self.assembly_id is not None and author not in self.organizers:
            raise _refused(index, "not_organizer", f"a {kind} must be signed by an organizer of the genesis")
        if kind in SERVER_KINDS and self.server is not None and author != self.server:
            raise _refused(index, "not_server", f"a {kind} must be signed by the genesis server key")

    def check_rules(self, index: int, st: dict[str, Any], received: str) -> None:
        """SPEC 4 for a well-formed ``st`` (see ``check_form``): genesis,
        assembly, seq, then the rules of its kind (``_rule_<kind>``)."""
        kind, author = st["kind"], st["author"]
        if index == 0:
            if kind != "assembly":
                raise _refused(index, "not_genesis", "entry 0 is not the assembly statement")
            return
        if kind == "assembly":
            raise _refused(index, "already_founded", "an assembly statement after entry 0")
        if self.assembly_id is None:
            raise _refused(index, "not_genesis", "no valid genesis before this entry")
        if st["assembly"] != self.assembly_id:
            raise _refused(index, "wrong_assembly", "assembly is not the id of this assembly")
        if st["seq"] <= self.last_seq.get(author, 0):
            raise _refused(index, "replayed_seq", f"seq {st['seq']} is not above {self.last_seq[author]}")
        getattr(self, "_rule_" + kind)(index, st, received)

    def late_closes(self, index: int, st: dict[str, Any], received: str) -> list[Problem]:
        """SPEC 4, close first: once an entry is received at or after a
        motion's `closes`, that motion's close is in the log already (or is
        this entry). Each motion is reported once, at the first entry that
        comes too early. SPEC: a `close` or `result` entry is part of the
        closing under way (the server writes the close and result of every
        due motion, one motion after the other, at the same time), so it is
        never late itself."""
        out = []
        due = self.due
        while due and due[0][0] <= received:
            closes, lottery = due[0]
            if self._closed(lottery):
                heapq.heappop(due)
                continue
            if st["kind"] in SERVER_KINDS:
                break
            heapq.heappop(due)
            kind, _, name = lottery.partition(":")
            out.append(
                _refused(
                    index,
                    "late_close",
                    f"{kind} {name!r} closes at {closes}, but this entry, "
                    f"received {received}, comes before its close entry",
                )
            )
        return out

    def _closed(self, lottery: str) -> bool:
        kind, _, name = lottery.partition(":")
        return (self.draws[name].drawn_index if kind == "draw" else self.motions[name].close_index) is not None

    def _close_first(self, index: int, lottery: str, closes: str) -> None:
        """SPEC 4, close first: lotteries falling due together close in order
        of `closes`, then lottery name (`draw:` before `motion:`). Any
        unclosed lottery before this one in that order is due too (its
        closes is not later), so it must be closed already."""
        due = self.due
        while due and self._closed(due[0][1]):
            heapq.heappop(due)
        if due and due[0] < (closes, lottery):
            raise _refused(
                index,
                "close_order",
                f"{due[0][1]!r} closes first (closes, then name), but {lottery!r} is closed before it",
            )

    # -- SPEC 4, the rules of each kind (one method per kind) ----------------
    def _rule_assembly(self, index: int, st: dict[str, Any], received: str) -> None:
        pass  # entry 0 only: checked by check_rules

    def _rule_invite(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["code_hash"] in self.invites:
            raise _refused(index, "duplicate_invite", "this code_hash was invited before")

    def _rule_enroll(self, index: int, st: dict[str, Any], received: str) -> None:
        h = hashlib.sha256(st["code"].encode("utf-8")).hexdigest()
        if h not in self.invites:
            raise _refused(index, "unknown_invite", "no invite has this code's hash")
        if self.invites[h]:
            raise _refused(index, "invite_used", "this invitation was already redeemed")
        if st["author"] in self.enrolled:
            raise _refused(index, "already_member", "this key was enrolled before")

    def _rule_expel(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["member"] not in self.active:
            raise _refused(index, "unknown_member", "the expelled key is not an active member")

    def _rule_topic(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["id"] in self.topics:
            raise _refused(index, "duplicate_topic", f"topic {st['id']!r} exists")
        if st["parent"] is not None and st["parent"] not in self.topics:
            raise _refused(index, "unknown_topic", f"parent {st['parent']!r} does not exist")

    def _rule_motion(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["id"] in self.motions:
            raise _refused(index, "duplicate_motion", f"motion {st['id']!r} exists")
        if st["topic"] not in self.topics:
            raise _refused(index, "unknown_topic", f"topic {st['topic']!r} does not exist")
        if not time_key(st["opens"]) < time_key(st["closes"]):  # type: ignore[operator]
            raise _refused(index, "bad_window", "opens is not before closes")
        if st["url"].startswith("proposal:"):  # SPEC 15: turned from a ready proposal, once
            p = self.proposals.get(st["url"][9:])
            if p is None:
                raise _refused(index, "unknown_proposal", f"url {st['url']!r} names no proposal")
            if p.motion is not None:
                raise _refused(index, "proposal_adopted", f"proposal {p.id!r} already became motion {p.motion!r}")
            have = sum(1 for k in p.supporters if k in self.active)
            if have * 10 < len(self.active):
                raise _refused(
                    index, "proposal_not_ready", f"proposal {p.id!r}: {have} supporters of {len(self.active)} members"
                )

    def _rule_deputies(self, index: int, st: dict[str, Any], received: str) -> None:
        roster = st["roster"]
        if not roster or len(set(roster)) != len(roster) or not all(k in self.active for k in roster):
            raise _refused(index, "bad_roster", "the roster must list at least one distinct active member")

    def _rule_delegate(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        scope = st["scope"]
        if scope.startswith("topic:") and scope[6:] not in self.topics:
            raise _refused(index, "unknown_topic", f"scope {scope!r}")
        if scope.startswith("motion:"):
            m = self.motions.get(scope[7:])
            if m is None:
                raise _refused(index, "unknown_motion", f"scope {scope!r}")
            if m.close_index is not None:
                raise _refused(index, "motion_closed", f"motion {m.id!r} is closed")
        to = st["to"]
        if to is not None and to != "self":
            if to not in self.active:
                raise _refused(index, "unknown_member", "the delegate is not an active member")
            if to == st["author"]:
                raise _refused(index, "self_delegation", "a member cannot delegate to themselves")

    def _rule_ballot(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        m = self.motions.get(st["motion"])
        if m is None:
            raise _refused(index, "unknown_motion", f"motion {st['motion']!r}")
        if received < m.opens:  # type: ignore[operator]
            raise _refused(index, "motion_not_open", f"received {received} before opens")
        if received >= m.closes or m.close_index is not None:  # type: ignore[operator]
            raise _refused(index, "motion_closed", f"received {received}, motion closed")

    def _rule_close(self, index: int, st: dict[str, Any], received: str) -> None:
        m = self.motions.get(st["motion"])
        if m is None:
            raise _refused(index, "unknown_motion", f"motion {st['motion']!r}")
        if m.close_index is not None:
            raise _refused(index, "motion_closed", f"motion {m.id!r} was closed at entry {m.close_index}")
        if received < m.closes:  # type: ignore[operator]
            raise _refused(index, "too_early", f"received {received} before closes {m.closes}")
        self._close_first(index, MOTION + m.id, m.closes)
        self.check_reveal(index, st)

    def _rule_commit(self, index: int, st: dict[str, Any], received: str) -> None:
        """SPEC 16: a commit is the entry right after the motion (or draw) it
        names, and the only commit of that lottery."""
        lottery = st["lottery"]
        if lottery in self.commits:
            raise _refused(index, "bad_commit", f"{lottery!r} was committed at entry {self.commits[lottery][1]}")
        kind, _, name = lottery.partition(":")
        m = self.motions.get(name) if kind == "motion" else self.draws.get(name) if kind == "draw" else None
        if m is None or m.index != index - 1:
            raise _refused(index, "bad_commit", f"a commit of {lottery!r} must come right after that {kind}")

    def check_reveal(self, index: int, st: dict[str, Any]) -> None:
        """SPEC 16: SHA-256(reveal) is the hash its lottery's commit gave."""
        lottery = REVEALS[st["kind"]](st)
        commit = self.commits.get(lottery)
        if commit is None:
            raise _refused(index, "bad_reveal", f"{lottery!r} has no commit to reveal")
        if _sha(bytes.fromhex(st["reveal"])) != commit[0]:
            raise _refused(
                index,
                "bad_reveal",
                f"SHA-256 of the reveal is not the hash committed for {lottery!r} at entry {commit[1]}",
            )

    def _rule_result(self, index: int, st: dict[str, Any], received: str) -> None:
        pass  # its place and its fields: Verifier.check_result (SPEC 4, 8)

    def _instructed(self, index: int, motion_id: str, deputy: str) -> None:
        """SPEC 4: a deputy's vote is reported or recorded only after the
        motion's result, and only for a deputy it gives an instruction."""
        m = self.motions.get(motion_id)
        if m is None:
            raise _refused(index, "unknown_motion", f"motion {motion_id!r}")
        if m.result_index is None or m.result is None:
            raise _refused(index, "not_instructed", f"motion {motion_id!r} has no result before this entry")
        if not any(i["deputy"] == deputy for i in m.result["instructions"]):
            raise _refused(index, "not_instructed", f"the result of {motion_id!r} gives this deputy no instruction")

    def _draw_of(self, index: int, draw_id: str) -> Draw:
        d = self.draws.get(draw_id)
        if d is None:
            raise _refused(index, "unknown_draw", f"draw {draw_id!r}")
        return d

    def _rule_draw(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["id"] in self.draws:
            raise _refused(index, "duplicate_draw", f"draw {st['id']!r} exists")
        if not time_key(st["opens"]) < time_key(st["closes"]):  # type: ignore[operator]
            raise _refused(index, "bad_window", "opens is not before closes")

    def _rule_volunteer(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        d = self._draw_of(index, st["draw"])
        if received < d.opens:  # type: ignore[operator]
            raise _refused(index, "draw_not_open", f"received {received} before the draw opens")
        if received >= d.closes or d.drawn_index is not None:  # type: ignore[operator]
            raise _refused(index, "draw_closed", f"received {received}, the draw is closed")

    def _rule_certify(self, index: int, st: dict[str, Any], received: str) -> None:
        d = self._draw_of(index, st["draw"])
        if st["member"] not in self.active:
            raise _refused(index, "unknown_member", "the certified key is not an active member")
        if received >= d.opens:  # type: ignore[operator]
            raise _refused(index, "draw_opened", f"received {received}: certifications come before the draw opens")

    def _rule_drawn(self, index: int, st: dict[str, Any], received: str) -> None:
        """SPEC 4, 13: a draw is drawn once, at or after its `closes`, with
        its committed r, and exactly as recomputed here: the pool (active,
        standing by their latest volunteer, certified when the draw says
        so), D over SHA-256(raw key) of the pool, the seed, and the first
        `seats` of the pool by SHA-256(seed || raw key)."""
        d = self._draw_of(index, st["draw"])
        if d.drawn_index is not None:
            raise _refused(index, "draw_closed", f"draw {d.id!r} was drawn at entry {d.drawn_index}")
        if received < d.closes:  # type: ignore[operator]
            raise _refused(index, "too_early", f"received {received} before closes {d.closes}")
        self._close_first(index, DRAW + d.id, d.closes)
        self.check_reveal(index, st)
        pool = sorted(
            k for k, on in d.standing.items() if on and k in self.active and (not d.certified or k in d.certifications)
        )
        seed = lottery_seed(bytes.fromhex(st["reveal"]), participants_digest(_sha(bytes.fromhex(k)) for k in pool))
        chosen = sorted(pool, key=lambda k: _sha(seed + bytes.fromhex(k)))[: d.seats]
        for name, want in (("seed", seed.hex()), ("pool", len(pool)), ("chosen", chosen)):
            if st[name] != want:
                raise _refused(index, "bad_drawn", f"{name} differs from the draw recomputed from the log")

    def _rule_report(self, index: int, st: dict[str, Any], received: str) -> None:
        self._instructed(index, st["motion"], st["author"])

    def _rule_record(self, index: int, st: dict[str, Any], received: str) -> None:
        self._instructed(index, st["motion"], st["deputy"])

    def _rule_witnesses(self, index: int, st: dict[str, Any], received: str) -> None:
        """SPEC 4, witnesses: valid distinct C2SP key names, distinct keys,
        http(s) URLs, at least one cosigner; 2 x quorum > n and quorum <= n."""
        cos = st["cosigners"]
        if not cos:
            raise _refused(index, "bad_witnesses", "the policy names no cosigner")
        for i, c in enumerate(cos):
            if _BAD_KEY_NAME.search(c["name"]):
                raise _refused(index, "bad_witnesses", f"cosigners[{i}]: name {c['name']!r} is not a C2SP key name")
            if not c["url"].startswith(("https://", "http://")):
                raise _refused(index, "bad_witnesses", f"cosigners[{i}]: url is not http(s)")
        if len({c["name"] for c in cos}) != len(cos) or len({c["key"] for c in cos}) != len(cos):
            raise _refused(index, "bad_witnesses", "two cosigners share a name or a key")
        if not (2 * st["quorum"] > len(cos) and st["quorum"] <= len(cos)):
            raise _refused(index, "quorum_not_majority", f"quorum {st['quorum']} of {len(cos)} cosigners")

    def _open_motion(self, index: int, motion_id: str, received: str, what: str) -> None:
        """SPEC 15: the motion exists and is not closed (by time or by entry)."""
        m = self.motions.get(motion_id)
        if m is None:
            raise _refused(index, "unknown_motion", f"motion {motion_id!r}")
        if received >= m.closes or m.close_index is not None:  # type: ignore[operator]
            raise _refused(index, "motion_closed", f"motion {m.id!r} is closed: {what}")

    def _rule_comment(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        if st["motion"] is not None:
            self._open_motion(index, st["motion"], received, "no more comments")
        elif st["proposal"] not in self.proposals:
            raise _refused(index, "unknown_proposal", f"proposal {st['proposal']!r}")
        r = st["reply_to"]
        if r is not None:
            parent = self.comments.get(r)
            if parent is None:
                raise _refused(index, "bad_reply", f"reply_to {r} is not a comment")
            here = ("motion", st["motion"]) if st["motion"] is not None else ("proposal", st["proposal"])
            if parent.target != here:
                raise _refused(index, "bad_reply", f"reply_to {r} is a comment on another {parent.target[0]}")

    def _rule_redact(self, index: int, st: dict[str, Any], received: str) -> None:
        c = self.comments.get(st["entry"])
        if c is None:
            raise _refused(index, "unknown_comment", f"entry {st['entry']} is not a comment")
        if st["author"] != c.author and st["author"] not in self.organizers:
            raise _refused(index, "not_redactor", "neither an organizer nor the comment's author")
        if c.redact is not None:
            raise _refused(index, "already_redacted", f"comment {c.index} was redacted at entry {c.redact}")

    def _rule_proposal(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        if st["id"] in self.proposals or st["id"] in self.motions:
            raise _refused(index, "duplicate_proposal", f"id {st['id']!r} is taken by a motion or a proposal")
        if st["topic"] not in self.topics:
            raise _refused(index, "unknown_topic", f"topic {st['topic']!r} does not exist")
        if st["amends"] is not None:
            self._open_motion(index, st["amends"], received, "it can no longer be amended")

    def _rule_support(self, index: int, st: dict[str, Any], received: str) -> None:
        if st["author"] not in self.active:
            raise _refused(index, "not_member", "the author is not an active member")
        p = self.proposals.get(st["proposal"])
        if p is None:
            raise _refused(index, "unknown_proposal", f"proposal {st['proposal']!r}")
        if p.motion is not None:
            raise _refused(index, "proposal_adopted", f"proposal {p.id!r} already became motion {p.motion!r}")

    # -- applying an accepted statement (one method per kind) ---------------
    def apply(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        kind = st["kind"]
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.last_seq[st["author"]] = st["seq"]
        getattr(self, "_apply_" + kind)(index, st, entry_hash)
        self.note_lottery(index, st)

    def _apply_assembly(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.assembly_id = hashlib.sha256(canonical(st)).hexdigest()  # SPEC 3: the assembly id
        self.assembly_id_b = self.assembly_id.encode()
        self.organizers = frozenset(st["organizers"])
        self.server, self.rules = st["server"], st["rules"]

    def _apply_invite(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.invites[st["code_hash"]] = False

    def _apply_enroll(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        author = st["author"]
        self.invites[hashlib.sha256(st["code"].encode("utf-8")).hexdigest()] = True
        self.enrolled.add(author)
        self.active.add(author)
        self.names[author] = st["name"]

    def _apply_expel(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.active.discard(st["member"])

    def _apply_topic(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.topics[st["id"]] = st["parent"]

    def _apply_motion(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        m = self.motions[st["id"]] = Motion(st, index)
        heapq.heappush(self.due, (m.closes, MOTION + m.id))
        if st["url"].startswith("proposal:"):
            self.proposals[st["url"][9:]].motion = m.id
        self.pending_commit = ("motion:" + m.id, index)  # SPEC 16: its commit comes next

    def _apply_commit(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.commits[st["lottery"]] = (bytes.fromhex(st["hash"]), index)

    def _apply_deputies(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.roster = list(st["roster"])

    def _apply_delegate(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        mine = self.settings.setdefault(st["author"], {})
        if st["to"] is None:
            mine.pop(st["scope"], None)
        else:
            mine[st["scope"]] = (st["to"], index)

    def _apply_ballot(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        m = self.motions[st["motion"]]
        if st["choice"] is None:
            m.ballots.pop(st["author"], None)
        else:
            m.ballots[st["author"]] = (st["choice"], index)

    def _apply_close(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        m = self.motions[st["motion"]]
        m.close_index, m.close_hash = index, entry_hash
        r = self.revealed["motion:" + m.id] = bytes.fromhex(st["reveal"])
        m.result = self.tally(m, entry_hash, r)
        self.pending_close = m  # SPEC 4: its result comes next

    def _apply_result(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        pass  # the motion's result_index is set by Verifier.check_result

    def _apply_draw(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        d = self.draws[st["id"]] = Draw(st, index)
        self.pending_commit = ("draw:" + d.id, index)  # SPEC 13: its commit comes next
        heapq.heappush(self.due, (d.closes, DRAW + d.id))

    def _apply_drawn(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.draws[st["draw"]].drawn_index = index

    def _apply_volunteer(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.draws[st["draw"]].standing[st["author"]] = st["standing"]

    def _apply_certify(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.draws[st["draw"]].certifications.add(st["member"])

    def _apply_report(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        pass  # a later report replaces an earlier one; no rule depends on it

    def _apply_record(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        pass

    def _apply_witnesses(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.witness_policies.append((index, st))
        self.policy = Policy(index, st)
        self.policies.append(self.policy)

    def note_lottery(self, index: int, st: dict[str, Any]) -> None:
        """SPEC 14.3: the policy that governs a lottery is the last `witnesses`
        before its `commit` (before the motion or draw itself in a log with no
        `commit` for it); each closing (``CLOSINGS``) is recorded with it."""
        kind = st["kind"]
        if kind in LOTTERY_OPENERS:
            self.lottery_policy.setdefault(LOTTERY_OPENERS[kind](st), self.policy)
        elif kind == "commit":
            self.lottery_policy[st["lottery"]] = self.policy
        elif kind in CLOSINGS:
            lottery, closes = CLOSINGS[kind](self, st)
            self.closings.append(Closing(kind, index, lottery, closes, self.lottery_policy.get(lottery)))

    def _apply_comment(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.comments[index] = Comment(st, index)

    def _apply_redact(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        c = self.comments[st["entry"]]
        c.redact, c.reason = index, st["reason"]

    def _apply_proposal(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        self.proposals[st["id"]] = Proposal(st)

    def _apply_support(self, index: int, st: dict[str, Any], entry_hash: bytes) -> None:
        supporters = self.proposals[st["proposal"]].supporters
        if st["on"]:
            supporters.setdefault(st["author"], None)
        else:
            supporters.pop(st["author"], None)

    # -- the tally at close (SPEC 7, 10) ------------------------------------
    def scope_chain(self, m: Motion) -> list[str]:
        chain = [f"motion:{m.id}"]
        t: str | None = m.topic
        while t is not None:
            chain.append(f"topic:{t}")
            t = self.topics.get(t)
        chain.append("*")
        return chain

    def tally(self, m: Motion, close_hash: bytes, r: bytes) -> dict[str, Any]:
        """The result document fields of motion ``m`` at its close entry,
        whose hash is ``close_hash`` and which revealed ``r``."""
        chain = self.scope_chain(m)
        active, settings = self.active, self.settings
        voters = {k: ch for k, (ch, _) in m.ballots.items() if k in active}
        seed = lottery_seed(r, ballots_digest(voters))  # SPEC 16

        def setting(k: str) -> str | None:
            mine = settings.get(k)
            if mine:
                for scope in chain:
                    s = mine.get(scope)
                    if s is not None:
                        return None if s[0] == "self" else s[0]
            return None

        memo: dict[str, str] = {}

        def follow(start: str) -> str:
            # Iterative walk; every member on the path shares the outcome:
            # a voter's key, DEAD or CYCLE.
            path: list[str] = []
            on: set[str] = set()
            x = start
            while True:
                if x in memo:
                    out = memo[x]
                    break
                if x in on:
                    out = CYCLE
                    break
                if x not in active:
                    out = DEAD
                    break
                if x in voters:
                    out = x
                    break
                t = setting(x)
                if t is None:
                    out = DEAD
                    break
                path.append(x)
                on.add(x)
                x = t
            for p in path:
                memo[p] = out
            return out

        counts = dict.fromkeys(CHOICES, 0)
        direct = dead = cycle = absent = 0
        weight: dict[str, int] = {}
        for k in active:
            if k in voters:
                counts[voters[k]] += 1
                direct += 1
                weight[k] = weight.get(k, 0) + 1
                continue
            if setting(k) is None:
                absent += 1
                continue
            out = follow(k)
            if out == DEAD:
                dead += 1
            elif out == CYCLE:
                cycle += 1
            else:
                counts[voters[out]] += 1
                weight[out] = weight.get(out, 0) + 1
        n = len(active)
        cast = counts["yes"] + counts["no"] + counts["abstain"]
        required = m.quorum if m.quorum is not None else self.rules["quorum"]
        met = cast * 100 >= required * n
        roster = [k for k in self.roster if k in active]
        if met and cast > 0:
            seats = apportion(self.rules["method"], counts, len(roster), seed)
        else:
            seats = dict.fromkeys(CHOICES, 0)
            seats[self.rules["no_quorum"]] = len(roster)
        for k in self.track:
            if k in voters:
                m.track[k] = {
                    "outcome": "direct",
                    "choice": voters[k],
                    "weight": weight.get(k, 0),
                    "ballot_index": m.ballots[k][1],
                }
            elif k not in active:
                m.track[k] = {"outcome": "not_counted", "reason": "not an active member"}
            elif setting(k) is None:
                m.track[k] = {"outcome": "absent"}
            else:
                out = follow(k)
                if out in (DEAD, CYCLE):
                    m.track[k] = {"outcome": out}
                else:
                    m.track[k] = {"outcome": "delegated", "carried_by": out, "choice": voters[out]}
        return {
            "motion": m.id,
            "close": close_hash.hex(),
            "seed": seed.hex(),
            "members": n,
            "yes": counts["yes"],
            "no": counts["no"],
            "abstain": counts["abstain"],
            "direct": direct,
            "delegated": cast - direct,
            "dead_end": dead,
            "cycle": cycle,
            "absent": absent,
            "quorum": {"required": required, "met": met},
            "method": self.rules["method"],
            "seats": seats,
            "instructions": instructions(roster, seats, seed),
        }


def compare_result(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """One message per result field that differs from the recomputed one."""
    out = []
    for f in RESULT_FIELDS:
        g, w = got.get(f), want[f]
        if g == w and type(g) is type(w):
            continue
        if f == "instructions" and isinstance(g, list):
            if len(g) != len(w):
                out.append(f"field 'instructions': {len(g)} deputies, recomputed {len(w)}")
                continue
            for i, (a, b) in enumerate(zip(g, w)):
                if a != b:
                    out.append(f"field 'instructions[{i}]': result says {_short(a)}, recomputed {_short(b)}")
            continue
        if isinstance(w, dict) and isinstance(g, dict):
            for sub in w:
                if g.get(sub) != w[sub] or type(g.get(sub)) is not type(w[sub]):
                    out.append(f"field '{f}.{sub}': result says {_short(g.get(sub))}, recomputed {_short(w[sub])}")
            continue
        out.append(f"field '{f}': result says {_short(g)}, recomputed {_short(w)}")
    return out


def _short(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= 80 else s[:77] + "..."


# ---------------------------------------------------------------------------
# 7b. Witnesses: cosignatures, the time rule, forks (SPEC 14; C2SP
#     tlog-cosignature, tlog-witness)
# ---------------------------------------------------------------------------

COSIGNATURE_V1 = 0x04  # C2SP signed-note signature type of a timestamped Ed25519 cosignature
MAX_TIMESTAMP = 2**63 - 1


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """SPEC 14.1: SHA-256(name || 0x0A || 0x04 || key)[:4]."""
    return _sha(name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_V1]) + public_key)[:4]


def cosignature_message(body: str, timestamp: int) -> bytes:
    """SPEC 14.1: what a cosignature/v1 signs: ``cosignature/v1\\ntime <ts>\\n``
    then the checkpoint body (its lines before the blank line, each with its
    newline)."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def check_cosignature(blob: bytes, body: str, public_key: bytes) -> int:
    """SPEC 14.1: ``blob`` (the decoded signature of a line whose name and key
    id are the cosigner's) is key id || 8-byte big-endian timestamp ||
    Ed25519 signature over the cosigned message. Returns the timestamp;
    raises ValueError when it does not hold."""
    if len(blob) != 4 + 8 + 64:
        raise ValueError(f"cosignature has {len(blob)} bytes, want 76 (key id, timestamp, signature)")
    ts = int.from_bytes(blob[4:12], "big")
    if ts > MAX_TIMESTAMP:
        raise ValueError("timestamp above 2^63 - 1")
    try:
        check_signature(public_key, cosignature_message(body, ts), blob[12:])
    except Problem:
        raise ValueError("signature does not verify over the checkpoint") from None
    return ts


def split_notes(text: str) -> list[str]:
    """SPEC 14.4: the signed notes of a file, one after the other: each is
    its text lines, a blank line and its signature lines; blank lines
    between notes are allowed. A trailing fragment is returned as is (its
    parse then fails)."""
    notes, lines, k = [], text.split("\n"), 0
    while k < len(lines):
        if lines[k] == "":
            k += 1
            continue
        start = k
        while k < len(lines) and lines[k] != "":
            k += 1
        k += 1  # the blank line after the text
        while k < len(lines) and lines[k].startswith("\u2014 "):
            k += 1
        notes.append("\n".join(lines[start:k]) + "\n")
    return notes


def floor_seconds(t: str) -> int:
    """POSIX seconds of a SPEC time (a ``time_key``), rounded down."""
    return timegm(datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").timetuple())


class Policy:
    """A `witnesses` statement (SPEC 14.2): the cosigners (name -> key),
    the quorum and the grace in seconds, and the entry that set it."""

    __slots__ = ("index", "cosigners", "quorum", "grace")

    def __init__(self, index: int, st: dict[str, Any]) -> None:
        self.index = index
        self.cosigners = {c["name"]: bytes.fromhex(c["key"]) for c in st["cosigners"]}
        self.quorum, self.grace = st["quorum"], st["grace"]


class Closing:
    """A closing entry the time rule judges (SPEC 14.3): its kind and index,
    its lottery (``motion:<id>``, ``draw:<id>``), the ``closes`` time it
    obeys and the policy that governs it (None: no policy)."""

    __slots__ = ("kind", "index", "lottery", "closes", "policy")

    def __init__(self, kind: str, index: int, lottery: str, closes: str, policy: Policy | None) -> None:
        self.kind, self.index, self.lottery, self.closes, self.policy = kind, index, lottery, closes, policy


# The statements that open a lottery (its policy is fixed there, or at its
# `commit`), and the closings the time rule judges, each with how to find its
# lottery and its `closes`. A `drawn` (docs/SPEC.md section 16.5) only needs its kind in
# BODIES and ``Replay.draws`` (draw id -> an object with ``closes``, a time_key).
LOTTERY_OPENERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "motion": lambda st: "motion:" + st["id"],
    "draw": lambda st: "draw:" + st["id"],
}
CLOSINGS: dict[str, Callable[[Any, dict[str, Any]], tuple[str, str]]] = {
    "close": lambda r, st: ("motion:" + st["motion"], r.motions[st["motion"]].closes),
    "drawn": lambda r, st: ("draw:" + st["draw"], r.draws[st["draw"]].closes),
}


class Cosig:
    """A valid cosignature: who (name, key), when (POSIX seconds) and on
    which checkpoint (its size, and where it came from)."""

    __slots__ = ("name", "key", "ts", "size", "label")

    def __init__(self, name: str, key: bytes, ts: int, size: int, label: str) -> None:
        self.name, self.key, self.ts, self.size, self.label = name, key, ts, size, label


def judge_closing(c: Closing, cosigs: list[Cosig]) -> tuple[str, str, list[Problem]]:
    """SPEC 14.3 on one closing: ("witnessed" | "not judged", why, problems).
    Witnessed: at least quorum distinct policy witnesses each have a valid
    cosignature on a checkpoint of size > index with timestamp <=
    floor(closes) + grace. Closed early (a Problem): a policy witness
    cosigned such a checkpoint with a timestamp below floor(closes)."""
    p = c.policy
    if p is None:
        return "not judged", "no witness policy governs it", []
    floor = floor_seconds(c.closes)
    mine = [x for x in cosigs if x.size > c.index and p.cosigners.get(x.name) == x.key]
    problems = [
        Problem(
            "witnessed_closes",
            "14.3",
            "early_close",
            c.index,
            f"{c.lottery}: witness {x.name} cosigned a checkpoint of size {x.size} ({x.label}) at {x.ts}, "
            f"before closes ({floor})",
        )
        for x in sorted(mine, key=lambda x: (x.ts, x.name))
        if x.ts < floor
    ][:1]
    timely = sorted({x.name for x in mine if x.ts <= floor + p.grace})
    if problems:
        return "closed early", problems[0].detail, problems
    if len(timely) >= p.quorum:
        return "witnessed", f"by {', '.join(timely)} within {p.grace} s of closes", []
    if not mine:
        return "not judged", f"no checkpoint above index {c.index} cosigned by the policy's witnesses", []
    return (
        "not judged",
        f"only {len(timely)} of the {p.quorum} witnesses needed cosigned a checkpoint above index {c.index} "
        f"by closes + grace ({floor + p.grace})",
        [],
    )


# ---------------------------------------------------------------------------
# 8. The verification run: one pass over the log, every check of one entry
#    in ``check_entry`` (SPEC 1 to 8), then checkpoints, --since, receipts
# ---------------------------------------------------------------------------

CHECKS = (
    "canonical",
    "chain",
    "signatures",
    "rules",
    "checkpoint",
    "results",
    "cosignatures",
    "forks",
    "witnessed_closes",
)
TEXT_RECORD = frozenset({"index", "text", "salt"})  # SPEC 15.2
REDACTED_RECORD = frozenset({"index", "redacted", "reason", "redact"})
_SALT = re.compile(r"[0-9a-f]{32}\Z")
ENTRY_KEYS = frozenset({"index", "prev", "received", "statement", "signature"})
PROGRESS_EVERY = 100_000


def check_index(i: int, index: Any) -> None:
    """SPEC 5: indexes count from 0 with no gap."""
    if index != i or type(index) is not int:
        raise Problem("chain", "5", "bad_index", i, f"index is {_short(index)}, want {i}")


def check_prev(i: int, prev: Any, want: str) -> None:
    """SPEC 5: ``prev`` is the entry hash of the entry before, 64 zeros for entry 0."""
    if prev != want:
        raise Problem(
            "chain",
            "5",
            "bad_prev",
            i,
            f"prev is {_short(prev)}, want the hash of entry {i - 1}" if i else "prev of entry 0 is not 64 zeros",
        )


class _GoOn:
    """``with go_on:`` records a Problem raised in the block and goes on
    after it: for a check after which the next checks can still be made."""

    __slots__ = ("note",)

    def __init__(self, note: Callable[[Problem], None]) -> None:
        self.note = note

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, problem: Any, tb: Any) -> bool:
        if isinstance(problem, Problem):
            self.note(problem)
            return True
        return False


class Reference:
    """The reference path (``--no-fast``): part one only. Lines are read by
    the exact parser and encoder, each signature is checked at once with
    PyNaCl's public binding, and every entry goes through ``check_entry``."""

    read = staticmethod(read_canonical_exact)

    @staticmethod
    def message(value: dict[str, Any], canon: bytes, line: bytes) -> bytes:
        return STATEMENT_PREFIX + canonical(value["statement"])  # SPEC 2

    def signatures(self, jobs: int) -> Signatures:
        return Signatures()

    def ballot_path(self, v: Verifier) -> tuple[Callable[[int, bytes], bool], Callable[[], int]] | None:
        return None


class Signatures:
    """SPEC 2, checked as each entry is read (the reference)."""

    def add(self, index: int, pk: bytes, msg: bytes, sig: bytes) -> None:
        check_signature(pk, msg, sig, index)

    def finish(self) -> list[int]:
        return []  # every signature was checked by ``add``

    def close(self) -> None:
        pass


class Verifier:
    def __init__(
        self,
        source: Source,
        *,
        checkpoint_files: list[str],
        receipt_paths: list[str],
        since_file: str | None,
        jobs: int,
        progress: bool = True,
        fast: bool = True,
        witness_keys: Iterable[tuple[str, bytes]] = (),
        texts: str | None = None,
        texts_implicit: bool = False,
        server_key: str | None = None,
    ) -> None:
        self.source = source
        self.mode: Reference = FastMode() if fast else Reference()
        self.jobs = max(1, jobs)
        self.progress = progress
        self.failures: list[Problem] = []
        self.skipped: dict[str, str] = {}
        self.checks = list(CHECKS)
        self.cps: list[tuple[str, Checkpoint | None, str]] = []  # (label, parsed, note text)
        self.receipts: list[tuple[str, Any]] = []
        self.since: Checkpoint | None = None
        self.since_label = since_file
        self.saved_note: str | None = None
        self.receipt_reports: list[dict[str, Any]] = []
        self.roots: dict[int, bytes] = {}
        self.hashes_wanted: dict[int, str | None] = {}
        self.n = 0
        self.server_key_hint: str | None = None
        self._go_on = _GoOn(self.note)
        self.witness_keys = list(witness_keys)  # --witness NAME=KEYHEX
        self.witness_report: dict[str, Any] = {}
        self.fork_evidence: list[dict[str, Any]] = []
        self.server_signed: set[str] = set()  # notes whose server signature verified (checked once)
        # SPEC 15.2: comment texts, from a file (read now) or a server (fetched
        # after the log, so that every comment read has its text or redaction).
        self.texts_from = texts
        self.texts_implicit = texts_implicit  # fetched from the server SOURCE without being asked
        self.text_lines: list[bytes] | None = None
        self.texts_checked = 0
        if texts is not None:
            self.checks.append("texts")
            if not texts.startswith(("http://", "https://")):
                self.text_lines = _read_text(texts, "texts").encode("utf-8").splitlines()
        # Everything that can make the run impossible is read first (exit 2).
        for path in checkpoint_files:
            notes = split_notes(_read_text(path, "checkpoint")) or [""]
            for k, text in enumerate(notes):
                self.cps.append((path if len(notes) == 1 else f"{path} (note {k + 1})", None, text))
        if since_file:
            self.checks.append("since")
            self._since_text = _read_text(since_file, "checkpoint")
        if receipt_paths:
            self.checks.append("receipts")
        for rp in receipt_paths:
            for path in _receipt_files(rp):
                try:
                    self.receipts.append((path, parse_strict(_read_text(path, "receipt"))))
                except CanonicalError as e:
                    self.receipts.append((path, e))
        if source.is_url:
            note = source.checkpoint_text()
            if note is not None:
                self.cps.insert(0, ("server checkpoint", None, note))
            self.server_key_hint = source.server_key()
        if server_key is not None:
            self.server_key_hint = server_key

    def note(self, problem: Problem) -> None:
        self.failures.append(problem)

    def note6(self, check: str, code: str, index: int | None, detail: str) -> None:
        """A problem of a checkpoint, of --since or of a receipt (SPEC 6, 11)."""
        self.failures.append(Problem(check, "6", code, index, detail))

    # -- the single pass over the log --------------------------------------
    def run(self) -> None:
        """Read the log once, checking every entry (``check_entry``, or the
        ballot fast path of part two), then the checkpoints, --since and
        the receipts against what was read."""
        self.sizes = self._read_notes()
        self.leaves, self.tree = LeafStore(), TreeBuilder()
        self.prev_hash = bytes(32)  # SPEC 5: the hash of the entry before; 64 zeros before entry 0
        self.last_received = ""
        self.signer = self.mode.signatures(self.jobs)
        fast = self.mode.ballot_path(self)
        take = fast[0] if fast else None
        next_progress = PROGRESS_EVERY if self.progress else -1
        if 0 in self.sizes:
            self.roots[0] = self.tree.root()
        i = -1
        try:
            for chunk, complete in self.source.chunks():
                if not complete:
                    self.note(
                        Problem("canonical", "5", "no_newline", i + len(chunk), "line does not end with a newline")
                    )
                for line in chunk:
                    i += 1
                    if i == next_progress:
                        print(f"verify_cli: {i} entries read", file=sys.stderr, flush=True)
                        next_progress += PROGRESS_EVERY
                    if take is None or not take(i, line):
                        self.check_entry(i, line)
            self.n = i + 1
            for bad in self.signer.finish():
                self.note(
                    Problem("signatures", "2", "bad_signature", bad, "signature does not verify with the author's key")
                )
        finally:
            self.signer.close()
            if fast and fast[1]():
                self.replay.kinds["ballot"] = self.replay.kinds.get("ballot", 0) + fast[1]()
        self._after_log()

    def check_entry(self, i: int, line: bytes) -> None:
        """Every check of the SPEC on entry ``i`` (its line, without the
        newline), against the state the entries before it established. Each
        Problem is recorded; a step that leaves nothing to judge stops the
        entry there (an unaccepted statement does not change the state)."""
        try:
            self._check_entry(i, line)
        except Problem as p:
            self.note(p)

    def _check_entry(self, i: int, line: bytes) -> None:
        replay, go_on = self.replay, self._go_on
        # 1. SPEC 1, 5: the line is exactly the canonical bytes of its entry.
        value, canon, why = self.mode.read(line)
        if why:
            self.note(Problem("canonical", "1", "not_canonical", i, why))
        # 2. SPEC 5, 6: the entry hash (the next entry's prev) and the Merkle
        #    leaf are those of the canonical bytes.
        want_prev = self.prev_hash.hex()
        entry_hash = self.add_leaf(i, canon)
        if value is None:
            return
        # 3. SPEC 5: the entry's fields; index, prev and received.
        if not isinstance(value, dict) or value.keys() != ENTRY_KEYS:
            raise Problem(
                "chain",
                "5",
                "bad_entry",
                i,
                "entry does not have exactly the fields index, prev, received, statement, signature",
            )
        with go_on:
            check_index(i, value["index"])
        with go_on:
            check_prev(i, value["prev"], want_prev)
        received = self.check_received(i, value["received"])
        # 4. SPEC 2: the signature, by the author's key, over the statement message.
        with go_on:
            self.check_signature_of(i, value, canon, line)
        # 5. SPEC 3, and SPEC 4's signer column: the statement can be judged.
        st = value["statement"]
        try:
            check_form(i, st)
            replay.check_signer(i, st)
        except Problem:
            with go_on:
                self.check_follows_close(i, None)
            with go_on:
                self.check_follows_motion(i, None)
            raise
        # 6. SPEC 4, close and result together: the entry after a close is its result;
        #    SPEC 16: the entry after a motion is its commit.
        with go_on:
            self.check_follows_close(i, st)
        with go_on:
            self.check_follows_motion(i, st)
        # 7. SPEC 4, close first: nothing received after a motion's closes comes before its close.
        for late in replay.late_closes(i, st, received):
            self.note(late)
        # 8. SPEC 4: genesis, assembly, seq, and the rules of the statement's kind.
        replay.check_rules(i, st, received)
        # 9. SPEC 8 (7, 10): a result comes right after its close and equals the tally.
        if st["kind"] == "result":
            with go_on:
                self.check_result(i, st)
        # Accepted: the state moves on (SPEC 4).
        replay.apply(i, st, entry_hash)

    def add_leaf(self, i: int, canon: bytes) -> bytes:
        """SPEC 5, 6: entry ``i``'s hash and leaf; returns the entry hash."""
        h = self.prev_hash = _sha(canon)
        lh = leaf_hash(canon)
        self.leaves.append(lh)
        self.tree.push(lh)
        if self.tree.size in self.sizes:
            self.roots[self.tree.size] = self.tree.root()
        if i in self.hashes_wanted:
            self.hashes_wanted[i] = h.hex()
        return h

    def check_received(self, i: int, received: Any) -> str:
        """SPEC 5: ``received`` is a UTC time with six fractional digits that
        never decreases along the log. Records a Problem and returns the time
        the rules judge the entry by (the last readable one if this one is
        not)."""
        if not isinstance(received, str) or not _RECEIVED.match(received) or time_key(received) is None:
            self.note(Problem("chain", "5", "bad_received", i, "received is not a UTC time with six fractional digits"))
            return self.last_received
        if received < self.last_received:
            self.note(
                Problem("chain", "5", "received_decreases", i, f"received {received} is before {self.last_received}")
            )
        else:
            self.last_received = received
        return received

    def check_signature_of(self, i: int, value: dict[str, Any], canon: bytes, line: bytes) -> None:
        """SPEC 2: the entry's signature is 128 lowercase hex digits and
        verifies with the statement's author over the statement message
        (with --jobs, later, in worker processes: part two)."""
        sig, st = value["signature"], value["statement"]
        if not isinstance(sig, str) or not _HEX128.match(sig):
            raise Problem("signatures", "2", "bad_signature", i, "signature is not 128 lowercase hex digits")
        if not isinstance(st, dict) or not _is_key(st.get("author")):
            raise Problem("signatures", "2", "bad_signature", i, "no author key to check the signature with")
        self.signer.add(i, bytes.fromhex(st["author"]), self.mode.message(value, canon, line), bytes.fromhex(sig))

    def check_follows_close(self, i: int, st: dict[str, Any] | None) -> None:
        """SPEC 4, close and result together: the entry right after a close
        is that motion's (well-formed, rightly signed) result."""
        pend = self.replay.pending_close
        if pend is None:
            return
        self.replay.pending_close = None
        if st is None:
            raise Problem(
                "results",
                "4",
                "bad_result",
                i,
                f"entry {pend.close_index} closed motion {pend.id!r}, but this entry is not its valid result",
            )
        if st["kind"] != "result" or st["motion"] != pend.id:
            raise Problem(
                "results",
                "4",
                "bad_result",
                i,
                f"entry {pend.close_index} closed motion {pend.id!r}, but this entry is not its result",
            )

    def check_follows_motion(self, i: int, st: dict[str, Any] | None) -> None:
        """SPEC 16: the entry right after a motion is that motion's
        (well-formed, server-signed) commit."""
        pend = self.replay.pending_commit
        if pend is None:
            return
        self.replay.pending_commit = None
        if st is None or st["kind"] != "commit" or st["lottery"] != pend[0]:
            raise Problem(
                "rules", "16", "bad_commit", i, f"entry {pend[1]} opened {pend[0]!r}, but this entry is not its commit"
            )

    def check_result(self, i: int, st: dict[str, Any]) -> None:
        """SPEC 4, 8: a result follows its motion's close and each field
        equals the one recomputed at that close (SPEC 7, 10)."""
        m = self.replay.motions.get(st["motion"])
        if m is None or m.close_index != i - 1 or m.result_index is not None:
            raise Problem(
                "results",
                "4",
                "bad_result",
                i,
                f"result for motion {st['motion']!r} does not come right after its close",
            )
        m.result_index = i
        for diff in compare_result(st, m.result or {}):
            self.note(Problem("results", "8", "bad_result", i, f"motion {m.id!r}: {diff}"))

    # -- before and after the pass ---------------------------------------------
    def _read_notes(self) -> set[int]:
        """Parse the checkpoints, the --since note and the receipts; returns
        the tree sizes whose roots the pass must keep."""
        sizes: set[int] = set()
        parsed = []
        for label, _, text in self.cps:
            try:
                cp = Checkpoint(text, label)
                sizes.add(cp.size)
            except NoteError as e:
                cp = None
                self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {e}")
            parsed.append((label, cp, text))
        self.cps = parsed
        if "since" in self.checks:
            try:
                self.since = Checkpoint(self._since_text, self.since_label or "")
                sizes.add(self.since.size)
            except NoteError as e:
                self.note6("since", "bad_checkpoint", None, f"{self.since_label}: {e}")
        tracked: set[str] = set()
        for path, r in self.receipts:
            if isinstance(r, dict) and isinstance(r.get("index"), int) and not isinstance(r["index"], bool):
                self.hashes_wanted[r["index"]] = None
                st = r.get("entry", {}).get("statement") if isinstance(r.get("entry"), dict) else None
                if isinstance(st, dict) and isinstance(st.get("author"), str):
                    tracked.add(st["author"])
                if isinstance(r.get("checkpoint"), str):
                    try:
                        sizes.add(Checkpoint(r["checkpoint"], path).size)
                    except NoteError:
                        pass
        self.replay = Replay(tracked)
        return sizes

    def _after_log(self) -> None:
        replay = self.replay
        if replay.pending_close is not None:
            # SPEC 4: a close and its result are written in one transaction.
            m = replay.pending_close
            self.note(
                Problem(
                    "results",
                    "4",
                    "bad_result",
                    m.close_index,
                    f"the log ends with the close of motion {m.id!r}, without its result (they are written together)",
                )
            )
        if self.n == 0:
            for c in self.checks:
                self.skipped[c] = "the log is empty: nothing to check"
            return
        # SPEC 4: the genesis names this server's key. From a URL the key is
        # the server's own (GET /api/server); an exported log names only its
        # own, so the check needs --server-key, else it is reported skipped.
        if self.server_key_hint is None:
            self.skipped["wrong_server"] = (
                "an exported log names its own server key; give --server-key HEX (GET /api/server) to check it"
            )
        elif replay.server is not None and self.server_key_hint != replay.server:
            self.note(_refused(0, "wrong_server", "the genesis names another key than the server's key"))
        self._check_checkpoints()
        if "since" in self.checks:
            self._check_since()
        if "receipts" in self.checks:
            self._check_receipts()
        self._check_witnesses()
        if "texts" in self.checks:
            self._check_texts()

    # -- comment texts (SPEC 15.2) ---------------------------------------------------------
    def _check_texts(self) -> None:
        """SPEC 15.2: every comment of the log read has one record, its text
        (1 to 4,000 code points; SHA-256(salt || UTF-8 text) is its
        text_hash) or its redaction (by the redact entry the log holds, with
        its reason). Records of entries beyond the log read are not judged."""
        lines = self.text_lines
        if lines is None:
            lines = Source(str(self.texts_from)).text_lines()
            if lines is None:
                if self.texts_implicit:  # not asked for: the server simply has none to check
                    self.checks.remove("texts")
                else:
                    self.skipped["texts"] = "the server serves no /api/texts"
                return
        comments, seen = self.replay.comments, set()

        def bad(code: str, index: int | None, why: str) -> None:
            self.note(Problem("texts", "15", code, index, why))

        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = parse_strict(line)
            except CanonicalError as e:
                bad("bad_text_record", None, f"texts line {n}: {e}")
                continue
            i = rec.get("index") if isinstance(rec, dict) else None
            if not _is_int(i, 0, MAX_INT) or rec.keys() not in (TEXT_RECORD, REDACTED_RECORD):
                bad("bad_text_record", None, f"texts line {n}: not a text or redaction record")
                continue
            if i >= self.n:
                continue  # appended after the log was read
            c = comments.get(i)
            if c is None or i in seen:
                bad("bad_text_record", i, "not a comment entry" if c is None else "a second record for this comment")
                continue
            seen.add(i)
            if rec.keys() == REDACTED_RECORD:
                if rec["redacted"] is not True or not _is_int(rec["redact"], 0, MAX_INT):
                    bad("bad_text_record", i, "a redaction record with redacted true and a redact index")
                elif rec["redact"] >= self.n:
                    pass  # redacted after the log was read
                elif c.redact != rec["redact"] or c.reason != rec["reason"]:
                    bad(
                        "not_redacted",
                        i,
                        f"the text is withheld, but no redact entry {rec['redact']} with that reason erased it",
                    )
                continue
            if c.redact is not None:
                bad("text_not_erased", i, f"the text is still served after the redact at entry {c.redact}")
                continue
            text, salt = rec["text"], rec["salt"]
            if not isinstance(text, str) or not isinstance(salt, str) or not _SALT.match(salt):
                bad("bad_text_record", i, "text is not a string or salt not 32 lowercase hex digits")
            elif not 1 <= len(text) <= 4000:
                bad("bad_text_length", i, f"the text has {len(text)} characters, want 1 to 4000")
            elif _sha(bytes.fromhex(salt) + text.encode("utf-8")).hex() != c.text_hash:
                bad("text_hash_mismatch", i, "SHA-256(salt || UTF-8 text) is not the comment's text_hash")
            else:
                self.texts_checked += 1
        for i in comments:
            if i not in seen:
                bad("missing_text", i, "no text and no redaction served for this comment")

    def texts_report(self) -> dict[str, Any]:
        """SPEC 15: how many comments, how many texts were checked, and every
        redacted one (from the log: its redact entry and public reason)."""
        comments = self.replay.comments
        return {
            "comments": len(comments),
            "checked": self.texts_checked if "texts" in self.checks else None,
            "redacted": [
                {"index": c.index, "redact": c.redact, "reason": c.reason}
                for c in comments.values()
                if c.redact is not None
            ],
        }

    # -- checkpoints (SPEC 6, 11.5)--------------------------------------------------------
    def _origin_and_key(self) -> tuple[str, bytes] | None:
        r = self.replay
        if r.assembly_id is None or r.server is None:
            return None
        return f"liquid-mandate/{r.assembly_id}", bytes.fromhex(r.server)

    def _against_log(self, cp: Checkpoint) -> str | None:
        if cp.size > self.n:
            return f"checkpoint size {cp.size} is larger than the log read ({self.n} entries)"
        if self.roots.get(cp.size) != cp.root:
            return f"root differs from the root of the log's first {cp.size} entries"
        return None

    def _check_checkpoints(self) -> None:
        if not self.cps:
            self.skipped["checkpoint"] = (
                "no checkpoint to check against (give --checkpoint FILE, or verify a server URL)"
            )
            return
        ok = self._origin_and_key()
        for label, cp, text in self.cps:
            if cp is None:
                continue
            if ok is None:
                self.note6(
                    "checkpoint",
                    "bad_checkpoint",
                    None,
                    f"{label}: no valid genesis, so no server key to check it with",
                )
                continue
            try:
                cp.verify(origin=ok[0], public_key=ok[1])
            except NoteError as e:
                self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {e}")
                continue
            self.server_signed.add(text)
            why = self._against_log(cp)
            if why:
                self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {why}")
                continue
            if self.saved_note is None:
                self.saved_note = text
                self.saved_cp = cp

    # -- --since ------------------------------------------------------------
    def _check_since(self) -> None:
        old = self.since
        ok = self._origin_and_key()
        if old is None:
            return
        label = self.since_label
        if ok is None:
            self.note6("since", "bad_checkpoint", None, f"{label}: no valid genesis, so no server key to check it with")
            return
        try:
            old.verify(origin=ok[0], public_key=ok[1])
        except NoteError as e:
            self.note6("since", "bad_checkpoint", None, f"{label}: {e}")
            return
        if old.size > self.n:
            self.note6(
                "since",
                "not_extended",
                None,
                f"{label}: size {old.size} is larger than the log read ({self.n} entries)",
            )
            return
        if self.roots.get(old.size) != old.root:
            self.note6(
                "since",
                "not_extended",
                old.size - 1 if old.size else None,
                f"history rewritten: the log's first {old.size} entries do not have the root of {label}",
            )
            return
        if old.size == 0:
            self.skipped["since"] = f"{label} has size 0: an empty tree proves nothing"
            return
        new_size, new_root = self.n, self.tree.root()
        try:
            proof = consistency_proof(self.leaves, old.size, new_size)
            verify_consistency(size1=old.size, size2=new_size, root1=old.root, root2=new_root, proof=proof)
        except ProofError as e:
            self.note6("since", "not_extended", None, f"consistency proof {old.size} -> {new_size}: {e}")
            return
        # The server's own proof, towards its signed checkpoint, must verify too.
        server_cp = next((cp for label2, cp, _ in self.cps if label2 == "server checkpoint"), None)
        if server_cp is not None and server_cp.size >= old.size:
            sp = self.source.consistency(old.size, server_cp.size)
            if sp is not None:
                try:
                    verify_consistency(
                        size1=old.size, size2=server_cp.size, root1=old.root, root2=server_cp.root, proof=sp
                    )
                except ProofError as e:
                    self.note6(
                        "since",
                        "not_extended",
                        None,
                        f"the server's consistency proof {old.size} -> {server_cp.size} does not verify: {e}",
                    )

    # -- --receipt ----------------------------------------------------------
    def _check_receipts(self) -> None:
        if not self.receipts:
            self.skipped["receipts"] = "no receipt file found"
            return
        ok = self._origin_and_key()
        for path, r in self.receipts:
            idx = r.get("index") if isinstance(r, dict) else None
            why = self._receipt_problem(r, ok)
            report: dict[str, Any] = {"file": path, "index": idx, "valid": why is None}
            if why:
                self.note6("receipts", "bad_receipt", idx if isinstance(idx, int) else None, f"{path}: {why}")
            else:
                report.update(self._how_counted(r))
            self.receipt_reports.append(report)

    def _receipt_problem(self, r: Any, ok: tuple[str, bytes] | None) -> str | None:
        if isinstance(r, Exception):
            return f"not a JSON receipt: {r}"
        if not isinstance(r, dict) or not {"index", "entry_hash", "entry", "checkpoint", "proof"} <= r.keys():
            return "want an object with index, entry_hash, entry, checkpoint, proof"
        idx, entry, proof = r["index"], r["entry"], r["proof"]
        if (
            type(idx) is not int
            or idx < 0
            or not isinstance(entry, dict)
            or not _is_key(r["entry_hash"])
            or not isinstance(proof, list)
            or not all(_is_key(p) for p in proof)
            or not isinstance(r["checkpoint"], str)
        ):
            return "ill-formed receipt fields"
        try:
            data = canonical(entry)
        except CanonicalError as e:
            return f"entry has no canonical form: {e}"
        if _sha(data).hex() != r["entry_hash"]:
            return "entry_hash is not the hash of the entry"
        if entry.get("index") != idx:
            return f"entry index {entry.get('index')!r} differs from receipt index {idx}"
        if idx >= self.n:
            return f"index {idx} is beyond the log read ({self.n} entries)"
        if self.hashes_wanted.get(idx) != r["entry_hash"]:
            return f"the log holds another entry at index {idx}"
        if ok is None:
            return "no valid genesis, so no server key to check the checkpoint with"
        try:
            cp = Checkpoint(r["checkpoint"], "receipt checkpoint")
            cp.verify(origin=ok[0], public_key=ok[1])
        except NoteError as e:
            return f"checkpoint: {e}"
        try:
            verify_inclusion(
                index=idx, size=cp.size, leaf=leaf_hash(data), proof=[bytes.fromhex(p) for p in proof], root=cp.root
            )
        except ProofError as e:
            return f"inclusion proof: {e}"
        why = self._against_log(cp)
        if why:
            return f"checkpoint not consistent with the log: {why}"
        return None

    def _how_counted(self, r: dict[str, Any]) -> dict[str, Any]:
        st, idx = r["entry"]["statement"], r["index"]
        out: dict[str, Any] = {"kind": st.get("kind"), "author": st.get("author")}
        author = st.get("author")
        if st.get("kind") == "ballot":
            m = self.replay.motions.get(st.get("motion"))
            out["motion"] = st.get("motion")
            out["choice"] = st.get("choice")
            if m is None or m.close_index is None:
                out["counted"] = "motion not closed yet"
            else:
                t = m.track.get(author, {})
                out["counted"] = t
                if t.get("outcome") == "direct" and t.get("ballot_index") != idx:
                    out["note"] = f"superseded by the ballot at entry {t.get('ballot_index')}"
        elif st.get("kind") == "delegate":
            out["scope"], out["to"] = st.get("scope"), st.get("to")
            out["counted"] = {
                m.id: m.track.get(author)
                for m in self.replay.motions.values()
                if m.close_index is not None and m.close_index > idx
            }
        return out

    # -- witnesses: cosignatures, forks, the time rule (SPEC 14) ---------------
    def _root_at(self, size: int) -> bytes:
        """The root of the log's first ``size`` entries (size <= entries read)."""
        if size not in self.roots:
            self.roots[size] = subtree_root(self.leaves, 0, size)
        return self.roots[size]

    def _check_witnesses(self) -> None:
        """SPEC 14: gather every checkpoint given or fetched (``?covering=`` for
        each closing and receipt, ``?size=`` for each note given offline),
        check every cosignature of a known witness, look for forks among
        them, then judge each closing by the time rule and say whether each
        receipt is witnessed yet."""
        replay, ok = self.replay, self._origin_and_key()
        known: dict[str, list[bytes]] = {}
        for pol in replay.policies:
            for name, key in pol.cosigners.items():
                known.setdefault(name, []).append(key)
        for name, key in self.witness_keys:
            known.setdefault(name, []).append(key)
        # 1. The notes: those already read, then those fetched from the server.
        notes: list[tuple[str, str]] = [(label, text) for label, _, text in self.cps]
        if self.since is not None:
            notes.append((self.since_label or "--since", self._since_text))
        for path, r in self.receipts:
            if isinstance(r, dict) and isinstance(r.get("checkpoint"), str):
                notes.append((f"{path} (receipt checkpoint)", r["checkpoint"]))
        fetched: list[tuple[str, str]] = []
        if self.source.is_url:
            offline = {label for label, _ in notes if label != "server checkpoint"}
            sizes = set()
            for label, text in notes:
                if label in offline:
                    try:
                        sizes.add(Checkpoint(text, label).size)
                    except NoteError:
                        pass
            for n in sorted(sizes - {0}):
                text = self.source.checkpoints(f"size={n}")
                if text is not None:
                    fetched.append((f"server checkpoint of size {n}", text))
            wanted = {c.index for c in replay.closings if c.policy is not None}
            if replay.policy is not None:
                wanted |= {r["index"] for r in self.receipt_reports if r["valid"]}
            for i in sorted(wanted):
                text = self.source.checkpoints(f"covering={i}")
                if text is not None:
                    fetched.append((f"server checkpoint covering {i}", text))
        self.all_notes = notes + fetched
        # 2. Each note: its server signature, its agreement with the log read,
        #    and every cosignature of a known witness on it.
        views: list[tuple[str, Checkpoint, str, bool, bool]] = []  # label, cp, note, server-signed, held
        seen: set[str] = set()
        cosigs: list[Cosig] = []
        unknown: set[str] = set()
        checked = 0
        for label, text in notes + fetched:
            if text in seen:
                continue
            seen.add(text)
            try:
                cp = Checkpoint(text, label)
            except NoteError as e:
                if (label, text) in fetched:
                    self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {e}")
                continue
            signed = ok is not None
            if ok is not None and text not in self.server_signed:
                try:
                    cp.verify(origin=ok[0], public_key=ok[1])
                except NoteError as e:
                    signed = False
                    if (label, text) in fetched:
                        self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {e}")
            held = signed and self._agrees(label, cp, report=(label, text) in fetched)
            valid_here = []
            for name, kid, rest in cp.signatures:
                if ok is not None and name == ok[0]:
                    continue  # the server's own signature
                keys = [k for k in known.get(name, []) if cosigner_key_id(name, k) == kid]
                if not keys:
                    unknown.add(name if name not in known else f"{name}+{kid.hex()}")
                    continue
                checked += 1
                try:
                    ts = check_cosignature(kid + rest, cp.text, keys[0])
                except ValueError as e:
                    self.note(Problem("cosignatures", "14.1", "bad_cosignature", None, f"{label}: {name}: {e}"))
                    continue
                valid_here.append(Cosig(name, keys[0], ts, cp.size, label))
            if held:
                cosigs.extend(valid_here)
            if signed or valid_here:
                views.append((label, cp, text, signed, held))
        self._check_forks(views)
        # 3. The time rule, closing by closing.
        closings = []
        not_judged = []
        for c in replay.closings:
            status, why, problems = judge_closing(c, cosigs)
            for p in problems:
                self.note(p)
            closings.append({"index": c.index, "kind": c.kind, "lottery": c.lottery, "status": status, "detail": why})
            if status == "not judged":
                not_judged.append((c, why))
        if not_judged:
            if all(c.policy is None for c, _ in not_judged):
                many = len(not_judged) > 1
                self.skipped["witnessed_closes"] = (
                    f"no witness policy: {len(not_judged)} close{'s' if many else ''} cannot be judged "
                    f"(entr{'ies' if many else 'y'} " + ", ".join(str(c.index) for c, _ in not_judged) + ")"
                )
            else:
                self.skipped["witnessed_closes"] = (
                    f"{len(not_judged)} of {len(closings)} closes not judged: "
                    + "; ".join(f"entry {c.index} ({c.lottery}): {why}" for c, why in not_judged[:3])
                    + ("; ..." if len(not_judged) > 3 else "")
                )
        # 4. Receipts: witnessed yet?
        latest = replay.policy
        for rep in self.receipt_reports:
            if rep["valid"]:
                rep["witnessed"] = self._receipt_witnessed(rep["index"], latest, views, cosigs)
        self.witness_report = {
            "known": sorted(known),
            "cosignatures": {"checked": checked, "valid": len(cosigs), "ignored_unknown": sorted(unknown)},
            "closes": closings,
            "forks": self.fork_evidence,
        }

    def _agrees(self, label: str, cp: Checkpoint, *, report: bool) -> bool:
        """A server-signed note agrees with the log read: same root at its
        size, or (larger than the log read) a server consistency proof from
        the log read to it (SPEC 14.4). Records a checkpoint Problem when
        ``report`` (a note fetched here; the others were judged before)."""
        why = None
        if cp.size <= self.n:
            if self._root_at(cp.size) != cp.root:
                why = f"root differs from the root of the log's first {cp.size} entries"
        else:
            proof = self.source.consistency(self.n, cp.size) if self.n else None
            try:
                if proof is None:
                    raise ProofError("no consistency proof from the server")
                verify_consistency(size1=self.n, size2=cp.size, root1=self.tree.root(), root2=cp.root, proof=proof)
            except ProofError as e:
                why = f"size {cp.size} is beyond the log read and not proven consistent with it: {e}"
        if why and report:
            self.note6("checkpoint", "bad_checkpoint", None, f"{label}: {why}")
        return why is None

    def _check_forks(self, views: list[tuple[str, Checkpoint, str, bool, bool]]) -> None:
        """SPEC 14.4: any two notes (server-signed or cosigned) of one size
        with different roots, or not consistent, are a fork. Sorted by size,
        each note is checked against the next: equal sizes need equal roots,
        others a consistency proof recomputed from the log read (or fetched
        from the server beyond it)."""
        # One note per size stands for it (one that agrees with the log read,
        # if any); every other root of that size is a fork with it.
        by_size: dict[int, list[tuple[str, Checkpoint, str, bool, bool]]] = {}
        for v in views:
            by_size.setdefault(v[1].size, []).append(v)
        pairs: list[tuple[tuple[str, Checkpoint, str, bool, bool], tuple[str, Checkpoint, str, bool, bool]]] = []
        order = []
        for size in sorted(by_size):
            group = sorted(by_size[size], key=lambda v: not v[4])
            order.append(group[0])
            roots = {group[0][1].root}
            for v in group[1:]:
                if v[1].root not in roots:
                    roots.add(v[1].root)
                    pairs.append((group[0], v))
        pairs.extend(zip(order, order[1:]))
        unchecked = 0
        for (la, a, ta, _, held_a), (lb, b, tb, _, held_b) in pairs:
            why = None
            if a.size == b.size:
                why = f"same size {a.size}, different roots"
            elif a.size == 0:
                if a.root != _sha(b""):
                    why = "a size-0 checkpoint whose root is not the empty tree's"
            else:
                if b.size <= self.n and (held_a or held_b):
                    # Recomputed from the log read, which one of them agrees with.
                    proof: list[bytes] | None = consistency_proof(self.leaves, a.size, b.size)
                else:
                    proof = self.source.consistency(a.size, b.size)
                if proof is None:
                    unchecked += 1
                    continue
                try:
                    verify_consistency(size1=a.size, size2=b.size, root1=a.root, root2=b.root, proof=proof)
                except ProofError as e:
                    why = f"size {a.size} and size {b.size} are not consistent: {e}"
            if why:
                self.fork_evidence.append({"why": why, "a": {"label": la, "note": ta}, "b": {"label": lb, "note": tb}})
                self.note(Problem("forks", "14.4", "fork", None, f"fork: {la} and {lb}: {why}"))
        if unchecked:
            self.skipped["forks"] = (
                f"{unchecked} pair{'s' if unchecked > 1 else ''} of checkpoints beyond the log read "
                "could not be checked (no server to ask for a consistency proof)"
            )

    def _receipt_witnessed(
        self, idx: int, policy: Policy | None, views: list[tuple[str, Checkpoint, str, bool, bool]], cosigs: list[Cosig]
    ) -> dict[str, Any]:
        """SPEC 14.5: a receipt is witnessed once a checkpoint of size > its
        index carries valid cosignatures of at least quorum witnesses of the
        log's latest policy."""
        if policy is None:
            return {"status": "no witness policy", "detail": "the log sets no witness policy"}
        by_size: dict[int, set[str]] = {}
        for x in cosigs:
            if x.size > idx and policy.cosigners.get(x.name) == x.key:
                by_size.setdefault(x.size, set()).add(x.name)
        for size in sorted(by_size):
            if len(by_size[size]) >= policy.quorum:
                note = next(t for _, cp, t, _, held in views if held and cp.size == size)
                return {"status": "witnessed", "size": size, "witnesses": sorted(by_size[size]), "checkpoint": note}
        return {
            "status": "not yet",
            "detail": f"no checkpoint above index {idx} carries cosignatures of {policy.quorum} of the "
            "policy's witnesses yet",
        }

    # -- verdict and report --------------------------------------------------
    def statuses(self) -> dict[str, str]:
        failed = {p.check for p in self.failures}
        return {c: "failed" if c in failed else "skipped" if c in self.skipped else "passed" for c in self.checks}

    def exit_code(self) -> int:
        st = self.statuses().values()
        return 1 if "failed" in st else 3 if "skipped" in st else 0

    def motions_report(self) -> dict[str, Any]:
        out = {}
        for m in self.replay.motions.values():
            out[m.id] = {
                "state": "closed" if m.close_index is not None else "not closed",
                "close_index": m.close_index,
                "result_index": m.result_index,
                "recomputed": m.result,
                "matches": None
                if m.result_index is None
                else not any(p.check == "results" and p.index == m.result_index for p in self.failures),
            }
        return out

    def as_json(self) -> dict[str, Any]:
        code = self.exit_code()
        r = self.replay
        return {
            "verdict": {0: "valid", 1: "invalid", 3: "incomplete"}[code],
            "exit": code,
            "source": self.source.spec,
            "entries": self.n,
            "assembly": r.assembly_id,
            "kinds": dict(sorted(r.kinds.items())),
            "members": {"enrolled": len(r.enrolled), "active": len(r.active)},
            "checks": self.statuses(),
            "skipped": self.skipped,
            "failures": [
                {"check": p.check, "index": p.index, "reason": p.reason, "section": p.section, "code": p.code}
                for p in self.ordered_failures()
            ],
            "motions": self.motions_report(),
            "receipts": self.receipt_reports,
            "witnesses": self.witness_report,
            "texts": self.texts_report(),
            "checkpoint": None
            if self.saved_note is None
            else {"size": self.saved_cp.size, "root": base64.b64encode(self.saved_cp.root).decode()},
        }

    def ordered_failures(self) -> list[Problem]:
        order = {c: k for k, c in enumerate(self.checks)}
        return sorted(self.failures, key=lambda p: (order.get(p.check, 99), -1 if p.index is None else p.index))

    def text_report(self) -> str:
        r, out = self.replay, []
        out.append(f"Liquid Mandate verifier: {self.source.spec}")
        out.append(f"assembly {r.assembly_id or '(no valid genesis)'}")
        out.append(f"{self.n} entries: " + ", ".join(f"{k} {v}" for k, v in sorted(r.kinds.items())))
        out.append(
            f"members: {len(r.enrolled)} enrolled, {len(r.active)} active; "
            f"{len(r.topics)} topics, {len(r.motions)} motions"
        )
        out.append("")
        out.append("checks:")
        statuses = self.statuses()
        for c in self.checks:
            n = sum(1 for p in self.failures if p.check == c)
            extra = (
                f" ({n} failure{'s' if n > 1 else ''})" if n else f" ({self.skipped[c]})" if c in self.skipped else ""
            )
            out.append(f"  {c:<16} {statuses[c]}{extra}")
        closed = [m for m in r.motions.values() if m.result is not None]
        if closed:
            out.append("")
            out.append("motions (recomputed at their close):")
            for m in closed:
                res = m.result
                q = res["quorum"]
                s = res["seats"]
                out.append(
                    f"  {m.id}: members {res['members']}, yes {res['yes']}, no {res['no']}, "
                    f"abstain {res['abstain']} (direct {res['direct']}, delegated {res['delegated']}); "
                    f"lost: dead_end {res['dead_end']}, cycle {res['cycle']}, absent {res['absent']}; "
                    f"quorum {q['required']}% {'met' if q['met'] else 'NOT met'}; {res['method']} "
                    f"seats yes {s['yes']} / no {s['no']} / abstain {s['abstain']}; "
                    f"result entry {m.result_index if m.result_index is not None else '(none)'}"
                )
        w = self.witness_report
        if w:
            cs = w["cosignatures"]
            out.append("")
            out.append(
                f"witnesses: {len(w['known'])} known ({', '.join(w['known']) or 'none'}); "
                f"{cs['checked']} cosignature lines checked, {cs['valid']} valid on checkpoints of this log"
                + (f"; ignored (unknown witness): {', '.join(cs['ignored_unknown'])}" if cs["ignored_unknown"] else "")
            )
            for c in w["closes"]:
                out.append(f"  entry {c['index']} {c['kind']} {c['lottery']}: {c['status']} ({c['detail']})")
            for f in w["forks"]:
                out.append(f"  FORK: {f['why']}")
                for side in ("a", "b"):
                    out.append(f"    {f[side]['label']}:")
                    out.extend("      " + x for x in f[side]["note"].rstrip("\n").split("\n"))
        tr = self.texts_report()
        if tr["comments"]:
            out.append("")
            checked = (
                "texts not given" if tr["checked"] is None else f"{tr['checked']} texts checked against their hash"
            )
            out.append(f"comments: {tr['comments']} ({checked}); {len(tr['redacted'])} redacted")
            for red in tr["redacted"]:
                out.append(f"  entry {red['index']}: text erased by redact entry {red['redact']}: {red['reason']}")
        for rep in self.receipt_reports:
            out.append("")
            out.append(
                f"receipt {rep['file']}: entry {rep['index']} "
                + ("is in the log, covered by a server-signed checkpoint" if rep["valid"] else "INVALID")
            )
            if rep.get("counted") is not None:
                out.append(
                    f"  {rep.get('kind')}: counted {_short(rep['counted'])}"
                    + (f" ({rep['note']})" if rep.get("note") else "")
                )
            wit = rep.get("witnessed")
            if wit is not None:
                if wit["status"] == "witnessed":
                    out.append(f"  witnessed: by {', '.join(wit['witnesses'])} in the checkpoint of size {wit['size']}")
                else:
                    out.append(f"  NOT witnessed yet: {wit['detail']}")
        if self.failures:
            out.append("")
            out.append("failures:")
            for p in self.ordered_failures():
                where = f"entry {p.index}" if p.index is not None else "log"
                out.append(f"  [{p.check}, SPEC {p.section}] {where}: {p.reason}")
        out.append("")
        code = self.exit_code()
        out.append(
            {
                0: "VERDICT: valid: every check passed",
                1: "VERDICT: INVALID: see the failures above",
                3: "VERDICT: incomplete: nothing failed, but some check could not be made",
            }[code]
        )
        return "\n".join(out)


def _receipt_files(path: str) -> list[str]:
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".json"))
    if not os.path.isfile(path):
        raise CouldNotRun(f"cannot read receipt {path}: no such file")
    return [path]


# ===========================================================================
# Reading the log, and the command line
# ===========================================================================

# ---------------------------------------------------------------------------
# 9. Sources: a server URL (SPEC 9) or a JSON Lines export (SPEC 5)
# ---------------------------------------------------------------------------


class CouldNotRun(Exception):
    """The verifier cannot run at all (exit 2): unreachable server, unreadable file."""


PAGE = 10_000
MAX_ENTRIES = 100_000_000  # --max-entries: a log longer than this is not read to its end (exit 2)
_PAGE_START = re.compile(rb'\{"index":(0|[1-9][0-9]{0,15}),')


class Source:
    """Where the log comes from: ``chunks()`` yields its lines (SPEC 5, 9)."""

    def __init__(self, spec: str, timeout: float = 30.0, max_entries: int | None = None) -> None:
        self.spec = spec
        self.max_entries = MAX_ENTRIES if max_entries is None else max_entries
        self.is_url = spec.startswith(("http://", "https://"))
        self.base = spec.rstrip("/")
        self.timeout = timeout
        if not self.is_url and not os.path.isfile(spec):
            raise CouldNotRun(f"cannot read {spec}: no such file")

    def _get(self, path: str, *, missing_ok: bool = False, missing: tuple[int, ...] = (404,)) -> bytes | None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=self.timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            if missing_ok and e.code in missing:
                return None
            raise CouldNotRun(f"GET {self.base + path}: HTTP {e.code}") from None
        except http.client.IncompleteRead as e:
            # A server dying mid-download: a short body or a chunked stream cut.
            raise CouldNotRun(
                f"GET {self.base + path}: the server closed the connection mid-answer ({len(e.partial)} bytes received)"
            ) from None
        except (http.client.HTTPException, ConnectionError) as e:
            raise CouldNotRun(f"GET {self.base + path}: the connection failed mid-answer ({e!r})") from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise CouldNotRun(f"cannot reach {self.base}: {reason}") from None

    def checkpoint_text(self) -> str | None:
        if not self.is_url:
            return None
        body = self._get("/api/checkpoint", missing_ok=True)
        return None if body is None else body.decode("utf-8", "replace")

    def server_key(self) -> str | None:
        if not self.is_url:
            return None
        body = self._get("/api/server", missing_ok=True)
        try:
            return json.loads(body)["server_key"] if body else None
        except (ValueError, KeyError, TypeError):
            return None

    def checkpoints(self, query: str) -> str | None:
        """SPEC 9, 14.4: ``GET /api/checkpoints?size=N`` or ``?covering=I``
        (a note with its cosignature lines), or None when there is none."""
        if not self.is_url:
            return None
        # SPEC 14.4: no such checkpoint (yet) is a 4xx answer, never a reason not to run.
        body = self._get(f"/api/checkpoints?{query}", missing_ok=True, missing=(400, 404, 409, 422))
        return None if body is None else body.decode("utf-8", "replace")

    def consistency(self, a: int, b: int) -> list[bytes] | None:
        if not self.is_url:
            return None
        body = self._get(f"/api/proof/consistency?from={a}&to={b}", missing_ok=True)
        try:
            return [bytes.fromhex(h) for h in json.loads(body)["proof"]] if body else None
        except (ValueError, KeyError, TypeError):
            return []

    def text_lines(self) -> list[bytes] | None:
        """SPEC 15.2: every record of GET /api/texts, page by page (None when
        the server has no such route)."""
        out: list[bytes] = []
        start = 0
        while True:
            body = self._get(f"/api/texts?from={start}&limit={PAGE}", missing_ok=True)
            if body is None:
                return None if not out else out
            page = [line for line in body.split(b"\n") if line.strip()]
            if not page:
                return out
            out.extend(page)
            try:
                start = int(json.loads(page[-1])["index"]) + 1
            except (ValueError, KeyError, TypeError):
                return out  # the record is judged (and refused) by _check_texts

    def chunks(self) -> Iterator[tuple[list[bytes], bool]]:
        """Lists of lines without their newline; every line ended with a
        newline except, when the flag is False, the last of the list."""
        if not self.is_url:
            read = 0
            try:
                with open(self.spec, "rb") as f:
                    rest = b""
                    while True:
                        block = f.read(1 << 22)
                        if not block:
                            break
                        parts = (rest + block).split(b"\n")
                        rest = parts.pop()
                        if parts:
                            read += len(parts)
                            self._within_limit(read)
                            yield parts, True
                    if rest:
                        self._within_limit(read + 1)
                        yield [rest], False
            except OSError as e:
                raise CouldNotRun(f"cannot read {self.spec}: {e.strerror}") from None
            return
        yield from self._url_chunks(0)

    @staticmethod
    def _file_chunks(path: str) -> Iterator[tuple[list[bytes], bool]]:
        try:
            with open(path, "rb") as f:
                rest = b""
                while True:
                    block = f.read(1 << 22)
                    if not block:
                        break
                    parts = (rest + block).split(b"\n")
                    rest = parts.pop()
                    if parts:
                        yield parts, True
                if rest:
                    yield [rest], False
        except OSError as e:
            raise CouldNotRun(f"cannot read {path}: {e.strerror}") from None

    def _url_chunks(self, start: int) -> Iterator[tuple[list[bytes], bool]]:
        while True:
            body = self._get(f"/api/log?from={start}&limit={PAGE}") or b""
            if not body:
                return
            self._page_starts_at(body, start)
            parts = body.split(b"\n")
            last = parts.pop()
            if len(parts) + (1 if last else 0) > PAGE:
                raise CouldNotRun(
                    f"the server answered limit={PAGE} with {len(parts) + (1 if last else 0)} lines: stopping"
                )
            self._within_limit(start + len(parts) + (1 if last else 0))
            if parts:
                yield parts, True
            if last:
                parts.append(last)
                yield [last], False
            start += len(parts)

    def _within_limit(self, n: int) -> None:
        if n > self.max_entries:
            raise CouldNotRun(
                f"the log has more than {self.max_entries} entries (--max-entries): stopped reading, nothing verified"
            )

    @staticmethod
    def _page_starts_at(body: bytes, start: int) -> None:
        """SPEC 9: a page asked ``from=start`` begins with entry ``start``. A
        server that ignores ``from`` would otherwise be read for ever."""
        m = _PAGE_START.match(body)
        if m is None:
            raise CouldNotRun(f"the page from={start} does not start with an entry's index: stopping")
        got = int(m.group(1))
        if got != start:
            raise CouldNotRun(
                f"asked for entries from {start}, the server answered from {got} (it ignores from=?): stopping"
            )


class FollowSource(Source):
    """A server, and the entries of it already verified in ``held`` (a JSON
    Lines file of --state): those are read from the file, and only the entries
    after them are fetched (SPEC 14.6). ``new`` keeps the fetched lines."""

    def __init__(self, spec: str, held: str, timeout: float = 30.0) -> None:
        super().__init__(spec, timeout)
        self.held = held
        self.new: list[bytes] = []

    def chunks(self) -> Iterator[tuple[list[bytes], bool]]:
        n = 0
        if os.path.isfile(self.held):
            for chunk, complete in self._file_chunks(self.held):
                n += len(chunk)
                yield chunk, complete
        for chunk, complete in self._url_chunks(n):
            self.new.extend(chunk)
            yield chunk, complete


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CouldNotRun(f"cannot read {what} {path}: {getattr(e, 'strerror', None) or e}") from None


# ---------------------------------------------------------------------------
# 10. Command line
# ---------------------------------------------------------------------------


def _count_arg(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,16}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a count in ASCII digits")
    return int(text)


def _key_arg(text: str) -> str:
    if not _HEX64.match(text):
        raise argparse.ArgumentTypeError("want 64 lowercase hex digits")
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="verify_cli.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("source", metavar="SOURCE", help="server URL (http://host:port) or a JSON Lines export")
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a signed checkpoint note to check against the log (repeatable)",
    )
    p.add_argument(
        "--receipt",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help="a receipt, or a folder of *.json receipts (repeatable)",
    )
    p.add_argument("--since", metavar="FILE", help="an earlier signed checkpoint: the log must extend it")
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="NAME=KEYHEX",
        help="a witness whose cosignatures to check, besides those of the log's policies (repeatable)",
    )
    p.add_argument("--save-checkpoint", metavar="FILE", help="write the server-signed checkpoint verified")
    p.add_argument(
        "--follow",
        action="store_true",
        help="monitor the server: check it again every --interval seconds from the last verified "
        "checkpoint (kept in --state DIR); exit 1 at the first failure, the evidence saved in DIR",
    )
    p.add_argument("--state", metavar="DIR", help="with --follow: where the verified entries and checkpoint are kept")
    p.add_argument("--interval", type=float, default=5.0, metavar="S", help="with --follow: seconds between rounds")
    p.add_argument("--rounds", type=int, default=0, metavar="N", help="with --follow: stop after N rounds (0: never)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="signature-checking processes (default: the number of CPUs)",
    )
    p.add_argument(
        "--texts",
        metavar="FILE_OR_URL",
        help="the comment texts (JSON Lines of GET /api/texts, or a server URL) to check against their "
        "hashes (SPEC 15.2); a server SOURCE serves them by default",
    )
    p.add_argument("--no-texts", action="store_true", help="do not fetch the comment texts from a server SOURCE")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument(
        "--max-entries",
        type=_count_arg,
        default=MAX_ENTRIES,
        metavar="N",
        help=f"stop (exit 2) rather than read a log of more than N entries (default {MAX_ENTRIES:,})",
    )
    p.add_argument(
        "--server-key",
        type=_key_arg,
        metavar="HEX",
        help="the server's public key (GET /api/server): checks `wrong_server` on an exported log",
    )
    p.add_argument(
        "--no-fast",
        action="store_true",
        help="run the reference path only (part one of this file: no ballot fast path, no "
        "worker processes, no shortcuts; slower, same verdict); --jobs is then unused",
    )
    return p


def _write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def follow(args: argparse.Namespace) -> int:
    """--follow (SPEC 14.6): a round every --interval seconds; each verifies
    the entries held in --state plus those the server appended since, with
    --since the checkpoint verified last. A round with a failure writes its
    evidence and ends the run (exit 1); a server out of reach is tried again
    at the next round."""
    if not args.source.startswith(("http://", "https://")) or not args.state:
        print("verify_cli: --follow needs a server URL and --state DIR", file=sys.stderr)
        return 2
    if args.checkpoint or args.since or args.receipt:
        print("verify_cli: --follow takes no --checkpoint, --since or --receipt", file=sys.stderr)
        return 2
    try:
        witness_keys = [parse_witness_arg(w) for w in args.witness]
        os.makedirs(args.state, exist_ok=True)
    except CouldNotRun as e:
        print(f"verify_cli: could not run: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"verify_cli: could not run: cannot create {args.state}: {e.strerror}", file=sys.stderr)
        return 2
    held, saved = os.path.join(args.state, "log.jsonl"), os.path.join(args.state, "checkpoint")
    rounds = 0
    while True:
        rounds += 1
        try:
            source = FollowSource(args.source, held)
            v = Verifier(
                source,
                checkpoint_files=[],
                receipt_paths=[],
                since_file=saved if os.path.isfile(saved) else None,
                jobs=args.jobs,
                progress=False,
                fast=not args.no_fast,
                witness_keys=witness_keys,
            )
            v.run()
        except CouldNotRun as e:
            print(f"verify_cli: follow: round {rounds}: {e}; trying again", file=sys.stderr, flush=True)
            v = None
        if v is not None:
            code = v.exit_code()
            if code == 1:
                where = _save_evidence(args.state, v, source.new)
                print(v.text_report())
                print(f"verify_cli: follow: FAILURE, evidence saved in {where}", file=sys.stderr, flush=True)
                return 1
            if source.new:
                with open(held, "ab") as f:
                    f.write(b"".join(x + b"\n" for x in source.new))
                    f.flush()
                    os.fsync(f.fileno())
            if v.saved_note is not None:
                _write_atomic(saved, v.saved_note.encode("utf-8"))
            size = v.saved_cp.size if v.saved_note is not None else None
            print(
                f"verify_cli: follow: round {rounds}: {v.n} entries ({len(source.new)} new), checkpoint "
                f"{size} verified, {'valid' if code == 0 else 'incomplete: ' + '; '.join(v.skipped.values())}",
                file=sys.stderr,
                flush=True,
            )
        if args.rounds and rounds >= args.rounds:
            return 0 if v is not None and v.exit_code() == 0 else 3
        time.sleep(args.interval)


def _save_evidence(state: str, v: Verifier, new: list[bytes]) -> str:
    """The report, every checkpoint note judged and the entries fetched in
    the failing round, in a fresh folder of ``state``."""
    where = os.path.join(state, "evidence-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    k = 1
    while os.path.exists(where if k == 1 else f"{where}-{k}"):
        k += 1
    where = where if k == 1 else f"{where}-{k}"
    os.makedirs(where)
    _write_atomic(os.path.join(where, "report.json"), json.dumps(v.as_json(), ensure_ascii=False, indent=1).encode())
    for n, (label, text) in enumerate(getattr(v, "all_notes", []), 1):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:80]
        _write_atomic(os.path.join(where, f"note-{n:02d}-{name}.txt"), text.encode("utf-8"))
    _write_atomic(os.path.join(where, "new-entries.jsonl"), b"".join(x + b"\n" for x in new))
    return where


def parse_witness_arg(text: str) -> tuple[str, bytes]:
    """``NAME=KEYHEX`` of --witness (split at the last ``=``). Raises CouldNotRun."""
    name, sep, key = text.rpartition("=")
    if not sep or not name or _BAD_KEY_NAME.search(name) or not _is_key(key):
        raise CouldNotRun(f"--witness {text!r}: want NAME=KEYHEX (a C2SP key name, 64 lowercase hex digits)")
    return name, bytes.fromhex(key)


def main(argv: list[str] | None = None) -> int:
    """Run the verifier; returns the exit status (0, 1, 2 or 3)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if args.follow:
        return follow(args)
    try:
        v = Verifier(
            Source(args.source, max_entries=args.max_entries),
            server_key=args.server_key,
            checkpoint_files=args.checkpoint,
            receipt_paths=args.receipt,
            since_file=args.since,
            jobs=args.jobs,
            progress=not args.quiet,
            fast=not args.no_fast,
            witness_keys=[parse_witness_arg(w) for w in args.witness],
            texts=args.texts
            if args.texts is not None
            else (args.source if args.source.startswith(("http://", "https://")) and not args.no_texts else None),
            texts_implicit=args.texts is None,
        )
        v.run()
    except CouldNotRun as e:
        print(f"verify_cli: could not run: {e}", file=sys.stderr)
        if args.json:
            print(json.dumps({"verdict": "error", "exit": 2, "reason": str(e)}))
        return 2
    if args.save_checkpoint:
        if v.saved_note is None:
            print("verify_cli: no server-signed checkpoint was verified; nothing saved", file=sys.stderr)
        else:
            try:
                with open(args.save_checkpoint, "w", encoding="utf-8", newline="") as f:
                    f.write(v.saved_note)
            except OSError as e:
                print(f"verify_cli: could not save the checkpoint: {e.strerror}", file=sys.stderr)
                return 2
    if args.json:
        print(json.dumps(v.as_json(), ensure_ascii=False, indent=1))
    else:
        print(v.text_report())
    return v.exit_code()


# ===========================================================================
# PART TWO: THE SPEED MACHINERY
#
# Nothing below adds or changes a rule: each piece makes a check of part one
# cheaper, says what it assumes, and falls back to part one when its
# assumption does not hold. ``--no-fast`` leaves all of it out, and
# tests/test_verify_paths.py checks that both give the same report.
# ===========================================================================

# ---------------------------------------------------------------------------
# Re-encoding shortcut for SPEC 1, 5 (the C json codec)
# ---------------------------------------------------------------------------

_FAST = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant)
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False).encode


def _flat_entry_ints_ok(value: Any) -> bool:
    """True when ``value`` is an entry whose fields and statement hold only
    strings, null, booleans and safe integers (the common case, checked
    cheaply); False means "walk it" (it may still be fine)."""
    if type(value) is not dict:
        return False
    st = value.get("statement")
    if type(st) is not dict:
        return False
    for v in (*value.values(), *st.values()):
        t = type(v)
        if t is str or v is None or t is bool or v is st:
            continue
        if t is int and -MAX_INT <= v <= MAX_INT:
            continue
        return False
    return True


_NON_BMP = re.compile("[\U00010000-\U0010ffff]")


def read_canonical(line: bytes) -> tuple[Any, bytes, str | None]:
    """``read_canonical_exact`` (SPEC 1, 5), faster: the same answer."""
    # Assumes (and the comment proves): parse with the C decoder (floats and NaN refused) and
    # re-encode with the C encoder (sorted keys, raw UTF-8). When no character
    # of the line is above U+FFFF, sorting keys by code point is sorting them
    # by UTF-16 code unit, and the C encoder escapes exactly what RFC 8785
    # escapes; so a line equal to its re-encoding is canonical once integers
    # are checked. A duplicate key, any whitespace, an escape that need not be
    # one (lone surrogates included: the line, valid UTF-8, cannot hold one
    # raw, and the encoder would write it raw) make the re-encoding differ: a
    # JSON text has one parse, and the re-encoding of a value has exactly one
    # member per dict key, so equal bytes mean no object of the line had a
    # repeated member. Anything else goes to the exact slow path below.
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and (line.isascii() or _NON_BMP.search(text) is None):
        try:
            value = _FAST.decode(text)
            same = _DUMPS(value) == text
        except (ValueError, RecursionError):
            same = False
        if same:
            if _flat_entry_ints_ok(value):
                return value, line, None
            try:
                _walk_check(value)
                return value, line, None
            except CanonicalError:
                pass
    return read_canonical_exact(line)


# ---------------------------------------------------------------------------
# The ballot fast path (SPEC 1 to 5 for the bulk of a long log)
# ---------------------------------------------------------------------------

# The common entry of a long log, a ballot, matched in one pass: when a line
# matches, it is exactly the RFC 8785 bytes of the entry it holds (members in
# sorted order, strings whose characters need no escape, integers in plain
# decimal) and its statement is well formed (SPEC 3), save for the checks
# left to the caller: the hex fields are lowercase hex (the signature checked,
# the others compared with known hex), seq <= 2^53-1 and the
# date of `received` is real. Any other line takes the general path.
_BALLOT_LINE = re.compile(
    rb'\{"index":(0|[1-9][0-9]{0,15}),"prev":"(.{64})",'
    rb'"received":"([0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z)",'
    rb'"signature":"(.{128})","statement":\{"assembly":"(.{64})","author":"(.{64})",'
    rb'"choice":(?:"(yes|no|abstain)"|null),"kind":"ballot","motion":"([a-z0-9][a-z0-9-]{0,63})",'
    rb'"seq":([1-9][0-9]{0,15}),"v":1\}\}',
    re.S,
)
_HEX_DIGITS = b"0123456789abcdef"
# Offsets in a line matched by _BALLOT_LINE, from the position of ',"prev":"'.
_SIG_AT, _STATEMENT_AT = 129, 271
_AUTHOR_IN_STATEMENT = 89


def ballot_fast_path(v: Verifier) -> tuple[Callable[[int, bytes], bool], Callable[[], int]]:
    """A function ``take(i, line)`` that checks and applies a ballot line
    that breaks nothing, and says False (changing nothing) for any other
    line, which then goes to ``check_entry`` and is reported there; and a
    function giving how many lines it took.

    Assumes a line matched by _BALLOT_LINE is canonical and well formed
    (see above); it then makes every remaining test ``check_entry`` would
    make, in one expression, using only state that part one keeps: prev,
    received, the close-first heap, the assembly, the seq, the motion's
    window. Authors are cached by their bytes (assumes: a key string that
    was an active member's is still the same string; it is then looked up
    in ``active`` anyway) and the calendar dates seen valid by day."""
    replay, tree = v.replay, v.tree
    add_leaf = v.leaves._buf.extend
    roots, sizes, wanted = v.roots, v.sizes, v.hashes_wanted
    motions, last_seq, active, due = replay.motions, replay.last_seq, replay.active, replay.due
    signer = v.signer
    batch = signer.BATCH  # type: ignore[attr-defined]
    sha, hexlify = hashlib.sha256, binascii.hexlify
    ballot_line, hex_digits = _BALLOT_LINE.fullmatch, _HEX_DIGITS
    days: set[bytes] = set()
    authors: dict[bytes, str] = {}
    taken = 0

    def take(i: int, line: bytes) -> bool:
        nonlocal taken
        m = ballot_line(line)
        if m is None:
            return False
        idx_b, prev_b, rec_b, sig_b, asm_b, author_b, choice_b, motion_b, seq_b = m.groups()
        rec = rec_b.decode()
        author = authors.get(author_b)
        if author is None:
            # latin-1 never fails; any non-ASCII byte then gives a string
            # that is not an active key.
            author = author_b.decode("latin-1")
        mo = motions.get(motion_b.decode())
        seq = int(seq_b)
        if not (
            int(idx_b) == i
            and prev_b == hexlify(v.prev_hash)
            and rec >= v.last_received
            and (not due or rec < due[0][0])
            and replay.assembly_id_b == asm_b
            and seq <= MAX_INT
            # prev (equal to a hexlified hash), assembly (equal to a
            # hexdigest) and author (an active key, checked when
            # enrolled) are lowercase hex once the tests around hold;
            # only the signature is left to check.
            and not sig_b.translate(None, hex_digits)
            and replay.pending_close is None
            and replay.pending_commit is None
            and author in active
            and seq > last_seq.get(author, 0)
            and mo is not None
            and mo.opens <= rec
            and mo.close_index is None
            and rec < mo.closes
        ):
            return False
        day = rec_b[:10]
        if day not in days:
            if time_key(rec) is None:
                return False
            days.add(day)
        # Every test passed: apply, as add_leaf and Replay.apply would.
        if author_b not in authors:
            authors[author_b] = author
        h = v.prev_hash = sha(line).digest()
        lh = sha(b"\x00" + line).digest()
        add_leaf(lh)
        n, stack = tree.size, tree._stack  # tree.push(lh), inline
        while n & 1:
            lh = sha(b"\x01" + stack.pop() + lh).digest()
            n >>= 1
        stack.append(lh)
        n = tree.size = tree.size + 1
        if n in sizes:
            roots[n] = tree.root()
        if i in wanted:
            wanted[i] = h.hex()
        v.last_received = rec
        last_seq[author] = seq
        if choice_b is None:
            mo.ballots.pop(author, None)
        else:
            mo.ballots[author] = (choice_b.decode(), i)
        taken += 1
        signer.line_idxs.append(i)  # type: ignore[attr-defined]
        signer.lines.append(line)  # type: ignore[attr-defined]
        signer.pending += 1  # type: ignore[attr-defined]
        if signer.pending >= batch:  # type: ignore[attr-defined]
            signer.flush()  # type: ignore[attr-defined]
        return True

    return take, lambda: taken


# ---------------------------------------------------------------------------
# Signature workers (SPEC 2, in batches, in other processes)
# ---------------------------------------------------------------------------

Batch = tuple[list[int], Any, list[int], list[bytes], list[bytes], list[bytes]]


try:
    # libsodium's crypto_sign_open itself, as PyNaCl's binding calls it, but
    # with no output buffer (libsodium then only verifies: it skips the copy
    # of the message when m is NULL), which saves two cffi allocations and a
    # copy per signature. The key must be 32 bytes (callers check it).
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib

    _SIGN_OPEN = _lib.crypto_sign_open
    _NULL = _ffi.NULL
except (ImportError, AttributeError):  # another PyNaCl build: the public binding
    _SIGN_OPEN = None


def _verifier_fn() -> Any:
    """A function (signed message, 32-byte key) -> whether it verifies; for
    the workers, which report failing indexes (SPEC 2 is ``check_signature``)."""
    if _SIGN_OPEN is not None:
        op, null = _SIGN_OPEN, _NULL
        return lambda sm, pk: op(null, null, sm, len(sm), pk) == 0
    bind = nacl.bindings.crypto_sign_open

    def ok(sm: bytes, pk: bytes) -> bool:
        try:
            bind(sm, pk)
            return True
        except Exception:  # a bad key or signature of any shape is a failure, nothing more
            return False

    return ok


def verify_batch(batch: Batch) -> list[int]:
    """Indexes in ``batch`` whose Ed25519 signature does not verify. A batch
    holds raw ballot lines (already matched by _BALLOT_LINE in the reader,
    so the key, signature and statement sit at known offsets), joined by
    newlines into one byte string (one object to send, not thousands), with
    their indexes, and (public key, message, signature) triples for other
    lines."""
    line_idxs, blob, idxs, pks, msgs, sigs = batch
    bad = []
    prefix = STATEMENT_PREFIX
    unhex = binascii.unhexlify
    keys: dict[bytes, bytes] = {}
    if line_idxs:
        if _SIGN_OPEN is not None:
            op, null = _SIGN_OPEN, _NULL
            for i, line in zip(line_idxs, blob.split(b"\n")):
                p = line.find(b',"prev":"', 9)
                s = p + _STATEMENT_AT
                a = line[s + _AUTHOR_IN_STATEMENT : s + _AUTHOR_IN_STATEMENT + 64]
                pk = keys.get(a)
                if pk is None:
                    pk = keys[a] = unhex(a)  # 64 hex digits (matched, checked): 32 bytes
                sm = unhex(line[p + _SIG_AT : p + _SIG_AT + 128]) + prefix + line[s:-1]
                if op(null, null, sm, len(sm), pk) != 0:
                    bad.append(i)
        else:
            ok = _verifier_fn()
            for i, line in zip(line_idxs, blob.split(b"\n")):
                p = line.find(b',"prev":"', 9)
                s = p + _STATEMENT_AT
                a = line[s + _AUTHOR_IN_STATEMENT : s + _AUTHOR_IN_STATEMENT + 64]
                pk = keys.get(a)
                if pk is None:
                    pk = keys[a] = unhex(a)
                if not ok(unhex(line[p + _SIG_AT : p + _SIG_AT + 128]) + prefix + line[s:-1], pk):
                    bad.append(i)
    ok = _verifier_fn()
    for i, pk, m, sg in zip(idxs, pks, msgs, sigs):
        if not (type(pk) is bytes and len(pk) == 32 and type(sg) is bytes and type(m) is bytes and ok(sg + m, pk)):
            bad.append(i)
    return bad


class SignatureChecker:
    """Signatures checked in batches (assumes: a signature's check needs
    nothing but its key, message and signature, so it may be made later and
    elsewhere, and the failing indexes reported at the end). Checks them in ``jobs`` worker processes, keeping a
    bounded number of batches in flight, so that with jobs=1 too the reader
    and the signature checks run side by side. The processes start with the
    first full batch: a log shorter than one batch is checked in process."""

    BATCH = 4096

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.bad: list[int] = []
        self._new()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._inflight: list[concurrent.futures.Future[list[int]]] = []

    def _new(self) -> None:
        self._cur: Batch = ([], [], [], [], [], [])
        c = self._cur
        self.line_idxs, self.lines = c[0], c[1]
        self.pending = 0  # items in the current batch

    def add(self, index: int, pk: bytes, msg: bytes, sig: bytes) -> None:
        c = self._cur
        c[2].append(index)
        c[3].append(pk)
        c[4].append(msg)
        c[5].append(sig)
        self.pending += 1
        if self.pending >= self.BATCH:
            self.flush()

    def flush(self, last: bool = False) -> None:
        batch = self._cur
        n = len(batch[0]) + len(batch[2])
        self._new()
        if not n:
            return
        batch = (batch[0], b"\n".join(batch[1]), *batch[2:])
        if self._pool is None and (last or self.jobs < 1):
            self.bad.extend(verify_batch(batch))
            return
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(self.jobs)
        self._inflight.append(self._pool.submit(verify_batch, batch))
        while len(self._inflight) > 3 * self.jobs:
            self.bad.extend(self._inflight.pop(0).result())

    def finish(self) -> list[int]:
        try:
            self.flush(last=True)
            for f in self._inflight:
                self.bad.extend(f.result())
        finally:
            self.close()
        return sorted(self.bad)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ---------------------------------------------------------------------------
# The fast mode: the pieces above, put together
# ---------------------------------------------------------------------------


class FastMode(Reference):
    """The default path: lines read by ``read_canonical``, signatures checked
    by worker processes (``SignatureChecker``), ballots by
    ``ballot_fast_path``; everything else through ``check_entry``."""

    read = staticmethod(read_canonical)

    @staticmethod
    def message(value: dict[str, Any], canon: bytes, line: bytes) -> bytes:
        # Assumes the entry keys sort as index, prev, received, signature,
        # statement: with plain values before it, the statement's canonical
        # bytes are the tail of the canonical line (a canonical string never
        # holds the bytes ',"', so the first ',"statement":' is the key).
        if (
            type(value["index"]) is int
            and type(value["prev"]) is str
            and type(value["received"]) is str
            and canon is line
        ):
            return STATEMENT_PREFIX + canon[canon.find(b',"statement":') + 13 : -1]
        return STATEMENT_PREFIX + canonical(value["statement"])

    def signatures(self, jobs: int) -> Signatures:
        return SignatureChecker(jobs)  # type: ignore[return-value]

    def ballot_path(self, v: Verifier) -> tuple[Callable[[int, bytes], bool], Callable[[], int]] | None:
        return ballot_fast_path(v)


if __name__ == "__main__":
    sys.exit(main())
