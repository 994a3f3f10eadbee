"""The witness's state in SQLite: its name, the logs it accepts, and the latest
checkpoint it cosigned for each (docs/SPEC.md section 14).

Durability: WAL journal with ``synchronous=FULL``, so a cosignature is only
returned after the new state is on disk and a kill -9 loses nothing that was
answered. Atomicity: ``advance`` reads the latest checkpoint, checks the new one
against it and writes it in one ``BEGIN IMMEDIATE`` transaction, which takes
SQLite's write lock before the read; two submissions (from two threads, two
connections or two processes) are serialised, and the second one sees the
first one's size. That is the race tlog-witness warns about (a smaller size
written after a larger one, rolling the log back).

Besides the latest checkpoint, ``cosigned`` keeps one row per size ever
cosigned, with a UNIQUE (origin, size) constraint: a second root for one size
cannot be written even if the rule above had a bug.

One connection is used from one thread at a time (the app runs every call in
a single worker thread).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from crypto.checkpoint import Checkpoint
from witness.cosignature import CosignatureMalformed, check_name
from witness.rules import Latest, check_advance

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT NOT NULL,
    key BLOB NOT NULL CHECK (length(key) = 32),
    PRIMARY KEY (origin, key)
);
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    first_timestamp INTEGER NOT NULL,
    UNIQUE (origin, size)
);
"""
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


class StoreError(ValueError):
    """A bad argument to a store command (name, origin or key), or a data
    directory initialised with another name."""


class InvariantBroken(RuntimeError):
    """The database already holds another root for a size being cosigned:
    a bug, never a client error. Nothing is written."""


def check_origin(origin: str) -> None:
    """Raise StoreError unless ``origin`` can be a log's key name (the log's
    signed-note key name is its origin, so it obeys key name rules)."""
    try:
        check_name(origin)
    except CosignatureMalformed as e:
        raise StoreError(f"origin: {e}") from None


def parse_key_hex(key_hex: str) -> bytes:
    """The 32 bytes of an Ed25519 public key in 64 lowercase hex digits."""
    if not isinstance(key_hex, str) or not _HEX64.match(key_hex):
        raise StoreError("log key is not 64 lowercase hex digits")
    return bytes.fromhex(key_hex)


class WitnessStore:
    """The witness database at one path."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> WitnessStore:
        """Open (creating if needed) the database at ``path``."""
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def name(self) -> str | None:
        """The witness's name, once initialised."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()
        return None if row is None else str(row[0])

    def init_name(self, name: str) -> str:
        """Record ``name`` on first use; afterwards only the same name is
        accepted, since the name is part of the cosignature key id and a
        renamed witness would silently stop matching every policy."""
        try:
            check_name(name)
        except CosignatureMalformed as e:
            raise StoreError(f"witness name: {e}") from None
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('name', ?)", (name,))
            stored = self._conn.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()[0]
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        if stored != name:
            raise StoreError(f"this data directory belongs to witness {stored!r}, not {name!r}")
        return stored

    def add_log(self, origin: str, key: bytes) -> bool:
        """Accept checkpoints of ``origin`` signed by ``key`` (the log's key
        name being the origin). True when added, False when already there."""
        check_origin(origin)
        if not isinstance(key, bytes) or len(key) != 32:
            raise StoreError("log key is not 32 bytes")
        cur = self._conn.execute("INSERT OR IGNORE INTO logs (origin, key) VALUES (?, ?)", (origin, key))
        return cur.rowcount == 1

    def logs(self) -> list[tuple[str, bytes, Latest | None]]:
        """Every accepted (origin, key) with the origin's latest checkpoint."""
        rows = self._conn.execute(
            "SELECT logs.origin, logs.key, latest.size, latest.root FROM logs"
            " LEFT JOIN latest ON latest.origin = logs.origin ORDER BY logs.origin, logs.key"
        ).fetchall()
        return [(o, bytes(k), None if s is None else Latest(int(s), bytes(r))) for o, k, s, r in rows]

    def log_keys(self, origin: str) -> tuple[bytes, ...]:
        """The keys trusted for ``origin``; empty when the origin is unknown."""
        rows = self._conn.execute("SELECT key FROM logs WHERE origin = ? ORDER BY key", (origin,)).fetchall()
        return tuple(bytes(r[0]) for r in rows)

    def latest(self, origin: str) -> Latest | None:
        """The latest cosigned checkpoint of ``origin``, or None."""
        row = self._conn.execute("SELECT size, root FROM latest WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else Latest(int(row[0]), bytes(row[1]))

    def advance(
        self, *, old_size: int, checkpoint: Checkpoint, proof: Sequence[bytes], note: str, timestamp: int
    ) -> None:
        """Make ``checkpoint`` the latest of its origin if the rules allow
        (witness.rules.check_advance), atomically and durably. Raises the
        rules' Refused subclasses (nothing written) or InvariantBroken."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT size, root FROM latest WHERE origin = ?", (checkpoint.origin,)).fetchone()
            last = None if row is None else Latest(int(row[0]), bytes(row[1]))
            check_advance(last, old_size=old_size, checkpoint=checkpoint, proof=proof)
            prior = conn.execute(
                "SELECT root FROM cosigned WHERE origin = ? AND size = ?", (checkpoint.origin, checkpoint.size)
            ).fetchone()
            if prior is not None and bytes(prior[0]) != checkpoint.root:
                raise InvariantBroken(f"{checkpoint.origin} size {checkpoint.size} was cosigned with another root")
            if prior is None:
                conn.execute(
                    "INSERT INTO cosigned (origin, size, root, first_timestamp) VALUES (?, ?, ?, ?)",
                    (checkpoint.origin, checkpoint.size, checkpoint.root, timestamp),
                )
            conn.execute(
                "INSERT INTO latest (origin, size, root, note, timestamp) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,"
                " note = excluded.note, timestamp = excluded.timestamp",
                (checkpoint.origin, checkpoint.size, checkpoint.root, note, timestamp),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def cosigned_sizes(self, origin: str) -> list[tuple[int, bytes]]:
        """Every (size, root) ever cosigned for ``origin``, by size."""
        rows = self._conn.execute(
            "SELECT size, root FROM cosigned WHERE origin = ? ORDER BY size", (origin,)
        ).fetchall()
        return [(int(s), bytes(r)) for s, r in rows]
