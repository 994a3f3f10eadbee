"""Proportional apportionment of seats among parties, in exact integers.

Generic over any named parties so it can be checked against published
multi-party examples; the tally uses it with the three choices as parties.
Every comparison of fractions is done by cross multiplication: no floats, so
every implementation that follows the rules gets the same seats.

Ties (equal remainders or equal quotients) go to the party with more votes;
a tie that remains goes to the party that comes first in `tie_order`, which
the tally draws by lottery (`tally.lottery`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vocabulary import Method


class ApportionError(ValueError):
    """Apportionment inputs break a precondition. `code` is stable."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def _check(votes: Mapping[str, int], seats: int, tie_order: Sequence[str]) -> dict[str, int]:
    if seats < 0:
        raise ApportionError("bad_seats", f"seats is {seats}, want >= 0")
    if any(type(v) is not int or v < 0 for v in votes.values()):
        raise ApportionError("bad_votes", f"votes {dict(votes)}, want non-negative ints")
    if sum(votes.values()) == 0:
        raise ApportionError("no_votes", "total votes is 0, want > 0")
    if sorted(tie_order) != sorted(votes) or len(set(tie_order)) != len(tie_order):
        raise ApportionError("bad_tie_order", f"tie_order {list(tie_order)} is not a permutation of {sorted(votes)}")
    return {p: i for i, p in enumerate(tie_order)}


def largest_remainder(votes: Mapping[str, int], seats: int, *, tie_order: Sequence[str]) -> dict[str, int]:
    """Hare largest remainder: party i first gets floor(v_i * S / V); the
    seats left go one each to the largest remainders v_i * S mod V (all over
    the same denominator V). Raises ApportionError on bad input or V == 0."""
    rank = _check(votes, seats, tie_order)
    total = sum(votes.values())
    out = {p: v * seats // total for p, v in votes.items()}
    left = seats - sum(out.values())
    # left < number of parties with a non-zero remainder, so nobody gets two.
    order = sorted(votes, key=lambda p: (-(votes[p] * seats % total), -votes[p], rank[p]))
    for p in order[:left]:
        out[p] += 1
    return out


def _divisor(votes: Mapping[str, int], seats: int, tie_order: Sequence[str], step: int) -> dict[str, int]:
    """Highest averages: each seat goes to the largest v / d(s), where
    d(s) = step * s + 1 (1, 2, 3 ... for D'Hondt; 1, 3, 5 ... for
    Sainte-Laguë). A party with no votes never gets a seat."""
    rank = _check(votes, seats, tie_order)
    out = {p: 0 for p in votes}
    contenders = [p for p in votes if votes[p] > 0]
    for _ in range(seats):
        best = contenders[0]
        for p in contenders[1:]:
            # v_p / d_p vs v_b / d_b  <=>  v_p * d_b vs v_b * d_p
            lhs = votes[p] * (step * out[best] + 1)
            rhs = votes[best] * (step * out[p] + 1)
            if lhs > rhs or (lhs == rhs and (votes[p], -rank[p]) > (votes[best], -rank[best])):
                best = p
        out[best] += 1
    return out


def dhondt(votes: Mapping[str, int], seats: int, *, tie_order: Sequence[str]) -> dict[str, int]:
    """D'Hondt (Jefferson): divisors 1, 2, 3, ... Raises ApportionError."""
    return _divisor(votes, seats, tie_order, 1)


def sainte_lague(votes: Mapping[str, int], seats: int, *, tie_order: Sequence[str]) -> dict[str, int]:
    """Sainte-Laguë (Webster): divisors 1, 3, 5, ... Raises ApportionError."""
    return _divisor(votes, seats, tie_order, 2)


def parse_method(method: Method | str) -> Method:
    """The Method named `method`; raises ApportionError if there is none."""
    try:
        return Method(method)
    except ValueError:
        raise ApportionError(
            "bad_method", f"method {method!r}, want one of " + ", ".join(x.value for x in Method)
        ) from None


def apportion(
    method: Method | str, votes: Mapping[str, int], seats: int, *, tie_order: Sequence[str]
) -> dict[str, int]:
    """Seats per party under `method`. Raises ApportionError on an unknown
    method or bad input."""
    match parse_method(method):
        case Method.LARGEST_REMAINDER:
            return largest_remainder(votes, seats, tie_order=tie_order)
        case Method.DHONDT:
            return dhondt(votes, seats, tie_order=tie_order)
        case Method.SAINTE_LAGUE:
            return sainte_lague(votes, seats, tie_order=tie_order)
