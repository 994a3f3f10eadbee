"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes
(docs/SPEC.md sections 6 and 11.5).

A note is the text ``<origin>\\n<size>\\n<base64 root>\\n``, a blank line, and
one or more signature lines ``— <key name> <base64(key id || signature)>\\n``
(U+2014 EM DASH). The Ed25519 signature covers the text, final newline
included; key id = SHA-256(name || 0x0A || 0x01 || public key)[:4]. The server
signs with key name = origin = ``liquid-mandate/<assembly id hex>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from crypto.signing import KeyPair, SignatureInvalid, verify_raw

ORIGIN_PREFIX = "liquid-mandate/"
ED25519 = 0x01  # C2SP signed-note signature type of Ed25519
SIG_PREFIX = "\u2014 "  # EM DASH, space
MAX_SIGNATURES = 100  # C2SP: verifiers must accept at least 16; Go's note package stops at 100
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_BAD_NAME = re.compile(r"[\s+]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class CheckpointError(ValueError):
    """A note or checkpoint is malformed, or carries no valid signature from
    the expected key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log ``origin``, its ``size`` and RFC 9162 ``root``."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError("origin is empty, want a non-empty line")
        if "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointError("origin holds a control character, want one line of text")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise CheckpointError(f"size is {self.size!r}, want a non-negative integer")
        if not isinstance(self.root, bytes):
            raise CheckpointError(f"root is {type(self.root).__name__}, want bytes")
        if len(self.root) != 32:
            raise CheckpointError(f"root has {len(self.root)} bytes, want 32")

    def text(self) -> str:
        """The note text (the signed body), ending in a newline."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key ``name``, 4-byte ``key_id`` and the signature."""

    name: str
    key_id: bytes
    signature: bytes


def origin_for(assembly_id_hex: str) -> str:
    """The origin (and server key name) of an assembly's log."""
    if not re.fullmatch(r"[0-9a-f]{64}", assembly_id_hex):
        raise CheckpointError("assembly id is not 64 lowercase hex digits")
    return ORIGIN_PREFIX + assembly_id_hex


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or _BAD_NAME.search(name):
        raise CheckpointError(f"key name {name!r} is empty or holds a space or '+'")


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise CheckpointError("public key is not 32 bytes")


def _b64decode(s: str, what: str) -> bytes:
    # Strict standard base64: alphabet, padding, and the canonical encoding only.
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note Ed25519 key id: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    _check_name(name)
    _check_public_key(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key_string(name: str, public_key: bytes) -> str:
    """The C2SP verifier key ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    kid = key_id(name, public_key)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([ED25519]) + public_key).decode('ascii')}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """``(name, public key)`` from a verifier key string. Raises
    CheckpointError unless it is an Ed25519 key whose key id matches."""
    parts = vkey.split("+")
    if len(parts) != 3:
        raise CheckpointError(f"verifier key has {len(parts)} '+'-separated parts, want 3")
    name, kid_hex, key_b64 = parts
    _check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise CheckpointError("verifier key id is not 8 lowercase hex digits")
    raw = _b64decode(key_b64, "verifier key")
    if len(raw) != 33 or raw[0] != ED25519:
        raise CheckpointError("verifier key is not 0x01 followed by a 32-byte Ed25519 key")
    public_key = raw[1:]
    want = key_id(name, public_key)
    if bytes.fromhex(kid_hex) != want:
        raise CheckpointError(f"verifier key id is {kid_hex}, want {want.hex()}")
    return name, public_key


def sign_note(text: str, key: KeyPair, name: str) -> str:
    """The signed note of ``text`` with one Ed25519 signature line by ``key``
    under key ``name``."""
    _check_name(name)
    if not text.endswith("\n") or "\n\n" in text or _CONTROL.search(text):
        raise CheckpointError("note text must end in a newline, hold no blank line and no control character")
    sig = key.sign(text.encode("utf-8"))
    blob = base64.b64encode(key_id(name, key.public_bytes) + sig).decode("ascii")
    return f"{text}\n{SIG_PREFIX}{name} {blob}\n"


def sign_checkpoint(checkpoint: Checkpoint, key: KeyPair, name: str | None = None) -> str:
    """The note of ``checkpoint`` signed by ``key`` under key ``name``
    (default: the checkpoint's origin, as this project's server signs)."""
    return sign_note(checkpoint.text(), key, checkpoint.origin if name is None else name)


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text (final newline included) and its
    signature lines, checking only their syntax (C2SP signed-note). Raises
    CheckpointError when the note is malformed."""
    if not isinstance(note, str):
        raise CheckpointError(f"note is {type(note).__name__}, want str")
    if _CONTROL.search(note):
        raise CheckpointError("note holds an ASCII control character other than newline")
    if not note.endswith("\n"):
        raise CheckpointError("note does not end in a newline")
    # The text ends at the last blank line: "...\n" + "\n" + signature lines.
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    lines = sig_block.split("\n")[:-1]  # sig_block ends in "\n"
    if not lines:
        raise CheckpointError("note has no signature line")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has {len(lines)} signature lines, want at most {MAX_SIGNATURES}")
    signatures = []
    for i, line in enumerate(lines):
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError(f"signature line {i} does not start with an em dash and a space")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise CheckpointError(f"signature line {i} has {len(fields)} fields, want name and signature")
        name, blob = fields
        _check_name(name)
        raw = _b64decode(blob, f"signature line {i}")
        if len(raw) < 5:
            raise CheckpointError(f"signature line {i} has {len(raw)} bytes, want a 4-byte key id and a signature")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, signatures


def split_notes(text: str) -> list[str]:
    """The signed notes of a text that holds several one after the other
    (docs/SPEC.md sections 13.1 and 14.4: an export's ``.checkpoints`` part,
    a ``--checkpoint`` file): each is its text lines, a blank line and its
    signature lines; blank lines between notes are allowed. Only the
    boundaries are found here: each note is then parsed on its own, so a
    fragment cut short fails there."""
    notes, lines, k = [], text.split("\n"), 0
    while k < len(lines):
        if lines[k] == "":
            k += 1
            continue
        start = k
        while k < len(lines) and lines[k] != "":
            k += 1
        k += 1  # the blank line after the text
        while k < len(lines) and lines[k].startswith(SIG_PREFIX):
            k += 1
        notes.append("\n".join(lines[start:k]) + "\n")
    return notes


def verify_note(note: str, *, public_key: bytes, name: str) -> str:
    """The text of ``note`` once a signature by the Ed25519 ``public_key``
    under key ``name`` verifies over it. Signatures of other keys are ignored;
    a signature line of this key that fails rejects the whole note, as C2SP
    recommends. Raises CheckpointError."""
    kid = key_id(name, public_key)
    text, signatures = parse_note(note)
    message = text.encode("utf-8")
    verified = False
    for s in signatures:
        if s.name != name or s.key_id != kid:
            continue
        try:
            verify_raw(public_key, message, s.signature)
        except SignatureInvalid:
            raise CheckpointError(f"signature of {name}+{kid.hex()} does not verify") from None
        verified = True
    if not verified:
        raise CheckpointError(f"note has no signature of {name}+{kid.hex()}")
    return text


def parse_checkpoint_text(text: str) -> Checkpoint:
    """The checkpoint of a note text, strictly: exactly the three lines origin,
    decimal size without leading zeros, base64 of a 32-byte root, each ending in
    a newline. Extension lines are refused: this project never writes them
    (tlog-checkpoint marks them NOT RECOMMENDED). Raises CheckpointError."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        raise CheckpointError(f"checkpoint text has {len(lines)} lines, want 3 (origin, size, root)")
    origin, size_s, root_s = lines
    if not _DECIMAL.match(size_s):
        raise CheckpointError(f"size {size_s!r} is not a decimal without leading zeros")
    if len(size_s) > 20:
        raise CheckpointError(f"size has {len(size_s)} digits, want at most 20")
    root = _b64decode(root_s, "root")
    if len(root) != 32:
        raise CheckpointError(f"root has {len(root)} bytes, want 32")
    return Checkpoint(origin, int(size_s), root)


def open_checkpoint(note: str, *, public_key: bytes, name: str, origin: str | None = None) -> Checkpoint:
    """The checkpoint of a signed note, once a signature of ``public_key``
    under key ``name`` verifies, and its origin equals ``origin`` when given.
    Raises CheckpointError."""
    cp = parse_checkpoint_text(verify_note(note, public_key=public_key, name=name))
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin is {cp.origin!r}, want {origin!r}")
    return cp
