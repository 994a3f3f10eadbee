"""The ballot box on a real PostgreSQL server through asyncpg: the same claims
as on SQLite, then what only several processes on one database can show — one
total order, one chain, and each process seeing the others' appends.

The server comes from tests/pg.py: started once per session, a fresh database
per test."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from ballots import schema as T
from ballots.box import BallotBox, Receipt
from ballots.statements import format_time
from client.author import Author, code_hash, genesis, new_code
from crypto import merkle
from crypto.canonical import canonical_bytes, parse, parse_canonical
from crypto.checkpoint import open_checkpoint
from crypto.signing import KeyPair
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.processes import start_server, stop_server
from tests.test_box import (  # noqa: F401  (test_box's own tests, collected again here on PostgreSQL)
    chain_is_valid,
    check_receipt,
    test_close_appends_close_then_result,
    test_concurrent_replays_accept_exactly_one,
    test_export_from_an_index,
    test_hundreds_of_concurrent_appends_give_a_dense_chain,
    test_projections_equal_a_rebuild,
    test_proofs_for_every_size_match_the_reference,
    test_receipts_verify_against_their_checkpoint,
    test_received_never_decreases,
    test_startup_check_refuses_a_damaged_log,
)
from tests.world import Clock, World

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_url(pg_url: str) -> str:
    """Overrides conftest's SQLite URL: the imported tests and ``world`` run on PostgreSQL."""
    return pg_url


# -- one process ---------------------------------------------------------------


async def test_the_box_is_on_postgresql_and_bytes_come_back_as_bytes(world: World) -> None:
    assert world.box.engine.dialect.name == "postgresql" and world.box.engine.dialect.driver == "asyncpg"
    await world.enroll(2)
    async with world.box.engine.connect() as conn:
        h = (await conn.execute(select(T.head))).mappings().one()
        digest, data = (
            await conn.execute(select(T.entries.c.hash, T.entries.c.data).where(T.entries.c.idx == 1))
        ).one()
    assert type(h["head_hash"]) is bytes and type(h["root"]) is bytes and len(h["root"]) == 32
    assert type(digest) is bytes and type(data) is bytes and hashlib.sha256(data).digest() == digest
    assert h["root"] == world.box.frontier.root() and h["size"] == world.box.size == 5
    entry, entry_hash = await world.box.entry(1)
    assert canonical_bytes(entry) == data and entry_hash == digest.hex()


# -- several boxes on one database (in one process) ----------------------------


async def test_boxes_opened_at_once_on_a_fresh_database_all_open(pg_url: str, server_key: KeyPair) -> None:
    # create_all's CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL.
    boxes = await asyncio.gather(
        *(BallotBox.open(pg_url, server_key, clock=Clock()) for _ in range(4)), return_exceptions=True
    )
    try:
        assert all(isinstance(b, BallotBox) for b in boxes), boxes
    finally:
        for b in boxes:
            if isinstance(b, BallotBox):
                await b.aclose()


