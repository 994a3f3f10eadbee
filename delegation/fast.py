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

from itertools import repeat

from .model import CHOICE_CODE, SELF, Counts, Electorate, ElectorateError, Outcome, Resolution
from .resolve import EXPELLED, NO_SETTING

_LOST = frozenset((None, SELF))


def compile_arrays(e: Electorate) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """`resolve.compile_electorate` with NumPy arrays out: (index, target,
    choice). The key lookups are memory-bound at 10^6 members, so they run
    as C-level `map` passes rather than a Python loop. Raises ElectorateError
    like compile_electorate."""
    if not e.chain:
        raise ElectorateError("empty_chain", "scope chain is empty, want at least one scope")
    members = e.members
    n = len(members)
    index = dict(zip(members, range(n)))
    if len(index) != n:
        raise ElectorateError("duplicate_member",
                              f"{n} members but {len(index)} distinct keys")
    get = index.get
    chain = tuple(e.chain)
    eff: list[str | None] = []
    add = eff.append
    for scopes in e.settings.values():
        t = None
        if scopes:
            for scope in chain:
                t = scopes.get(scope)
                if t is not None:
                    break
        add(t)
    k = len(eff)
    holder = np.fromiter(map(get, e.settings, repeat(-1)), dtype=np.int64, count=k)
    to = np.fromiter(map(get, eff, repeat(EXPELLED)), dtype=np.int64, count=k)
    lost = np.fromiter(map(_LOST.__contains__, eff), dtype=bool, count=k)
    keep = (holder >= 0) & ~lost
    target = np.full(n, NO_SETTING, dtype=np.int64)
    target[holder[keep]] = to[keep]
    b = len(e.ballots)
    voter = np.fromiter(map(get, e.ballots, repeat(-1)), dtype=np.int64, count=b)
    code = np.fromiter(map(CHOICE_CODE.get, e.ballots.values(), repeat(-1)), dtype=np.int8, count=b)
    active = voter >= 0
    if (code[active] < 0).any():
        bad = next(c for m, c in e.ballots.items() if m in index and c not in CHOICE_CODE)
        raise ElectorateError("bad_choice", f"a ballot is {bad!r}, want yes, no or abstain")
    choice = np.full(n, -1, dtype=np.int8)
    choice[voter[active]] = code[active]
    return index, target, choice


def resolve(e: Electorate) -> Resolution:
    """Resolve every active member; `outcome` and `carrier` are NumPy int
    arrays indexed like `e.members`. Raises ElectorateError like
    `compile_electorate`."""
    index, target, choice = compile_arrays(e)
    outcome, carrier, counts = resolve_arrays(target, choice)
    return Resolution(e.members, index, outcome, carrier, counts)


def resolve_arrays(target: np.ndarray, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray, Counts]:
    """The core on an already indexed electorate, for callers that keep one
    (at 10^6 members, mapping string keys to indices costs ten times more
    than this): `target[i]` is the index i delegates to for the motion, or
    NO_SETTING (-1) / EXPELLED (-2); `choice[i]` is 0 yes, 1 no, 2 abstain or
    -1. Returns (outcome, carrier, counts). Raises ElectorateError on arrays
    of different lengths or values out of range."""
    target = np.asarray(target)
    choice = np.asarray(choice, dtype=np.int8)
    n = len(target)
    if target.shape != (n,) or choice.shape != (n,):
        raise ElectorateError("bad_arrays", f"target {target.shape} and choice {choice.shape}, "
                              "want two flat arrays of one length")
    if n and (target.min() < EXPELLED or target.max() >= n or choice.min() < -1 or choice.max() > 2):
        raise ElectorateError("bad_arrays", "a target or choice is out of range")
    dtype = np.int32 if n < 2**31 - 1 else np.int64
    target = target.astype(dtype, copy=False)
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
    return outcome, carrier, counts


def weights_array(r: Resolution) -> np.ndarray:
    """Weight per member index (0 for non-voters), from a fast resolution."""
    carrier = np.asarray(r.carrier)
    return np.bincount(carrier[carrier >= 0], minlength=len(carrier))
