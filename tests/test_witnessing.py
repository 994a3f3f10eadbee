"""The server uses its witnesses (DESIGN 9.1; serving/witnessing.py): the
whole app over aiohttp's test client with in-process witnesses on loopback
(witness.app over its own SQLite store). The `witnesses` statement starts
the submitter; cosignatures are kept per size and served on
/api/checkpoint and /api/checkpoints; a `close` is submitted at once; a
witness that is down or hangs never delays appends; state shows in
/api/witnesses and /metrics; a restart goes on from the stored sizes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import server
from crypto.checkpoint import open_checkpoint, split_notes
from crypto.signing import KeyPair
from serving.settings import settings_from
from tests.test_server import PROBLEM, Client
from tests.test_witness_support import independent_verify
from tests.world import Clock, at
from witness.app import create_app as witness_app
from witness.store import WitnessStore

FAST = {"min_interval": 0.05, "backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 1.0}


class Witness:
    """An in-process witness with its own key and store."""

    def __init__(self, tmp: Path, i: int) -> None:
        self.name = f"w{i}.example/witness"
        self.key = KeyPair(bytes([40 + i]) * 32)
        self.db = tmp / f"witness{i}.db"
        self.store = WitnessStore.open(self.db)
        self.store.init_name(self.name)
        self.server = TestServer(witness_app(self.store, self.key, self.name), host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def accept(self, origin: str, server_key: str) -> None:
        self.store.add_log(origin, bytes.fromhex(server_key))

    def cosigner(self) -> dict[str, str]:
        return {"name": self.name, "key": self.key.public_hex, "url": self.url}


@pytest.fixture
async def witnesses(tmp_path: Path) -> AsyncIterator[list[Witness]]:
    ws = [Witness(tmp_path, i) for i in range(2)]
    for w in ws:
        await w.server.start_server()
    yield ws
    for w in ws:
        await w.server.close()


async def make_api(aiohttp_client: Any, data_dir: Path, clock: Clock, **witness_options: Any) -> Any:
    settings = server.Settings(data_dir=data_dir, close_interval=0.05)
    app = server.create_app(settings, clock=clock, witness_options={**FAST, **witness_options})
    return await aiohttp_client(app)


async def founded(api: Any, witnesses: list[Witness], quorum: int = 2) -> Client:
    c = Client(api)
    await c.found()
    for w in witnesses:
        w.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    policy = {"cosigners": [w.cosigner() for w in witnesses], "quorum": quorum, "grace": 10}
    await c.post(c.founder.sign("witnesses", c.assembly, **policy))
    return c


async def wait_for(api: Any, path: str, want: Any, timeout: float = 10) -> Any:
    """GET ``path`` (JSON) until ``want(body)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        body = await (await api.get(path)).json()
        if want(body):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


def cosigned_all(size: int) -> Any:
    return lambda b: all((w.get("cosigned_size") or 0) >= size for w in b["witnesses"])


def check_note(note: str, c: Client, witnesses: list[Witness], n_cosigners: int) -> int:
    """The note is a valid checkpoint: the server's line first, then one line
    per witness, each verifying with the independent cosignature/v1. Returns
    its size."""
    text, sigs = note.split("\n\n", 1)
    lines = sigs.splitlines(keepends=True)
    origin = text.split("\n", 1)[0]
    cp = open_checkpoint(text + "\n\n" + lines[0], public_key=bytes.fromhex(c.server_key), name=origin)
    assert lines[0].startswith(f"\u2014 {origin} ")
    keys = {w.name: w.key.public_bytes for w in witnesses}
    names = [line.split(" ")[1] for line in lines[1:]]
    assert len(names) == n_cosigners and len(set(names)) == n_cosigners
    for line, name in zip(lines[1:], names):
        independent_verify(line, text + "\n", name, keys[name])
    return cp.size


