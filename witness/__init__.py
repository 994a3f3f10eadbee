"""A C2SP tlog-witness: cosigns checkpoints of the logs it accepts, once each
is proven consistent with the last one it cosigned (docs/SPEC.md section 14).
Run with ``python -m witness``; see witness/README.md."""
