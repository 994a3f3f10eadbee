"""Which witnesses the server submits its checkpoints to (docs/SPEC.md
section 14.2, "Whom the server submits to"): a pure function of the log's
witness policies, its lotteries and how far each policy's witnesses have
cosigned, so that it is the same after a restart and in every server
process sharing one database, and can be tested over random logs.

The policy that governs a motion or a draw is the last `witnesses` entry
before its `commit`; its close is judged under that policy alone (section
14.3). So a policy replaced while a motion is open must go on being served
until that motion's close is witnessed under it: until at least `quorum` of
its witnesses cosigned one checkpoint of size above the close's index. The
server then submits to the union of the current policy's cosigners and the
cosigners of every earlier policy that still governs such an open, or
closed but not yet witnessed, lottery; once an earlier policy has nothing
left to witness, its witnesses that the current policy does not list are
dropped.

A witness is one (name, key) pair: a policy may list a name again with
another key (a new key of the same witness), and the cosignature table and
the verifier tell them apart the same way. When several policies list one
pair, the latest policy's URL is used.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ballots.state import AssemblyState, Witnesses
from vocabulary import DRAW_PREFIX, MOTION_PREFIX


@dataclass(frozen=True, slots=True)
class LotteryAt:
    """A motion's or a draw's place in the log: ``lottery`` is ``motion:<id>``
    or ``draw:<id>``; the policy that governs it is the last `witnesses` entry
    before index ``governed_before`` (its `commit`'s index); ``closed_at`` is
    the index of its `close` (or `drawn`), None while it is open."""

    lottery: str
    governed_before: int
    closed_at: int | None


@dataclass(frozen=True, slots=True)
class Target:
    """One witness to submit to. ``current``: listed by the policy in force.
    ``earlier_policies``: the indexes of the earlier policies listing it that
    still govern a lottery not witnessed yet (empty when it serves the current
    policy only); ``lotteries``: those lotteries, ascending."""

    name: str
    key: str  # hex
    url: str
    current: bool
    earlier_policies: tuple[int, ...]
    lotteries: tuple[str, ...]


def governing(policies: Sequence[Witnesses], before: int) -> Witnesses | None:
    """The last policy of ``policies`` (ascending by index) whose index is
    below ``before``, or None when no policy comes before it."""
    i = bisect_left([p.index for p in policies], before)
    return policies[i - 1] if i > 0 else None


def lotteries_of(state: AssemblyState, *, before: int | None = None) -> list[LotteryAt]:
    """Every motion and draw of ``state`` as a ``LotteryAt``; with ``before``,
    only those governed by a policy earlier than entry ``before`` (committed
    before it: the only ones an earlier policy can govern)."""
    out = []
    for lottery, index, closed in (
        *((MOTION_PREFIX + m.id, m.index, m.close_index) for m in state.motions.values()),
        *((DRAW_PREFIX + d.id, d.index, d.drawn_index) for d in state.draws.values()),
    ):
        committed = state.lotteries.get(lottery)
        at = committed.index if committed is not None else index
        if before is None or at < before:
            out.append(LotteryAt(lottery, at, closed))
    return out


def pending(
    policies: Sequence[Witnesses], lotteries: Iterable[LotteryAt], witnessed_to: Mapping[int, int]
) -> dict[str, int]:
    """The lotteries an earlier policy still has to witness, each with the
    index of that policy: governed by a policy other than the current (the
    last of ``policies``), and open, or closed at an index I with no checkpoint
    of size > I cosigned by a quorum of that policy's witnesses
    (``witnessed_to[policy index]``: the largest size so cosigned; missing
    means none)."""
    if not policies:
        return {}
    current = policies[-1].index
    out = {}
    for lot in lotteries:
        policy = governing(policies, lot.governed_before)
        if policy is None or policy.index == current:
            continue
        if lot.closed_at is None or witnessed_to.get(policy.index, 0) <= lot.closed_at:
            out[lot.lottery] = policy.index
    return out


def submission_targets(
    policies: Sequence[Witnesses], lotteries: Iterable[LotteryAt], witnessed_to: Mapping[int, int]
) -> tuple[Target, ...]:
    """Whom to submit every new checkpoint to: the cosigners of the current
    policy (the last of ``policies``, which must be ascending by index), in
    its order, then those of each earlier policy with a lottery ``pending``,
    by policy index and in that policy's order, each (name, key) once. Empty
    without a policy."""
    if not policies:
        return ()
    by_index = {p.index: p for p in policies}
    serving: dict[int, list[str]] = {}
    for lottery, index in pending(policies, lotteries, witnessed_to).items():
        serving.setdefault(index, []).append(lottery)
    current = policies[-1]
    order: list[tuple[str, str]] = []
    urls: dict[tuple[str, str], str] = {}
    earlier: dict[tuple[str, str], list[int]] = {}
    owed: dict[tuple[str, str], set[str]] = {}
    for c in current.cosigners:
        pair = (c["name"], c["key"])
        order.append(pair)
        urls[pair] = c["url"]
    for index in sorted(serving):
        for c in by_index[index].cosigners:
            pair = (c["name"], c["key"])
            if pair not in urls:
                order.append(pair)
                urls[pair] = c["url"]
            earlier.setdefault(pair, []).append(index)
            owed.setdefault(pair, set()).update(serving[index])
    # The latest policy listing a pair gives its URL (the current one first of all).
    listed = {(c["name"], c["key"]) for c in current.cosigners}
    for p in policies:
        for c in p.cosigners:
            pair = (c["name"], c["key"])
            if pair in urls and pair not in listed:
                urls[pair] = c["url"]
    return tuple(
        Target(
            name=pair[0],
            key=pair[1],
            url=urls[pair],
            current=pair in listed,
            earlier_policies=tuple(earlier.get(pair, ())),
            lotteries=tuple(sorted(owed.get(pair, ()))),
        )
        for pair in order
    )