async def test_cosigned_checkpoints_are_kept_and_served(aiohttp_client, tmp_path, clock, witnesses):
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = await founded(api, witnesses)
    size = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(size))
    note = await (await api.get("/api/checkpoint")).text()
    assert check_note(note, c, witnesses, 2) == size

    # Grow the log; the new size gets cosigned too.
    m = await c.member("ann")
    assert m is not None
    size2 = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(size2))
    assert check_note(await (await api.get("/api/checkpoint")).text(), c, witnesses, 2) == size2

    # A past size, exactly, with its own cosignatures.
    resp = await api.get("/api/checkpoints", params={"size": size})
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert check_note(await resp.text(), c, witnesses, 2) == size
    # A past size no witness saw: the server's line alone, still valid.
    uncosigned = await (await api.get("/api/checkpoints", params={"size": 1})).text()
    assert check_note(uncosigned, c, witnesses, 0) == 1

    # covering=I: the smallest size > I with a quorum of the policy; every
    # size between I and it has fewer than two cosigners.
    async def lines_at(k: int) -> int:
        note = await (await api.get("/api/checkpoints", params={"size": k})).text()
        return len(note.split("\n\n", 1)[1].splitlines()) - 1

    for i in [0, size - 1, size, size2 - 1]:
        resp = await api.get("/api/checkpoints", params={"covering": i})
        assert resp.status == 200
        got = check_note(await resp.text(), c, witnesses, 2)
        assert i < got <= size2
        assert all([await lines_at(k) < 2 for k in range(i + 1, got)])
    resp = await api.get("/api/checkpoints", params={"covering": size2})
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert (await resp.json())["type"] == PROBLEM + "not_witnessed"

    # No size nor covering: every cosigned checkpoint, ascending, page by
    # page (the export's .checkpoints part, SPEC 13.1), each as ?size=N serves it.
    whole = await (await api.get("/api/checkpoints")).text()
    notes = split_notes(whole)
    assert "\n".join(notes) == whole
    sizes = [int(n.split("\n", 2)[1]) for n in notes]
    assert sizes == sorted(set(sizes)) and {size, size2} <= set(sizes) and 1 not in sizes
    for n, k in zip(notes, sizes):
        assert n == await (await api.get("/api/checkpoints", params={"size": k})).text()
    page = await (await api.get("/api/checkpoints", params={"from": sizes[1], "limit": 1})).text()
    assert page == notes[1]
    assert await (await api.get("/api/checkpoints", params={"from": size2 + 1})).text() == ""

    for params, status in [
        ({"limit": 0}, 400),
        ({"from": "x"}, 400),
        ({"size": 0}, 400),
        ({"size": size2 + 1}, 404),
        ({"size": 1, "covering": 0}, 400),
    ]:
        resp = await api.get("/api/checkpoints", params=params)
        assert resp.status == status, params
        assert resp.content_type == "application/problem+json"


async def test_a_close_is_submitted_at_once(aiohttp_client, tmp_path, clock, witnesses):
    # A long rate limit: only submit_now() (after a close) can beat it.
    api = await make_api(aiohttp_client, tmp_path, clock, min_interval=60)
    c = await founded(api, witnesses)
    size = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(size))
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="bill",
            topic="t",
            title="Bill",
            summary="S",
            url="",
            opens=at(clock),
            closes=at(clock, seconds=60),
            quorum=None,
        )
    )
    await asyncio.sleep(0.5)
    body = await (await api.get("/api/witnesses")).json()
    assert all(w["cosigned_size"] == size for w in body["witnesses"])  # rate-limited
    clock.advance(seconds=61)
    closed = await wait_for(api, "/api/motions/bill", lambda b: b["state"] == "closed")
    assert closed["result"] is not None
    final = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(final), timeout=5)
    covering = await (await api.get("/api/checkpoints", params={"covering": final - 2})).text()
    assert check_note(covering, c, witnesses, 2) == final


async def test_a_witness_down_or_hanging_never_blocks_appends(aiohttp_client, tmp_path, clock, witnesses):
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_post("/add-checkpoint", hang)
    hanging = TestServer(app, host="127.0.0.1")
    await hanging.start_server()
    down = TestServer(web.Application(), host="127.0.0.1")
    await down.start_server()
    down_url = str(down.make_url("")).rstrip("/")
    await down.close()  # nothing listens there any more
    try:
        api = await make_api(aiohttp_client, tmp_path, clock, timeout=0.5)
        c = Client(api)
        await c.found()
        witnesses[0].accept(f"liquid-mandate/{c.assembly}", c.server_key)
        policy = {
            "cosigners": [
                witnesses[0].cosigner(),
                {"name": "down.example/w", "key": "d4" * 32, "url": down_url},
                {"name": "hang.example/w", "key": "e5" * 32, "url": str(hanging.make_url("")).rstrip("/")},
            ],
            "quorum": 2,
            "grace": 10,
        }
        await c.post(c.founder.sign("witnesses", c.assembly, **policy))
        started = time.monotonic()
        for i in range(10):
            await c.member(f"m{i}")
        assert time.monotonic() - started < 5  # 20 appends, whatever the witnesses do
        body = await wait_for(
            api, "/api/witnesses", lambda b: all(w.get("consecutive_failures", 0) > 0 for w in b["witnesses"][1:])
        )
        by_name = {w["name"]: w for w in body["witnesses"]}
        assert by_name["down.example/w"]["last_error"]
        assert "no answer within" in by_name["hang.example/w"]["last_error"]
        assert body["policy"]["quorum"] == 2 and body["allowed_hosts"] is None
        await wait_for(api, "/api/witnesses", lambda b: (b["witnesses"][0].get("cosigned_size") or 0) == b["size"])
        metrics = await (await api.get("/metrics")).text()
        assert 'liquid_mandate_witness_consecutive_failures{witness="down.example/w"}' in metrics
        assert f'liquid_mandate_witness_cosigned_size{{witness="{witnesses[0].name}"}} ' in metrics
        # One witness of a quorum of two: nothing covers the log yet.
        resp = await api.get("/api/checkpoints", params={"covering": 0})
        assert resp.status == 404
    finally:
        await hanging.close()


