"""Issue 11, "start-up trusts nothing it has not checked": the projections'
keyed digest at every start, ``--full-check`` re-deriving them from the log,
entries checked against their leaf hash when served, and the data
directory's permissions. Each test is named after its bullet and failed on
main before the fix."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import server
from ballots import errors as E
from ballots.box import BallotBox
from client.author import Author
from crypto.signing import KeyPair
from serving.keyfile import load_server_key
from tests.conftest import ROOT
from tests.world import Clock, World


async def _assembly(db: Path, key: KeyPair, clock: Clock) -> World:
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    w = World(box, clock, key)
    await w.found()
    await w.enroll(3)
    await w.topic("t")
    await w.motion("m", "t", closes=60)
    await w.vote(w.members[0], "m", "yes")
    await w.delegate(w.members[1], "*", w.members[0])
    return w


def _sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    with con:
        for s in statements:
            con.execute(s)
    con.close()


HAND_EDITS = {
    "a_member_added": (
        "INSERT INTO members (key, name, active, enrolled_index, code_hash) "
        f"VALUES ('{'ab' * 32}', 'ghost', 1, 3, '{'cd' * 32}')",
        "members",
    ),
    "a_seq_lowered": ("UPDATE authors SET seq = 0", "authors"),
    "a_ballot_changed": ("UPDATE ballots SET choice = 'no'", "ballots"),
    "a_motion_reopened": ("UPDATE motions SET closes = '2099-01-01T00:00:00.000000Z'", "motions"),
}


@pytest.mark.parametrize("edit", sorted(HAND_EDITS))
async def test_normal_start_checks_the_keyed_digest_of_the_projections(tmp_path, clock, edit) -> None:
    key, db = KeyPair(bytes(range(32))), tmp_path / "box.db"
    w = await _assembly(db, key, clock)
    await w.box.aclose()
    _sql(db, HAND_EDITS[edit][0])
    with pytest.raises(E.LogCorrupted, match="keyed digest"):
        await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)


@pytest.mark.parametrize("edit", sorted(HAND_EDITS))
async def test_full_check_rederives_the_projections_and_names_the_table_and_row(tmp_path, clock, edit) -> None:
    key, db = KeyPair(bytes(range(32))), tmp_path / "box.db"
    w = await _assembly(db, key, clock)
    await w.box.aclose()
    sql, table = HAND_EDITS[edit]
    _sql(db, sql, "DELETE FROM projection_digest")  # as if the digest were lost too: the replay still sees it
    with pytest.raises(E.LogCorrupted, match=f"table {table}, row"):
        await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock, full_check=True)


async def test_an_honest_database_starts_with_and_without_full_check_and_after_rebuild(tmp_path, clock) -> None:
    key, db = KeyPair(bytes(range(32))), tmp_path / "box.db"
    w = await _assembly(db, key, clock)
    clock.advance(seconds=61)
    await w.box.close_due()
    await w.box.append(w.org("deputies", roster=[w.members[0].public]))
    await w.box.append(w.org("expel", member=w.members[2].public, reason="left"))
    await w.box.aclose()
    for full in (False, True):
        box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock, full_check=full)
        await box.aclose()
    _sql(db, "UPDATE members SET name = 'edited'")
    with pytest.raises(E.LogCorrupted):
        await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    # rebuild (server.py rebuild) rewrites the projections and their digest from the log.
    _sql(db, "DELETE FROM projection_digest")
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)  # trusted once, then rebuilt
    await box.rebuild()
    await box.aclose()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock, full_check=True)
    assert all(m.name != "edited" for m in box.state.members.values())
    await box.aclose()


async def test_another_key_cannot_recompute_the_digest(tmp_path, clock) -> None:
    key, db = KeyPair(bytes(range(32))), tmp_path / "box.db"
    w = await _assembly(db, key, clock)
    await w.box.aclose()
    with pytest.raises(E.LogCorrupted, match="keyed digest"):
        await BallotBox.open(f"sqlite+aiosqlite:///{db}", KeyPair.generate(), clock=clock)


async def test_entries_are_checked_against_their_stored_leaf_hash_whenever_served(
    tmp_path, clock, aiohttp_client
) -> None:
    data_dir = tmp_path / "data"
    key = load_server_key(data_dir)
    db = data_dir / "liquid-mandate.db"
    w = await _assembly(db, key, clock)
    await w.box.aclose()
    # The middle entry's bytes changed, and its hash with them (the leaf stays: the root still matches).
    con = sqlite3.connect(db)
    data = con.execute("SELECT data FROM entries WHERE idx = 4").fetchone()[0]
    import hashlib

    bent = data.replace(b'"name":"m1"', b'"name":"m9"')
    assert bent != data
    with con:
        con.execute("UPDATE entries SET data = ?, hash = ? WHERE idx = 4", (bent, hashlib.sha256(bent).digest()))
    con.close()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)  # the start-up check reads leaves only
    try:
        with pytest.raises(E.LogCorrupted, match="entry 4"):
            await box.export()
        with pytest.raises(E.LogCorrupted, match="entry 4"):
            await box.entry(4)
        with pytest.raises(E.LogCorrupted, match="entry 4"):
            await box.entries_by(w.members[1].public)
        assert (await box.entry(3)) is not None
    finally:
        await box.aclose()
    api = await aiohttp_client(server.create_app(server.Settings(data_dir=data_dir), clock=clock))
    resp = await api.get("/api/log")
    assert resp.status == 500 and resp.content_type == "application/problem+json"
    assert b"m9" not in await resp.read()
    assert (await api.get("/api/entries/3")).status == 200
    assert (await api.get("/api/entries/4")).status == 500


def test_full_check_refuses_to_start_with_exit_1_naming_table_and_row(tmp_path) -> None:
    import asyncio

    data_dir = tmp_path / "data"
    key = load_server_key(data_dir)
    db = data_dir / "liquid-mandate.db"

    async def build() -> None:
        w = await _assembly(db, key, Clock())
        await w.box.aclose()

    asyncio.run(build())
    _sql(db, HAND_EDITS["a_member_added"][0], "DELETE FROM projection_digest")
    p = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "--data-dir", str(data_dir), "--port", "0", "--full-check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1, p.stderr
    assert "table members, row" in p.stderr and "Traceback" not in p.stderr


def test_database_file_and_wal_are_0600_and_the_data_directory_0700(tmp_path) -> None:
    import asyncio

    data_dir = tmp_path / "fresh"

    async def start() -> None:
        from aiohttp.test_utils import TestClient, TestServer

        async with TestClient(TestServer(server.create_app(server.Settings(data_dir=data_dir)))) as c:
            founder = Author()
            info = await (await c.get("/api/server")).json()
            from client.author import genesis

            r = await c.post(
                "/api/statements",
                json=genesis(founder, server=info["server_key"]),
            )
            assert r.status == 201
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}
            assert files["liquid-mandate.db"] == 0o600, files
            assert files.get("liquid-mandate.db-wal", 0o600) == 0o600, files
            assert files.get("liquid-mandate.db-shm", 0o600) == 0o600, files
            assert "liquid-mandate.db-wal" in files

    old = __import__("os").umask(0o022)
    try:
        asyncio.run(start())
    finally:
        __import__("os").umask(old)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
