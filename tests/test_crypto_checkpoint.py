"""crypto/checkpoint.py: the C2SP signed-note example, our own checkpoints,
and every way a note or checkpoint can be refused."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import checkpoint as ck
from crypto.checkpoint import Checkpoint, CheckpointError
from crypto.signing import KeyPair

EXAMPLE = json.loads((Path(__file__).resolve().parent / "vectors" / "signed-note" / "example.json").read_text())
KEY = KeyPair(bytes([1]) * 32)
OTHER = KeyPair(bytes([2]) * 32)
ORIGIN = ck.origin_for("ab" * 32)
ROOT = hashlib.sha256(b"root").digest()


def _example_key() -> tuple[str, bytes]:
    name, kid_hex, key_b64 = EXAMPLE["verifier_key"].split("+")
    raw = base64.b64decode(key_b64)
    assert raw[0] == 0x01 and len(raw) == 33
    return name, raw[1:]


def test_c2sp_example_key_id_and_verifier_key() -> None:
    name, public_key = _example_key()
    kid = hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]
    assert ck.key_id(name, public_key) == kid
    assert EXAMPLE["verifier_key"] == f"{name}+{kid.hex()}+" + base64.b64encode(b"\x01" + public_key).decode()
    assert ck.verifier_key_string(name, public_key) == EXAMPLE["verifier_key"]
    assert ck.parse_verifier_key(EXAMPLE["verifier_key"]) == (name, public_key)


def test_c2sp_example_signature_verifies_over_the_text() -> None:
    name, public_key = _example_key()
    note = EXAMPLE["text"] + "\n" + EXAMPLE["signature_line"]
    text, sigs = ck.parse_note(note)
    assert text == EXAMPLE["text"]
    assert [(s.name, s.key_id) for s in sigs] == [(name, ck.key_id(name, public_key))]
    assert ck.verify_note(note, public_key=public_key, name=name) == EXAMPLE["text"]
    # The example is not a checkpoint, so it cannot be opened as one.
    with pytest.raises(CheckpointError, match="checkpoint text has 1 lines, want 3"):
        ck.open_checkpoint(note, public_key=public_key, name=name)


def test_c2sp_example_tampered_fails() -> None:
    name, public_key = _example_key()
    with pytest.raises(CheckpointError, match="does not verify"):
        ck.verify_note("This is an example message!\n\n" + EXAMPLE["signature_line"], public_key=public_key, name=name)
    blob = EXAMPLE["signature_line"].split(" ")[2].strip()
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    line = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        ck.verify_note(EXAMPLE["text"] + "\n" + line, public_key=public_key, name=name)


def test_sign_and_open_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 12345, ROOT)
    note = ck.sign_checkpoint(cp, KEY)
    assert note.startswith(f"{ORIGIN}\n12345\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} ")
    assert note.endswith("\n") and note.count("\n") == 5
    assert ck.open_checkpoint(note, public_key=KEY.public_bytes, name=ORIGIN, origin=ORIGIN) == cp
    blob = base64.b64decode(note.rsplit(" ", 1)[1])
    assert blob[:4] == ck.key_id(ORIGIN, KEY.public_bytes) and len(blob) == 68


def test_unknown_signatures_are_ignored_but_one_known_is_needed() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = ck.sign_checkpoint(cp, KEY)
    witness = ck.sign_checkpoint(cp, OTHER, name="witness.example/w1")
    cosigned = note + witness.split("\n\n", 1)[1]
    assert ck.open_checkpoint(cosigned, public_key=KEY.public_bytes, name=ORIGIN) == cp
    assert ck.open_checkpoint(cosigned, public_key=OTHER.public_bytes, name="witness.example/w1") == cp
    with pytest.raises(CheckpointError, match="note has no signature of"):
        ck.open_checkpoint(note, public_key=OTHER.public_bytes, name=ORIGIN)
    with pytest.raises(CheckpointError, match="note has no signature of"):
        ck.open_checkpoint(note, public_key=KEY.public_bytes, name="liquid-mandate/other")
    with pytest.raises(CheckpointError, match="origin is"):
        ck.open_checkpoint(note, public_key=KEY.public_bytes, name=ORIGIN, origin="liquid-mandate/x")


def test_a_failing_signature_of_the_known_key_rejects_the_note() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    good = ck.sign_checkpoint(cp, KEY)
    bad = ck.sign_checkpoint(Checkpoint(ORIGIN, 8, ROOT), KEY).split("\n\n", 1)[1]
    with pytest.raises(CheckpointError, match="does not verify"):
        ck.open_checkpoint(good + bad, public_key=KEY.public_bytes, name=ORIGIN)


@settings(deadline=None)
@given(size=st.integers(0, 2**64 - 1), root=st.binary(min_size=32, max_size=32), position=st.integers(0, 10_000))
def test_any_changed_character_fails(size: int, root: bytes, position: int) -> None:
    note = ck.sign_checkpoint(Checkpoint(ORIGIN, size, root), KEY)
    assert ck.open_checkpoint(note, public_key=KEY.public_bytes, name=ORIGIN) == Checkpoint(ORIGIN, size, root)
    i = position % len(note)
    for replacement in ("A", "0", "\n", "+"):
        if note[i] == replacement:
            continue
        tampered = note[:i] + replacement + note[i + 1 :]
        with pytest.raises(CheckpointError):
            ck.open_checkpoint(tampered, public_key=KEY.public_bytes, name=ORIGIN)


def _signed(text: str) -> str:
    return ck.sign_note(text, KEY, ORIGIN)


R64 = base64.b64encode(ROOT).decode()
URLSAFE = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()


@pytest.mark.parametrize(
    "text,match",
    [
        (f"{ORIGIN}\n012\n{R64}\n", "not a decimal without leading zeros"),
        (f"{ORIGIN}\n+12\n{R64}\n", "not a decimal"),
        (f"{ORIGIN}\n1 2\n{R64}\n", "not a decimal"),
        (f"{ORIGIN}\n１２\n{R64}\n", "not a decimal"),
        (f"{ORIGIN}\n{'9' * 21}\n{R64}\n", "size has 21 digits"),
        (f"{ORIGIN}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n", "root has 31 bytes, want 32"),
        (f"{ORIGIN}\n12\n{R64.rstrip('=')}\n", "root is not standard base64"),
        (f"{ORIGIN}\n12\n{URLSAFE}\n", "root is not standard base64"),
        (f"{ORIGIN}\n12\n{R64}\nextension\n", "has 4 lines, want 3"),
        (f"{ORIGIN}\n12\n", "has 2 lines, want 3"),
        (f"\n12\n{R64}\n", "origin is empty"),
    ],
)
def test_malformed_checkpoint_bodies(text: str, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        ck.open_checkpoint(_signed(text), public_key=KEY.public_bytes, name=ORIGIN)


def test_root_base64_must_be_canonical() -> None:
    # "...Y=" and "...Z=" decode to the same bytes; only one is the encoding.
    r64 = base64.b64encode(bytes(32)).decode()
    assert r64.endswith("A=")
    with pytest.raises(CheckpointError, match="root is not canonical base64"):
        ck.open_checkpoint(_signed(f"{ORIGIN}\n1\n{r64[:-2]}B=\n"), public_key=KEY.public_bytes, name=ORIGIN)


GOOD = ck.sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), KEY)
BODY, SIGS = GOOD.split("\n\n")


@pytest.mark.parametrize(
    "note,match",
    [
        (GOOD[:-1], "does not end in a newline"),
        (BODY + "\n" + SIGS, "no blank line"),
        (BODY + "\n\n", "no signature line"),
        (GOOD.replace("\u2014", "-"), "does not start with an em dash"),
        (GOOD.replace(f"\u2014 {ORIGIN} ", f"\u2014 {ORIGIN}  "), "has 3 fields"),
        (GOOD.replace(f"\u2014 {ORIGIN} ", "\u2014 a+b "), "key name 'a\\+b'"),
        (GOOD.replace("\n\n", "\n\n\t"), "control character"),
        (GOOD.replace("\n\n", "\r\n\n"), "control character"),
        (BODY + "\n\n\u2014 " + ORIGIN + " AAAA\n", "has 3 bytes"),
        (GOOD + ("\u2014 x/y " + "A" * 92 + "\n") * 100, "101 signature lines"),
        (b"bytes", "note is bytes, want str"),
    ],
)
def test_malformed_notes(note: str, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        ck.open_checkpoint(note, public_key=KEY.public_bytes, name=ORIGIN)


def test_checkpoint_and_key_refusals() -> None:
    with pytest.raises(CheckpointError, match="root has 31 bytes, want 32"):
        Checkpoint(ORIGIN, 1, bytes(31))
    with pytest.raises(CheckpointError, match="root is str, want bytes"):
        Checkpoint(ORIGIN, 1, "00" * 32)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="size is -1"):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError, match="one line"):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(CheckpointError, match="assembly id is not 64 lowercase hex"):
        ck.origin_for("AB" * 32)
    with pytest.raises(CheckpointError, match="key name"):
        ck.key_id("has space", KEY.public_bytes)
    with pytest.raises(CheckpointError, match="public key is not 32 bytes"):
        ck.key_id("n", bytes(31))
    with pytest.raises(CheckpointError, match="note text must end in a newline"):
        ck.sign_note("two\n\nparagraphs\n", KEY, ORIGIN)
    vkey = ck.verifier_key_string("example.com/foo", KEY.public_bytes)
    name, kid, key = vkey.split("+")
    with pytest.raises(CheckpointError, match="verifier key id is 00000000, want"):
        ck.parse_verifier_key(f"{name}+00000000+{key}")
    with pytest.raises(CheckpointError, match="want 3"):
        ck.parse_verifier_key(f"{name}+{kid}")
    with pytest.raises(CheckpointError, match="0x01 followed by a 32-byte"):
        ck.parse_verifier_key(f"{name}+{kid}+" + base64.b64encode(b"\x02" + KEY.public_bytes).decode())
