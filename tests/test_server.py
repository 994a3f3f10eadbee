"""The HTTP API over aiohttp's test client: a whole life cycle, problem+json
refusals that write nothing, receipts and proofs that verify, OpenAPI; and
one run against a real `python server.py` process."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

import server
from client.author import Author, code_hash, genesis, new_code
from crypto import merkle
from crypto.canonical import canonical_bytes, parse_canonical
from crypto.checkpoint import open_checkpoint
from tests.conftest import ROOT
from tests.processes import free_port
from tests.world import Clock, at

PROBLEM = "https://liquid-mandate.org/problems/"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(aiohttp_client, tmp_path: Path, clock: Clock):
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


class Client:
    """Posts statements through the API the way any client would."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.founder = Author()
        self.assembly = ""
        self.server_key = ""

    async def post(self, signed: dict[str, Any], status: int = 201) -> dict[str, Any]:
        resp = await self.api.post("/api/statements", data=json.dumps(signed), headers=JSON)
        body = await resp.json(content_type=None)
        assert resp.status == status, body
        return body

    async def found(self) -> None:
        info = await (await self.api.get("/api/server")).json()
        self.server_key = info["server_key"]
        await self.post(genesis(self.founder, server=self.server_key))
        self.assembly = (await (await self.api.get("/api/server")).json())["assembly"]

    async def member(self, name: str) -> Author:
        code = new_code()
        await self.post(self.founder.sign("invite", self.assembly, code_hash=code_hash(code), note=""))
        a = Author()
        await self.post(a.sign("enroll", self.assembly, code=code, name=name))
        return a

    async def log(self) -> list[bytes]:
        text = await (await self.api.get("/api/log", params={"from": 0, "limit": 10000})).read()
        return text.splitlines()


def verify_receipt(receipt: dict[str, Any], server_key: str) -> int:
    origin = receipt["checkpoint"].split("\n", 1)[0]
    cp = open_checkpoint(receipt["checkpoint"], public_key=bytes.fromhex(server_key), name=origin)
    data = canonical_bytes(receipt["entry"])
    assert hashlib.sha256(data).hexdigest() == receipt["entry_hash"]
    merkle.verify_inclusion(
        merkle.leaf_hash(data), receipt["index"], cp.size, [bytes.fromhex(h) for h in receipt["proof"]], cp.root
    )
    return cp.size


