"""cosignature/v1 (witness/cosignature.py) against the independent
implementation of tests/test_witness_support.py, the C2SP examples, and the
signed-note vectors through the parsing the witness uses."""

from __future__ import annotations

import base64
import json

import nacl.exceptions
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.checkpoint import parse_note, parse_verifier_key, verify_note
from crypto.signing import KeyPair
from tests.conftest import ROOT, VECTORS
from tests.test_witness_support import independent_key_id, independent_verify
from witness.cosignature import (
    MAX_TIMESTAMP,
    CosignatureInvalid,
    CosignatureMalformed,
    cosign,
    key_id,
    parse_line,
    parse_vkey,
    signed_message,
    verify_line,
    vkey,
)
from witness.request import RequestMalformed, parse_request

KEY = KeyPair(bytes(range(32)))
NAME = "witness.example/w1"
BODY = "log.example/test\n5\n" + base64.b64encode(bytes(32)).decode() + "\n"


def signed_note_vectors() -> list[dict[str, str]]:
    local = ROOT / "tests" / "vectors" / "signed-note"
    folder = local if local.is_dir() else VECTORS / "signed-note"
    files = sorted(folder.glob("*.json"))
    assert files, f"no signed-note vectors in {folder}"
    return [json.loads(f.read_text()) for f in files]


lines = st.lists(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF), min_size=1, max_size=30), min_size=3, max_size=5
)


@given(lines, st.integers(0, MAX_TIMESTAMP), st.binary(min_size=32, max_size=32))
def test_witness_cosignatures_verify_independently(body_lines, timestamp, seed):
    key = KeyPair(seed)
    body = "".join(line + "\n" for line in body_lines)
    line = cosign(body, key, NAME, timestamp)
    assert independent_verify(line, body, NAME, key.public_bytes) == timestamp
    assert verify_line(line, body, name=NAME, public_key=key.public_bytes).timestamp == timestamp


def test_independent_verifier_refuses_what_it_should():
    line = cosign(BODY, KEY, NAME, 1234)
    with pytest.raises(nacl.exceptions.BadSignatureError):
        independent_verify(line, BODY.replace("\n5\n", "\n6\n"), NAME, KEY.public_bytes)
    with pytest.raises(AssertionError, match="key id"):
        independent_verify(line, BODY, NAME, KeyPair(bytes(32)).public_bytes)


def test_key_id_uses_type_0x04_and_the_vkey_round_trips():
    assert key_id(NAME, KEY.public_bytes) == independent_key_id(NAME, KEY.public_bytes, 0x04)
    assert key_id(NAME, KEY.public_bytes) != independent_key_id(NAME, KEY.public_bytes, 0x01)
    text = vkey(NAME, KEY.public_bytes)
    name, kid_hex, blob = text.split("+", 2)
    assert (name, bytes.fromhex(kid_hex)) == (NAME, independent_key_id(NAME, KEY.public_bytes))
    assert base64.b64decode(blob) == b"\x04" + KEY.public_bytes
    assert parse_vkey(text) == (NAME, KEY.public_bytes)


def test_signed_message_is_header_time_body():
    assert signed_message(BODY, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + BODY.encode()
    with pytest.raises(CosignatureMalformed, match="end in a newline"):
        signed_message("no newline", 1)
    with pytest.raises(CosignatureMalformed, match="2\\^63"):
        signed_message(BODY, MAX_TIMESTAMP + 1)


def test_the_c2sp_example_cosignature_parses():
    # tlog-cosignature's example: its time line reads 1679315147.
    line = (
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1n"
        "PZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    )
    cos = parse_line(line)
    assert (cos.name, cos.timestamp, len(cos.signature)) == ("witness.example.com/w1", 1679315147, 64)


def test_verify_line_refusals():
    line = cosign(BODY, KEY, NAME, 99)
    with pytest.raises(CosignatureInvalid, match="want witness.example/w2"):
        verify_line(line, BODY, name="witness.example/w2", public_key=KEY.public_bytes)
    with pytest.raises(CosignatureInvalid, match="want witness.example/w1"):
        verify_line(line, BODY, name=NAME, public_key=KeyPair(bytes(32)).public_bytes)
    with pytest.raises(CosignatureInvalid, match="does not verify"):
        verify_line(line, BODY.replace("5", "6"), name=NAME, public_key=KEY.public_bytes)
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # another timestamp, same signature
    moved = f"\u2014 {NAME} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(CosignatureInvalid, match="does not verify"):
        verify_line(moved, BODY, name=NAME, public_key=KEY.public_bytes)
    for bad, why in [
        ("- " + line[2:], "em dash"),
        (line.replace(" ", "  ", 1), "fields"),
        (line[:-3] + "\n", "base64"),
        (f"\u2014 {NAME} {base64.b64encode(bytes(raw[:-1])).decode()}\n", "want 76"),
        (f"\u2014 {NAME} " + base64.b64encode(bytes(4) + b"\xff" * 8 + bytes(64)).decode(), "2\\^63"),
    ]:
        with pytest.raises(CosignatureMalformed, match=why):
            verify_line(bad, BODY, name=NAME, public_key=KEY.public_bytes)


def test_parse_vkey_refusals():
    text = vkey(NAME, KEY.public_bytes)
    name, kid, blob = text.split("+", 2)
    for bad, why in [
        ("a+b", "3"),
        (f"{name}+{'0' * 8}+{blob}", "want " + kid),
        (f"{name}+{kid.upper()}+{blob}", "8 lowercase hex"),
        (f"{name}+{kid}+" + base64.b64encode(b"\x01" + KEY.public_bytes).decode(), "0x04"),
        ("sp ace+" + kid + "+" + blob, "space"),
    ]:
        with pytest.raises(CosignatureMalformed, match=why):
            parse_vkey(bad)


@pytest.mark.parametrize("vector", signed_note_vectors(), ids=lambda v: v.get("source", "")[:30])
def test_signed_note_vectors_through_the_witness_parsing(vector):
    name, public_key = parse_verifier_key(vector["verifier_key"])
    note = vector["text"] + "\n" + vector["signature_line"]
    # The note parser the witness uses on every request, and the check behind its 403:
    text, signatures = parse_note(note)
    assert text == vector["text"] and signatures[0].name == name
    assert verify_note(note, public_key=public_key, name=name) == vector["text"]
    # The independent key id agrees with the vector's (type 0x01, a log key).
    assert independent_key_id(name, public_key, 0x01).hex() == vector["verifier_key"].split("+")[1]
    # A log key is not a cosigner key: the witness's vkey parser wants type 0x04.
    with pytest.raises(CosignatureMalformed, match="0x04"):
        parse_vkey(vector["verifier_key"])
    # Wrapped in a request, the note passes the note parsing; its text is no checkpoint.
    with pytest.raises(RequestMalformed, match="checkpoint text has 1 lines"):
        parse_request(b"old 0\n\n" + note.encode())


def test_parse_vkey_accepts_a_plus_inside_the_base64():
    # Standard base64 uses '+': only the first two '+' separate the parts.
    key = next(
        k for k in (KeyPair(bytes([i]) * 32) for i in range(256)) if "+" in vkey(NAME, k.public_bytes).split("+", 2)[2]
    )
    assert parse_vkey(vkey(NAME, key.public_bytes)) == (NAME, key.public_bytes)


def test_readme_key_example_is_what_the_command_prints():
    from witness.app import key_lines

    readme = (ROOT / "witness" / "README.md").read_text()
    assert key_lines("witness.example.org/w1", KeyPair(bytes(32))) in readme.replace("\n    ", "\n")
