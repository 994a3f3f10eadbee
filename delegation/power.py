"""How concentrated voting power is in a scope: the figures the graph view
shows instead of one circle per member once an assembly is large
(docs/SPEC.md section 9, "People").

Input: the weight of every carrier (a member whose vote is not passed on,
with the votes that reach them, their own included) and the number of
active members; every other member has weight 0 (they passed their vote
on, or lost it in a cycle or at an expelled member). Pure and exact:
integers and Fractions only, so that two implementations agree to the
last digit and no float ever appears in what members read.

- `largest`: the heaviest weight.
- `delegated`: votes that reach a carrier other than their owner
  (sum of weight - 1 over carriers).
- `half`: how few carriers hold at least half of `delegated`, counting
  each carrier's delegated votes (weight - 1), heaviest first; 0 when
  nothing is delegated.
- `gini`: the Gini coefficient of the weights of all members,
  sum_i sum_j |x_i - x_j| / (2 n sum x), exactly; 0 for an empty or
  weightless scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class PowerFigures:
    members: int
    carriers: int
    delegated: int
    largest: int
    half: int
    gini: Fraction

    def as_dict(self) -> dict[str, object]:
        g = self.gini
        return {
            "members": self.members,
            "carriers": self.carriers,
            "delegated": self.delegated,
            "largest": self.largest,
            "half": self.half,
            "gini": {
                "numerator": g.numerator,
                "denominator": g.denominator,
                "per_mille": g.numerator * 1000 // g.denominator,
            },
        }


def power_figures(weights: Mapping[int, int] | Iterable[int], members: int) -> PowerFigures:
    """The figures for carriers of the given weights (a list of weights,
    or a histogram weight -> number of carriers with it, which is what a
    large scope passes: a few distinct values), among ``members`` active
    members. Raises ValueError for a weight below 1, a negative count, or
    weights that add up to more than ``members``."""
    hist: Counter[int] = Counter()
    if isinstance(weights, Mapping):
        for w, c in weights.items():
            if c < 0:
                raise ValueError(f"negative count {c} for weight {w}")
            if c:
                hist[w] += c
    else:
        hist.update(weights)
    if any(w < 1 for w in hist):
        raise ValueError("a carrier's weight is at least 1 (their own vote)")
    carriers = sum(hist.values())
    total = sum(w * c for w, c in hist.items())
    if members < 0 or total > members:
        raise ValueError(f"weights add up to {total}, more than the {members} members")
    delegated = total - carriers
    largest = max(hist, default=0)
    # Heaviest first: how many carriers until half of the delegated votes.
    half, held = 0, 0
    if delegated:
        for w in sorted(hist, reverse=True):
            c = hist[w]
            need = -(-(delegated - 2 * held) // (2 * (w - 1)))  # ceil((delegated/2 - held) / (w-1))
            if need <= c:
                half += need
                break
            half += c
            held += c * (w - 1)
    return PowerFigures(members, carriers, delegated, largest, half, gini(hist, members))


def gini(hist: Mapping[int, int], members: int) -> Fraction:
    """Gini coefficient of ``members`` weights, ``hist[w]`` of them equal to
    w and the rest 0: with the weights sorted ascending x_1..x_n,
    G = sum_i (2i - n - 1) x_i / (n sum x). A run of c equal values at
    ranks a+1..a+c contributes w c (2a + c - n), so the cost is the number
    of distinct weights, not n."""
    total = sum(w * c for w, c in hist.items())
    if members == 0 or total == 0:
        return Fraction(0)
    a = members - sum(hist.values())  # the zeros come first and add nothing
    num = 0
    for w in sorted(hist):
        c = hist[w]
        num += w * c * (2 * a + c - members)
        a += c
    return Fraction(num, members * total)