async def test_two_boxes_racing_for_entry_0_give_one_genesis_and_one_refusal(pg_url: str, server_key: KeyPair) -> None:
    # No head row yet: FOR UPDATE on it locks nothing, so the box must lock otherwise.
    a = await BallotBox.open(pg_url, server_key, clock=Clock())
    b = await BallotBox.open(pg_url, server_key, clock=Clock())
    try:
        results = await asyncio.gather(
            a.append(genesis(Author(), server=server_key.public_hex)),
            b.append(genesis(Author(), server=server_key.public_hex)),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["AlreadyFounded", "Receipt"], results
        assert (await a.export()) == (await b.export()) and len(await a.export()) == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_two_boxes_interleave_into_one_chain(pg_url: str, clock: Clock, server_key: KeyPair) -> None:
    a = await BallotBox.open(pg_url, server_key, clock=clock)
    b = await BallotBox.open(pg_url, server_key, clock=clock)
    try:
        w = World(a, clock, server_key)
        await w.found()
        members = await w.enroll(20)
        await w.topic("t")
        await w.motion("m", "t")

        async def votes(i: int, m: Author) -> list[Receipt]:
            # A member's two ballots go to different boxes: the second is only
            # accepted if that box saw the first (its seq) from the other.
            first, second = (a, b) if i % 2 else (b, a)
            return [
                await first.append(m.sign("ballot", w.assembly, motion="m", choice="yes")),
                await second.append(m.sign("ballot", w.assembly, motion="m", choice="no")),
            ]

        receipts = [r for rs in await asyncio.gather(*(votes(i, m) for i, m in enumerate(members))) for r in rs]
        await a.sync()
        await b.sync()
        lines = await chain_is_valid(a)
        assert await chain_is_valid(b) == lines and a.size == b.size == len(lines)
        assert sorted(r.index for r in receipts) == list(range(len(lines) - 40, len(lines)))
        for r in receipts:
            assert lines[r.index] == canonical_bytes(r.entry)
            check_receipt(a, r)
        assert a.state == b.state
        assert {k: v for k, v in a.state.ballots["m"].items()} == {m.public: "no" for m in members}
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_reader_catches_up_while_another_process_holds_the_write_lock(
    pg_url: str, clock: Clock, server_key: KeyPair
) -> None:
    """sync() replays without the head row's lock (entries are committed with
    the head that counts them): a read never waits for another process's
    batch, and a writer replays most of the others' entries before it locks."""
    a = await BallotBox.open(pg_url, server_key, clock=clock)
    b = await BallotBox.open(pg_url, server_key, clock=clock)
    try:
        w = World(a, clock, server_key)
        await w.found()
        await w.enroll(3)
        async with a.engine.connect() as other:  # another process's open batch
            await other.execute(select(T.head).with_for_update())
            await asyncio.wait_for(b.sync(), 5)
        assert b.size == a.size and b.state == a.state and b.checkpoint_text == a.checkpoint_text
        assert a.batches >= 5 and 0 < a.locked_s and b.batches == 0
        # The Merkle nodes of what it replayed are cached: its next receipts read no SQL for them.
        plan = merkle.inclusion_proof_plan(b.size - 1, b.size)
        assert {k for element in plan for k in element} <= b._node_cache.keys()
    finally:
        await a.aclose()
        await b.aclose()


# -- several server processes on one database ----------------------------------


def _start_server(data_dir: Path, db_url: str) -> tuple[str, subprocess.Popen[bytes]]:
    return start_server(data_dir, "--db-url", db_url, log=data_dir / "server.log")


@pytest.fixture
def two_servers(pg_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two server processes on one database, with the same server key (each
    loads it from its data dir: the second gets a copy of the first's)."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        dirs = [tmp_path / "a", tmp_path / "b"]
        for d in dirs:
            d.mkdir()
        url_a, proc = _start_server(dirs[0], pg_url)
        procs.append(proc)
        shutil.copy2(dirs[0] / "server.key", dirs[1] / "server.key")
        url_b, proc = _start_server(dirs[1], pg_url)
        procs.append(proc)
        yield [url_a, url_b]
    finally:
        for proc in procs:
            stop_server(proc)


async def _post(http: aiohttp.ClientSession, base: str, envelope: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(
        base + "/api/statements", data=canonical_bytes(envelope), headers={"Content-Type": "application/json"}
    ) as r:
        return r.status, parse(await r.read())


async def _created(http: aiohttp.ClientSession, base: str, envelope: dict[str, Any]) -> dict[str, Any]:
    status, body = await _post(http, base, envelope)
    assert status == 201, body
    return body


async def _get(http: aiohttp.ClientSession, base: str, path: str) -> bytes:
    async with http.get(base + path) as r:
        assert r.status == 200, await r.text()
        return await r.read()


async def test_two_server_processes_share_one_total_order(two_servers: list[str]) -> None:
    a, b = two_servers
    async with aiohttp.ClientSession() as http:
        server = parse(await _get(http, a, "/api/server"))
        assert parse(await _get(http, b, "/api/server"))["server_key"] == server["server_key"]
        server_public = bytes.fromhex(server["server_key"])
        founder = Author()
        receipts = [await _created(http, a, genesis(founder, server=server["server_key"]))]
        # Only GET /api/motions/{id} syncs with the other processes; ask the server that appended.
        assembly = parse(await _get(http, a, "/api/server"))["assembly"]
        assert assembly

        async def enroll(i: int) -> Author:
            code, member = new_code(), Author()
            # The founder's seq orders its invitations: they go one at a time.
            async with invite_lock:
                receipts.append(
                    await _created(http, a, founder.sign("invite", assembly, code_hash=code_hash(code), note=""))
                )
            receipts.append(await _created(http, a, member.sign("enroll", assembly, code=code, name=f"m{i}")))
            return member

        invite_lock = asyncio.Lock()
        members = list(await asyncio.gather(*(enroll(i) for i in range(30))))
        now = datetime.now(UTC)
        receipts.append(
            await _created(http, a, founder.sign("topic", assembly, id="t", title="T", description="", parent=None))
        )
        receipts.append(
            await _created(
                http,
                a,
                founder.sign(
                    "motion",
                    assembly,
                    id="m",
                    topic="t",
                    title="m",
                    summary="A bill.",
                    url="",
                    opens=format_time(now - timedelta(seconds=5)),
                    closes=format_time(now + timedelta(hours=1)),
                    quorum=None,
                ),
            )
        )

        async def votes(i: int, m: Author) -> list[dict[str, Any]]:
            # Each member's two ballots go to different servers, concurrently with everyone else's.
            first, second = (a, b) if i % 2 else (b, a)
            return [
                await _created(http, first, m.sign("ballot", assembly, motion="m", choice="yes")),
                await _created(
                    http, second, m.sign("ballot", assembly, motion="m", choice=("yes", "no", "abstain")[i % 3])
                ),
            ]

        for rs in await asyncio.gather(*(votes(i, m) for i, m in enumerate(members))):
            receipts.extend(rs)
        # The same signed ballot sent to both at once: one total order accepts it once.
        late = members[0].sign("ballot", assembly, motion="m", choice="no")
        replayed = await asyncio.gather(_post(http, a, late), _post(http, b, late))
        assert sorted(status for status, _ in replayed) == [201, 409], replayed
        receipts.append(next(body for status, body in replayed if status == 201))

        # Each process sees the other's appends (GET /api/motions/{id} syncs first).
        details = [parse(await _get(http, base, "/api/motions/m")) for base in (a, b)]
        assert details[0]["tally"] == details[1]["tally"]
        log_a = await _get(http, a, "/api/log?limit=10000")
        log_b = await _get(http, b, "/api/log?limit=10000")
        checkpoints = [await _get(http, base, "/api/checkpoint") for base in (a, b)]

    assert log_a == log_b, "the two servers serve different logs"
    lines = log_a.splitlines()
    # Every statement has its receipt; the motion's commit (SPEC 13) is the server's own.
    assert len(lines) == len(receipts) + 1 == 1 + 60 + 2 + 1 + 60 + 1
    prev = "0" * 64
    for i, line in enumerate(lines):
        entry = parse_canonical(line)
        assert entry["index"] == i and entry["prev"] == prev, f"the chain breaks at {i}"
        prev = hashlib.sha256(line).hexdigest()
    origin = f"liquid-mandate/{assembly}"
    for r in receipts:
        assert lines[r["index"]] == canonical_bytes(r["entry"]), f"receipt {r['index']} differs from the log"
        cp = open_checkpoint(r["checkpoint"], public_key=server_public, name=origin, origin=origin)
        merkle.verify_inclusion(
            merkle.leaf_hash(lines[r["index"]]), r["index"], cp.size, [bytes.fromhex(h) for h in r["proof"]], cp.root
        )
    root = merkle.root([merkle.leaf_hash(x) for x in lines])
    for text in checkpoints:
        cp = open_checkpoint(text.decode(), public_key=server_public, name=origin, origin=origin)
        assert (cp.size, cp.root) == (len(lines), root)
    # Second ballots: yes, no, abstain by i % 3 (10 each); then member 0 went from yes to no.
    tally = details[0]["tally"]
    assert (tally["members"], tally["yes"], tally["no"], tally["abstain"]) == (30, 9, 11, 10)
