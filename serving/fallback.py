"""The answer to a request no API route takes: problem+json 404, or 405 with
``Allow`` when the path exists under another method (docs/SPEC.md section 9).

Registered last under ``/api/`` so that aiohttp's router, which would
otherwise hand ``GET /api/statements`` or ``HEAD /api/log`` to the static
file route (a bare 404 in ``application/octet-stream``), sends them here.
"""

from __future__ import annotations

from aiohttp import web

from serving.problems import Problem

FALLBACK_NAME = "api-fallback"


async def api_fallback(request: web.Request) -> web.StreamResponse:
    """Raise Problem ``method_not_allowed`` (with the methods the path takes)
    or ``not_found``."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name == FALLBACK_NAME or not resource.canonical.startswith("/api/"):
            continue
        match, methods = await resource.resolve(request)
        if match is None:
            allowed |= methods
    if allowed:
        raise MethodNotAllowed(sorted(allowed))
    raise Problem("not_found", f"no API route {request.path!r}")


class MethodNotAllowed(Problem):
    """405, naming the methods the path does take (RFC 9110: ``Allow``)."""

    def __init__(self, allowed: list[str]) -> None:
        super().__init__("method_not_allowed", f"this path takes {', '.join(allowed)}")
        self.allowed = allowed


def install(app: web.Application) -> None:
    """Add the catch-all; call after every API route is added."""
    app.router.add_route("*", "/api/{tail:.*}", api_fallback, name=FALLBACK_NAME)
