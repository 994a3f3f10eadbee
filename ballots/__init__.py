"""Statements and the ballot box.

- ``statements``: the typed statements and their structural validation.
- ``state``: the assembly's state and how an entry changes it (pure).
- ``rules``: the rules of acceptance, close-first included (pure).
- ``errors``: ``BoxError``, its ``Malformed`` and ``Refused`` families, one
  exception per refusal rule, with stable codes (no HTTP).
- ``box``: ``BallotBox``, the append-only log with group commit and receipts.
- ``sql`` and ``schema``: the tables and how batches are written to them.
- ``projection``: rows between the state and the projection tables.
- ``closing`` and ``views``: inputs of the tally, and read models for the API.
"""
