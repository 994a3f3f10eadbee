"""A closed motion's vote paths are those of its close (issue 13; docs/SPEC.md
section 9, "Vote paths"; ballots.paths): whatever members, delegations and
expulsions came after, `GET /api/members/{key}/motions/{id}` answers for a
closed motion exactly what the full resolution of the state at the close
entry gives, while an open or upcoming one follows the log as it stands.

- a property test: random assemblies folded through ``ballots.state.apply``
  (with and without live resolutions), closed, then changed again; every
  member's answer from the snapshot equals the reference resolution of the
  state as it was at the close (kept as a deep copy at that entry);
- the ballot box: the snapshot is stored with the close, survives a reopen,
  a rebuild, an upgrade from schema 5 and a restore byte for byte, is
  covered by the projection digest, and a changed blob is refused;
- the API: a delegation changed after the close leaves the closed motion's
  path as it was and moves the open one's.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

import delegation
import server
from ballots import errors as E
from ballots import paths, views
from ballots import schema as T
from ballots.box import BallotBox
from ballots.closing import electorate
from ballots.live import LiveTallies
from ballots.paths import PathCache
from ballots.state import AssemblyState
from ballots.statements import Kind
from serving.restore import DB_FILE, restore
from tests.test_delegation_live import Log, key, ops
from tests.test_server import Client
from tests.world import Clock, World, at


def reference(ref: AssemblyState, member: str, motion: str) -> dict[str, Any]:
    """What the full resolution of ``ref`` (a state at the close entry,
    without live resolutions) says of ``member``: delegation.vote_path and
    delegation.resolve_reference, no snapshot involved."""
    if not ref.is_active(member):
        return {
            "member": member,
            "motion": motion,
            "path": [member],
            "outcome": "not_member",
            "reason": paths.NOT_MEMBER_REASON,
            "weight": 0,
            "carried": [],
        }
    e = electorate(ref, motion)
    p = delegation.vote_path(e, member)
    r = delegation.resolve_reference(e)
    carried = [m for m in e.members if m != member and r.carrier_of(m) == member]
    return {
        "member": member,
        "motion": motion,
        "path": list(p.path),
        "outcome": p.outcome,
        "reason": str(p.reason),
        "weight": (len(carried) + 1) if r.carrier_of(member) == member else 0,
        "carried": carried,
    }


def without_live(state: AssemblyState) -> AssemblyState:
    s = copy.deepcopy(state)
    s.live = None
    return s


def close(log: Log, motion: str) -> paths.ClosedPaths:
    """Fold a `close` of ``motion`` (and its `result`, which takes it out of
    the live resolutions) into the log's state; the snapshot it took."""
    log.state.fresh_paths = {}
    log.put(Kind.CLOSE, "srv", motion=motion, reveal="00" * 32)
    snap = log.state.fresh_paths.pop(motion)
    log.state.fresh_paths = None
    return snap


def after_close(op: tuple[Any, ...]) -> bool:
    """Operations the rules still accept once M is closed."""
    return not ((op[0] == "ballot" and op[2] == "M") or (op[0] == "delegate" and op[2] == "motion:M"))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 10), ops, ops, st.booleans())
def test_snapshot_answers_equal_the_resolution_at_the_close(
    members: int, before: list[Any], later: list[Any], live: bool
) -> None:
    log = Log(members)
    if not live:
        log.state.live = None  # a replay, a restore: the snapshot is compiled from the state
    for op in before:
        log.step(op)
    at_close = without_live(log.state)
    snap = close(log, "M")
    # Taken from the live arrays or compiled from the state: the same bytes.
    assert paths.take(at_close, "M").raw == snap.raw
    assert log.state.closed_paths["M"] == snap.summary(log.state.size - 1)
    stored = paths.ClosedPaths.decode(snap.compressed(), snap.digest)
    for op in filter(after_close, later):
        log.step(op)
    if log.state.live is not None:
        assert "M" in log.state.live.motions  # no result folded yet: the snapshot does not need one
        log.put(Kind.RESULT, "srv", motion="M", instructions=[])
        assert "M" not in log.state.live.motions
    keys = [key(i) for i in range(log.n)] + ["f" * 64]
    for k in keys:
        want = reference(at_close, k, "M")
        got = views.vote_path(log.state, k, "M", stored)
        assert got == {**want, "as_of": at_close.size}, k
    # An open motion (N, when there is one) still answers as the log stands now.
    if "N" in log.state.motions:
        now = without_live(log.state)
        for k in keys:
            assert views.vote_path(log.state, k, "N") == views.vote_path(now, k, "N")


