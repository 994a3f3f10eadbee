"""Issue 11, "no 500, no traceback, no hang" and "bad input and abuse" at the
HTTP edge (serving/limits.py, serving/edge.py): each test is named after its
bullet and failed on main before the fix. Everything runs on loopback with
short, explicit limits, so each test is bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import server
from client.author import Author, genesis
from serving.edge import EdgeSite
from serving.limits import Limits, PostRate
from tests.processes import free_port
from tests.world import Clock

PROBLEM = "https://liquid-mandate.org/problems/"
JSON = {"Content-Type": "application/json"}


class Edge:
    """The real app behind the real guarded protocol, on a loopback port."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def raw(self, data: bytes, *, read_for: float = 2.0) -> bytes:
        """Send ``data`` on a fresh connection and read until it closes (or
        ``read_for`` seconds pass)."""
        r, w = await asyncio.open_connection("127.0.0.1", self.port)
        w.write(data)
        await w.drain()
        out = b""
        try:
            async with asyncio.timeout(read_for):
                while chunk := await r.read(65536):
                    out += chunk
        except TimeoutError:
            pass
        w.close()
        return out


async def _start(tmp_path: Path, clock: Clock, limits: Limits) -> tuple[web.AppRunner, Edge]:
    same = {f.name: getattr(limits, f.name) for f in dataclasses.fields(Limits)}  # both layers, one set of limits
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05, **same), clock=clock)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await EdgeSite(runner, "127.0.0.1", port, limits).start()
    return runner, Edge(port)


@pytest.fixture
async def edge_factory(tmp_path: Path, clock: Clock) -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []

    async def make(**limits: Any) -> Edge:
        runner, e = await _start(tmp_path, clock, Limits(**limits))
        runners.append(runner)
        return e

    yield make
    for r in runners:
        await r.cleanup()


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _problem(raw: bytes) -> dict[str, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), head
    return json.loads(body)


