"""The ballot box: the append-only log, its rules and its projections.

One writer task takes the statements that arrive together and commits them in
one transaction (group commit): for each, the rules of ``ballots.rules`` are
checked against the state, the entry is chained and hashed, the
Merkle frontier grows, and the projection rows change (a ``_Batch``); then
one checkpoint is signed for the batch and every caller gets its receipt once
the commit is durable. There is one state (``state``), which the writer
stages on: a view of it (a tally, a member) may show a batch while it is
being written, a few milliseconds before its commit, but whatever names a
place in the log (``size``, the checkpoint, proofs, log pages, receipts) is
that of the last commit, and a batch that fails to commit is undone by
reloading the state from the log (docs/SPEC.md section 9, "Reads and
writes"). Every write
transaction first locks the head row (SELECT ... FOR UPDATE, or an advisory
lock while the log is empty): that lock gives one total order when several
processes share a PostgreSQL database, and a process that finds the head
moved replays the new entries before it checks anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import tally
from ballots import errors as E
from ballots import integrity, snapshot, sortition, sql, upgrade
from ballots import schema as T
from ballots.closing import counts, result_statement
from ballots.live import LiveTallies
from ballots.paths import ClosedPaths, PathCache
from ballots.policy import check_policy
from ballots.projection import all_rows, changes, load_state, prior_rows
from ballots.rules import LOTTERY_KINDS, REVEALS, check, due_lotteries, next_closing
from ballots.state import AssemblyState, apply, assembly_id
from ballots.statements import Kind, Signed, Statement, format_time, parse_signed, parse_statement, parse_time
from ballots.texts import CommentText, RatePolicy, check_text, split_submission
from ballots.verifiers import VerifierPool
from crypto import merkle
from crypto.canonical import canonical_bytes, parse
from crypto.chain import GENESIS_PREV, entry_bytes_from, make_entry
from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.signing import (
    STATEMENT_PREFIX,
    KeyPair,
    SignatureInvalid,
    raw_key_and_signature,
    sign_statement,
    statement_message,
    verify,
)
from vocabulary import DRAW_PREFIX, MOTION_PREFIX

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_BATCH = 512
GATHER_TURNS = 3
# Statements staged (and receipts made) between two turns of the event loop:
# a batch of hundreds stages for tens of milliseconds, which a read must not
# wait behind (issue 16: GET p99 under ingest).
STAGE_STEP = 16
# Rows per step of the start-up reads: each step's Python work on the event
# loop stays around 10 ms, so that /healthz answers while the box loads.
START_CHUNK = 2_000
# What the start-up reports as it goes: (phase, done, total or None).
Progress = Callable[[str, int, int | None], None]
# Nodes at or above this level are few (n / 2^8) and on most proofs: keep them all.
CACHED_LEVEL = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Receipt:
    index: int
    entry_hash: str
    entry: dict[str, Any]
    checkpoint: str
    proof: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "entry_hash": self.entry_hash,
            "entry": self.entry,
            "checkpoint": self.checkpoint,
            "proof": self.proof,
        }


@dataclass(frozen=True, slots=True)
class _Staged:
    index: int
    entry: dict[str, Any]
    data: bytes
    digest: bytes
    statement: Statement


# (signed statement, its canonical bytes, a comment's text), or None for "close what is due"
Item = tuple[tuple[Signed, bytes, CommentText | None] | None, "asyncio.Future[Receipt]"]


class _Batch:
    """One group commit in the making: the entries staged on the box's
    state and frontier, the Merkle nodes and projection rows they change, and
    each caller's outcome. The box writes it, then publishes it
    (``BallotBox._publish``: the log's size, root and checkpoint) once
    committed; if the commit fails, the box reloads its state."""

    def __init__(
        self, state: AssemblyState, frontier: merkle.CompactRange, head_hash: bytes, received_at: datetime | None
    ) -> None:
        self.state, self.frontier = state, frontier
        self.head_hash, self.received, self.received_at = head_hash, "", received_at
        self.start = state.size
        self.staged: list[_Staged] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.pending: dict[Any, dict[Any, Any]] = {}
        # The rows of ``pending`` as they were before the batch, where the
        # state told them (ballots.projection.prior_rows); the digest reads the others.
        self.prior: dict[Any, dict[Any, Any]] = {}
        self.cleared: set[Any] = set()
        # Comment texts to store (index -> text) or erase (index -> None): off the log.
        self.texts: dict[int, CommentText | None] = {}
        self.outcome: list[tuple[asyncio.Future[Receipt], _Staged | Exception]] = []
        # The vote paths each `close` of the batch took (ballots.paths), to store beside.
        self.paths: dict[str, ClosedPaths] = {}
        # The Merkle root of the log with the batch (set when it is written).
        self.root = b""

    def now(self, clock: datetime) -> datetime:
        """The clock, but never before the last entry: `received` never decreases."""
        return clock if self.received_at is None or clock >= self.received_at else self.received_at

    def add(
        self, signed: Signed, statement_bytes: bytes, received: datetime, text: CommentText | None = None
    ) -> _Staged:
        """Chain, hash and apply one accepted statement (docs/SPEC.md section
        5); a comment's text is stored beside it, a redact erases one."""
        st = signed.statement
        index = self.state.size
        prev = self.head_hash.hex() if index else GENESIS_PREV
        entry = make_entry(index=index, prev=prev, received=format_time(received), signed=signed.to_json())
        data = entry_bytes_from(
            index=index,
            prev=prev,
            received=entry["received"],
            signature=signed.signature,
            statement_bytes=statement_bytes,
        )
        digest = hashlib.sha256(data).digest()
        for table, key, row in prior_rows(self.state, st):
            if key not in self.pending.get(table, ()):  # first touched in this batch: its stored row
                self.prior.setdefault(table, {}).setdefault(key, row)
        apply(self.state, st, index=index, entry_hash=digest.hex(), received=entry["received"])
        if self.state.fresh_paths:
            self.paths.update(self.state.fresh_paths)
            self.state.fresh_paths.clear()
        if st.kind is Kind.COMMENT:
            self.texts[index] = text
        elif st.kind is Kind.REDACT:
            self.texts[st["entry"]] = None
        for level, idx, h in self.frontier.append(merkle.leaf_hash(data)):
            self.nodes[(level, idx)] = h
        self.head_hash, self.received, self.received_at = digest, entry["received"], received
        for table, key, row in changes(self.state, st):
            if key is None:
                self.cleared.add(table)
                self.pending[table] = {}
            else:
                self.pending.setdefault(table, {})[key] = row
        staged = _Staged(index, entry, data, digest, st)
        self.staged.append(staged)
        return staged


class BallotBox:
    """Open with ``await BallotBox.open(url, server_key)``; close with ``aclose``."""

    def __init__(
        self, engine: AsyncEngine, server_key: KeyPair, clock: Clock, comment_rate: RatePolicy | None = None
    ) -> None:
        self.engine = engine
        # The server's policy on comments (not a rule of the log); None: no limit.
        self.comment_rate = comment_rate
        self.server_key = server_key
        self.server_hex = server_key.public_hex
        self.clock = clock
        # The one state: the writer stages each batch on it (see the module docstring).
        self.state = AssemblyState()
        # How many times a state was loaded (a start, a reload, a rebuild):
        # caches of views tell a reloaded state from the one before by it.
        self.loads = 0
        # The log as of the last commit: its size and root.
        self.size = 0
        self._root = merkle.CompactRange().root()
        self.frontier = merkle.CompactRange()
        self.head_hash = bytes(32)
        self.received = ""
        self._received_at: datetime | None = None
        self.checkpoint_text = ""
        self._node_cache: dict[tuple[int, int], bytes] = {}
        # (signed statement and its canonical bytes, or None for "close what is due"; the caller's future)
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        # Clear while a batch is staged but not committed: the in-memory state
        # runs ahead of the database then, and readers of the log wait.
        self._settled = asyncio.Event()
        self._settled.set()
        self._catch_up_lock = asyncio.Lock()
        self.shared = engine.dialect.name != "sqlite"
        # Committed batches, and the seconds the write lock was held for them
        # (from the head row's lock to the commit): the part of a batch that
        # server processes on one database cannot do side by side.
        self.batches = 0
        self.locked_s = 0.0
        self._locked_at = 0.0
        self.full_check = False
        self._next_close: datetime | None = None
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self._verifiers: VerifierPool | None = None
        self._digest_key = integrity.digest_key(server_key.seed)
        # The closed motions' vote paths last read or taken (ballots.paths).
        self._paths = PathCache()
        # Where the state is kept across a clean stop (ballots.snapshot), or None.
        self.snapshot_path: Path | None = None
        self._snapshot_key = snapshot.snapshot_key(server_key.seed)
        # After a start from the snapshot: the checks it put off (the leaves,
        # the projections' digest), running once the box is open; raises
        # LogCorrupted if they fail. None after any other start.
        self.deferred: asyncio.Task[None] | None = None
        # False once a batch failed to commit: the state was reloaded, and
        # no snapshot is written from it at the stop.
        self._clean = True

    # -- opening -----------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        server_key: KeyPair,
        *,
        clock: Clock = utcnow,
        full_check: bool = False,
        comment_rate: RatePolicy | None = RatePolicy(),
        verify_processes: int = 0,
        progress: Progress | None = None,
        snapshot_path: Path | None = None,
    ) -> BallotBox:
        """Create the tables if needed, check the stored log against its head
        (``full_check``: every entry's bytes too), load the projections, and
        start the writer. ``comment_rate``: the server's limit on comments per
        member (None: none). ``verify_processes``: check signatures in that
        many worker processes beside the event loop (ballots.verifiers); 0
        checks them inline. ``progress`` is told each phase of the load as
        it goes (``_load``). The load keeps the event loop free: reads in
        steps of ``START_CHUNK`` rows, the state built in a thread.
        ``snapshot_path``: where a clean stop keeps the state
        (ballots.snapshot), and the next start reads it if it can (never
        with ``full_check``, nor on a database other processes share).
        Raises LogCorrupted."""
        engine = sql.make_engine(url)
        box = cls(engine, server_key, clock, comment_rate)
        box.full_check = full_check
        box.snapshot_path = None if box.shared else snapshot_path
        try:
            if verify_processes:
                box._verifiers = await VerifierPool.start(verify_processes)
            async with engine.begin() as conn:
                await sql.pg_lock(conn)  # CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL
                if progress is not None:
                    progress("schema", 0, None)  # an older database is rebuilt from its log here
                upgraded = await upgrade.prepare(conn)  # refuses a newer schema, rebuilds an older one
                # An index, not a table: added to databases of this version that lack it, no rebuild.
                await conn.run_sync(lambda c: T.DELEGATIONS_BY_TARGET.create(c, checkfirst=True))
            if upgraded is not None:
                log.warning("upgraded the database from schema version %s: projections rebuilt from the log", upgraded)
            from_snapshot = await box._load(progress, use_snapshot=True)
        except BaseException:
            await engine.dispose()
            if box._verifiers is not None:
                await box._verifiers.aclose()
            raise
        box._writer = asyncio.create_task(box._write_loop(), name="ballot-box-writer")
        if from_snapshot:
            box.deferred = asyncio.create_task(box._deferred_check(), name="ballot-box-deferred-check")
        return box

    async def aclose(self) -> None:
        """Finish the appends already queued, then stop, keep the state in
        the snapshot (if the box has a path for it and nothing failed), and
        release the database."""
        if self.deferred is not None and not self.deferred.done():
            self.deferred.cancel()
            with contextlib.suppress(BaseException):
                await self.deferred
        if self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
            await self._save_snapshot()
        await self.engine.dispose()
        if self._verifiers is not None:
            await self._verifiers.aclose()

    async def _save_snapshot(self) -> None:
        """Write the state to ``snapshot_path`` (in a thread: seconds at
        10^6 members); a failure is logged, never raised (the snapshot is a
        cache: the next start loads the projections instead)."""
        path = self.snapshot_path
        if path is None or not self._clean or self.size == 0 or self.state.size != self.size:
            return  # (a state ahead of the log would be a batch never committed: keep nothing of it)
        d = self.deferred
        if d is not None and d.done() and not d.cancelled() and d.exception() is not None:
            return  # the log or the projections failed their checks: keep nothing of them
        t0 = _clocks()
        try:
            n = await asyncio.to_thread(
                snapshot.write,
                path,
                self._snapshot_key,
                self.size,
                self.head_hash,
                self.state,
            )
        except Exception:
            log.exception("could not write the state snapshot %s", path)
            return
        log.info(
            "state snapshot of %d entries written to %s: %d bytes in %s",
            self.size,
            path,
            n,
            _spent(t0, _clocks()),
        )

    async def _load(self, progress: Progress | None = None, *, use_snapshot: bool = False) -> bool:
        """Check the log and load the state: from
        the snapshot a clean stop left (``use_snapshot``, if it is usable:
        ballots.snapshot), else from the projections. The event loop stays
        free throughout: the reads go in steps of ``START_CHUNK`` rows, the
        projections' keyed digest is summed in the same pass as they are read
        (one read of each table), and building the state and the live
        tallies (pure CPU) runs in a thread. Each phase's time is logged.
        Returns whether the state came from the snapshot (its checks are
        then ``_deferred_check``'s). Raises LogCorrupted."""
        report: Progress = progress or (lambda phase, done, total: None)
        t0 = _clocks()
        async with self.engine.connect() as conn:
            h = (await conn.execute(select(T.head))).mappings().first()
            size = 0 if h is None else h["size"]
            state = None
            if use_snapshot and self.snapshot_path is not None and not self.full_check:
                state = await self._from_snapshot(conn, h, report)
            from_snapshot = state is not None
            if state is None:
                await self._check_log(conn, h, report)
                t1 = _clocks()
                rows, computed, digest_cpu = await self._read_projections(conn, report)
                t2 = _clocks()
                stored = await integrity.stored_digest(conn)
                integrity.check_digest(size, computed, stored)
                if self.full_check:
                    report("full check", 0, size)
                    why = integrity.first_difference(rows, all_rows(await upgrade.replay_log(conn)))
                    if why is not None:
                        raise E.LogCorrupted(f"the projections differ from the log replayed: {why}")
                    await _check_closed_paths(conn, rows[T.closed_paths])
            node_cache = await _high_nodes(conn)
            if state is None:
                report("state", 0, None)
                t3 = _clocks()
                n_rows = sum(len(v) for v in rows.values())
                state = await asyncio.to_thread(_state_of, rows, size)
            await self._check_lotteries(conn, state)
        if not from_snapshot:
            if stored is None:  # a database from before the digest: trust it once, as it is now
                async with self.engine.begin() as conn:
                    await integrity.store_digest(conn, size, computed)
                if size:
                    log.warning(
                        "the projections had no keyed digest yet: stored one for the %d entries as they are", size
                    )
            t4 = _clocks()
            report("live tallies", 0, None)
            await asyncio.to_thread(self._attach_live, state)
            t5 = _clocks()
        self._node_cache = node_cache
        self.state, self.loads = state, self.loads + 1
        self.size, self._root = state.size, self.frontier.root()
        self._next_close = next_closing(self.state)
        if h is not None:
            self.head_hash, self.received, self.checkpoint_text = h["head_hash"], h["received"], h["checkpoint"]
            self._received_at = parse_time(self.received)
        if from_snapshot:
            log.info(
                "loaded %d entries in %s, from the state snapshot %s", size, _spent(t0, _clocks()), self.snapshot_path
            )
            return True
        log.info(
            "loaded %d entries in %s: log checked %s; %d projection rows read %s, of which their keyed digest "
            "%.2f s CPU (summed in the same pass); state built %s; live tallies %s",
            size,
            _spent(t0, t5),
            _spent(t0, t1),
            n_rows,
            _spent(t1, t2),
            digest_cpu,
            _spent(t3, t4),
            _spent(t4, t5),
        )
        return False

    async def _from_snapshot(self, conn: AsyncConnection, h: Any, report: Progress) -> AssemblyState | None:
        """The state from the snapshot, brought up to
        the log's head by replaying the entries appended after it (each
        checked against its stored hash and leaf first), once the head has
        passed the fast check (``_check_frontier``); None, with the reason
        logged, if the snapshot cannot be used. Raises LogCorrupted."""
        path = self.snapshot_path
        assert path is not None
        size = 0 if h is None else h["size"]
        try:
            at, head_hash = snapshot.peek(path)
            if at > size:
                raise snapshot.Unusable(f"it is of {at} entries, the log of {size}")
            if size - at > snapshot.MAX_TAIL:
                raise snapshot.Unusable(f"{size - at} entries were appended after it (more than {snapshot.MAX_TAIL})")
            last = (await conn.execute(select(T.entries.c.hash).where(T.entries.c.idx == at - 1))).scalar()
            if at == 0 or last is None or bytes(last) != head_hash:
                raise snapshot.Unusable(f"the log no longer holds the entry {at - 1} it ends at")
            report("snapshot", 0, None)
            snap = await asyncio.to_thread(snapshot.read, path, self._snapshot_key)
        except snapshot.Unusable as why:
            (log.info if str(why) == "there is none" else log.warning)("state snapshot %s not used: %s", path, why)
            return None
        await self._check_frontier(conn, h)
        state = snap.state
        rows = await conn.execute(_with_leaf(T.entries.c.idx >= snap.size).order_by(T.entries.c.idx))
        for idx, data, digest, leaf in rows:
            if idx != state.size:
                raise E.LogCorrupted(f"entry {state.size} is missing")
            data, hexdigest = _served(idx, data, digest, leaf)
            entry = parse(data)
            st = parse_statement(entry["statement"])
            apply(state, st, index=idx, entry_hash=hexdigest, received=entry["received"])
        if state.size != size:
            raise E.LogCorrupted(f"the log holds {state.size} entries after the snapshot's, the head says {size}")
        if state.fresh_paths is not None:  # the closes replayed stored their paths when they were appended
            state.fresh_paths.clear()
        return state

    async def _check_frontier(self, conn: AsyncConnection, h: Any) -> None:
        """The fast check of a start from the snapshot: dense indexes, the
        root folded from the stored frontier (O(log n) nodes, not every
        leaf), the head from the last entry. ``_deferred_check`` does the
        rest. Raises LogCorrupted."""
        size = 0 if h is None else h["size"]
        await self._check_count(conn, size)
        keys = merkle.subtree_root_plan(size)
        found = await sql.read_nodes(conn, [*keys, (0, size - 1)])
        if any(k not in found for k in keys) or (0, size - 1) not in found:
            raise E.LogCorrupted("a node of the Merkle tree's frontier is missing")
        frontier = merkle.CompactRange.from_frontier(size, [bytes(found[k]) for k in keys])
        await self._check_head(conn, h, frontier, bytes(found[(0, size - 1)]))
        self.frontier = frontier

    async def _deferred_check(self) -> None:
        """After a start from the snapshot, what a start from the projections
        checks before it is ready: every stored leaf against the root, and
        the projections against their keyed digest, in one read transaction
        (a consistent view while the writer commits). Raises LogCorrupted,
        having removed the snapshot, so that the next start checks before it
        serves."""
        t0 = _clocks()
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("BEGIN")  # SQLite's driver begins no transaction for reads
                h = (await conn.execute(select(T.head))).mappings().first()
                size = 0 if h is None else h["size"]
                await self._check_count(conn, size)
                frontier = await self._scan_leaves(conn, size)
                if h is not None:
                    if frontier.root() != h["root"]:
                        raise E.LogCorrupted(
                            "the Merkle root recomputed from the stored leaves differs from the stored root"
                        )
                _, computed, _ = await self._read_projections(conn, lambda phase, done, total: None, keep=False)
                integrity.check_digest(size, computed, await integrity.stored_digest(conn))
                await conn.rollback()
        except E.LogCorrupted as exc:
            log.error("the checks put off by the start from the snapshot failed: %s", exc)
            if self.snapshot_path is not None:
                self.snapshot_path.unlink(missing_ok=True)
            raise
        log.info(
            "the checks put off by the start from the snapshot passed (%d entries) in %s", size, _spent(t0, _clocks())
        )

    async def _read_projections(
        self, conn: AsyncConnection, report: Progress, *, keep: bool = True
    ) -> tuple[dict[Any, list[Any]], int, float]:
        """Every projection row (as a dict of column name to value) and their
        keyed digest (``ballots.integrity``), summed as each step of rows
        arrives: (rows, digest, CPU seconds the digest took)."""
        rows: dict[Any, list[Any]] = {}
        total, digest_cpu, n = 0, 0.0, 0
        for table in T.PROJECTIONS:
            names = [c.name for c in table.columns]
            out: list[dict[str, Any]] = []
            rows[table] = out
            # Fetched whole (by the driver, off the loop), then turned into
            # dicts a step at a time, a turn of the loop between steps. (A
            # cursor read in steps of 2,000 left the server 48 MiB larger at
            # 10^5 members: the long-lived strings, fetched interleaved with
            # short-lived rows, kept freed memory from going back.)
            result = await conn.execute(select(table))
            for part in result.partitions(START_CHUNK):
                values = [tuple(r) for r in part]
                c = time.thread_time()
                total += integrity.terms(self._digest_key, table, values)
                digest_cpu += time.thread_time() - c
                if keep:  # (the deferred check only sums them)
                    out.extend([dict(zip(names, v, strict=True)) for v in values])
                n += len(values)
                report("projections", n, None)
                await asyncio.sleep(0)
        return rows, total % integrity.MOD, digest_cpu

    async def check_stored(self, conn: AsyncConnection) -> None:
        """The start-up check on ``conn`` exactly as ``open`` runs it (every
        entry with ``full_check``): ``serving.restore`` runs it inside the
        transaction that wrote a restored log, before it commits. Raises
        LogCorrupted."""
        h = (await conn.execute(select(T.head))).mappings().first()
        await self._check_log(conn, h)

    def _attach_live(self, state: AssemblyState) -> None:
        """The live resolutions of the open motions (ballots.live); with
        ``full_check`` each is compared with the full resolution."""
        live = LiveTallies.attach(state)
        # The state hands over the vote paths each close takes, for its batch to store.
        state.fresh_paths = {}
        if self.full_check:
            for motion_id in live.motions:
                counts(state, motion_id, check=True)

    async def _check_log(self, conn: AsyncConnection, h: Any, report: Progress | None = None) -> None:
        """Start-up check, fast path: the indexes are dense, the root is
        recomputed from the stored leaf hashes, and the head from the last
        entry's bytes. With ``full_check`` also every entry's bytes against
        its stored hash and leaf, and every ``prev`` link (O(n) bytes read)."""
        size = 0 if h is None else h["size"]
        await self._check_count(conn, size)
        leaves: list[bytes] | None = [] if self.full_check else None
        frontier = await self._scan_leaves(conn, size, report, leaves)
        if h is not None:
            n = T.nodes.c
            last = (await conn.execute(select(n.hash).where(n.level == 0, n.idx == size - 1))).scalar_one()
            await self._check_head(conn, h, frontier, bytes(last))
        if leaves is not None and size:
            await _check_every_entry(conn, leaves)
        self.frontier = frontier

    @staticmethod
    async def _check_count(conn: AsyncConnection, size: int) -> None:
        """The log holds entries 0 .. size - 1, no more, no fewer."""
        e = T.entries.c
        count, lo, hi = (await conn.execute(select(func.count(), func.min(e.idx), func.max(e.idx)))).one()
        if count != size or (size and (lo, hi) != (0, size - 1)):
            raise E.LogCorrupted(f"the head says {size} entries, the log holds {count} (indexes {lo}..{hi})")

    @staticmethod
    async def _scan_leaves(
        conn: AsyncConnection, size: int, report: Progress | None = None, keep: list[bytes] | None = None
    ) -> merkle.CompactRange:
        """The range of every stored leaf, in index order (and the leaves in
        ``keep``): each must be there, and there must be ``size`` of them."""
        frontier = merkle.CompactRange()
        rows = await conn.stream(
            select(T.nodes.c.idx, T.nodes.c.hash).where(T.nodes.c.level == 0).order_by(T.nodes.c.idx)
        )
        async for part in rows.partitions(START_CHUNK):  # row by row, async iteration costs 10 us a row
            for idx, leaf in part:
                if idx != frontier.size:
                    raise E.LogCorrupted(f"the leaf hash of entry {frontier.size} is missing")
                frontier.append(leaf)
                if keep is not None:
                    keep.append(leaf)
            if report is not None:
                report("log", frontier.size, size)
        if frontier.size != size:
            raise E.LogCorrupted(f"{frontier.size} leaf hashes for {size} entries")
        return frontier

    @staticmethod
    async def _check_head(conn: AsyncConnection, h: Any, frontier: merkle.CompactRange, leaf: bytes) -> None:
        """The stored head: its root is the frontier's, its hash the last
        entry's, whose bytes are those of its leaf ``leaf``."""
        if frontier.root() != h["root"]:
            raise E.LogCorrupted("the Merkle root recomputed from the stored leaves differs from the stored root")
        e = T.entries.c
        data, digest = (await conn.execute(select(e.data, e.hash).where(e.idx == h["size"] - 1))).one()
        if not hashlib.sha256(data).digest() == digest == h["head_hash"]:
            raise E.LogCorrupted("the last entry's hash differs from the stored head")
        if merkle.leaf_hash(data) != leaf:
            raise E.LogCorrupted("the last entry's bytes differ from its leaf")

    async def _check_lotteries(self, conn: AsyncConnection, state: AssemblyState) -> None:
        """Start-up check of the lotteries (docs/SPEC.md section 16): every
        motion has its commit right after it; every commit, in the
        projections and in the server's entries of the log, is SHA-256 of
        the r this server key derives, and every reveal is that r. A log
        written under another key, or whose reveal was changed, is refused:
        this server could not open its commitments. Reads O(motions)
        entries, through the author index."""
        e = T.entries.c
        row = (await conn.execute(select(e.data).where(e.idx == 0))).first()
        if row is None:
            return
        genesis = parse(bytes(row[0]))["statement"]  # not the projections: they may be empty (an import)
        aid, server = assembly_id(genesis), genesis["server"]
        secret = self._secret_for(aid)
        for m in state.motions.values():
            lot = state.lotteries.get(MOTION_PREFIX + m.id)
            if lot is None or lot.index != m.index + 1:
                raise E.LogCorrupted(f"entry {m.index}: motion {m.id!r} has no commit right after it")
        for lot in state.lotteries.values():
            r = secret(lot.name)
            if lot.hash != tally.commit_hash(r) or lot.reveal not in (None, r.hex()):
                raise E.LogCorrupted(f"entry {lot.index}: the lottery {lot.name!r} is not this server key's")
        q = select(e.idx, e.data).where(e.author == server, e.kind.in_([str(k) for k in LOTTERY_KINDS]))
        for idx, data in await conn.execute(q):
            st = parse_statement(parse(bytes(data))["statement"])
            if st.kind is Kind.COMMIT:
                lottery, ok = st["lottery"], st["hash"] == tally.commit_hash(secret(st["lottery"]))
            else:
                lottery = REVEALS[st.kind](st)
                ok = st["reveal"] == secret(lottery).hex()
            if not ok:
                raise E.LogCorrupted(f"entry {idx}: the {st.kind} of {lottery!r} does not match this server key's r")

    # -- appending ---------------------------------------------------------

    async def append(self, envelope: Any) -> Receipt:
        """Check and append one signed statement (a comment with its ``text``
        and ``salt`` beside the envelope, docs/SPEC.md section 15.2); return
        its receipt once the entry is committed. Raises Malformed or a Refused
        subclass, having written nothing."""
        envelope, text = split_submission(envelope)
        signed = parse_signed(envelope)
        check_text(signed, text)
        st = signed.statement
        message = statement_message(st.raw)
        try:
            if self._verifiers is None:
                verify(st.author, message, signed.signature)  # ~80 us on the loop
            else:  # on another core, while the loop parses the next request
                key, signature = raw_key_and_signature(st.author, signed.signature)
                if not await self._verifiers.check(key, message, signature):
                    raise SignatureInvalid("signature does not verify")
        except SignatureInvalid:
            raise E.BadSignature("the signature does not verify with the author's key") from None
        fut: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(((signed, message[len(STATEMENT_PREFIX) :], text), fut))
        return await fut

    async def close_due(self) -> None:
        """Append `close` and `result` for every motion whose closing time has
        passed (the server calls this every second). On a shared database it
        first catches up with the other processes, so that any of them closes
        a motion another one created (and reveals the same r, SPEC 13)."""
        await self.sync()
        if due_lotteries(self.state, self._now()):
            fut: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
            self._queue.put_nowait((None, fut))
            await fut

    def _now(self) -> datetime:
        """The clock, but never before the last entry: `received` never decreases."""
        now = self.clock()
        return now if self._received_at is None or now >= self._received_at else self._received_at

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # Let the callers whose receipts were just handed out send their
            # next statement: a few loop turns make the group commit fuller.
            for _ in range(GATHER_TURNS):
                while len(batch) < MAX_BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await asyncio.sleep(0)
            self._settled.clear()
            try:
                async with self._catch_up_lock:
                    await self._commit(batch)
            except Exception as exc:  # the transaction rolled back: resync from the database
                log.exception("append batch failed; reloading state from the log")
                self._clean = False
                try:  # first, so that no caller sees the failure while the state still shows the batch
                    await self._load()
                except Exception:
                    log.exception("reload failed")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            finally:
                self._settled.set()
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, items: list[Item]) -> None:
        if self.shared:
            await self._catch_up()  # most of the other processes' entries, before the lock
        async with self.engine.begin() as conn:
            await self._lock_and_catch_up(conn)
            batch = _Batch(self.state, self.frontier, self.head_hash, self._received_at)
            self._close_due(batch, batch.now(self.clock()))
            for i, (item, fut) in enumerate(items, 1):
                if item is not None:
                    batch.outcome.append((fut, self._accept(batch, *item)))
                if i % STAGE_STEP == 0 and i < len(items):
                    self._show_paths(batch)
                    await asyncio.sleep(0)  # reads see the statements staged so far
            self._show_paths(batch)
            checkpoint = await self._write(conn, batch) if batch.staged else None
        self.batches += 1
        self.locked_s += time.perf_counter() - self._locked_at
        self._publish(batch, checkpoint)
        for i, (fut, res) in enumerate(batch.outcome, 1):
            if i % STAGE_STEP == 0:
                await asyncio.sleep(0)
            if fut.done():
                continue
            if isinstance(res, Exception):
                fut.set_exception(res)
            else:
                fut.set_result(await self._receipt(res))
        for item, fut in items:
            if item is None and not fut.done():
                fut.set_result(None)  # type: ignore[arg-type]

    def _show_paths(self, batch: _Batch) -> None:
        """The state shows the batch's closes from now on: their vote paths
        must be found too, before their rows are committed."""
        for motion_id, snap in batch.paths.items():
            self._paths.put(motion_id, snap)

    def _accept(
        self, batch: _Batch, signed: Signed, statement_bytes: bytes, text: CommentText | None
    ) -> _Staged | E.Refused:
        """Stage one statement if the rules accept it, closing what is due
        first (docs/SPEC.md section 4), and the server's comment policy lets
        it through; the refusal otherwise."""
        received = batch.now(self.clock())
        self._close_due(batch, received)
        st = signed.statement
        try:
            check(self.state, st, received, server_key=self.server_hex, secret=self._secret)
            check_policy(self.state, st)
            if self.comment_rate is not None:
                self.comment_rate.check(self.state, st, received)
        except E.Refused as refusal:
            return refusal
        staged = batch.add(signed, statement_bytes, received, text)
        self._commit_awaited(batch, received)
        if st.kind in (Kind.MOTION, Kind.CLOSE, Kind.DRAW, Kind.DRAWN):
            self._next_close = next_closing(self.state)
            self._close_due(batch, received)  # a motion (or draw) created already due is closed at once
        return staged

    def _secret(self, lottery: str) -> bytes:
        """r of ``lottery`` in this assembly, derived from the server key
        (docs/SPEC.md section 16): never stored, the same in every process."""
        if self.state.assembly_id is None:
            raise ValueError("no assembly yet: no lottery")
        return tally.lottery_secret(self.server_key.seed, self.state.assembly_id, lottery)

    def _commit_awaited(self, batch: _Batch, received: datetime) -> None:
        """Stage the `commit` of the lottery the last entry opened (a
        motion's), as the very next entry (docs/SPEC.md section 16)."""
        lottery = self.state.awaiting_commit
        if lottery is not None:
            body = {"lottery": lottery, "hash": tally.commit_hash(self._secret(lottery))}
            batch.add(*self._signed_by_server(self._server_statement(Kind.COMMIT, body)), received)

    def _close_due(self, batch: _Batch, now: datetime) -> None:
        """Stage, for every lottery due at ``now`` in the order of
        ``due_lotteries``: a draw's `drawn`, or a motion's `close` (revealing
        r) and at once its `result`."""
        if self._next_close is None or now < self._next_close:
            return  # nothing is due before the earliest closing time: skip the scan
        for lottery in due_lotteries(self.state, now):
            if lottery.startswith(DRAW_PREFIX):
                draw = self.state.draws[lottery[len(DRAW_PREFIX) :]]
                fields = sortition.drawn_fields(self.state, draw, self._secret(lottery))
                batch.add(*self._signed_by_server(self._server_statement(Kind.DRAWN, fields)), now)
                continue
            motion_id = lottery[len(MOTION_PREFIX) :]
            reveal = self._secret(lottery).hex()
            close = self._server_statement(Kind.CLOSE, {"motion": motion_id, "reveal": reveal})
            batch.add(*self._signed_by_server(close), now)
            header = self._server_header(Kind.RESULT)
            result = result_statement(self.state, motion_id, header, check=self.full_check)
            batch.add(*self._signed_by_server(result), now)
        self._next_close = next_closing(self.state)

    def _publish(self, batch: _Batch, checkpoint: str | None) -> None:
        """The batch is committed: the log's size, root and checkpoint move to
        it, and its listeners hear of it."""
        if checkpoint is not None:
            self.size, self._root = batch.state.size, batch.root
            self.head_hash, self.received, self._received_at = batch.head_hash, batch.received, batch.received_at
            self.checkpoint_text = checkpoint
        self._node_cache.update(batch.nodes)
        self._trim_cache(batch.start)
        if batch.staged:
            for listener in self.listeners:
                listener([s.entry for s in batch.staged])

    def _signed_by_server(self, statement: dict[str, Any]) -> tuple[Signed, bytes]:
        signed = parse_signed(sign_statement(self.server_key, statement))
        return signed, canonical_bytes(statement)

    def _server_header(self, kind: Kind) -> dict[str, Any]:
        return {
            "v": 1,
            "assembly": self.state.assembly_id,
            "kind": str(kind),
            "author": self.server_hex,
            "seq": self.state.seqs.get(self.server_hex, 0) + 1,
        }

    def _server_statement(self, kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
        return {**self._server_header(kind), **body}

    async def _write(self, conn: AsyncConnection, batch: _Batch) -> str:
        """Write one staged batch and the signed checkpoint that covers it."""
        entries = [
            {
                "idx": s.index,
                "hash": s.digest,
                "data": s.data,
                "kind": str(s.statement.kind),
                "author": s.statement.author,
            }
            for s in batch.staged
        ]
        stored = await integrity.stored_digest(conn)
        before = 0 if stored is None else stored[1]
        digest = await integrity.updated_digest(
            conn, self._digest_key, before, batch.pending, batch.cleared, batch.prior
        )
        await sql.write_batch(conn, entries, batch.nodes, batch.pending, batch.cleared)
        if batch.texts:
            await sql.write_texts(conn, batch.texts)
        if batch.paths:
            await sql.write_paths(conn, {m: p.compressed() for m, p in batch.paths.items()})
        await integrity.store_digest(conn, batch.state.size, digest)
        root = batch.root = batch.frontier.root()
        size = batch.state.size
        checkpoint = sign_checkpoint(
            Checkpoint(f"liquid-mandate/{batch.state.assembly_id}", size, root), self.server_key
        )
        await sql.write_head(
            conn,
            {
                "size": size,
                "head_hash": batch.head_hash,
                "root": root,
                "received": batch.received,
                "checkpoint": checkpoint,
            },
        )
        return checkpoint

    async def _lock_and_catch_up(self, conn: AsyncConnection) -> None:
        """Take the write lock (the head row) and replay entries another
        process appended since this one last looked."""
        h = (await conn.execute(select(T.head).with_for_update())).mappings().first()
        if h is None and await sql.pg_lock(conn):
            # FOR UPDATE locked nothing (no head row yet): under the advisory
            # lock, read again, in case another process wrote the first entries.
            h = (await conn.execute(select(T.head).with_for_update())).mappings().first()
        self._locked_at = time.perf_counter()
        if h is None:
            if self.size:
                raise E.LogCorrupted("the head row vanished")
            return
        if h["size"] != self.size:
            await self._replay(conn, h)

    async def _replay(self, conn: AsyncConnection, h: Any) -> None:
        """Apply the entries from our size to the head row ``h``'s, which
        other processes committed, and take ``h`` as our head. Entries are
        committed with the head row that counts them, and never change:
        reading them needs no lock."""
        rows = await conn.execute(
            select(T.entries.c.data, T.entries.c.hash)
            .where(T.entries.c.idx >= self.size, T.entries.c.idx < h["size"])
            .order_by(T.entries.c.idx)
        )
        for data, digest in rows:
            entry = parse(data)
            st = parse_statement(entry["statement"])
            # Committed by another process.
            apply(self.state, st, index=entry["index"], entry_hash=digest.hex(), received=entry["received"])
            # Cached like our own: the receipts of our next batch need them.
            for level, idx, node in self.frontier.append(merkle.leaf_hash(data)):
                self._node_cache[(level, idx)] = node
        self._trim_cache(self.state.size)
        if self.state.fresh_paths:  # the other process stored them with its entries
            for motion_id, snap in self.state.fresh_paths.items():
                self._paths.put(motion_id, snap)
            self.state.fresh_paths.clear()
        self.size, self._root = self.state.size, self.frontier.root()
        self.head_hash, self.received, self.checkpoint_text = h["head_hash"], h["received"], h["checkpoint"]
        self._received_at = parse_time(self.received)
        self._next_close = next_closing(self.state)

    async def _catch_up(self) -> None:
        """Replay what other processes committed, without the write lock: a
        reader never waits for a writer, and a writer that then takes the
        lock has only the last few entries left to replay under it."""
        async with self.engine.connect() as conn:
            h = (await conn.execute(select(T.head))).mappings().first()
            if h is not None and h["size"] > self.size:
                await self._replay(conn, h)

    async def sync(self) -> None:
        """Bring the in-memory state up to the database's head, when other
        processes share the database (a no-op on the embedded SQLite, where
        this process is the only writer)."""
        if not self.shared:
            return
        async with self._catch_up_lock:  # never beside the writer's own catch-up
            await self._catch_up()

    # -- reading -----------------------------------------------------------

    async def closed_paths(self, motion_id: str) -> ClosedPaths | None:
        """The vote paths of a closed motion as of its close (ballots.paths),
        None for a motion not closed: from the small cache, else read from
        ``closed_path_data`` and checked against the digest the projections
        hold. Raises LogCorrupted for a missing or altered snapshot."""
        summary = self.state.closed_paths.get(motion_id)
        if summary is None:
            return None
        hit = self._paths.get(motion_id, summary.digest)
        if hit is not None:
            return hit
        # Not cached: it is read from the database, where a close the state
        # shows is only once its batch is committed (or gone, if it failed).
        await self._settled.wait()
        summary = self.state.closed_paths.get(motion_id)
        if summary is None:
            return None
        d = T.closed_path_data.c
        async with self.engine.connect() as conn:
            data = (await conn.execute(select(d.data).where(d.motion == motion_id))).scalar()
        if data is None:
            raise E.LogCorrupted(
                f"the vote paths of closed motion {motion_id!r} are missing; `server.py rebuild` rewrites them"
            )
        snap = ClosedPaths.decode(bytes(data), summary.digest)
        self._paths.put(motion_id, snap)
        return snap

    async def settled(self) -> None:
        """Wait until no batch is being written: from then on, ``size`` and
        the checkpoint hold every batch a view could have shown before the
        call (docs/SPEC.md section 9, "Reads and writes")."""
        await self._settled.wait()

    @property
    def origin(self) -> str:
        return f"liquid-mandate/{self.state.assembly_id}"

    async def _receipt(self, s: _Staged) -> Receipt:
        # Taken together: a sync() may move both while the proof is assembled.
        size, checkpoint = self.size, self.checkpoint_text
        proof = await self._assemble(merkle.inclusion_proof_plan(s.index, size))
        return Receipt(s.index, s.digest.hex(), s.entry, checkpoint, [h.hex() for h in proof])

    async def _nodes(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        found = {k: self._node_cache[k] for k in keys if k in self._node_cache}
        missing = [k for k in keys if k not in found]
        if missing:
            async with self.engine.connect() as conn:
                found.update(await sql.read_nodes(conn, missing))
        return found

    async def _assemble(self, plan: Any) -> list[bytes]:
        keys = sorted({k for element in plan for k in element})
        return merkle.assemble(plan, await self._nodes(keys))

    def _trim_cache(self, batch_start: int) -> None:
        """Keep the high levels and the nodes of the last batches: the ones the
        receipts of the next batch need. Everything else is read from SQL."""
        if len(self._node_cache) > 200_000:
            low = max(0, batch_start - 4 * MAX_BATCH)
            self._node_cache = {
                k: h for k, h in self._node_cache.items() if k[0] >= CACHED_LEVEL or (k[1] + 1) << k[0] > low
            }

    async def inclusion_proof(self, index: int, size: int) -> tuple[list[bytes], bytes]:
        """(proof, root) for entry ``index`` in the tree of ``size`` entries.
        Raises ValueError for sizes the log does not have."""
        await self._settled.wait()
        if not 0 <= index < size <= self.size:
            raise ValueError(f"want 0 <= index < size <= {self.size}, got index {index}, size {size}")
        proof = await self._assemble(merkle.inclusion_proof_plan(index, size))
        return proof, await self.root_at(size)

    async def consistency_proof(self, size1: int, size2: int) -> tuple[list[bytes], bytes, bytes]:
        await self._settled.wait()
        if not 0 < size1 <= size2 <= self.size:
            raise ValueError(f"want 0 < from <= to <= {self.size}, got from {size1}, to {size2}")
        proof = await self._assemble(merkle.consistency_proof_plan(size1, size2))
        return proof, await self.root_at(size1), await self.root_at(size2)

    async def root_at(self, size: int) -> bytes:
        await self._settled.wait()
        if size == self.size:
            return self._root
        return (await self._assemble([merkle.subtree_root_plan(size)]))[0]

    async def export(self, start: int = 0, limit: int | None = None) -> list[bytes]:
        """Canonical entry bytes from index ``start`` (at most ``limit``),
        each checked against its stored leaf hash (``_served``)."""
        await self._settled.wait()
        q = _with_leaf(T.entries.c.idx >= start).order_by(T.entries.c.idx)
        if limit is not None:
            q = q.limit(limit)
        async with self.engine.connect() as conn:
            return [_served(i, bytes(d), h, leaf)[0] for i, d, h, leaf in await conn.execute(q)]

    async def entry(self, index: int) -> tuple[dict[str, Any], str] | None:
        await self._settled.wait()
        async with self.engine.connect() as conn:
            row = (await conn.execute(_with_leaf(T.entries.c.idx == index))).first()
        if row is None:
            return None
        data, digest = _served(*row)
        return json.loads(data), digest

    async def entries_by(self, author: str) -> list[tuple[dict[str, Any], str]]:
        """Every committed entry whose statement ``author`` signed, in log
        order, with its hash: a member's own history read from the log, so
        that no client needs to remember it (SPEC section 9)."""
        await self._settled.wait()
        q = _with_leaf(T.entries.c.author == author).order_by(T.entries.c.idx)
        async with self.engine.connect() as conn:
            out = []
            for row in await conn.execute(q):
                data, digest = _served(*row)
                out.append((json.loads(data), digest))
            return out

    async def texts(self, start: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The texts of the comments from entry ``start`` on (at most
        ``limit``), in log order (docs/SPEC.md section 15.2):
        ``{"index", "text", "salt"}``, or ``{"index", "redacted": true,
        "reason", "redact"}`` once a `redact` erased it."""
        await self._settled.wait()
        state = self.state
        wanted = [i for i in state.comments if i >= start][:limit]
        if not wanted:
            return []
        async with self.engine.connect() as conn:
            rows = await sql.read_texts(conn, wanted[0], wanted[-1])
        if self.shared and any(i not in rows and self.state.comments[i].redacted_by is None for i in wanted):
            # Another process may have redacted it (deleting the row) after our
            # last catch-up: learn that redact, so its record is served, not dropped.
            await self.sync()
        out: list[dict[str, Any]] = []
        for i in wanted:
            c = self.state.comments[i]  # read again: a redact may have been published meanwhile
            if c.redacted_by is not None:
                out.append({"index": i, "redacted": True, "reason": c.reason, "redact": c.redacted_by})
            elif i in rows:
                text, salt = rows[i]
                out.append({"index": i, "text": text, "salt": salt})
        return out

    async def text_of(self, indexes: list[int]) -> dict[int, tuple[str, str]]:
        """(text, salt) of the given comments that still have one. A comment
        the state shows while its batch is written has its text stored with
        the batch: one missing then is read again once the batch is committed."""
        if not indexes:
            return {}
        committed = self.size  # taken before the read: the batch may commit while it runs
        async with self.engine.connect() as conn:
            found = await sql.read_texts_in(conn, indexes)
        missing = [i for i in indexes if i not in found and i >= committed]
        if missing:
            await self._settled.wait()
            async with self.engine.connect() as conn:
                found.update(await sql.read_texts_in(conn, missing))
        return found

    async def delegators(self, key: str) -> list[tuple[str, str]]:
        """(member, scope) of every setting that names ``key`` as its
        target, by member then scope: an indexed read, O(delegators), not a
        scan of every member's settings (issue 16)."""
        await self._settled.wait()
        d = T.delegations.c
        q = select(d.member, d.scope).where(d.target == key).order_by(d.member, d.scope)
        async with self.engine.connect() as conn:
            return [(m, s) for m, s in await conn.execute(q)]

    # -- maintenance -------------------------------------------------------

    def _secret_for(self, aid: str) -> Callable[[str], bytes]:
        return lambda lottery: tally.lottery_secret(self.server_key.seed, aid, lottery)

    async def rebuild(self) -> AssemblyState:
        """Replay the whole log into fresh projections (and a fresh state),
        checking its lotteries (``rules.check_lottery``) on the way. Raises
        LogCorrupted, having changed nothing."""
        async with self.engine.begin() as conn:
            await self._lock_and_catch_up(conn)
            state = await upgrade.rebuild_projections(conn, secret_for=self._secret_for)
            await integrity.store_digest(conn, state.size, integrity.digest_of(self._digest_key, all_rows(state)))
        self.state, self.loads = state, self.loads + 1
        self.size, self._root = state.size, self.frontier.root()
        self._attach_live(state)
        self._next_close = next_closing(state)
        return state


_PREV = b'"prev":"'


async def _high_nodes(conn: AsyncConnection) -> dict[tuple[int, int], bytes]:
    """The high levels of the tree: on most proofs, and few (n / 256), so kept in memory."""
    high = await conn.execute(
        select(T.nodes.c.level, T.nodes.c.idx, T.nodes.c.hash).where(T.nodes.c.level >= CACHED_LEVEL)
    )
    return {(lv, i): hh for lv, i, hh in high}


def _state_of(rows: dict[Any, list[Any]], size: int) -> AssemblyState:
    """The state from the rows (in a thread), then the rows dropped there
    too: freeing a few hundred thousand dicts is itself work the event loop
    should not do."""
    try:
        return load_state(rows, size)
    finally:
        rows.clear()


def _clocks() -> tuple[float, float]:
    """(wall, CPU of the whole process: the database driver's and the
    loading threads' too) for the start-up's log line."""
    return time.perf_counter(), time.process_time()


def _spent(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"{b[0] - a[0]:.2f} s ({b[1] - a[1]:.2f} s CPU)"


def _with_leaf(where: Any) -> Any:
    """Entries (index, bytes, hash) with their stored leaf hash (level 0 of the tree)."""
    e, n = T.entries.c, T.nodes.c
    return (
        select(e.idx, e.data, e.hash, n.hash)
        .select_from(T.entries.outerjoin(T.nodes, and_(n.level == 0, n.idx == e.idx)))
        .where(where)
    )


def _served(index: int, data: bytes, digest: bytes, leaf: bytes | None) -> tuple[bytes, str]:
    """An entry about to be served: its bytes must be those of its leaf in
    the Merkle tree the start-up check verified, and of its stored hash;
    otherwise the log was changed underneath the server (LogCorrupted)."""
    data = bytes(data)
    if leaf is None or merkle.leaf_hash(data) != bytes(leaf) or hashlib.sha256(data).digest() != bytes(digest):
        log.error("entry %d does not match its stored leaf hash: refusing to serve it", index)
        raise E.LogCorrupted(f"entry {index} does not match its stored leaf hash")
    return data, bytes(digest).hex()


async def _check_closed_paths(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """``--full-check``: every closed motion's stored vote paths are there and
    hash to the digest of their projection row (ballots.paths), read one at
    a time. Raises LogCorrupted."""
    d = T.closed_path_data.c
    for r in rows:
        data = (await conn.execute(select(d.data).where(d.motion == r["motion"]))).scalar()
        if data is None:
            raise E.LogCorrupted(f"the vote paths of closed motion {r['motion']!r} are missing")
        ClosedPaths.decode(bytes(data), r["digest"])


async def _check_every_entry(conn: AsyncConnection, leaves: list[bytes]) -> None:
    """Every entry's bytes hash to its stored hash and leaf, and its `prev`
    (found in the canonical bytes, whose key order is fixed) is the hash before."""
    e = T.entries.c
    prev = b"0" * 64
    rows = await conn.stream(select(e.idx, e.hash, e.data).order_by(e.idx))
    async for part in rows.partitions(START_CHUNK):
        for idx, digest, data in part:
            if hashlib.sha256(data).digest() != digest or merkle.leaf_hash(data) != leaves[idx]:
                raise E.LogCorrupted(f"entry {idx}: its bytes do not match its stored hash or leaf")
            at = data.find(_PREV)
            if at < 0 or data[at + len(_PREV) : at + len(_PREV) + 64] != prev:
                raise E.LogCorrupted(f"entry {idx}: prev is not the hash of entry {idx - 1}")
            prev = digest.hex().encode()
