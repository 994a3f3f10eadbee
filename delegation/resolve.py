"""Delegation resolution: who carries whose vote on one motion.

Two engines share one compiled form (members as integer indices). The
reference engine walks each chain once in plain Python, memoising every
member it passes, so the whole electorate costs O(members + settings) and no
recursion; the fast engine (`delegation.fast`) does the same with NumPy
pointer jumping. Tests hold the two, and a naive walk, to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vocabulary import SELF

from .model import (
    CHOICE_CODE,
    Counts,
    Electorate,
    ElectorateError,
    Outcome,
    Reason,
    Resolution,
    VotePath,
)

# Codes of `Compiled.target` below zero.
NO_SETTING = -1  # no setting for the motion, or "self"
EXPELLED = -2  # delegates to a key that is not an active member


@dataclass(frozen=True, slots=True)
class Compiled:
    """An electorate reduced to integers: `target[i]` is the index of the
    member i delegates to for the motion (or NO_SETTING or EXPELLED) and
    `choice[i]` the code of i's ballot (0 yes, 1 no, 2 abstain) or -1."""

    members: Sequence[str]
    index: dict[str, int]
    target: list[int]
    choice: list[int]


def setting_for(scopes: Mapping[str, str] | None, chain: Sequence[str]) -> str | None:
    """A member's setting for a motion: the one at the first scope of the
    chain where they have one ("self" included), else None (docs/SPEC.md
    section 10, Resolution: the first scope with a setting wins). The one
    statement of the rule; `delegation.arrays` computes the same for all
    members at once as an optimisation, and the tests hold it to this."""
    if scopes:
        for scope in chain:
            t = scopes.get(scope)
            if t is not None:
                return t
    return None


def compile_electorate(e: Electorate) -> Compiled:
    """Map keys to indices and keep only what counts: settings and ballots of
    active members. Raises ElectorateError on a duplicate member, an empty
    scope chain or an unknown choice."""
    if not e.chain:
        raise ElectorateError("empty_chain", "scope chain is empty, want at least one scope")
    members = e.members
    index = {k: i for i, k in enumerate(members)}
    if len(index) != len(members):
        raise ElectorateError("duplicate_member", f"{len(members)} members but {len(index)} distinct keys")
    n = len(members)
    get = index.get
    chain = tuple(e.chain)
    target = [NO_SETTING] * n
    for m, scopes in e.settings.items():
        i = get(m)
        if i is None:
            continue
        t = setting_for(scopes, chain)
        if t is not None and t != SELF:
            j = get(t)
            target[i] = EXPELLED if j is None else j
    choice = [-1] * n
    for m, c in e.ballots.items():
        i = get(m)
        if i is None:
            continue
        code = CHOICE_CODE.get(c)
        if code is None:
            raise ElectorateError("bad_choice", f"ballot of {m} is {c!r}, want yes, no or abstain")
        choice[i] = code
    return Compiled(members, index, target, choice)


def count(outcome: Sequence[int], direct: int) -> Counts:
    """Counts from outcome codes (see `Counts.from_outcomes`)."""
    by = [0] * len(Outcome)
    for o in outcome:
        by[o] += 1
    return Counts.from_outcomes(by, direct)


def resolve_reference(e: Electorate) -> Resolution:
    """Resolve every active member in plain Python (see module docstring)."""
    c = compile_electorate(e)
    target, choice = c.target, c.choice
    n = len(target)
    # reach[i]: what a vote arriving at i becomes: the index of the voter it
    # counts for, DEAD or CYC; UNKNOWN until i is resolved.
    DEAD, CYC, UNKNOWN, ON_PATH = -1, -2, -3, -4
    reach = [UNKNOWN] * n
    for i in range(n):
        if choice[i] >= 0:
            reach[i] = i
        elif target[i] < 0:
            reach[i] = DEAD
    for i in range(n):
        if reach[i] != UNKNOWN:
            continue
        path = []
        j = i
        while reach[j] == UNKNOWN:
            reach[j] = ON_PATH
            path.append(j)
            j = target[j]
        end = CYC if reach[j] == ON_PATH else reach[j]
        for k in path:
            reach[k] = end
    outcome = [0] * n
    carrier = [-1] * n
    direct = 0
    for i in range(n):
        if choice[i] >= 0:
            outcome[i] = choice[i]
            carrier[i] = i
            direct += 1
        elif target[i] == NO_SETTING:
            outcome[i] = Outcome.ABSENT
        else:
            r = reach[i]
            if r >= 0:
                outcome[i] = choice[r]
                carrier[i] = r
            else:
                outcome[i] = Outcome.CYCLE if r == CYC else Outcome.DEAD_END
    return Resolution(c.members, c.index, outcome, carrier, count(outcome, direct))


def vote_path(e: Electorate, member: str) -> VotePath:
    """Follow one member's vote, for their own view ("who carries my vote").
    O(length of the path) after building the set of active members. Raises
    ElectorateError if `member` is not active."""
    members = e.members
    active = members if isinstance(members, (set, frozenset, Mapping)) else set(members)
    if member not in active:
        raise ElectorateError("not_member", f"{member} is not an active member")
    path = [member]
    if member in e.ballots:
        return VotePath(tuple(path), e.ballots[member], Reason.VOTED)
    seen = {member}
    m = member
    while True:
        t = setting_for(e.settings.get(m), e.chain)
        if t is None or t == SELF:
            lost = Outcome.ABSENT if m == member else Outcome.DEAD_END
            reason = Reason.NO_DELEGATION if t is None else Reason.SELF
            return VotePath(tuple(path), lost.label, reason)
        path.append(t)
        if t not in active:
            return VotePath(tuple(path), Outcome.DEAD_END.label, Reason.EXPELLED)
        if t in seen:
            return VotePath(tuple(path), Outcome.CYCLE.label, Reason.CYCLE)
        if t in e.ballots:
            return VotePath(tuple(path), e.ballots[t], Reason.DELEGATED)
        seen.add(t)
        m = t
