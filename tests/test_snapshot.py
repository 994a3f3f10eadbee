"""The state snapshot a clean stop leaves (ballots/snapshot.py, issue 16):
the next start loads it, replays what came after, and checks the rest once
it is open; a snapshot it cannot trust is ignored, never half-used; damage
it put off checking still stops the server."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, update

from ballots import schema as T
from ballots import snapshot
from ballots.box import BallotBox
from ballots.closing import electorate
from ballots.errors import LogCorrupted
from ballots.projection import all_rows
from crypto.signing import KeyPair
from delegation import resolve
from tests.world import Clock, World


def rows(box: BallotBox) -> dict[str, list[dict[str, object]]]:
    return {t.name: sorted(map(repr, r)) for t, r in all_rows(box.state).items()}  # type: ignore[misc]


async def busy_world(url: str, clock: Clock, key: KeyPair, snap: Path | None) -> World:
    """An assembly with members, a topic tree, an open motion, direct votes and a delegation."""
    box = await BallotBox.open(url, key, clock=clock, snapshot_path=snap)
    w = World(box, clock, key)
    await w.found()
    m = await w.enroll(5)
    await w.topic("city")
    await w.motion("tram", "city")
    await w.vote(m[0], "tram", "yes")
    await w.vote(m[1], "tram", "no")
    await w.delegate(m[2], "topic:city", m[0])
    await w.delegate(m[3], "*", m[2])
    return w


async def reference(url: str, clock: Clock, key: KeyPair) -> BallotBox:
    """The same database opened the old way: from the projections."""
    return await BallotBox.open(url, key, clock=clock)


async def assert_as_loaded_from_the_projections(box: BallotBox, url: str, clock: Clock, key: KeyPair) -> None:
    ref = await reference(url, clock, key)
    try:
        assert_same_state(box, ref)
    finally:
        await ref.aclose()


def assert_same_state(box: BallotBox, ref: BallotBox, motion: str = "tram") -> None:
    assert rows(box) == rows(ref)
    assert box.state.live is not None and ref.state.live is not None
    assert box.state.live.counts(motion) == ref.state.live.counts(motion)
    assert box.state.live.counts(motion) == resolve(electorate(box.state, motion)).counts
    assert box.state.live.seeds.digest(motion) == ref.state.live.seeds.digest(motion)
    assert box.size == ref.size and box.frontier.root() == ref.frontier.root()
    assert box.checkpoint_text == ref.checkpoint_text


async def test_a_clean_stop_leaves_a_snapshot_the_next_start_loads(tmp_path, db_url, clock, server_key) -> None:
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    before = rows(w.box)
    await w.box.aclose()
    assert snap.exists() and snap.stat().st_mode & 0o777 == 0o600
    box = await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)
    try:
        assert box.deferred is not None  # it started from the snapshot
        await box.deferred  # and the checks it put off pass
        assert rows(box) == before
        # The live structures came back working: one more ballot moves them as it should.
        await World(box, clock, server_key, founder=w.founder, members=w.members, assembly=w.assembly).vote(
            w.members[4], "tram", "abstain"
        )
        await assert_as_loaded_from_the_projections(box, db_url, clock, server_key)
    finally:
        await box.aclose()


async def test_entries_appended_after_the_snapshot_are_replayed(tmp_path, db_url, clock, server_key) -> None:
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    await w.box.aclose()
    kept = snap.read_bytes()
    # A run that writes no snapshot (killed, say): the old one is now behind the log.
    box = await BallotBox.open(db_url, server_key, clock=clock)
    w2 = World(box, clock, server_key, founder=w.founder, members=w.members, assembly=w.assembly)
    await w2.enroll(2)
    await w2.vote(w2.members[5], "tram", "yes")
    await w2.delegate(w2.members[1], "*", w2.members[6])
    clock.advance(hours=2)
    await box.close_due()  # the motion closes and its result is appended in the tail
    await box.aclose()
    assert snap.read_bytes() == kept
    box = await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)
    ref = await reference(db_url, clock, server_key)
    try:
        assert box.deferred is not None
        await box.deferred
        assert rows(box) == rows(ref) and box.size == ref.size
        assert box.state.motions["tram"].result == ref.state.motions["tram"].result
    finally:
        await box.aclose()
        await ref.aclose()


def drop(db: Path) -> None:
    for f in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        f.unlink(missing_ok=True)


def _flip_last_byte(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-1] ^= 1
    p.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "why", ["garbage", "altered", "another_key", "another_code", "another_log", "log_shorter", "long_tail"]
)
async def test_a_snapshot_that_cannot_be_trusted_is_not_used(
    tmp_path, db_url, clock, server_key, monkeypatch, caplog, why: str
) -> None:
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    db = Path(db_url.split("///", 1)[1])
    if why == "log_shorter":  # a database restored from a copy older than the snapshot
        with sqlite3.connect(db) as src, sqlite3.connect(tmp_path / "older.db") as dst:
            src.backup(dst)
        await w.enroll(1)
    await w.box.aclose()
    if why == "garbage":
        snap.write_bytes(b"not a snapshot")
    elif why == "altered":
        _flip_last_byte(snap)
    elif why == "another_key":
        other = KeyPair(bytes(range(1, 33)))
        s = snapshot.read(snap, snapshot.snapshot_key(server_key.seed))
        snapshot.write(snap, snapshot.snapshot_key(other.seed), s.size, s.head_hash, s.state)
    elif why == "another_code":
        monkeypatch.setattr(snapshot, "code_hash", lambda: bytes(32))
    elif why == "another_log":  # the same key, another assembly's log in its place
        drop(db)
        other_world = await busy_world(db_url, Clock(clock.t), server_key, None)
        await other_world.box.aclose()
    elif why == "log_shorter":
        drop(db)
        os.replace(tmp_path / "older.db", db)
    else:
        monkeypatch.setattr(snapshot, "MAX_TAIL", 0)
        box = await BallotBox.open(db_url, server_key, clock=clock)  # one entry more, no snapshot written
        await World(box, clock, server_key, founder=w.founder, assembly=w.assembly).topic("parks")
        await box.aclose()
    caplog.set_level(logging.INFO, logger="ballots.box")
    box = await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)
    try:
        assert box.deferred is None  # loaded from the projections, checked before it opened
        assert "state snapshot" in caplog.text and "not used" in caplog.text
        await assert_as_loaded_from_the_projections(box, db_url, clock, server_key)
    finally:
        await box.aclose()


async def test_full_check_never_reads_the_snapshot(tmp_path, db_url, clock, server_key) -> None:
    snap = tmp_path / "state.snapshot"
    await (await busy_world(db_url, clock, server_key, snap)).box.aclose()
    box = await BallotBox.open(db_url, server_key, clock=clock, full_check=True, snapshot_path=snap)
    try:
        assert box.deferred is None
    finally:
        await box.aclose()


@pytest.mark.parametrize("damage", ["projection_row", "middle_leaf"])
async def test_damage_the_start_put_off_checking_is_found_once_open(
    tmp_path, db_url, clock, server_key, damage: str
) -> None:
    """The start from the snapshot serves before it has read every leaf and
    projection row; what those checks find still stops the server (and the
    snapshot is removed, so that the next start refuses before it serves)."""
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    await w.box.aclose()
    box = await BallotBox.open(db_url, server_key, clock=clock)
    await box.aclose()
    async with box.engine.begin() as conn:
        if damage == "projection_row":  # a member's seq lowered by hand: replays would pass
            await conn.execute(update(T.authors).where(T.authors.c.key == w.members[0].public).values(seq=0))
        else:
            await conn.execute(update(T.nodes).where(T.nodes.c.level == 0, T.nodes.c.idx == 2).values(hash=bytes(32)))
    await box.engine.dispose()
    box = await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)
    try:
        assert box.deferred is not None
        with pytest.raises(LogCorrupted):
            await box.deferred
        assert not snap.exists()
    finally:
        await box.aclose()
    assert not snap.exists()  # nothing written back from a state whose log failed
    with pytest.raises(LogCorrupted):
        await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)


@pytest.mark.parametrize("damage", ["head_root", "tail_entry"])
async def test_damage_the_fast_check_sees_refuses_a_start_from_the_snapshot(
    tmp_path, db_url, clock, server_key, damage: str
) -> None:
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    await w.box.aclose()
    box = await BallotBox.open(db_url, server_key, clock=clock)
    await World(box, clock, server_key, founder=w.founder, assembly=w.assembly).topic("parks")
    await World(box, clock, server_key, founder=w.founder, assembly=w.assembly).topic("roads")
    tail = box.size - 2  # the first entry after the snapshot
    await box.aclose()
    async with box.engine.begin() as conn:
        if damage == "head_root":
            await conn.execute(update(T.head).values(root=bytes(32)))
        else:
            data = (await conn.execute(select(T.entries.c.data).where(T.entries.c.idx == tail))).scalar_one()
            await conn.execute(
                update(T.entries).where(T.entries.c.idx == tail).values(data=data.replace(b"parks", b"parkz"))
            )
    await box.engine.dispose()
    with pytest.raises(LogCorrupted):
        await BallotBox.open(db_url, server_key, clock=clock, snapshot_path=snap)


async def test_the_state_is_unpickled_a_frame_at_a_time(tmp_path, db_url, clock, server_key, monkeypatch) -> None:
    """snapshot.read hands pickle a file whose read() is Python code, called
    once a frame: there the event loop can take the GIL back and answer
    /healthz while a thread unpickles a large state."""
    snap = tmp_path / "state.snapshot"
    w = await busy_world(db_url, clock, server_key, snap)
    await w.box.aclose()
    seen: list[snapshot._FrameReader] = []

    class Counting(snapshot._FrameReader):
        def __init__(self, data: bytes, start: int) -> None:
            super().__init__(data, start)
            seen.append(self)

    monkeypatch.setattr(snapshot, "_FrameReader", Counting)
    got = snapshot.read(snap, snapshot.snapshot_key(server_key.seed))
    payload = snap.stat().st_size - snapshot._HEADER
    assert got.size == w.box.size and len(seen) == 1
    assert seen[0].reads >= max(1, payload // 2**16)  # a frame is at most 64 KiB
    ref = await reference(db_url, clock, server_key)
    try:
        assert rows(ref) == {t.name: sorted(map(repr, r)) for t, r in all_rows(got.state).items()}
    finally:
        await ref.aclose()
