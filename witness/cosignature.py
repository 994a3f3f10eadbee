"""C2SP tlog-cosignature ``cosignature/v1`` (Ed25519): the witness's signature
over a checkpoint, and its check (docs/SPEC.md section 14).

A cosignature is a signed-note signature line
``— <name> <base64(key id || timestamp || signature)>``:

- key id = SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]; 0x04 is the
  signed-note signature type of timestamped Ed25519 witness cosignatures, so
  the id differs from the plain Ed25519 (0x01) id of the same key;
- timestamp: 8 bytes, big-endian, whole POSIX seconds, at most 2^63 - 1;
- signature: Ed25519 over ``cosignature/v1\\ntime <timestamp>\\n`` followed by
  the checkpoint body (the note text, every line before the blank line, each
  with its newline).

This module also reads and writes the cosigner's verifier key
(``<name>+<hex key id>+<base64(0x04 || key)>``). It is plain data in and out
(no clock, no files); only crypto.signing touches PyNaCl.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from crypto.signing import KeyPair, SignatureInvalid, verify_raw

COSIGNATURE_V1 = 0x04  # C2SP signed-note signature type: timestamped Ed25519 cosignature
HEADER = "cosignature/v1\n"
SIG_PREFIX = "\u2014 "  # EM DASH, space: every signed-note signature line starts so
MAX_TIMESTAMP = 2**63 - 1  # tlog-cosignature: "MUST NOT exceed 2^63 - 1"
_BLOB_LEN = 4 + 8 + 64
_BAD_NAME = re.compile(r"[\s+\x00-\x1f\x7f]")


class CosignatureError(ValueError):
    """Base of this module's errors."""


class CosignatureMalformed(CosignatureError):
    """A cosignature line, name, key or timestamp cannot be parsed."""


class CosignatureInvalid(CosignatureError):
    """A well-formed cosignature that is not the expected cosigner's, or whose
    signature does not verify over the checkpoint body."""


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One parsed ``cosignature/v1`` line."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes


def check_name(name: str) -> None:
    """Raise CosignatureMalformed unless ``name`` is a valid signed-note key
    name: non-empty, no Unicode space, no ``+``, no control character."""
    if not isinstance(name, str) or not name or _BAD_NAME.search(name):
        raise CosignatureMalformed(f"key name {name!r} is empty or holds a space, '+' or a control character")


def _check_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise CosignatureMalformed("public key is not 32 bytes")


def _check_timestamp(timestamp: int) -> None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureMalformed(f"timestamp {timestamp!r} is not an integer in [0, 2^63 - 1]")


def _check_body(body: str) -> None:
    if not isinstance(body, str) or not body.endswith("\n") or "\n\n" in body:
        raise CosignatureMalformed("checkpoint body must end in a newline and hold no blank line")


def key_id(name: str, public_key: bytes) -> bytes:
    """The cosigner key id: SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    check_name(name)
    _check_key(public_key)
    return _key_id(name, public_key)


@functools.lru_cache(maxsize=256)
def _key_id(name: str, public_key: bytes) -> bytes:
    # Cached: a server checks every line of a few witnesses against their ids.
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_V1]) + public_key).digest()[:4]


def vkey(name: str, public_key: bytes) -> str:
    """The verifier key ``<name>+<hex key id>+<base64(0x04 || key)>``."""
    kid = key_id(name, public_key)
    blob = base64.b64encode(bytes([COSIGNATURE_V1]) + public_key).decode("ascii")
    return f"{name}+{kid.hex()}+{blob}"


def _b64decode(s: str, what: str) -> bytes:
    # Strict standard base64: alphabet and padding checked, canonical form only,
    # so one cosignature has one spelling.
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise CosignatureMalformed(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise CosignatureMalformed(f"{what} is not canonical base64")
    return raw


def parse_vkey(text: str) -> tuple[str, bytes]:
    """``(name, public key)`` of a ``cosignature/v1`` verifier key. Raises
    CosignatureMalformed unless the type byte is 0x04 and the key id matches."""
    # Split at the first two '+' only: the name holds none, base64 may.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CosignatureMalformed(f"verifier key has {len(parts)} '+'-separated parts, want 3")
    name, kid_hex, blob = parts
    check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise CosignatureMalformed("verifier key id is not 8 lowercase hex digits")
    raw = _b64decode(blob, "verifier key")
    if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
        raise CosignatureMalformed("verifier key is not 0x04 followed by a 32-byte Ed25519 key")
    want = key_id(name, raw[1:])
    if bytes.fromhex(kid_hex) != want:
        raise CosignatureMalformed(f"verifier key id is {kid_hex}, want {want.hex()}")
    return name, raw[1:]


def signed_message(body: str, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signs: header line, time line, body."""
    _check_body(body)
    _check_timestamp(timestamp)
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, key: KeyPair, name: str, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of checkpoint ``body`` by
    ``key`` under cosigner ``name`` at POSIX second ``timestamp``."""
    kid = key_id(name, key.public_bytes)
    signature = key.sign(signed_message(body, timestamp))
    blob = base64.b64encode(kid + timestamp.to_bytes(8, "big") + signature).decode("ascii")
    return f"{SIG_PREFIX}{name} {blob}\n"


def parse_line(line: str) -> Cosignature:
    """Parse one signature line (with or without its final newline) as a
    ``cosignature/v1``. Raises CosignatureMalformed."""
    if not isinstance(line, str):
        raise CosignatureMalformed(f"line is {type(line).__name__}, want str")
    if line.endswith("\n"):
        line = line[:-1]
    if not line.startswith(SIG_PREFIX):
        raise CosignatureMalformed("line does not start with an em dash and a space")
    fields = line[len(SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise CosignatureMalformed(f"line has {len(fields)} space-separated fields, want name and signature")
    name, blob = fields
    check_name(name)
    raw = _b64decode(blob, "cosignature")
    if len(raw) != _BLOB_LEN:
        raise CosignatureMalformed(f"cosignature has {len(raw)} bytes, want {_BLOB_LEN} (key id, timestamp, Ed25519)")
    timestamp = int.from_bytes(raw[4:12], "big")
    _check_timestamp(timestamp)
    return Cosignature(name, raw[:4], timestamp, raw[12:])


def verify_line(line: str, body: str, *, name: str, public_key: bytes) -> Cosignature:
    """The parsed cosignature once ``line`` is a valid ``cosignature/v1`` of
    checkpoint ``body`` by cosigner ``name`` with ``public_key``. Raises
    CosignatureMalformed (unparsable) or CosignatureInvalid (another key, or
    the signature does not verify)."""
    cos = parse_line(line)
    kid = key_id(name, public_key)
    if cos.name != name or cos.key_id != kid:
        raise CosignatureInvalid(f"line is by {cos.name}+{cos.key_id.hex()}, want {name}+{kid.hex()}")
    try:
        verify_raw(public_key, signed_message(body, cos.timestamp), cos.signature)
    except SignatureInvalid:
        raise CosignatureInvalid(f"cosignature of {name}+{kid.hex()} does not verify over the checkpoint") from None
    return cos
