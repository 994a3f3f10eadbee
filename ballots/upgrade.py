"""The schema version a database records (docs/SPEC.md section 13).

``prepare`` runs in the transaction that opens a box: a database written by
a newer server is refused (``SchemaTooNew``) before anything is touched; one
written by an older server gets the tables it lacks and its projections
rebuilt from the log, which is the only source of truth, so no migration
ever has to transform a projection row by row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import delete, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from ballots import errors as E
from ballots import schema as T
from ballots.paths import ClosedPaths
from ballots.projection import all_rows
from ballots.rules import LOTTERY_KINDS, check_lottery
from ballots.state import AssemblyState, apply
from ballots.statements import parse_statement
from crypto.canonical import parse

ROWS_PER_FETCH = 1_000  # entries per step: ~30 ms of replay on the event loop, then it turns


def _stored_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(T.schema_version.name):
        return None
    return conn.execute(select(T.schema_version.c.version).where(T.schema_version.c.id == 1)).scalar()


async def prepare(conn: AsyncConnection) -> int | None:
    """Create the missing tables and record ``SCHEMA_VERSION``. Returns the
    older version the database had when its projections were rebuilt (None
    when nothing was upgraded). Raises SchemaTooNew."""
    found = await conn.run_sync(_stored_version)
    if found is not None and found > T.SCHEMA_VERSION:
        raise E.SchemaTooNew(
            f"the database has schema version {found}, this server knows versions up to {T.SCHEMA_VERSION}: "
            "run the newer server that wrote it (or restore its exported log into an empty data directory)"
        )
    await conn.run_sync(T.metadata.create_all)
    has_log = (await conn.execute(select(T.head.c.size))).first() is not None
    if found is None:
        found = 1 if has_log else T.SCHEMA_VERSION  # no row: written before the row existed, or brand new
    upgraded = None
    if found < T.SCHEMA_VERSION and has_log:
        await rebuild_projections(conn)
        upgraded = found
    if found != T.SCHEMA_VERSION or (await conn.run_sync(_stored_version)) is None:
        done = await conn.execute(
            update(T.schema_version).where(T.schema_version.c.id == 1).values(version=T.SCHEMA_VERSION)
        )
        if done.rowcount == 0:
            await conn.execute(insert(T.schema_version).values(id=1, version=T.SCHEMA_VERSION))
    return upgraded


async def replay_log(
    conn: AsyncConnection,
    *,
    secret_for: Callable[[str], Callable[[str], bytes]] | None = None,
    keep_paths: Callable[[str, ClosedPaths], Awaitable[None]] | None = None,
) -> AssemblyState:
    """The state the whole log gives, replayed from entry 0. With
    ``secret_for`` (assembly id -> the server's r by lottery name), the
    lottery rules are replayed too (docs/SPEC.md section 16): a log whose
    reveal does not open its commit raises LogCorrupted. ``keep_paths`` is
    handed each closed motion's vote paths as of its close (ballots.paths)
    as the replay passes it, so that they are never all in memory at once;
    the entries are read a page at a time, no cursor open meanwhile, so it
    may write on ``conn``."""
    state = AssemblyState()
    if keep_paths is not None:
        state.fresh_paths = {}
    e = T.entries.c
    start = 0
    while True:
        q = select(e.data, e.hash).where(e.idx >= start).order_by(e.idx).limit(ROWS_PER_FETCH)
        page = (await conn.execute(q)).all()
        if not page:
            break
        start += len(page)
        for data, digest in page:
            entry = parse(bytes(data))
            st = parse_statement(entry["statement"])
            if secret_for is not None and (state.awaiting_commit is not None or st.kind in LOTTERY_KINDS):
                try:
                    check_lottery(state, st, secret_for(state.assembly_id or ""))
                except E.Refused as bad:
                    raise E.LogCorrupted(f"entry {entry['index']}: {bad.code}: {bad.detail}") from None
            apply(state, st, index=entry["index"], entry_hash=bytes(digest).hex(), received=entry["received"])
            if keep_paths is not None and state.fresh_paths:
                for motion_id, snap in state.fresh_paths.items():
                    await keep_paths(motion_id, snap)
                state.fresh_paths.clear()
    state.fresh_paths = None
    if secret_for is not None and state.awaiting_commit is not None:
        raise E.LogCorrupted(f"the log ends before the commit of {state.awaiting_commit!r}")
    return state


async def rebuild_projections(
    conn: AsyncConnection, *, secret_for: Callable[[str], Callable[[str], bytes]] | None = None
) -> AssemblyState:
    """Replay the whole log (``replay_log``) and write its projection rows in
    place of the stored ones, in the caller's transaction: a log that does
    not replay raises LogCorrupted, writing nothing (the transaction rolls
    back). Each closed motion's vote paths (``closed_path_data``) are written
    as the replay reaches its close."""
    await conn.execute(delete(T.closed_path_data))

    async def keep(motion_id: str, snap: ClosedPaths) -> None:
        await conn.execute(insert(T.closed_path_data), [{"motion": motion_id, "data": snap.compressed()}])

    state = await replay_log(conn, secret_for=secret_for, keep_paths=keep)
    for table in T.PROJECTIONS:
        await conn.execute(delete(table))
    # Rebuilt from the log: the box stores a fresh digest (ballots.integrity) at its next start.
    await conn.execute(delete(T.projection_digest))
    for table, rows in all_rows(state).items():
        # In steps: one executemany of every row would hold the event loop
        # for seconds at 10^5 members (SQLAlchemy prepares the parameters on it).
        for at in range(0, len(rows), ROWS_PER_FETCH):
            await conn.execute(insert(table), rows[at : at + ROWS_PER_FETCH])
    return state
