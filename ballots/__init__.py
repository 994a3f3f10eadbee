"""Statements and the ballot box.

- ``statements``: the typed statements and their structural validation.
- ``state``: the assembly's state and the stateful rules (pure).
- ``errors``: one exception per refusal rule, with stable codes.
- ``box``: ``BallotBox``, the append-only log with group commit and receipts.
- ``sql`` and ``schema``: the tables and how batches are written to them.
- ``projection``: rows between the state and the projection tables.
- ``closing`` and ``views``: inputs of the tally, and read models for the API.
"""
