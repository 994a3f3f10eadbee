"""Concentration figures (delegation/power.py) against their definitions,
on random weights (hypothesis): the Gini coefficient equals the mean
absolute difference over all pairs, exactly; `half` is the fewest carriers
that hold half of the delegated votes; a histogram and a list agree."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delegation.power import power_figures

carriers = st.lists(st.integers(min_value=1, max_value=40), max_size=40)


@st.composite
def scopes(draw: st.DrawFn) -> tuple[list[int], int]:
    weights = draw(carriers)
    return weights, sum(weights) + draw(st.integers(min_value=0, max_value=30))


def pairwise_gini(xs: list[int]) -> Fraction:
    n, total = len(xs), sum(xs)
    if not n or not total:
        return Fraction(0)
    diff = sum(abs(a - b) for a, b in combinations(xs, 2)) * 2
    return Fraction(diff, 2 * n * total)


@given(scopes())
def test_figures_follow_their_definitions(scope: tuple[list[int], int]) -> None:
    weights, members = scope
    f = power_figures(weights, members)
    everyone = weights + [0] * (members - len(weights))
    assert f.gini == pairwise_gini(everyone)
    assert 0 <= f.gini < 1
    assert f.members == members and f.carriers == len(weights)
    assert f.delegated == sum(w - 1 for w in weights)
    assert f.largest == max(weights, default=0)
    carried = sorted((w - 1 for w in weights), reverse=True)
    if f.delegated == 0:
        assert f.half == 0
    else:
        assert 2 * sum(carried[: f.half]) >= f.delegated
        assert 2 * sum(carried[: f.half - 1]) < f.delegated  # no fewer would do
    assert power_figures(Counter(weights), members) == f


@given(st.integers(min_value=1, max_value=300))
def test_nobody_delegating_is_no_inequality(n: int) -> None:
    f = power_figures([1] * n, n)
    assert (f.gini, f.half, f.delegated, f.largest) == (0, 0, 0, 1)


def test_one_carrier_of_everyone() -> None:
    f = power_figures([10], 10)
    assert (f.gini, f.half, f.delegated, f.largest) == (Fraction(9, 10), 1, 9, 10)
    assert f.as_dict()["gini"] == {"numerator": 9, "denominator": 10, "per_mille": 900}


@pytest.mark.parametrize(
    ("weights", "members"), [([0], 1), ([3], 2), ({2: -1}, 5), ([1], -1)], ids=["zero", "too-many", "neg", "neg-n"]
)
def test_impossible_inputs_are_refused(weights: object, members: int) -> None:
    with pytest.raises(ValueError):
        power_figures(weights, members)  # type: ignore[arg-type]
