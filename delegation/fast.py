"""Delegation resolution with NumPy pointer jumping, for 10^6 members.

Every member points at its delegate; voters and members whose chain stops
there (no setting, or an expelled target) point at themselves. Squaring the
pointer map k times follows 2^k delegations at once, so ceil(log2 N) rounds
reach every terminal a chain can reach; a pointer that still lands on a
non-terminal member is caught in a cycle. An optimisation of
`resolve.resolve_reference` (docs/SPEC.md section 10), nothing more: same
answers, which the tests check with hypothesis (test_delegation_properties.py).
"""

from __future__ import annotations

import numpy as np

from .arrays import compile_arrays
from .model import Counts, Electorate, ElectorateError, Outcome, Resolution
from .resolve import EXPELLED, NO_SETTING

__all__ = ["compile_arrays", "resolve", "resolve_arrays"]


def resolve(e: Electorate) -> Resolution:
    """Resolve every active member; `outcome` and `carrier` are NumPy int
    arrays indexed like `e.members` (the key -> index map behind
    `outcome_of` and `carrier_of` is built on first use). Raises
    ElectorateError like `compile_electorate`."""
    index, target, choice = compile_arrays(e)
    outcome, carrier, counts = resolve_arrays(target, choice)
    # NumPy arrays index like the sequences Resolution declares.
    return Resolution(e.members, index, outcome, carrier, counts)  # type: ignore[arg-type]


def resolve_arrays(target: np.ndarray, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray, Counts]:
    """The core on an already indexed electorate, for callers that keep one
    (at 10^6 members, mapping string keys to indices costs ten times more
    than this): `target[i]` is the index i delegates to for the motion, or
    NO_SETTING (-1) or EXPELLED (-2); `choice[i]` is 0 yes, 1 no, 2 abstain or
    -1. Returns (outcome, carrier, counts). Raises ElectorateError on arrays
    of different lengths or values out of range."""
    target = np.asarray(target)
    choice = np.asarray(choice, dtype=np.int8)
    n = len(target)
    if target.shape != (n,) or choice.shape != (n,):
        raise ElectorateError(
            "bad_arrays", f"target {target.shape} and choice {choice.shape}, want two flat arrays of one length"
        )
    if n and (target.min() < EXPELLED or target.max() >= n or choice.min() < -1 or choice.max() > 2):
        raise ElectorateError("bad_arrays", "a target or choice is out of range")
    dtype = np.int32 if n < 2**31 - 1 else np.int64
    target = target.astype(dtype, copy=False)
    voter = choice >= 0
    terminal = voter | (target < 0)
    ptr = np.where(terminal, np.arange(n, dtype=dtype), target)
    # Jump only the members whose pointer has not reached a terminal yet: the
    # others would jump in place (a terminal points at itself), so this is
    # the same as jumping all, and most chains are done in a round or two.
    moving = np.flatnonzero(~terminal[ptr])
    for _ in range(max(n, 1).bit_length()):
        if not len(moving):
            break
        ptr[moving] = ptr[ptr[moving]]
        moving = moving[~terminal[ptr[moving]]]
    end_voter = voter[ptr] & terminal[ptr]
    carrier = np.where(end_voter, ptr, -1).astype(dtype)
    outcome = np.full(n, Outcome.CYCLE, dtype=np.int8)
    outcome[terminal[ptr]] = Outcome.DEAD_END
    outcome[end_voter] = choice[ptr[end_voter]]
    outcome[~voter & (target == NO_SETTING)] = Outcome.ABSENT
    counts = Counts.from_outcomes(np.bincount(outcome, minlength=len(Outcome)).tolist(), int(voter.sum()))
    return outcome, carrier, counts
