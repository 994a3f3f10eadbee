"""`GET /api/checkpoints?covering=I` serves the checkpoint a verifier needs
for entry I under the policy it will apply to that entry (docs/SPEC.md
sections 14.2-14.5): for a `close`, the policy that governs its motion (the
last `witnesses` before its commit), even once a later policy replaced it;
for any other entry (a receipt's), the policy in force. The whole app over
aiohttp's test client, with in-process witnesses (tests/test_witnessing.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import verify_cli
from tests.test_server import PROBLEM, Client
from tests.test_witnessing import check_note, cosigned_all, founded, make_api, wait_for, witnesses  # noqa: F401
from tests.world import Clock, at


async def motion(c: Client, clock: Any, mid: str, closes: int) -> None:
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id=mid,
            topic="t",
            title=mid,
            summary="S",
            url="",
            opens=at(clock),
            closes=at(clock, seconds=closes),
            quorum=None,
        )
    )


async def size_of(api: Any) -> int:
    return (await (await api.get("/api/server")).json())["size"]


async def close(api: Any, clock: Any, mid: str, seconds: int) -> int:
    """Let ``mid`` close; the index of its `close` entry."""
    clock.advance(seconds=seconds)
    await wait_for(api, f"/api/motions/{mid}", lambda b: b["state"] == "closed")
    text = await (await api.get("/api/log", params={"from": 0, "limit": 1000})).text()
    entries = [json.loads(line) for line in text.splitlines()]
    (index,) = [e["index"] for e in entries if e["statement"]["kind"] == "close" and e["statement"]["motion"] == mid]
    return index


def names(note: str) -> list[str]:
    return [line.split(" ")[1] for line in note.split("\n\n", 1)[1].splitlines()[1:]]


async def test_covering_a_close_follows_the_policy_that_governs_its_motion(aiohttp_client, tmp_path, clock, witnesses):
    w0, w1 = witnesses
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = await founded(api, [w0], quorum=1)  # policy A: w0
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await motion(c, clock, "a", 60)  # committed under A
    closed_a = await close(api, clock, "a", 61)
    size_a = await size_of(api)
    await wait_for(api, "/api/witnesses", cosigned_all(size_a))
    # Policy B (w1) replaces A after the close; a second motion is committed under B.
    w1.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[w1.cosigner()], quorum=1, grace=5))
    await motion(c, clock, "b", 60)
    closed_b = await close(api, clock, "b", 61)
    size_b = await size_of(api)
    await wait_for(api, "/api/witnesses", cosigned_all(size_b))

    # The close of a is judged under A: w0's checkpoint holding it, not a later one of w1.
    resp = await api.get("/api/checkpoints", params={"covering": closed_a})
    assert resp.status == 200
    note = await resp.text()
    assert names(note) == [w0.name]
    assert closed_a < check_note(note, c, witnesses, 1) <= size_a
    # The close of b under B, and a receipt (entry 0) under the policy in force, B.
    for index in (closed_b, 0):
        note = await (await api.get("/api/checkpoints", params={"covering": index})).text()
        assert names(note) == [w1.name] and check_note(note, c, witnesses, 1) > max(index, size_a)


async def test_covering_a_close_no_policy_governs_is_not_witnessed(aiohttp_client, tmp_path, clock, witnesses):
    """A motion committed before the first policy: no policy governs its close
    (the verifier reports it not judged), so nothing covers it, whatever the
    witnesses of a later policy cosigned."""
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = Client(api)
    await c.found()
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await motion(c, clock, "early", 600)
    for w in witnesses:
        w.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    policy = {"cosigners": [w.cosigner() for w in witnesses], "quorum": 2, "grace": 10}
    await c.post(c.founder.sign("witnesses", c.assembly, **policy))
    closed = await close(api, clock, "early", 601)
    size = await size_of(api)
    await wait_for(api, "/api/witnesses", cosigned_all(size))
    resp = await api.get("/api/checkpoints", params={"covering": closed})
    assert resp.status == 404 and (await resp.json(content_type=None))["type"] == PROBLEM + "not_witnessed"
    note = await (await api.get("/api/checkpoints", params={"covering": closed - 1})).text()  # not a closing entry
    assert check_note(note, c, witnesses, 2) > closed - 1


async def test_the_verifier_judges_a_close_whose_policy_was_replaced(aiohttp_client, tmp_path, witnesses, capsys):
    """End to end, on the witnesses' real clocks: a close under policy A, then
    policy B and a close under B. The verifier asks `?covering=` for each close
    and judges each under its own policy: both witnessed, exit 0 (before the
    fix, a's covering checkpoint was B's, and a was not judged: exit 3)."""
    w0, w1 = witnesses
    clock = Clock(datetime.now(UTC))
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = Client(api)
    await c.found()
    w0.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    # The longest grace (60 s): a loaded machine's delays stay inside it.
    await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[w0.cosigner()], quorum=1, grace=60))
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))

    async def open_and_close(mid: str) -> int:
        await motion(c, clock, mid, 2)
        await asyncio.sleep(2.2)
        clock.t = datetime.now(UTC)  # the server's clock is the witnesses' again
        index = await close(api, clock, mid, 0)
        await wait_for(api, "/api/witnesses", cosigned_all(await size_of(api)))
        return index

    closed_a = await open_and_close("a")
    w1.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[w1.cosigner()], quorum=1, grace=60))
    closed_b = await open_and_close("b")
    url = str(api.make_url("")).rstrip("/")
    code = await asyncio.to_thread(verify_cli.main, [url, "--jobs", "1", "--json", "--quiet"])
    rep = json.loads(capsys.readouterr().out)
    assert {x["index"]: x["status"] for x in rep["witnesses"]["closes"]} == {
        closed_a: "witnessed",
        closed_b: "witnessed",
    }
    assert code == 0, (rep["failures"], rep["skipped"])
