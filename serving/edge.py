"""Serving the application on a TCP port through the guarded protocol of
``serving.limits`` (``web.run_app`` cannot take a protocol of our own).

``run`` is ``web.run_app`` less the options we do not use: signals end it
gracefully, the app's cleanup runs, connections get ``shutdown_timeout``
seconds to finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_log import AccessLogger

from serving.limits import Connections, EdgeHandler, Limits


class EdgeSite(web.BaseSite):
    """A TCP site whose connections are ``EdgeHandler``s."""

    __slots__ = ("_host", "_port", "_limits", "_connections", "_access_log", "_access_log_class")

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        limits: Limits,
        access_log: logging.Logger | None = None,
        access_log_class: type[AbstractAccessLogger] = AccessLogger,
    ) -> None:
        super().__init__(runner)
        self._host, self._port, self._limits = host, port, limits
        self._access_log, self._access_log_class = access_log, access_log_class
        self._connections = Connections(limits.max_connections)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    def _protocol(self) -> EdgeHandler:
        server = self._runner.server
        assert server is not None
        return EdgeHandler(
            server,
            loop=asyncio.get_running_loop(),
            limits=self._limits,
            connections=self._connections,
            keepalive_timeout=self._limits.keepalive_timeout,
            access_log=self._access_log,
            access_log_class=self._access_log_class,
        )

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self._host, self._port, reuse_address=True)


def run(
    app: web.Application,
    host: str,
    port: int,
    limits: Limits,
    *,
    shutdown_timeout: float = 5.0,
    access_log: logging.Logger | None = None,
    access_log_class: type[AbstractAccessLogger] = AccessLogger,
    serve_until: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, or until ``serve_until()``
    (awaited once the port listens) returns or raises. Exceptions of the
    app's start-up (its cleanup contexts) and of ``serve_until`` propagate."""

    async def serve() -> None:
        runner = web.AppRunner(app, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        try:
            await EdgeSite(runner, host, port, limits, access_log, access_log_class).start()
            await (asyncio.Event().wait() if serve_until is None else serve_until())
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    except (web.GracefulExit, KeyboardInterrupt):
        pass


__all__ = ["EdgeSite", "run"]
