"""The tally of a motion: quorum, seats and deputy instructions, as the
result document the ballot box signs, and the live provisional tally.

A pure fold over the resolution: the same inputs always give the same
document, which is how the verifier re-checks a `result` entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from delegation import Counts, Electorate, Resolution, resolve
from vocabulary import CHOICES, NO_QUORUM, Choice, Method

from .apportion import ApportionError, apportion, parse_method
from .lottery import ZERO_SEED, ballots_digest, check_seed, choice_order, deputy_order, lottery_seed


def quorum_met(counts: Counts, quorum: int) -> bool:
    """(yes + no + abstain) * 100 >= quorum * N; with N = 0 this is met."""
    return counts.voted * 100 >= quorum * counts.members


def motion_seed(r: bytes, e: Electorate) -> bytes:
    """The seed of a motion's lotteries (docs/SPEC.md section 16): r mixed
    with D, the digest of the (member, choice) of every active member with a
    ballot in ``e`` (the direct voters the tally counts)."""
    return lottery_seed(r, ballots_digest(e.members, e.ballots))


def seats_for(
    counts: Counts, *, seats: int, method: Method | str, quorum: int, no_quorum: Choice | str, seed: bytes
) -> tuple[bool, dict[str, int]]:
    """(quorum met, seats per choice). When the quorum fails or nobody's
    vote reached a voter, all seats go to `no_quorum`. Raises ApportionError
    on a quorum outside 0..100, a `no_quorum` other than abstain or no, an
    unknown method or a bad seed."""
    if type(quorum) is not int or not 0 <= quorum <= 100:
        raise ApportionError("bad_quorum", f"quorum is {quorum!r}, want an int in 0..100")
    if no_quorum not in NO_QUORUM:
        raise ApportionError("bad_no_quorum", f"no_quorum is {no_quorum!r}, want abstain or no")
    parse_method(method)
    check_seed(seed)
    met = quorum_met(counts, quorum)
    if not met or counts.voted == 0:
        out = {c.value: 0 for c in Choice}
        out[Choice(no_quorum).value] = seats
        return met, out
    return met, apportion(method, counts.by_choice(), seats, tie_order=choice_order(seed))


def instructions(seed: bytes, roster: Sequence[str], seats: dict[str, int]) -> list[dict[str, str]]:
    """Each deputy's instruction, in roster order: after the deputy lottery,
    the first seats["yes"] are told yes, the next seats["no"] no, the rest
    abstain. Raises ApportionError if the seats do not add up to the roster."""
    if sum(seats.values()) != len(roster):
        raise ApportionError("bad_seats", f"{sum(seats.values())} seats for {len(roster)} deputies")
    told: dict[str, str] = {}
    order = deputy_order(seed, roster)
    i = 0
    for c in (ch.value for ch in CHOICES):
        for k in order[i : i + seats[c]]:
            told[k] = c
        i += seats[c]
    return [{"deputy": k, "choice": told[k]} for k in roster]


def result_document(
    counts: Counts,
    *,
    motion: str,
    roster: Sequence[str],
    method: Method | str,
    quorum: int,
    no_quorum: Choice | str,
    close_hash: bytes,
    seed: bytes,
) -> dict[str, object]:
    """The result document of a closed motion (keys exactly as in the spec;
    ints, bools and strings only). `roster` is the deputies in roster order,
    already reduced to active members; `close_hash` names the close entry,
    `seed` (``motion_seed``) drives both lotteries. Raises ApportionError on
    bad input."""
    check_seed(close_hash)
    met, seats = seats_for(counts, seats=len(roster), method=method, quorum=quorum, no_quorum=no_quorum, seed=seed)
    return {
        "motion": motion,
        "close": close_hash.hex(),
        "seed": seed.hex(),
        **counts.as_dict(),
        "quorum": {"required": quorum, "met": met},
        "method": Method(method).value,
        "seats": seats,
        "instructions": instructions(seed, roster, seats),
    }


def close_motion(
    e: Electorate,
    *,
    motion: str,
    roster: Sequence[str],
    method: Method | str,
    quorum: int,
    no_quorum: Choice | str,
    close_hash: bytes,
    reveal: bytes,
) -> dict[str, object]:
    """Resolve `e` and return its result document (see result_document),
    its seed made from ``reveal`` (r) and `e`'s ballots (``motion_seed``).
    Raises ElectorateError or ApportionError."""
    return result_document(
        resolve(e).counts,
        motion=motion,
        roster=roster,
        method=method,
        quorum=quorum,
        no_quorum=no_quorum,
        close_hash=close_hash,
        seed=motion_seed(reveal, e),
    )


def provisional_tally(
    e: Electorate,
    *,
    roster: Sequence[str],
    method: Method | str,
    quorum: int,
    no_quorum: Choice | str,
    weights_limit: int | None = None,
) -> dict[str, object]:
    """The live tally of an open motion: counts, quorum, the seats the
    current votes would give (ties drawn with a zero seed, since the real
    seed exists only at close) and the weights of direct voters, heaviest
    first (at most `weights_limit` of them). No instructions: the deputy
    lottery needs the seed of the close. Raises ElectorateError or ApportionError."""
    r: Resolution = resolve(e)
    w = sorted(r.weights().items(), key=lambda kw: (-kw[1], kw[0]))
    if weights_limit is not None:
        w = w[:weights_limit]
    return provisional_document(r.counts, w, roster=roster, method=method, quorum=quorum, no_quorum=no_quorum)


def provisional_document(
    counts: Counts,
    weights: Sequence[tuple[str, int]],
    *,
    roster: Sequence[str],
    method: Method | str,
    quorum: int,
    no_quorum: Choice | str,
) -> dict[str, object]:
    """`provisional_tally` from already computed counts and the (key, weight)
    of the heaviest direct voters, heaviest first (the live resolution keeps
    both, issue 16). Raises ApportionError."""
    met, seats = seats_for(counts, seats=len(roster), method=method, quorum=quorum, no_quorum=no_quorum, seed=ZERO_SEED)
    w = weights
    return {
        "provisional": True,
        **counts.as_dict(),
        "quorum": {"required": quorum, "met": met},
        "method": Method(method).value,
        "seats": seats,
        "weights": [{"member": k, "weight": n} for k, n in w],
    }