async def test_a_new_policy_replaces_the_old_one(aiohttp_client, tmp_path, clock, witnesses):
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = await founded(api, witnesses[:1], quorum=1)
    size = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(size))
    witnesses[1].accept(f"liquid-mandate/{c.assembly}", c.server_key)
    policy = {"cosigners": [witnesses[1].cosigner()], "quorum": 1, "grace": 5}
    await c.post(c.founder.sign("witnesses", c.assembly, **policy))
    size2 = size + 1
    body = await wait_for(api, "/api/witnesses", cosigned_all(size2))
    assert [w["name"] for w in body["witnesses"]] == [witnesses[1].name]
    # covering follows the policy in force: size (cosigned by w0 only) no longer counts.
    note = await (await api.get("/api/checkpoints", params={"covering": 0})).text()
    assert check_note(note, c, witnesses, 1) == size2
    # The old witness's lines are still served with their size.
    assert check_note(await (await api.get("/api/checkpoints", params={"size": size})).text(), c, witnesses, 1) == size


async def test_a_restart_goes_on_from_the_stored_sizes(aiohttp_client, tmp_path, clock, witnesses):
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = await founded(api, witnesses)
    size = (await (await api.get("/api/server")).json())["size"]
    await wait_for(api, "/api/witnesses", cosigned_all(size))
    await api.close()
    again = await make_api(aiohttp_client, tmp_path, clock)
    # Before anything new is appended, the sizes come from the table.
    body = await (await again.get("/api/witnesses")).json()
    assert [w["cosigned_size"] for w in body["witnesses"]] == [size, size]
    c.api = again
    await c.member("bea")
    size2 = (await (await again.get("/api/server")).json())["size"]
    body = await wait_for(again, "/api/witnesses", cosigned_all(size2))
    # The witnesses were asked with the right old size at once: no 409 learnt, no failure.
    assert all(w["submissions_failed"] == 0 for w in body["witnesses"])
    assert check_note(await (await again.get("/api/checkpoint")).text(), c, witnesses, 2) == size2


async def test_witness_hosts_restrict_where_the_server_posts(aiohttp_client, tmp_path, clock, witnesses):
    settings = server.Settings(data_dir=tmp_path, close_interval=0.05, witness_hosts=("witness.example.org",))
    api = await aiohttp_client(server.create_app(settings, clock=clock, witness_options=FAST))
    c = await founded(api, witnesses)
    body = await wait_for(
        api, "/api/witnesses", lambda b: len(b["witnesses"]) == 2 and b["witnesses"][0].get("blocked")
    )
    assert all(w["blocked"] and "not in the allowed witness hosts" in w["last_error"] for w in body["witnesses"])
    assert body["allowed_hosts"] == ["witness.example.org"]
    await asyncio.sleep(0.3)
    for w in witnesses:  # never contacted
        store = WitnessStore.open(w.db)
        try:
            assert store.latest(f"liquid-mandate/{c.assembly}") is None
        finally:
            store.close()


def test_witness_hosts_flag_and_environment() -> None:
    _, s = settings_from([], {})
    assert s.witness_hosts is None
    _, s = settings_from(["--witness-hosts", "a.example, B.example"], {})
    assert s.witness_hosts == ("a.example", "b.example")
    _, s = settings_from([], {"LIQUID_MANDATE_WITNESS_HOSTS": "w.example"})
    assert s.witness_hosts == ("w.example",)
    _, s = settings_from(["--witness-hosts", "x.example"], {"LIQUID_MANDATE_WITNESS_HOSTS": "w.example"})
    assert s.witness_hosts == ("x.example",)
    _, s = settings_from(["--witness-hosts", ""], {})
    assert s.witness_hosts == ()


def test_openapi_lists_the_witness_routes() -> None:
    doc = json.loads(json.dumps(server.openapi_document(server.ROUTES)))
    assert {"/api/checkpoints", "/api/witnesses"} <= set(doc["paths"])
    params = {p["name"] for p in doc["paths"]["/api/checkpoints"]["get"]["parameters"]}
    assert params == {"size", "covering", "from", "limit"}


def test_cli_witnesses_arguments() -> None:
    from client.cli import build_parser

    key = "ab" * 32
    args = build_parser().parse_args(
        ["witnesses", "--key", "k", "--quorum", "1", f"w.example/w1={key}@https://w.example/prefix"]
    )
    assert args.cosigners == [{"name": "w.example/w1", "key": key, "url": "https://w.example/prefix"}]
    assert args.grace == 10
    for bad in ["w.example", f"w={key}", f"={key}@https://x", "w=nothex@https://x"]:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["witnesses", "--key", "k", "--quorum", "1", bad])
