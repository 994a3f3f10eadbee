"""The hash chain of log entries (docs/SPEC.md section 5).

An entry wraps an accepted statement with its index, the previous entry's
hash and the server's reception time; the entry hash is SHA-256 of the
entry's canonical bytes, so changing any entry changes every later hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

from crypto.canonical import canonical_bytes, join_members

GENESIS_PREV = "0" * 64


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """Canonical bytes of an entry: the Merkle leaf data and the hash input."""
    return canonical_bytes(entry)


def entry_hash(entry: dict[str, Any]) -> bytes:
    return hashlib.sha256(entry_bytes(entry)).digest()


def make_entry(*, index: int, prev: str, received: str, signed: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": index,
        "prev": prev,
        "received": received,
        "statement": signed["statement"],
        "signature": signed["signature"],
    }


def entry_bytes_from(*, index: int, prev: str, received: str, signature: str, statement_bytes: bytes) -> bytes:
    """The same bytes as ``entry_bytes(make_entry(...))``, reusing the
    statement's canonical bytes already computed for its signature check."""
    return join_members(
        {
            "index": canonical_bytes(index),
            "prev": canonical_bytes(prev),
            "received": canonical_bytes(received),
            "signature": canonical_bytes(signature),
            "statement": statement_bytes,
        }
    )