def test_a_snapshot_that_was_changed_is_refused() -> None:
    log = Log(3)
    log.put(Kind.DELEGATE, key(0), scope="*", to=key(1))
    snap = close(log, "M")
    with pytest.raises(E.LogCorrupted, match="differ from their digest"):
        paths.ClosedPaths.decode(snap.compressed(), "0" * 64)
    with pytest.raises(E.LogCorrupted, match="do not decompress"):
        paths.ClosedPaths.decode(b"not zlib", snap.digest)


def test_the_cache_keeps_only_the_last_few() -> None:
    cache = PathCache(size=2)
    snaps = []
    for n in range(3):
        log = Log(n + 1)
        snaps.append(close(log, "M"))
        cache.put(f"m{n}", snaps[-1])
    assert cache.get("m0", snaps[0].digest) is None
    assert cache.get("m1", snaps[1].digest) is snaps[1] and cache.get("m2", snaps[2].digest) is snaps[2]
    assert cache.get("m2", "0" * 64) is None  # another digest: another snapshot


# -- the ballot box ------------------------------------------------------------------


async def closed_assembly(world: World) -> dict[str, Any]:
    """a -> b (b votes yes), c -> d -> e ("self"), f votes no; `m` closes at
    100 s, `o` is open for an hour, `u` opens in half an hour. After the
    close: a moves to f, d to a, e is expelled, g enrols and delegates to f."""
    a, b, c, d, e, f = await world.enroll(6)
    await world.topic("t")
    await world.motion("m", "t", closes=100)
    await world.motion("o", "t", closes=3600)
    await world.motion("u", "t", opens=1800, closes=3600)
    await world.delegate(a, "*", b)
    await world.delegate(c, "topic:t", d)
    await world.delegate(d, "*", e)
    await world.delegate(e, "*", "self")
    for motion in ("m", "o"):
        await world.vote(b, motion, "yes")
        await world.vote(f, motion, "no")
    at_close = without_live(world.box.state)
    world.clock.advance(seconds=101)
    await world.box.close_due()
    assert world.box.state.motions["m"].result is not None
    await world.delegate(a, "*", f)
    await world.delegate(d, "*", a)
    await world.box.append(world.org("expel", member=e.public, reason="left"))
    (g,) = await world.enroll(1)
    await world.delegate(g, "*", f)
    return {"at_close": at_close, "people": [a, b, c, d, e, f, g]}


async def answers(box: BallotBox, keys: list[str], motion: str = "m") -> list[dict[str, Any]]:
    snap = await box.closed_paths(motion)
    return [views.vote_path(box.state, k, motion, snap) for k in keys]


async def test_the_box_answers_a_closed_motion_as_of_its_close(world: World, tmp_path: Path) -> None:
    w = await closed_assembly(world)
    keys = [p.public for p in w["people"]]
    a, b, c, _, e, f, g = keys
    box = world.box
    got = await answers(box, keys)
    close_index = box.state.motions["m"].close_index
    assert got == [{**reference(w["at_close"], k, "m"), "as_of": close_index} for k in keys]
    by = {r["member"]: r for r in got}
    assert (by[a]["path"], by[a]["outcome"]) == ([a, b], "yes")  # a moved to f after the close
    assert by[b]["weight"] == 2 and by[b]["carried"] == [a]
    assert by[c]["reason"] == "self" and len(by[c]["path"]) == 3
    assert by[e]["reason"] == "self"  # expelled after the close: still where their vote went then
    assert (by[g]["outcome"], by[g]["reason"]) == ("not_member", "not a member at the close")
    # The open motion follows the log: a's vote now goes to f.
    now = views.vote_path(box.state, a, "o")
    assert (now["path"], now["outcome"], now["as_of"]) == ([a, f], "no", None)
    # A box opened on the same tables reads the stored snapshot (nothing cached), checked.
    reopened = await BallotBox.open(str(box.engine.url), world.server_key, clock=world.clock, full_check=True)
    try:
        assert await answers(reopened, keys) == got
        # A rebuild from the log writes the same snapshot, byte for byte.
        async with reopened.engine.connect() as conn:
            before = (await conn.execute(select(T.closed_path_data))).all()
        await reopened.rebuild()
        reopened._paths = PathCache()
        async with reopened.engine.connect() as conn:
            assert (await conn.execute(select(T.closed_path_data))).all() == before
        assert await answers(reopened, keys) == got
        # Changed underneath the server: refused, not served.
        async with reopened.engine.begin() as conn:
            bad = paths.ClosedPaths(
                paths.take(w["at_close"], "m").target[::-1].copy(), paths.take(w["at_close"], "m").choice, []
            )
            await conn.execute(update(T.closed_path_data).values(data=bad.compressed()))
        reopened._paths = PathCache()
        with pytest.raises(E.LogCorrupted, match="differ from their digest"):
            await reopened.closed_paths("m")
        with pytest.raises(E.LogCorrupted, match="differ from their digest"):  # --full-check reads them all
            await BallotBox.open(str(box.engine.url), world.server_key, clock=world.clock, full_check=True)
        # The digest row itself is covered by the keyed projection digest: the next start refuses it.
        async with reopened.engine.begin() as conn:
            await conn.execute(update(T.closed_paths).values(digest=bad.digest))
    finally:
        await reopened.aclose()
    with pytest.raises(E.LogCorrupted, match="keyed digest"):
        await BallotBox.open(str(box.engine.url), world.server_key, clock=world.clock)


