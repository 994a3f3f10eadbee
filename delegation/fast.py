"""Delegation resolution with NumPy pointer jumping, for 10^6 members.

Every member points at its delegate; voters and members whose chain stops
there (no setting, or an expelled target) point at themselves. Squaring the
pointer map k times follows 2^k delegations at once, so ceil(log2 N) rounds
reach every terminal a chain can reach; a pointer that still lands on a
non-terminal member is caught in a cycle. Same answers as
`resolve.resolve_reference`, which the tests check.
"""

from __future__ import annotations

import numpy as np

from .model import Counts, Electorate, Outcome, Resolution
from .resolve import NO_SETTING, compile_electorate


def resolve(e: Electorate) -> Resolution:
    """Resolve every active member; `outcome` and `carrier` are NumPy int
    arrays indexed like `e.members`. Raises ElectorateError like
    `compile_electorate`."""
    c = compile_electorate(e)
    n = len(c.target)
    dtype = np.int32 if n < 2**31 - 1 else np.int64
    target = np.array(c.target, dtype=dtype)
    choice = np.array(c.choice, dtype=np.int8)
    voter = choice >= 0
    terminal = voter | (target < 0)
    ptr = np.where(terminal, np.arange(n, dtype=dtype), target)
    for _ in range(max(n, 1).bit_length()):
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    end_voter = voter[ptr] & terminal[ptr]
    carrier = np.where(end_voter, ptr, -1).astype(dtype)
    outcome = np.full(n, Outcome.CYCLE, dtype=np.int8)
    outcome[terminal[ptr]] = Outcome.DEAD_END
    outcome[end_voter] = choice[ptr[end_voter]]
    outcome[~voter & (target == NO_SETTING)] = Outcome.ABSENT
    by = np.bincount(outcome, minlength=6)
    direct = int(voter.sum())
    voted = int(by[0] + by[1] + by[2])
    counts = Counts(
        members=n, yes=int(by[Outcome.YES]), no=int(by[Outcome.NO]),
        abstain=int(by[Outcome.ABSTAIN]), direct=direct, delegated=voted - direct,
        dead_end=int(by[Outcome.DEAD_END]), cycle=int(by[Outcome.CYCLE]),
        absent=int(by[Outcome.ABSENT]),
    )
    return Resolution(c.members, c.index, outcome, carrier, counts)


def weights_array(r: Resolution) -> np.ndarray:
    """Weight per member index (0 for non-voters), from a fast resolution."""
    carrier = np.asarray(r.carrier)
    return np.bincount(carrier[carrier >= 0], minlength=len(carrier))
