"""A closed motion's delegation graph and its summary are those of its close
(issue 14; docs/SPEC.md section 9, "Delegation graph" and "People"): built
from the motion's snapshot (ballots.paths), whatever members, delegations
and expulsions came after.

- a property test: random assemblies folded through ``ballots.state.apply``,
  M closed, then changed again; `views.graph` and the summary's trees equal
  `delegation.analyse` and `ScopePower.build` on the state as it was at the
  close (a deep copy taken at that entry), and what `PowerCache` keeps for
  the closed motion never moves;
- the API: a re-delegation and an expulsion after the close leave
  `/api/graph` and `/api/graph/summary` of the closed bill as they were
  (``as_of`` the close entry), while an open bill's follow them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delegation
import server
from ballots import paths, views
from ballots.closing import electorate
from ballots.scope_power import PowerCache, ScopePower
from ballots.state import AssemblyState
from ballots.statements import Kind
from tests.test_closed_paths import after_close, close, get, without_live
from tests.test_delegation_live import Log, ops
from tests.test_server import Client
from tests.world import Clock, at


def reference_graph(at_close: AssemblyState, motion: str) -> dict[str, Any]:
    """`delegation.analyse` of the state at the close: no snapshot involved."""
    e = electorate(at_close, motion)
    return {
        **delegation.analyse(e).as_dict(),
        "scope": f"motion:{motion}",
        "names": {k: at_close.members[k].name for k in e.members},
        "as_of": at_close.size,
    }


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 10), ops, ops, st.booleans())
def test_a_closed_motion_graph_is_the_one_at_its_close(
    members: int, before: list[Any], later: list[Any], live: bool
) -> None:
    log = Log(members)
    if not live:
        log.state.live = None
    for op in before:
        log.step(op)
    at_close = without_live(log.state)
    snap = close(log, "M")
    stored = paths.ClosedPaths.decode(snap.compressed(), snap.digest)
    cache = PowerCache()
    kept = cache.get(log.state, "motion:M", stored)
    for op in filter(after_close, later):
        log.step(op)
    if log.state.live is not None:
        log.put(Kind.RESULT, "srv", motion="M", instructions=[])
    want = reference_graph(at_close, "M")
    assert views.graph(log.state, "motion:M", stored) == want
    assert cache.report(log.state, "motion:M", stored) == want
    full = ScopePower.build(at_close, "motion:M")
    got = ScopePower.from_closed(log.state, "M", stored)
    assert got.keys == full.keys and got.figures == full.figures
    for top in (1, 3):
        assert got.summary(log.state, top) == {**full.summary(at_close, top), "as_of": at_close.size}
    # Kept as it was: later statements never move a closed motion's trees.
    assert cache.get(log.state, "motion:M", stored) is kept
    assert kept.summary(log.state, 3) == got.summary(log.state, 3)


def test_a_closed_motion_graph_needs_its_snapshot() -> None:
    log = Log(3)
    close(log, "M")
    try:
        views.graph(log.state, "motion:M")
    except ValueError as e:
        assert "as of the close" in str(e)
    else:
        raise AssertionError("a closed motion's graph was answered without its snapshot")


@pytest.fixture
async def api(aiohttp_client: Any, tmp_path: Path, clock: Clock) -> Any:
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


async def test_the_api_answers_a_closed_bill_graph_as_of_its_close(api: Any, clock: Clock) -> None:
    """alice -> bob, bob votes yes on `shut` (closes at 60 s) and `live`
    (open); after the close alice moves to carol and bob is expelled:
    `shut`'s graph and summary still show alice -> bob, bob carrying 2,
    `live`'s show alice -> carol."""
    c = Client(api)
    await c.found()
    alice, bob, carol = [await c.member(n) for n in ("alice", "bob", "carol")]
    a, b, k = alice.public, bob.public, carol.public
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    for mid, closes in (("shut", 60), ("live", 3600)):
        motion = dict(id=mid, topic="t", title=mid, summary="A bill.", url="", quorum=None)
        await c.post(c.founder.sign("motion", c.assembly, **motion, opens=at(clock), closes=at(clock, seconds=closes)))
        await c.post(bob.sign("ballot", c.assembly, motion=mid, choice="yes"))
    await c.post(alice.sign("delegate", c.assembly, scope="*", to=b))
    before = await get(api, "/api/graph?scope=motion:shut")
    assert before["as_of"] is None and before["edges"] == [[a, b]]
    clock.advance(seconds=61)
    for _ in range(100):  # the server closes what is due every 0.05 s
        if (await get(api, "/api/motions/shut"))["result"]:
            break
        await asyncio.sleep(0.05)
    close_index = (await get(api, "/api/motions/shut"))["motion"]["close_index"]
    assert isinstance(close_index, int)
    await c.post(alice.sign("delegate", c.assembly, scope="*", to=k))
    await c.post(c.founder.sign("expel", c.assembly, member=b, reason="left"))
    g = await get(api, "/api/graph?scope=motion:shut")
    assert g["as_of"] == close_index and g["scope"] == "motion:shut"
    assert g["edges"] == [[a, b]] and g["weights"] == {b: 2}
    assert g["names"] == {a: "alice", b: "bob", k: "carol"}
    assert {n: v for n, v in g["counts"].items() if v} == {
        "members": 3,
        "yes": 2,
        "direct": 1,
        "delegated": 1,
        "absent": 1,
    }
    s = await get(api, "/api/graph/summary?scope=motion:shut")
    assert s["as_of"] == close_index and s["members"] == 3
    assert [(n["member"], n["weight"]) for n in s["largest"]] == [(b, 2)]
    assert [n["member"] for n in s["largest"][0]["from"]] == [a]
    assert await get(api, "/api/graph?scope=motion:shut") == g  # kept, and the same
    # The open bill follows the log: bob is gone, alice delegates to carol, nobody votes.
    o = await get(api, "/api/graph?scope=motion:live")
    assert o["as_of"] is None and o["edges"] == [[a, k]] and o["weights"] == {}
    so = await get(api, "/api/graph/summary?scope=motion:live")
    assert so["as_of"] is None and so["members"] == 2 and so["largest"][0]["member"] == k
    assert (await get(api, "/api/graph/summary?scope=*"))["as_of"] is None
    assert (await get(api, "/api/graph?scope=*"))["as_of"] is None


async def test_the_openapi_document_describes_as_of(api: Any) -> None:
    doc = await get(api, "/openapi.json")
    for path in ("/api/graph", "/api/graph/summary", "/api/members/{key}/motions/{id}"):
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "as_of" in schema["required"] and schema["properties"]["as_of"]["type"] == ["integer", "null"], path