async def test_life_cycle_from_genesis_to_instructions(api, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    alice, bob, carol = [await c.member(n) for n in ("alice", "bob", "carol")]
    await c.post(c.founder.sign("deputies", c.assembly, roster=[alice.public, bob.public, carol.public]))
    await c.post(c.founder.sign("topic", c.assembly, id="energy", title="Energy", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="wind",
            topic="energy",
            title="Wind farms",
            summary="Build.",
            url="",
            opens=at(clock),
            closes=at(clock, seconds=600),
            quorum=None,
        )
    )
    receipt = await c.post(alice.sign("ballot", c.assembly, motion="wind", choice="yes"))
    verify_receipt(receipt, c.server_key)
    await c.post(bob.sign("delegate", c.assembly, scope="topic:energy", to=alice.public))
    await c.post(carol.sign("ballot", c.assembly, motion="wind", choice="no"))

    resp = await api.get("/api/motions/wind")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    live = await resp.json()
    assert live["state"] == "open" and live["result"] is None
    assert (live["tally"]["yes"], live["tally"]["no"]) == (2, 1)
    path = await (await api.get(f"/api/members/{bob.public}/motions/wind")).json()
    assert path["path"] == [bob.public, alice.public] and path["outcome"] == "yes"
    carried = await (await api.get(f"/api/members/{alice.public}/motions/wind")).json()
    assert carried["weight"] == 2 and carried["carried"] == [bob.public]
    assert (await (await api.get(f"/api/seq/{alice.public}")).json())["seq"] == 2

    clock.advance(seconds=601)
    for _ in range(100):  # the server's closer runs every 50 ms in this test
        closed = await (await api.get("/api/motions/wind")).json()
        if closed["state"] == "closed" and closed["result"]:
            break
        await __import__("asyncio").sleep(0.05)
    result = closed["result"]
    assert (result["yes"], result["no"], result["seats"]) == (2, 1, {"yes": 2, "no": 1, "abstain": 0})
    told = {}
    for d in (alice, bob, carol):
        ins = (await (await api.get(f"/api/deputies/{d.public}/instructions")).json())["instructions"]
        assert len(ins) == 1 and ins[0]["motion"] == "wind"
        told[d.public] = ins[0]["choice"]
        entry = await (await api.get(f"/api/entries/{ins[0]['result_index']}")).json()
        assert entry["entry"]["statement"]["kind"] == "result"
    assert sorted(told.values()) == ["no", "yes", "yes"]
    motions = (await (await api.get("/api/motions", params={"state": "closed"})).json())["motions"]
    assert [m["id"] for m in motions] == ["wind"]


async def test_refusals_are_problems_and_write_nothing(api, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    alice = await c.member("alice")
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    replay = alice.sign("delegate", c.assembly, scope="*", to="self")
    await c.post(replay)
    before = await c.log()
    cases = [
        (b'{"statement": 1', 400, "malformed"),
        (b'{"a": 1.5}', 400, "malformed"),
        (json.dumps({"statement": {}, "signature": "00"}).encode(), 400, "malformed"),
        (json.dumps(alice.sign("ballot", c.assembly, motion="nope", choice="yes")).encode(), 422, "unknown_motion"),
        (
            json.dumps(alice.sign("topic", c.assembly, id="x", title="X", description="", parent=None)).encode(),
            403,
            "not_organizer",
        ),
        (json.dumps(Author().sign("ballot", c.assembly, motion="t", choice="yes")).encode(), 403, "not_member"),
        (
            json.dumps(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None)).encode(),
            409,
            "duplicate_topic",
        ),
        (b"x" * (server.MAX_BODY + 1), 413, "too_large"),
    ]
    forged = alice.sign("delegate", c.assembly, scope="*", to="self")
    forged["signature"] = "00" * 64
    cases.append((json.dumps(forged).encode(), 403, "bad_signature"))
    cases.append((json.dumps(replay).encode(), 409, "replayed_seq"))
    for body, status, code in cases:
        resp = await api.post("/api/statements", data=body, headers=JSON)
        problem = await resp.json(content_type=None)
        assert resp.status == status, (code, problem)
        assert resp.content_type == "application/problem+json"
        assert problem["type"] == PROBLEM + code and problem["status"] == status and problem["detail"]
    assert await c.log() == before
    metrics = await (await api.get("/metrics")).text()
    assert 'liquid_mandate_refusals_total{type="not_member"} 1' in metrics
    for path, status, code in [
        ("/api/motions/nope", 404, "not_found"),
        ("/api/proof/inclusion?index=x", 400, "bad_request"),
        ("/api/proof/inclusion?index=99&size=100", 400, "bad_request"),
        ("/api/entries/999", 404, "not_found"),
        ("/api/graph?scope=topic:zz", 404, "not_found"),
    ]:
        resp = await api.get(path)
        assert resp.status == status and (await resp.json(content_type=None))["type"] == PROBLEM + code


async def test_proofs_from_the_api_verify(api, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    for n in range(5):
        await c.member(f"m{n}")
    old_cp = await (await api.get("/api/checkpoint")).text()
    old_size = int(old_cp.split("\n")[1])
    await c.member("late")
    lines = await c.log()
    size = len(lines)
    cp = open_checkpoint(
        await (await api.get("/api/checkpoint")).text(),
        public_key=bytes.fromhex(c.server_key),
        name=f"liquid-mandate/{c.assembly}",
    )
    assert cp.size == size
    for index in range(size):
        body = await (await api.get("/api/proof/inclusion", params={"index": index, "size": size})).json()
        merkle.verify_inclusion(
            merkle.leaf_hash(lines[index]), index, size, [bytes.fromhex(h) for h in body["proof"]], cp.root
        )
    body = await (await api.get("/api/proof/consistency", params={"from": old_size, "to": size})).json()
    old_root = base64.b64decode(old_cp.split("\n")[2])
    merkle.verify_consistency(old_size, size, [bytes.fromhex(h) for h in body["proof"]], old_root, cp.root)
    assert all(parse_canonical(x)["index"] == i for i, x in enumerate(lines))


async def test_openapi_is_valid_and_lists_every_route(api) -> None:
    doc = await (await api.get("/openapi.json")).json()
    validate(doc)
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = {
        (r.method, r.resource.canonical)
        for r in api.app.router.routes()
        if r.resource is not None
        and r.method not in ("HEAD", "*")  # "*": the problem+json fallback of unknown /api/ paths
        and r.resource.canonical.startswith(("/api", "/healthz", "/readyz", "/metrics", "/openapi"))
    }
    assert routed == listed


def test_a_real_server_process(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--data-dir", str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # imports alone take seconds on a loaded machine
        while True:
            try:
                info = json.load(urllib.request.urlopen(base + "/api/server", timeout=1))
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        founder = Author()
        req = urllib.request.Request(
            base + "/api/statements",
            data=json.dumps(genesis(founder, server=info["server_key"])).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 201
            verify_receipt(json.load(resp), info["server_key"])
        assert oct((tmp_path / "server.key").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out.decode()
    # The acknowledged genesis survived the shutdown, and `rebuild` re-projects it
    # (and drops the state snapshot the stop wrote: the next start reads the tables).
    assert os.path.getsize(tmp_path / "liquid-mandate.db") > 0
    assert (tmp_path / "state.snapshot").exists()
    rebuilt = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "rebuild", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rebuilt.returncode == 0 and "rebuilt the projections from 1 entries" in rebuilt.stdout, rebuilt.stderr
    assert not (tmp_path / "state.snapshot").exists()


# -- the pieces server.py wires: problems, events, the demo kept apart ---------------


def test_every_refusal_code_has_one_status() -> None:
    """The code -> status table is the server's (serving/problems.py): every
    rule of ballots/errors.py travels with a status from it, and a code
    without one cannot even be raised as a Problem."""
    from ballots import errors as E
    from serving.problems import STATUS, Problem, problem_for

    for cls in E.ALL_REFUSALS:
        status, code, title, detail = problem_for(cls("why"))
        assert code == cls.code and status == STATUS[cls.code], cls
        assert status in (403, 409, 422) or (code, status) == ("rate_limited", 429), cls
        assert title and detail == "why"
    assert {STATUS[c] for c in ("bad_signature", "not_organizer", "not_server", "not_member")} == {403}
    assert {STATUS[c] for c in ("replayed_seq", "already_founded", "motion_closed", "too_early")} == {409}
    with pytest.raises(KeyError, match="no HTTP status"):
        Problem("no_such_code", "x")
    with pytest.raises(TypeError):
        problem_for(ValueError("not ours"))


async def test_which_statements_make_a_tally_stale(world, clock: Clock) -> None:
    """SPEC section 10's inputs: a ballot its own motion, a delegation, the
    membership or the roster every motion not closed yet, other kinds none."""
    from serving.events import stale_motions

    await world.topic("t")
    await world.motion("done", "t", closes=60)
    await world.motion("open", "t", closes=3600)
    await world.motion("later", "t", opens=1800, closes=3600)
    clock.advance(seconds=61)
    await world.box.close_due()
    state = world.box.state
    assert state.motions["done"].close_index is not None
    assert stale_motions({"kind": "ballot", "motion": "open"}, state) == {"open"}
    for kind in ("delegate", "enroll", "expel", "deputies"):
        assert stale_motions({"kind": kind}, state) == {"open", "later"}
    for kind in ("invite", "topic", "motion", "close", "result", "assembly"):
        assert stale_motions({"kind": kind, "motion": "open"}, state) == set()


async def test_events_stream_entries_and_debounced_tallies(api, clock: Clock) -> None:
    c = Client(api)
    await c.found()
    alice, bob = await c.member("alice"), await c.member("bob")
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="m",
            topic="t",
            title="M",
            summary="S",
            url="",
            opens=at(clock),
            closes=at(clock, seconds=600),
            quorum=None,
        )
    )
    resp = await api.get("/api/events")
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    assert await resp.content.readuntil(b"\n\n") == b": connected\n\n"
    first = (await c.post(alice.sign("ballot", c.assembly, motion="m", choice="yes")))["index"]
    await c.post(bob.sign("ballot", c.assembly, motion="m", choice="no"))
    await c.post(alice.sign("ballot", c.assembly, motion="m", choice="no"))
    events: list[tuple[str, dict[str, Any]]] = []
    while not events or events[-1][0] != "tally" or events[-1][1]["tally"]["no"] != 2:
        raw = await __import__("asyncio").wait_for(resp.content.readuntil(b"\n\n"), timeout=5)
        head, data = raw.decode().strip().split("\n")
        events.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    entries = [d for e, d in events if e == "entry"]
    tallies = [d for e, d in events if e == "tally"]
    assert entries == [{"index": first + i, "kind": "ballot", "motion": "m"} for i in range(3)]
    # debounced: at most one tally event per ballot (one for the burst on a quiet machine),
    # the last one as the state stands after all three ballots
    assert 1 <= len(tallies) <= 3 and {t["motion"] for t in tallies} == {"m"}
    assert (tallies[-1]["tally"]["yes"], tallies[-1]["tally"]["no"]) == (0, 2)
    resp.close()


def test_server_imports_neither_client_nor_demo() -> None:
    """server.py is the edge; client/ is the member's side and demo/ is
    imported only when a demo flag asks for it."""
    probe = "import sys, server; print(sorted(m for m in sys.modules if m.split('.')[0] in ('client', 'demo')))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_the_size_holds_what_a_view_showed_while_its_batch_was_written(api, clock: Clock, monkeypatch) -> None:
    """A view may show a batch while it is written (docs/SPEC.md section 9,
    "Reads and writes"); `/api/server` asked meanwhile answers once it is
    committed, with a size that holds it, and so do the checkpoint and a
    proof's default size."""
    import asyncio

    from ballots import sql

    c = Client(api)
    await c.found()
    alice = await c.member("alice")
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    motion = dict(id="m", topic="t", title="M", summary="S", url="", quorum=None)
    await c.post(c.founder.sign("motion", c.assembly, **motion, opens=at(clock), closes=at(clock, seconds=600)))
    real, seen = sql.write_batch, []

    async def write_and_look(conn, entries, *rest):
        if entries[0]["kind"] == "ballot":
            shown = (await (await api.get("/api/motions/m")).json())["motion"]["voters"]
            staged = entries[0]["idx"]
            seen.append(
                (
                    shown,
                    asyncio.ensure_future(api.get("/api/server")),
                    asyncio.ensure_future(api.get("/api/checkpoint")),
                    asyncio.ensure_future(api.get("/api/proof/inclusion", params={"index": staged})),
                )
            )
            await asyncio.sleep(0.05)
        return await real(conn, entries, *rest)

    monkeypatch.setattr(sql, "write_batch", write_and_look)
    receipt = await c.post(alice.sign("ballot", c.assembly, motion="m", choice="yes"))
    ((shown, server_info, checkpoint, proof),) = seen
    assert shown == 1  # the view showed the ballot before its commit
    assert (await (await server_info).json())["size"] == receipt["index"] + 1
    assert (await (await checkpoint).text()).split("\n")[1] == str(receipt["index"] + 1)
    proof = await proof
    assert proof.status == 200 and (await proof.json())["size"] == receipt["index"] + 1
