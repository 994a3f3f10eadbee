"""Start-up trusts nothing it has not checked (docs/SECURITY.md, "Storage"):
a keyed digest of the projection tables, kept with the head, and the
comparison of the tables with a replay of the log.

The projections (members, seqs, motions, ...) decide what the box accepts,
so whoever edits one by hand (adds a member, lowers a seq) could make the
server accept a replayed entry or a stranger's ballot. Two defences:

- **Digest** (every start): the sum, modulo 2^256, of HMAC-SHA256 over each
  row, keyed with a key derived from the server's private key. A sum lets a
  commit update it from the rows it changes only (subtract the old row's
  term, add the new one's); the key means nobody without the server key can
  recompute it after an edit. It is stored in ``projection_digest`` with the
  size of the log it matches, in the same transaction as the head.
- **Content hash** (``closed_path_data``, ballots.paths): a closed motion's
  vote-path snapshot is not summed here (megabytes at 10^6 members); its
  SHA-256 is a column of the projection ``closed_paths``, which is, and
  the snapshot is checked against it whenever the box reads it.
- **Replay** (``--full-check``): the log is replayed from entry 0 and every
  projection row compared with the replay's; the first difference names its
  table and row.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable, Mapping
from hashlib import blake2b
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ballots import errors as E
from ballots import schema as T

Row = dict[str, Any]
MOD = 1 << 256
_KEY_LABEL = b"liquid-mandate/projection-digest/v1\n"


def digest_key(server_seed: bytes) -> bytes:
    """The HMAC key: derived from the server's private seed, used for nothing else."""
    return hashlib.sha256(_KEY_LABEL + server_seed).digest()


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, (bytes, bytearray, memoryview)) else value


def _values(table: Table) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The row's values in the table's own column order, as one tuple."""
    getter = _GETTERS.get(table.name)
    if getter is None:
        names = [c.name for c in table.columns]
        if len(names) > 1:
            getter = operator.itemgetter(*names)
        else:
            only = names[0]

            def getter(row: Mapping[str, Any]) -> tuple[Any, ...]:
                return (row[only],)

        _GETTERS[table.name] = getter
    return getter


_GETTERS: dict[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {}


def _term(key: bytes, name: str, values: tuple[Any, ...]) -> int:
    # repr of (table name, values): projection columns hold only str, int,
    # bool and None, whose reprs are unambiguous (strings quoted and escaped);
    # computed in C, since the start-up check takes one term per projection row.
    return int.from_bytes(blake2b(repr((name, values)).encode(), key=key, digest_size=32).digest(), "big")


def row_term(key: bytes, table: Table, row: Mapping[str, Any]) -> int:
    """One row's term of the digest: keyed BLAKE2b-256 (a MAC: nobody without
    the key can compute it; about 2.5x cheaper than HMAC-SHA256 here) of the
    repr of the table name and the row's values in the table's column order."""
    return _term(key, table.name, _values(table)(row))


def terms(key: bytes, table: Table, values: Iterable[tuple[Any, ...]]) -> int:
    """The sum (not reduced) of the terms of rows given as tuples of their
    values in the table's column order (as ``select(table)`` yields them):
    the start-up sums each step of rows as it reads them, one pass."""
    name = table.name
    return sum(_term(key, name, v) for v in values)


def digest_of(key: bytes, rows: Mapping[Table, Iterable[Mapping[str, Any]]]) -> int:
    """The digest of whole tables (at start-up, over the rows just read)."""
    total = 0
    for table, table_rows in rows.items():
        values, name = _values(table), table.name
        for row in table_rows:
            total += _term(key, name, values(row))
    return total % MOD


def to_bytes(d: int) -> bytes:
    return d.to_bytes(32, "big")


async def stored_digest(conn: AsyncConnection) -> tuple[int, int] | None:
    """(size, digest) as stored, or None (a database from before the digest)."""
    row = (await conn.execute(select(T.projection_digest))).mappings().first()
    return None if row is None else (row["size"], int.from_bytes(row["digest"], "big"))


async def store_digest(conn: AsyncConnection, size: int, d: int) -> None:
    await conn.execute(delete(T.projection_digest))
    await conn.execute(insert(T.projection_digest), [{"id": 1, "size": size, "digest": to_bytes(d)}])


def _pk(table: Table, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c.name] for c in table.primary_key.columns)


async def old_rows(conn: AsyncConnection, table: Table, keys: Iterable[tuple[Any, ...]]) -> list[Row]:
    """The stored rows of ``table`` with these primary keys (one query: an IN
    per key column, a superset filtered here, which the primary key index answers)."""
    wanted = set(keys)
    if not wanted:
        return []
    cols = list(table.primary_key.columns)
    where = [c.in_(sorted({k[i] for k in wanted})) for i, c in enumerate(cols)]
    found = (await conn.execute(select(table).where(and_(*where)))).mappings()
    rows = [dict(r) for r in found]
    return [r for r in rows if _pk(table, r) in wanted]


async def updated_digest(
    conn: AsyncConnection,
    key: bytes,
    before: int,
    pending: Mapping[Table, Mapping[tuple[Any, ...], Row | None]],
    cleared: Iterable[Table],
    known: Mapping[Table, Mapping[tuple[Any, ...], Row | None]] | None = None,
) -> int:
    """The digest once the batch's projection changes are written: each old
    row's term out, each new row's term in. Call before writing them.
    ``known``: old rows the caller already has (None: there is none), by
    table and key; the others are read."""
    d = before
    gone = set(cleared)
    for table in gone:
        for old in (await conn.execute(select(table))).mappings():
            d -= row_term(key, table, dict(old))
    for table, rows in pending.items():
        if table not in gone:
            have = (known or {}).get(table, {})
            for k in rows:
                prior = have.get(k)
                if prior is not None:
                    d -= row_term(key, table, prior)
            for prior in await old_rows(conn, table, [k for k in rows if k not in have]):
                d -= row_term(key, table, prior)
        for new in rows.values():
            if new is not None:
                d += row_term(key, table, new)
    return d % MOD


def first_difference(stored: Mapping[Table, list[Row]], replayed: Mapping[Table, list[Row]]) -> str | None:
    """Where the stored projections differ from those of the replayed log:
    "table members, row ('ab...',): stored {...}, the log gives none", or None."""
    for table in T.PROJECTIONS:
        have = {_pk(table, r): {c.name: _plain(r[c.name]) for c in table.columns} for r in stored.get(table, [])}
        want = {_pk(table, r): {c.name: _plain(r.get(c.name)) for c in table.columns} for r in replayed.get(table, [])}
        for pk in sorted(set(have) | set(want), key=repr):
            if have.get(pk) != want.get(pk):
                return (
                    f"table {table.name}, row {pk!r}: stored {have.get(pk, 'nothing')}, "
                    f"the log gives {want.get(pk, 'nothing')}"
                )
    return None


def check_digest(size: int, computed: int, stored: tuple[int, int] | None) -> None:
    """Raise LogCorrupted unless the stored digest is of this size and value."""
    if stored is None:
        return
    at, d = stored
    if at != size:
        raise E.LogCorrupted(f"the projection digest is of {at} entries, the head of {size}")
    if d != computed:
        raise E.LogCorrupted(
            "the projection tables differ from their keyed digest (edited outside the server?); "
            "`server.py --full-check` names the row, `server.py rebuild` rewrites them from the log"
        )
