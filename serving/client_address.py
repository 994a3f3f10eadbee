"""The address of the client a request comes from: the one function that
rate limits and logs ask (docs/SPEC.md section 13.5).

Directly on the network the peer's address is the client's. Behind a
reverse proxy (``--behind-proxy``; deploy/ has nginx and Caddy examples)
the peer is the proxy, and the client's address is the last entry of
``X-Forwarded-For``: the one the proxy itself added. Entries before it
came from the client and are not believed. Without ``--behind-proxy`` the
header is ignored altogether, since anyone can send it.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

BEHIND_PROXY = web.AppKey("behind_proxy", bool)
UNKNOWN = "unknown"


def client_address(request: web.BaseRequest) -> str:
    """The client's IP address as text (``unknown`` for a socket without one)."""
    peer = request.remote or UNKNOWN
    if not request.app.get(BEHIND_PROXY, False):
        return peer
    values = request.headers.getall("X-Forwarded-For", [])
    if not values:
        return peer
    last = values[-1].rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer  # a proxy that sends no address: the peer is all we know
