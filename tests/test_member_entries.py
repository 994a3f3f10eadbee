"""GET /api/members/{key}/entries: a member's own history, read from the log
(issue 13: the browser remembers nothing the log can tell). Every entry the
key signed, in log order, with its hash; from it and the public proofs any
receipt can be rebuilt and checked, in a fresh browser too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import server
from crypto import merkle
from crypto.canonical import canonical_bytes
from tests.test_server import Client
from tests.world import Clock, at


@pytest.fixture
async def api(aiohttp_client, tmp_path: Path, clock: Clock):
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


async def test_a_members_entries_come_from_the_log(api, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    alice, bob = await c.member("alice"), await c.member("bob")
    await c.post(c.founder.sign("topic", c.assembly, id="city", title="City", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="park",
            topic="city",
            title="Park",
            summary="S.",
            url="",
            opens=at(clock),
            closes=at(clock, seconds=600),
            quorum=None,
        )
    )
    vote = alice.sign("ballot", c.assembly, motion="park", choice="yes")
    signed = [
        await c.post(vote),
        await c.post(alice.sign("delegate", c.assembly, scope="*", to=bob.public)),
        await c.post(alice.sign("ballot", c.assembly, motion="park", choice=None)),
    ]
    # A refused statement (the same envelope again: replayed seq) writes nothing, so lists nothing.
    again = await api.post("/api/statements", data=json.dumps(vote), headers={"Content-Type": "application/json"})
    assert again.status >= 400 and (await again.json(content_type=None))["type"].endswith("/replayed_seq")

    body = await (await api.get(f"/api/members/{alice.public}/entries")).json()
    assert body["member"] == alice.public
    got = body["entries"]
    assert [e["kind"] for e in got] == ["enroll", "ballot", "delegate", "ballot"]
    assert [e["index"] for e in got] == sorted(e["index"] for e in got)
    assert [e["index"] for e in got[1:]] == [r["index"] for r in signed]
    for e in got:
        assert e["entry"]["statement"]["author"] == alice.public and e["entry"]["index"] == e["index"]
        assert hashlib.sha256(canonical_bytes(e["entry"])).hexdigest() == e["entry_hash"]
    # A receipt rebuilt from the listing and the public proofs verifies.
    size = int((await (await api.get("/api/checkpoint")).text()).split("\n")[1])
    first = got[1]
    proof = await (await api.get("/api/proof/inclusion", params={"index": first["index"], "size": size})).json()
    merkle.verify_inclusion(
        merkle.leaf_hash(canonical_bytes(first["entry"])),
        first["index"],
        size,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    # Bob signed his enrolment only; an unknown key signed nothing.
    assert [e["kind"] for e in (await (await api.get(f"/api/members/{bob.public}/entries")).json())["entries"]] == [
        "enroll"
    ]
    assert (await (await api.get(f"/api/members/{'ab' * 32}/entries")).json())["entries"] == []


async def test_the_founders_entries_include_genesis(api) -> None:
    c = Client(api)
    await c.found()
    body = json.loads(await (await api.get(f"/api/members/{c.founder.public}/entries")).text())
    assert [(e["index"], e["kind"]) for e in body["entries"]] == [(0, "assembly")]
