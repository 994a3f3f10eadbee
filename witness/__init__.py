"""A C2SP tlog-witness: cosigns checkpoints of the logs it accepts, once each
is proven consistent with the last one it cosigned (DESIGN section 9.1).
Run with ``python -m witness``; see witness/README.md."""
