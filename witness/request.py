"""The C2SP tlog-witness ``add-checkpoint`` request body, parsed strictly
(docs/SPEC.md section 14).

Body: ``old <size>\\n``, zero to 63 consistency proof lines (base64 of one
32-byte hash each), an empty line, then the checkpoint: a C2SP signed note
whose text is a tlog-checkpoint (origin, size, base64 root, then optional
extension lines). Anything else is malformed (the witness answers 400).

The note's syntax is checked by crypto.checkpoint.parse_note, the same code
the server and the signed-note vectors use. The checkpoint text is parsed here
rather than with crypto.checkpoint.parse_checkpoint_text because a witness of
the public ecosystem must accept (and cosign, with the rest of the body) the
extension lines that tlog-checkpoint allows, which this project's server never
writes and its own parser refuses.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from crypto.checkpoint import Checkpoint, CheckpointError, parse_note

MAX_PROOF_LINES = 63  # tlog-witness: "The client MUST NOT send more than 63 consistency proof lines"
MAX_SIZE = 2**63 - 1  # C2SP sizes are uint64; SQLite integers are signed 64-bit, and no log nears 2^63
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,19})\Z")


class RequestMalformed(ValueError):
    """The request body is not an add-checkpoint body (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed request: the old size, the proof hashes, the signed note, its
    text (the checkpoint body that gets cosigned) and the checkpoint in it."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str
    body: str
    checkpoint: Checkpoint


def _decimal(s: str, what: str) -> int:
    if not _DECIMAL.match(s):
        raise RequestMalformed(f"{what} {s!r} is not a decimal without leading zeros")
    n = int(s)
    if n > MAX_SIZE:
        raise RequestMalformed(f"{what} {n} is above 2^63 - 1")
    return n


def _hash(s: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise RequestMalformed(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise RequestMalformed(f"{what} is not canonical base64")
    if len(raw) != 32:
        raise RequestMalformed(f"{what} has {len(raw)} bytes, want 32")
    return raw


def parse_checkpoint_body(text: str) -> Checkpoint:
    """The checkpoint of a note text: origin, size and root lines, then any
    non-empty extension lines. Raises RequestMalformed."""
    if not text.endswith("\n"):
        raise RequestMalformed("checkpoint text does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise RequestMalformed(f"checkpoint text has {len(lines)} lines, want at least 3 (origin, size, root)")
    if any(not line for line in lines):
        raise RequestMalformed("checkpoint text holds an empty line")
    size = _decimal(lines[1], "checkpoint size")
    root = _hash(lines[2], "checkpoint root")
    try:
        return Checkpoint(lines[0], size, root)
    except CheckpointError as e:
        raise RequestMalformed(str(e)) from None


def parse_request(raw: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body. Raises RequestMalformed with a message
    that says which part is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestMalformed("body is not UTF-8") from None
    first, sep, rest = text.partition("\n")
    if not sep:
        raise RequestMalformed("body has no newline after the old size line")
    if not first.startswith("old "):
        raise RequestMalformed("first line is not 'old <size>'")
    old_size = _decimal(first[4:], "old size")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition("\n")
        if not sep:
            raise RequestMalformed("body has no empty line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise RequestMalformed(f"proof has more than {MAX_PROOF_LINES} lines")
        proof.append(_hash(line, f"proof line {len(proof)}"))
    note = rest
    try:
        body, _signatures = parse_note(note)
    except CheckpointError as e:
        raise RequestMalformed(f"checkpoint note: {e}") from None
    return AddCheckpoint(old_size, tuple(proof), note, body, parse_checkpoint_body(body))