async def test_an_upgrade_and_a_restore_rebuild_the_snapshots(world: World, tmp_path: Path) -> None:
    w = await closed_assembly(world)
    keys = [p.public for p in w["people"]]
    got = await answers(world.box, keys)
    lines = await world.box.export()
    url = str(world.box.engine.url)
    # A database of schema 5 (before the snapshots): upgraded by a rebuild from its log.
    async with world.box.engine.begin() as conn:
        await conn.execute(T.closed_path_data.delete())
        await conn.execute(T.closed_paths.delete())
        await conn.execute(update(T.schema_version).values(version=5))
    upgraded = await BallotBox.open(url, world.server_key, clock=world.clock, full_check=True)
    try:
        assert await answers(upgraded, keys) == got
    finally:
        await upgraded.aclose()
    # Restored from the exported log into a fresh data directory.
    data = tmp_path / "restored"
    data.mkdir()
    (data / "server.key").write_text(world.server_key.seed.hex() + "\n")
    (tmp_path / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    await restore(data, str(tmp_path / "log.jsonl"))
    con = sqlite3.connect(data / DB_FILE)
    try:
        assert con.execute("SELECT count(*) FROM closed_path_data").fetchone() == (1,)
    finally:
        con.close()
    restored = await BallotBox.open(f"sqlite+aiosqlite:///{data / DB_FILE}", world.server_key, full_check=True)
    try:
        assert await answers(restored, keys) == got
    finally:
        await restored.aclose()


async def test_live_tallies_know_who_says_self(world: World) -> None:
    a, b, c = await world.enroll(3)
    await world.delegate(a, "*", "self")
    await world.delegate(b, "*", a)
    live = world.box.state.live
    assert live.selfers is None  # not looked for at start-up
    assert live.self_setters(world.box.state) == {a.public}
    await world.delegate(a, "*", b)
    await world.delegate(c, "*", "self")
    assert live.selfers == {c.public}  # followed statement by statement once found
    fresh = LiveTallies.attach(without_live(world.box.state))
    assert fresh.self_setters(world.box.state) == {c.public}


# -- the API -------------------------------------------------------------------------


@pytest.fixture
async def api(aiohttp_client: Any, tmp_path: Path, clock: Clock) -> Any:
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


async def get(api: Any, path: str) -> Any:
    resp = await api.get(path)
    body = await resp.read()
    assert resp.status == 200, body
    return json.loads(body)


async def test_a_delegation_changed_after_the_close_leaves_the_closed_path(api: Any, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    alice, bob, carol = [await c.member(n) for n in ("alice", "bob", "carol")]
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    for mid, closes in (("shut", 60), ("live", 3600)):
        motion = dict(id=mid, topic="t", title=mid, summary="A bill.", url="", quorum=None)
        await c.post(c.founder.sign("motion", c.assembly, **motion, opens=at(clock), closes=at(clock, seconds=closes)))
        await c.post(bob.sign("ballot", c.assembly, motion=mid, choice="yes"))
        await c.post(carol.sign("ballot", c.assembly, motion=mid, choice="no"))
    await c.post(alice.sign("delegate", c.assembly, scope="*", to=bob.public))
    clock.advance(seconds=61)
    for _ in range(100):  # the server closes what is due every 0.05 s
        if (await get(api, "/api/motions/shut"))["result"]:
            break
        await asyncio.sleep(0.05)
    me = f"/api/members/{alice.public}/motions"
    closed = await get(api, f"{me}/shut")
    assert (closed["path"], closed["outcome"], closed["reason"]) == ([alice.public, bob.public], "yes", "delegated")
    assert (closed["weight"], closed["carried"]) == (0, [])
    assert closed["as_of"] == (await get(api, "/api/motions/shut"))["motion"]["close_index"]
    assert (await get(api, f"/api/members/{bob.public}/motions/shut"))["carried"] == [alice.public]
    await c.post(alice.sign("delegate", c.assembly, scope="*", to=carol.public))
    await c.post(c.founder.sign("expel", c.assembly, member=bob.public, reason="left"))
    assert await get(api, f"{me}/shut") == closed  # as of the close
    assert (await get(api, f"/api/members/{bob.public}/motions/shut"))["weight"] == 2  # expelled since
    moved = await get(api, f"{me}/live")
    assert (moved["path"], moved["outcome"], moved["as_of"]) == ([alice.public, carol.public], "no", None)
