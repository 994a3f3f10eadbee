"""What server.py wires together besides its routes. No module here imports
server.py, client/ or demo/.

- ``problems``: problem code -> HTTP status (the one table) and problem+json.
- ``events``: the server-sent events hub, and which statements make a live
  tally stale.
- ``settings``: ``Settings``, read once from flags and environment.
- ``keyfile``: the server's signing key file.
- ``metrics``, ``openapi``: Prometheus text and the OpenAPI document.
- ``export``, ``restore``, ``backup``, ``ops_commands``: the operator's
  ``server.py restore`` and ``backup`` (docs/SPEC.md section 13).
"""