# -- no 500, no traceback ----------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes, leak",
    [
        (b"GARBAGE<script>alert(1)</script> / HTTP/1.1\r\nHost: x\r\n\r\n", b"<script>"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header<script>: 1\r\n\r\n", b"<script>"),
        (b"GET /\x00secret HTTP/1.1\r\nHost: x\r\n\r\n", b"secret"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope-secret\r\n\r\n", b"secret"),
    ],
)
async def test_aiohttp_own_400s_do_not_echo_the_request(
    edge_factory, caplog, request_bytes: bytes, leak: bytes
) -> None:
    e = await edge_factory()
    caplog.set_level(logging.DEBUG)
    raw = await e.raw(request_bytes)
    assert _status(raw) == 400 and leak not in raw
    assert _problem(raw)["type"] == PROBLEM + "bad_request"
    head = raw.partition(b"\r\n\r\n")[0].lower()
    assert b"frame-ancestors 'none'" in head and b"aiohttp" not in head
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_client_disconnecting_mid_body_is_logged_in_one_line(edge_factory, caplog) -> None:
    e = await edge_factory()
    caplog.set_level(logging.INFO)
    r, w = await asyncio.open_connection("127.0.0.1", e.port)
    w.write(
        b"POST /api/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    )
    await w.drain()
    await asyncio.sleep(0.2)
    w.close()
    for _ in range(50):
        if any("went away" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    lines = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_expect_100_continue_with_oversized_content_length_gets_413_before_the_body(edge_factory) -> None:
    e = await edge_factory()
    r, w = await asyncio.open_connection("127.0.0.1", e.port)
    w.write(
        b"POST /api/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: 10000000\r\n\r\n"
    )
    await w.drain()
    async with asyncio.timeout(3):
        first = await r.readuntil(b"\r\n")
    assert first.startswith(b"HTTP/1.1 413"), first  # not "100 Continue": the body never has to be sent
    w.close()
    # Without Expect, a Content-Length over the limit is refused before the body is read too.
    raw = await e.raw(
        b"POST /api/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    )
    assert _status(raw) == 413 and _problem(raw)["type"] == PROBLEM + "too_large"
    # A small body with Expect still gets its 100 Continue.
    r, w = await asyncio.open_connection("127.0.0.1", e.port)
    w.write(
        b"POST /api/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    await w.drain()
    async with asyncio.timeout(3):
        assert (await r.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
    w.close()


# -- slow clients, connection caps, rates ----------------------------------------------


async def test_slow_headers_are_cut_by_the_header_timeout(edge_factory) -> None:
    e = await edge_factory(header_timeout=0.5)
    r, w = await asyncio.open_connection("127.0.0.1", e.port)
    started = time.monotonic()
    w.write(b"GET /api/server HTTP/1.1\r\nHo")
    closed = False
    try:
        async with asyncio.timeout(5):
            while not closed:
                await asyncio.sleep(0.2)
                w.write(b"s")  # one header byte now and then, as a slowloris does
                closed = await _closed(r)
    finally:
        w.close()
        with contextlib.suppress(ConnectionError):
            await w.wait_closed()
    assert closed and time.monotonic() - started < 4


async def _closed(r: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(r.read(1), 0.05)
    except TimeoutError:
        return False
    except ConnectionError:  # cut with a reset: a byte was written after the server closed
        return True
    return data == b""


async def test_body_sent_at_one_byte_a_second_is_cut_within_the_body_timeout(edge_factory) -> None:
    e = await edge_factory(body_timeout=1.0)
    r, w = await asyncio.open_connection("127.0.0.1", e.port)
    w.write(
        b"POST /api/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    started = time.monotonic()
    out = b""
    async with asyncio.timeout(6):
        while b"\r\n\r\n" not in out:
            w.write(b" ")
            await w.drain()
            try:
                out += await asyncio.wait_for(r.read(4096), 0.3)
            except TimeoutError:
                pass
    assert time.monotonic() - started < 4
    assert _status(out) == 408
    w.close()


async def test_concurrent_connections_per_address_are_capped(edge_factory) -> None:
    e = await edge_factory(max_connections=3, header_timeout=30)
    held = [await asyncio.open_connection("127.0.0.1", e.port) for _ in range(3)]
    await asyncio.sleep(0.1)
    raw = await e.raw(b"GET /api/server HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _status(raw) == 429 and _problem(raw)["type"] == PROBLEM + "rate_limited"
    assert b"retry-after: 1" in raw.lower()
    held.pop()[1].close()
    await asyncio.sleep(0.2)
    ok = await e.raw(b"GET /api/server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _status(ok) == 200
    for _, w in held:
        w.close()


async def test_posts_per_address_are_rate_limited_with_429_and_retry_after(aiohttp_client, tmp_path, clock) -> None:
    settings = server.Settings(data_dir=tmp_path, close_interval=0.05, post_rate=0.5, post_burst=3)
    api = await aiohttp_client(server.create_app(settings, clock=clock))
    info = await (await api.get("/api/server")).json()
    founder = Author()
    r = await api.post("/api/statements", data=json.dumps(genesis(founder, server=info["server_key"])), headers=JSON)
    assert r.status == 201
    assembly = (await (await api.get("/api/server")).json())["assembly"]
    for _ in range(2):
        st = founder.sign("invite", assembly, code_hash=Author().public, note="")
        assert (await api.post("/api/statements", data=json.dumps(st), headers=JSON)).status == 201
    before = await (await api.get("/api/log")).read()
    st = founder.sign("invite", assembly, code_hash=Author().public, note="")
    resp = await api.post("/api/statements", data=json.dumps(st), headers=JSON)
    body = await resp.json(content_type=None)
    assert resp.status == 429 and body["type"] == PROBLEM + "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1
    assert await (await api.get("/api/log")).read() == before
    assert (await api.get("/api/server")).status == 200  # reads are not limited


def test_post_rate_bucket_refills() -> None:
    now = [0.0]
    rate = PostRate(2.0, 2, clock=lambda: now[0])
    assert rate.take("a") is None and rate.take("a") is None
    wait = rate.take("a")
    assert wait is not None and 0 < wait <= 0.5
    assert rate.take("b") is None  # per address
    now[0] += 0.5
    assert rate.take("a") is None
    assert PostRate(0, 0).take("a") is None  # 0: off


def test_limits_have_documented_defaults_and_are_configurable() -> None:
    _, s = server.settings_from([])
    assert s.limits == Limits()
    _, s = server.settings_from(
        [
            "--header-timeout",
            "3",
            "--body-timeout",
            "4",
            "--max-connections",
            "5",
            "--post-rate",
            "6",
            "--post-burst",
            "7",
        ]
    )
    assert s.limits == Limits(header_timeout=3, body_timeout=4, max_connections=5, post_rate=6, post_burst=7)
    _, s = server.settings_from([], {"LIQUID_MANDATE_POST_RATE": "0", "LIQUID_MANDATE_MAX_CONNECTIONS": "9"})
    assert s.limits.post_rate == 0 and s.limits.max_connections == 9
    security = (Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    for flag in ("--header-timeout", "--body-timeout", "--max-connections", "--post-rate", "--post-burst"):
        assert flag in security
