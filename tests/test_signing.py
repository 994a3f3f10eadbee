"""crypto/signing.py: RFC 8032 known answer, statement signatures, and the
ways a signature is refused."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import canonical_bytes
from crypto.signing import (
    STATEMENT_PREFIX,
    KeyPair,
    SignatureInvalid,
    sign_statement,
    statement_message,
    verify,
    verify_raw,
    verify_statement,
)

# RFC 8032 section 7.1, TEST 1 (empty message).
RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_SIG = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
    "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

KEY = KeyPair(bytes([7]) * 32)
OTHER = KeyPair(bytes([8]) * 32)


def _statement(author: KeyPair, **extra: object) -> dict:
    return {
        "v": 1,
        "assembly": "ab" * 32,
        "kind": "ballot",
        "author": author.public_hex,
        "seq": 12,
        "motion": "housing-bill-2026",
        "choice": "yes",
        **extra,
    }


def test_rfc8032_known_answer() -> None:
    key = KeyPair.from_seed_hex(RFC8032_SEED)
    assert key.public_hex == RFC8032_PUBLIC
    assert key.sign(b"").hex() == RFC8032_SIG
    verify(RFC8032_PUBLIC, b"", RFC8032_SIG)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(RFC8032_PUBLIC, b"x", RFC8032_SIG)


def test_statement_message_is_prefixed_canonical_bytes() -> None:
    st_ = _statement(KEY)
    assert STATEMENT_PREFIX == b"liquid-mandate/v1/statement\n"
    assert statement_message(st_) == STATEMENT_PREFIX + canonical_bytes(st_)


def test_sign_verify_round_trip() -> None:
    signed = sign_statement(KEY, _statement(KEY))
    assert set(signed) == {"statement", "signature"} and len(signed["signature"]) == 128
    verify_statement(signed)
    # Key order in the object does not matter: the canonical bytes are signed.
    signed["statement"] = dict(reversed(list(signed["statement"].items())))
    verify_statement(signed)


@pytest.mark.parametrize(
    "field,value",
    [
        ("seq", 13),
        ("choice", "no"),
        ("motion", "other"),
        ("v", 2),
        ("assembly", "cd" * 32),
        ("extra", None),
    ],
)
def test_any_changed_field_fails(field: str, value: object) -> None:
    signed = sign_statement(KEY, _statement(KEY))
    signed["statement"][field] = value
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_statement(signed)


def test_another_author_fails() -> None:
    signed = sign_statement(KEY, _statement(KEY))
    signed["statement"]["author"] = OTHER.public_hex
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_statement(signed)


def test_signature_without_the_domain_prefix_fails() -> None:
    st_ = _statement(KEY)
    bare = KEY.sign(canonical_bytes(st_)).hex()
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_statement({"statement": st_, "signature": bare})


@settings(max_examples=50, deadline=None)
@given(bit=st.integers(0, 511))
def test_any_flipped_signature_bit_fails(bit: int) -> None:
    signed = sign_statement(KEY, _statement(KEY))
    sig = bytearray.fromhex(signed["signature"])
    sig[bit // 8] ^= 1 << (bit % 8)
    signed["signature"] = sig.hex()
    with pytest.raises(SignatureInvalid):
        verify_statement(signed)


@pytest.mark.parametrize(
    "public,signature,match",
    [
        (KEY.public_hex.upper(), "00" * 64, "public key is not 64 lowercase hex"),
        (KEY.public_hex[:-2], "00" * 64, "public key is not 64 lowercase hex"),
        (bytes(32), "00" * 64, "public key is not 64 lowercase hex"),
        (KEY.public_hex, "AB" * 64, "signature is not 128 lowercase hex"),
        (KEY.public_hex, "00" * 63, "signature is not 128 lowercase hex"),
        (KEY.public_hex, "00" * 64 + "\n", "signature is not 128 lowercase hex"),
        (KEY.public_hex, None, "signature is not 128 lowercase hex"),
        (KEY.public_hex, "00" * 64, "does not verify"),
    ],
)
def test_malformed_keys_and_signatures(public: object, signature: object, match: str) -> None:
    with pytest.raises(SignatureInvalid, match=match):
        verify(public, b"message", signature)  # type: ignore[arg-type]


def test_verify_raw_wraps_library_errors() -> None:
    sig = KEY.sign(b"m")
    verify_raw(KEY.public_bytes, b"m", sig)
    for public, signature in [(KEY.public_bytes[:31], sig), (KEY.public_bytes, sig[:63]), (OTHER.public_bytes, sig)]:
        with pytest.raises(SignatureInvalid):
            verify_raw(public, b"m", signature)


def test_keypair_seed_checks_and_generation() -> None:
    with pytest.raises(ValueError, match="seed has 31 bytes, want 32"):
        KeyPair.from_seed_hex("00" * 31)
    a, b = KeyPair.generate(), KeyPair.generate()
    assert a.public_bytes != b.public_bytes and len(a.public_hex) == 64
    original = _statement(KEY)
    signed = sign_statement(KEY, copy.deepcopy(original))
    assert signed["statement"] == original
