"""Ed25519 keys and the domain-separated statement signature (docs/SPEC.md section 2).

Keys, signatures and hashes travel as lowercase hex. Only this module touches
PyNaCl's signing API and its exceptions.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import Any, NewType

import nacl.exceptions
import nacl.signing

from crypto.canonical import canonical_bytes

PublicKeyHex = NewType("PublicKeyHex", str)
SignatureHex = NewType("SignatureHex", str)

STATEMENT_PREFIX = b"liquid-mandate/v1/statement\n"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX128 = re.compile(r"[0-9a-f]{128}\Z")


class SignatureInvalid(ValueError):
    """The signature does not verify for this key and message, or is malformed."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An Ed25519 key pair. ``seed`` is the 32-byte private seed."""

    seed: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(os.urandom(32))

    @classmethod
    def from_seed_hex(cls, seed_hex: str) -> KeyPair:
        seed = bytes.fromhex(seed_hex)
        if len(seed) != 32:
            raise ValueError(f"seed has {len(seed)} bytes, want 32")
        return cls(seed)

    @property
    def _signing(self) -> nacl.signing.SigningKey:
        return _signing_key(self.seed)

    @property
    def public_bytes(self) -> bytes:
        return bytes(self._signing.verify_key)

    @property
    def public_hex(self) -> PublicKeyHex:
        return PublicKeyHex(self.public_bytes.hex())

    def sign(self, message: bytes) -> bytes:
        """Detached 64-byte Ed25519 signature of ``message``."""
        return self._signing.sign(message).signature


@functools.lru_cache(maxsize=1024)
def _signing_key(seed: bytes) -> nacl.signing.SigningKey:
    # Expanding the seed costs as much as a signature: do it once per key.
    return nacl.signing.SigningKey(seed)


def statement_message(statement: dict[str, Any]) -> bytes:
    """The bytes a statement's author signs: the domain prefix, then the
    canonical bytes of the statement object."""
    return STATEMENT_PREFIX + canonical_bytes(statement)


def sign_statement(key: KeyPair, statement: dict[str, Any]) -> dict[str, Any]:
    """The signed envelope ``{"statement": ..., "signature": hex}``."""
    return {"statement": statement, "signature": key.sign(statement_message(statement)).hex()}


def verify(public_key_hex: str, message: bytes, signature_hex: str) -> None:
    """Raise SignatureInvalid unless ``signature_hex`` is a valid Ed25519
    signature of ``message`` by ``public_key_hex`` (both lowercase hex)."""
    public_key, signature = raw_key_and_signature(public_key_hex, signature_hex)
    verify_raw(public_key, message, signature)


def raw_key_and_signature(public_key_hex: str, signature_hex: str) -> tuple[bytes, bytes]:
    """The 32 key bytes and 64 signature bytes of their lowercase hex forms.
    Raises SignatureInvalid for anything else."""
    if not isinstance(public_key_hex, str) or not _HEX64.match(public_key_hex):
        raise SignatureInvalid("public key is not 64 lowercase hex digits")
    if not isinstance(signature_hex, str) or not _HEX128.match(signature_hex):
        raise SignatureInvalid("signature is not 128 lowercase hex digits")
    return bytes.fromhex(public_key_hex), bytes.fromhex(signature_hex)


def verify_raw(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise SignatureInvalid unless ``signature`` verifies (raw bytes form)."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
        raise SignatureInvalid("signature does not verify") from None


def verify_statement(signed: dict[str, Any]) -> None:
    """Raise SignatureInvalid unless the envelope's signature is the author's."""
    statement = signed["statement"]
    verify(statement["author"], statement_message(statement), signed["signature"])
