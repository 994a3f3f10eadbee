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
- ``client_address``: the client's address, behind a proxy or not, for the
  rate limits and the logs; ``logging_setup``: text or JSON-lines logs and
  the access log (docs/SPEC.md section 13.5).
"""
