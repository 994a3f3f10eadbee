"""How the ballot box talks to SQL: the engine with its SQLite pragmas, the
PostgreSQL advisory lock, and the writes of one batch. Portable SQLAlchemy
Core only; the two places where dialects differ (upsert, advisory lock) are
spelled out here and nowhere else."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, event, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ballots import schema as T

_DIALECT_INSERT = {"sqlite": sqlite_insert, "postgresql": pg_insert}
# Key of the transaction-level advisory lock (any constant: it is per database).
_PG_LOCK_KEY = 0x4C4D_0001


def make_engine(url: str) -> AsyncEngine:
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=10, max_overflow=10)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL: readers never block the writer. synchronous=FULL: a commit is
        # on disk when it returns, so an acknowledged entry survives a crash.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    return engine


async def pg_lock(conn: AsyncConnection) -> bool:
    """On PostgreSQL, take the box's advisory lock until the transaction ends
    (True); elsewhere do nothing (False): SQLite has one writer anyway."""
    if conn.dialect.name != "postgresql":
        return False
    await conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    return True


def chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


@functools.lru_cache(maxsize=64)  # one construct per table: SQLAlchemy then reuses its compiled form
def upsert(dialect: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT (pk) DO UPDATE: one round trip per table per batch."""
    pk = list(table.primary_key.columns)
    stmt: Any = _DIALECT_INSERT[dialect](table)
    others = {c.name: stmt.excluded[c.name] for c in table.columns if c not in pk}
    if not others:
        return stmt.on_conflict_do_nothing(index_elements=pk)
    return stmt.on_conflict_do_update(index_elements=pk, set_=others)


async def write_batch(
    conn: AsyncConnection,
    entries: list[dict[str, Any]],
    nodes: dict[tuple[int, int], bytes],
    pending: dict[Table, dict[Any, dict[str, Any] | None]],
    cleared: set[Table],
) -> None:
    """The entries, their new Merkle nodes, and the projection rows they
    changed (None: the row goes; a cleared table is emptied first)."""
    await conn.execute(insert(T.entries), entries)
    await conn.execute(insert(T.nodes), [{"level": lv, "idx": i, "hash": h} for (lv, i), h in nodes.items()])
    for table, rows in pending.items():
        if table in cleared:
            await conn.execute(delete(table))
        else:
            gone = [k for k, r in rows.items() if r is None]
            if gone:
                # One primary-key lookup per row: a row-value IN (a, b) would
                # make SQLite scan the whole table.
                pk = list(table.primary_key.columns)
                where = [c == bindparam(f"pk{i}") for i, c in enumerate(pk)]
                await conn.execute(delete(table).where(*where), [{f"pk{i}": v for i, v in enumerate(k)} for k in gone])
        fresh = [r for r in rows.values() if r is not None]
        if fresh:
            await conn.execute(upsert(conn.dialect.name, table), fresh)


async def write_texts(conn: AsyncConnection, texts: dict[int, Any]) -> None:
    """Store comment texts (index -> CommentText) and erase redacted ones
    (index -> None), off the log, in the append's own transaction."""
    gone = [{"pk": i} for i, t in texts.items() if t is None]
    if gone:
        await conn.execute(delete(T.texts).where(T.texts.c.idx == bindparam("pk")), gone)
    fresh = [{"idx": i, "text": t.text, "salt": t.salt} for i, t in texts.items() if t is not None]
    if fresh:
        await conn.execute(insert(T.texts), fresh)


async def write_paths(conn: AsyncConnection, blobs: dict[str, bytes]) -> None:
    """The vote paths of the motions closed in this batch (ballots.paths),
    in the append's own transaction; a motion closes once, so a row that is
    there already (another process's, read back by a catch-up) is the same."""
    rows = [{"motion": m, "data": b} for m, b in blobs.items()]
    await conn.execute(upsert(conn.dialect.name, T.closed_path_data), rows)


async def read_texts(conn: AsyncConnection, lo: int, hi: int) -> dict[int, tuple[str, str]]:
    """The stored texts of comments lo..hi (inclusive), by index."""
    c = T.texts.c
    rows = await conn.execute(select(c.idx, c.text, c.salt).where(c.idx >= lo, c.idx <= hi))
    return {i: (text, salt) for i, text, salt in rows}


async def read_texts_in(conn: AsyncConnection, indexes: list[int]) -> dict[int, tuple[str, str]]:
    """The stored texts of the given comments, by index (those erased are absent)."""
    c = T.texts.c
    found: dict[int, tuple[str, str]] = {}
    for part in chunks(indexes, 500):
        rows = await conn.execute(select(c.idx, c.text, c.salt).where(c.idx.in_(part)))
        found.update({i: (text, salt) for i, text, salt in rows})
    return found


async def read_nodes(conn: AsyncConnection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored Merkle nodes by (level, index) in one query, an OR of one
    indexed range per level: SQLite and PostgreSQL both answer it from the
    primary key (a row-value IN would make SQLite scan the whole table)."""
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    found: dict[tuple[int, int], bytes] = {}
    c = T.nodes.c
    for group in chunks(list(by_level.items()), 64):
        where = or_(*(and_(c.level == level, c.idx.in_(idxs)) for level, idxs in group))
        rows = await conn.execute(select(c.level, c.idx, c.hash).where(where))
        found.update(((level, i), h) for level, i, h in rows)
    return found


async def write_head(conn: AsyncConnection, values: dict[str, Any]) -> None:
    updated = await conn.execute(update(T.head).where(T.head.c.id == 1).values(**values))
    if updated.rowcount == 0:
        await conn.execute(insert(T.head).values(id=1, **values))
