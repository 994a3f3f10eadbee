"""HTTP security headers on every response (docs/SECURITY.md, "HTTP edge").

A ``<meta>`` Content-Security-Policy cannot forbid framing (browsers ignore
``frame-ancestors`` there), so the policy travels as a real header, on every
answer: pages, static files, JSON, problem+json and aiohttp's own errors
alike. ``Server`` names no version, so a scan learns nothing from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aiohttp import web

# The meta tag of web/index.html, plus what only a header can say.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SERVER = "liquid-mandate"

HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",  # for browsers older than frame-ancestors
        "Cross-Origin-Opener-Policy": "same-origin",
        "Server": SERVER,
    }
)


async def add_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: set the headers just before they are
    sent, so that no route, static file or error page can miss them."""
    for name, value in HEADERS.items():
        response.headers[name] = value


def install(app: web.Application) -> None:
    """Add the hook to ``app``."""
    app.on_response_prepare.append(add_security_headers)
