"""Limits at the HTTP edge (docs/SECURITY.md, "HTTP edge"): how long a client
may take to send its headers and its body, how many connections one address
may hold, how fast one address may POST, and how a request that breaks them
is answered. Every limit has a default here and a flag and variable in
``serving.settings``.

Two layers. ``EdgeHandler`` is aiohttp's connection protocol with a guard:
it counts connections per address and closes one whose headers do not arrive
in time (a slowloris holds sockets by sending a header byte now and then),
and it answers aiohttp's own parse errors (bad request line, bad header) with
a problem+json that never echoes the request. ``limits_middleware`` works
per request: the POST rate limit (429 with ``Retry-After``), an early 413 on
a ``Content-Length`` above the limit, and the body read under a deadline (a
body trickled at one byte a second is cut with 408), with a client that goes
away mid-body logged in one line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from serving.client_address import client_address
from serving.headers import HEADERS
from serving.problems import MAX_BODY, PROBLEM_BASE, problem_of

log = logging.getLogger("liquid-mandate.edge")


@dataclass(frozen=True, slots=True)
class Limits:
    """The edge's limits; 0 turns a rate or a cap off (tests, benchmarks)."""

    header_timeout: float = 10.0  # s from a request's first byte to the end of its headers
    body_timeout: float = 10.0  # s to receive a whole body (at most MAX_BODY bytes)
    keepalive_timeout: float = 15.0  # s an idle keep-alive connection stays open
    max_connections: int = 64  # concurrent connections per client address
    post_rate: float = 10.0  # POSTs per second per address, sustained
    post_burst: int = 100  # POSTs one address may send back to back


class PostRate:
    """A token bucket per client address: ``post_burst`` tokens, refilled at
    ``post_rate`` a second. ``take`` answers None (go ahead) or the seconds
    to wait."""

    MAX_ADDRESSES = 100_000  # forget full buckets beyond this many addresses

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def take(self, address: str) -> float | None:
        if self.rate <= 0:
            return None
        now = self.clock()
        tokens, at = self._buckets.get(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[address] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.MAX_ADDRESSES and address not in self._buckets:
            self._forget_full(now)
        self._buckets[address] = (tokens - 1.0, now)
        return None

    def _forget_full(self, now: float) -> None:
        for addr, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[addr]


def _problem_bytes(status: int, reason: str, code: str, detail: str, extra: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 problem+json response, for the places where aiohttp
    has no request to answer through (a connection refused at accept)."""
    body = json.dumps({"type": PROBLEM_BASE + code, "title": reason + ".", "status": status, "detail": detail}).encode()
    head = {
        **HEADERS,
        **(extra or {}),
        "Content-Type": "application/problem+json",
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return f"HTTP/1.1 {status} {reason}\r\n{lines}\r\n".encode("latin-1") + body


class Connections:
    """Open connections per client address, against ``Limits.max_connections``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        n = self.open.get(address, 0)
        if self.limit > 0 and n >= self.limit:
            return False
        self.open[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.open.get(address, 0) - 1
        if n > 0:
            self.open[address] = n
        else:
            self.open.pop(address, None)


class EdgeHandler(RequestHandler):
    """aiohttp's HTTP/1.1 protocol, guarded (see the module docstring)."""

    def __init__(self, manager: Any, *, limits: Limits, connections: Connections, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.limits, self.connections = limits, connections
        self.address = ""
        self.refused = False
        self.busy = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self.connections.admit(self.address):
            self.refused = True
            log.warning("refused a connection from %s: %d already open", self.address, self.connections.limit)
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(
                _problem_bytes(
                    429,
                    "Too Many Requests",
                    "rate_limited",
                    f"at most {self.connections.limit} connections per address",
                    {"Retry-After": "1"},
                )
            )
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self._header_timer is None and not self.busy:
            self._arm()
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.refused:
            return
        self.connections.release(self.address)
        self._disarm()
        super().connection_lost(exc)

    # -- the header deadline ------------------------------------------------
    def _arm(self) -> None:
        if self.limits.header_timeout > 0:
            loop = asyncio.get_running_loop()
            self._header_timer = loop.call_later(self.limits.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.busy or self.transport is None:
            return
        log.info(
            "closed a connection from %s: no complete request within %ss", self.address, self.limits.header_timeout
        )
        transport = self.transport
        self.force_close()
        transport.close()

    def request_started(self) -> None:
        self.busy = True
        self._disarm()

    def request_done(self) -> None:
        self.busy = False

    # -- aiohttp's own errors -----------------------------------------------
    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse: one log line and
        a problem+json that does not repeat the request (aiohttp's own echoes
        the bad line or header back, and logs a traceback)."""
        log.info("bad request from %s: %s (status %d)", request.remote, type(exc).__name__, status)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        if status == 400:
            resp = problem_of("bad_request", "the request line or a header is not valid HTTP/1.1")
        elif status in (413, 431):
            resp = problem_of("too_large", "the request line or the headers are too long")
            resp.set_status(status)
        else:
            resp = problem_of("internal", "the server failed; nothing was written")
        resp.headers.update(HEADERS)
        resp.force_close()
        return resp


# -- per request ---------------------------------------------------------------


def _retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def limits_middleware(limits: Limits, rate: PostRate) -> Any:
    """The per-request half of the edge (see the module docstring)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        proto = request.protocol
        guarded = isinstance(proto, EdgeHandler)
        if guarded:
            proto.request_started()
        try:
            if request.method == "POST":
                wait = rate.take(client_address(request))
                if wait is not None:
                    resp = problem_of("rate_limited", f"too many POSTs from this address; retry in {wait:.1f} s")
                    resp.headers["Retry-After"] = _retry_after(wait)
                    return resp
            if request.body_exists:
                early = _early_too_large(request)
                if early is not None:
                    return early
                try:
                    await asyncio.wait_for(request.read(), limits.body_timeout if limits.body_timeout > 0 else None)
                except TimeoutError:
                    log.info(
                        "cut %s %s from %s: body not received within %ss",
                        request.method,
                        request.path,
                        client_address(request),
                        limits.body_timeout,
                    )
                    resp = problem_of("timeout", f"the body must arrive within {limits.body_timeout} s")
                    resp.force_close()
                    return resp
                except (ConnectionResetError, asyncio.IncompleteReadError) as e:
                    log.info(
                        "%s %s from %s: the client went away mid-body (%s)",
                        request.method,
                        request.path,
                        client_address(request),
                        e,
                    )
                    resp = problem_of("bad_request", "the connection closed before the body was complete")
                    resp.force_close()
                    return resp
            return await handler(request)
        finally:
            if guarded:
                proto.request_done()

    return middleware


def _early_too_large(request: web.BaseRequest) -> web.Response | None:
    if request.content_length is not None and request.content_length > MAX_BODY:
        resp = problem_of("too_large", f"at most {MAX_BODY} bytes")
        resp.force_close()
        return resp
    return None


async def expect_handler(request: web.Request) -> web.StreamResponse | None:
    """``Expect: 100-continue``: refuse an oversized body with 413 before the
    client sends it; otherwise let it come (RFC 9110 section 10.1.1)."""
    if request.version < (1, 1) or request.headers.get("Expect", "").lower() != "100-continue":
        return None
    early = _early_too_large(request)
    if early is not None:
        return early
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None
