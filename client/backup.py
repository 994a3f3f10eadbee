"""The encrypted key backup shared with the web UI (docs/KEYS.md): PBKDF2-
HMAC-SHA-256 of a passphrase, AES-256-GCM over the private key's JWK, the
public key bound as additional data. A file written here restores in a
browser, and a browser's backup gives the command line its key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.signing import KeyPair

FORMAT = "liquid-mandate-key-backup"
ITERATIONS = 600_000
MIN_ITERATIONS, MAX_ITERATIONS = 100_000, 10_000_000
MIN_PASSPHRASE = 8


class BackupError(ValueError):
    """Not a backup, or a wrong passphrase; `code` is the web UI's (keyerr.*)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _aes_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, iterations, dklen=32)


def _aad(public_hex: str) -> bytes:
    return f"{FORMAT}\n{public_hex}".encode()


def make_backup(key: KeyPair, passphrase: str, *, iterations: int = ITERATIONS) -> dict[str, Any]:
    """The backup document of ``key`` (docs/KEYS.md); raises BackupError
    ``weak_passphrase`` below 8 characters."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError("weak_passphrase", f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    public = bytes.fromhex(key.public_hex)
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "d": _b64url(key.seed),
        "x": _b64url(public),
        "ext": True,
        "key_ops": ["sign"],
    }
    salt, iv = os.urandom(16), os.urandom(12)
    ct = AESGCM(_aes_key(passphrase, salt, iterations)).encrypt(
        iv, json.dumps(jwk).encode("utf-8"), _aad(key.public_hex)
    )
    return {
        "format": FORMAT,
        "version": 1,
        "public_key": key.public_hex,
        "kdf": {"name": "PBKDF2", "hash": "SHA-256", "iterations": iterations, "salt": _b64(salt)},
        "cipher": {"name": "AES-GCM", "iv": _b64(iv)},
        "ciphertext": _b64(ct),
    }


def is_backup(text: str) -> bool:
    """Whether ``text`` looks like a backup (JSON naming the format), as opposed to a plain key file."""
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def open_backup(text: str, passphrase: str) -> KeyPair:
    """The key in a backup; BackupError ``bad_backup`` or ``wrong_passphrase``."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
            raise ValueError("not a key backup")
        kdf, cipher, public_hex = doc["kdf"], doc["cipher"], doc["public_key"]
        if (kdf.get("name"), kdf.get("hash"), cipher.get("name")) != ("PBKDF2", "SHA-256", "AES-GCM"):
            raise ValueError("unknown algorithms")
        iterations = kdf["iterations"]
        if not (isinstance(iterations, int) and MIN_ITERATIONS <= iterations <= MAX_ITERATIONS):
            raise ValueError("iterations out of range")
        salt, iv = base64.b64decode(kdf["salt"], validate=True), base64.b64decode(cipher["iv"], validate=True)
        ct = base64.b64decode(doc["ciphertext"], validate=True)
        if len(iv) != 12 or not isinstance(public_hex, str):
            raise ValueError("bad iv or public key")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BackupError("bad_backup", f"not a Liquid Mandate key backup ({e})") from None
    try:
        plain = AESGCM(_aes_key(passphrase, salt, iterations)).decrypt(iv, ct, _aad(public_hex))
    except InvalidTag:
        raise BackupError("wrong_passphrase", "wrong passphrase, or the backup file is damaged") from None
    try:
        jwk = json.loads(plain)
        seed = _unb64url(jwk["d"])
        key = KeyPair(seed)
        ok = (
            (jwk.get("kty"), jwk.get("crv")) == ("OKP", "Ed25519")
            and len(seed) == 32
            and key.public_hex == public_hex
            and _unb64url(jwk["x"]).hex() == public_hex
        )
    except (ValueError, KeyError, TypeError) as e:
        raise BackupError("bad_backup", f"the backup's key is malformed ({e})") from None
    if not ok:
        raise BackupError("bad_backup", "the backup's key does not match its public key")
    return key
