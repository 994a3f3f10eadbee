"""The server's start-up as the HTTP edge sees it (docs/SPEC.md section 9,
"Start-up"; issue 16): the server listens first and the ballot box loads
after, off the event loop's critical path, so that ``/healthz`` answers
during a load that takes a minute at 10^6 members. Until the box is ready,
``/healthz`` says ``loading`` (with the phase and its progress), ``/readyz``
and every other route answer ``503 loading`` with ``Retry-After``.

A load that fails (a projection digest mismatch, a corrupted log, a newer
schema) fails after the server began listening; the process then exits
with the message and exit code it always had (``server.py``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from serving.problems import problem_of

# The paths that answer while the box loads; everything else is 503.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
RETRY_AFTER = 1  # seconds: a 503 while loading costs the server nothing
# Test-only (docs/SPEC.md section 9, "Start-up"): the load waits until this
# file exists, so that a test sees the loading state without racing it.
HOLD_ENV = "LIQUID_MANDATE_TEST_HOLD_LOAD"


@dataclass(slots=True)
class Loading:
    """Where the start-up is: its phase (``starting``, ``schema``, ``log``,
    ``projections``, ``state``, ``live tallies``, then ``ready`` or
    ``failed``), how far (``done`` of ``total``, when known), since when."""

    phase: str = "starting"
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    failed: bool = False
    task: asyncio.Task[None] | None = None

    def report(self, phase: str, done: int, total: int | None) -> None:
        """The box's progress callback (``BallotBox.open(progress=...)``)."""
        self.phase, self.done, self.total = phase, done, total

    def status(self) -> dict[str, Any]:
        """The body of ``/healthz`` before the box is ready."""
        return {
            "status": "failed" if self.failed else "loading",
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "seconds": round(time.monotonic() - self.started, 1),
        }

    def detail(self) -> str:
        of = "" if self.total is None else f" of {self.total}"
        return f"the server is loading its state ({self.phase}: {self.done}{of}); retry in {RETRY_AFTER} s"


def unavailable(loading: Loading) -> web.Response:
    """``503 loading`` (problem+json) with ``Retry-After``."""
    resp = problem_of("loading", loading.detail())
    resp.headers["Retry-After"] = str(RETRY_AFTER)
    return resp


def loading_gate(loading: Loading) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware: before the box is ready, every path but ``OPEN_PATHS``
    is ``unavailable`` (never a 500, never a request left hanging)."""

    @web.middleware
    async def gate(request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not loading.ready and request.path not in OPEN_PATHS:
            return unavailable(loading)
        return await handler(request)

    return gate


def hold_from_env() -> Callable[[], Awaitable[None]] | None:
    """The test-only hold of ``HOLD_ENV``, or None when it is not set."""
    raw = os.environ.get(HOLD_ENV)
    if not raw:
        return None
    path = Path(raw)

    async def hold() -> None:
        while not path.exists():
            await asyncio.sleep(0.02)

    return hold
