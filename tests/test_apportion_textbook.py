"""The apportionment core against published examples, and its properties.

The core is generic over named parties; the tally uses three (yes, no,
abstain). Each example cites where its numbers come from."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally import ApportionError, apportion, dhondt, largest_remainder, sainte_lague

# Wikipedia, "D'Hondt method", section "Example" (and "Webster/Sainte-Laguë
# method", "Example", which reuses it): 230,000 voters, 8 seats, four parties.
WIKI_DHONDT = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}

# Wikipedia, "Largest remainder method", section "Examples": 100,000 votes,
# 10 seats, six parties (Hare quota column: 5 2 1 1 1 0).
WIKI_LR = {"Yellows": 47_000, "Whites": 16_000, "Reds": 15_800, "Greens": 12_000, "Blues": 6_100, "Pinks": 3_100}

TEXTBOOK = [
    ("dhondt", WIKI_DHONDT, 8, {"A": 4, "B": 3, "C": 1, "D": 0}),
    ("sainte_lague", WIKI_DHONDT, 8, {"A": 3, "B": 3, "C": 1, "D": 1}),
    ("largest_remainder", WIKI_DHONDT, 8, {"A": 3, "B": 3, "C": 1, "D": 1}),
    ("largest_remainder", WIKI_LR, 10, {"Yellows": 5, "Whites": 2, "Reds": 1, "Greens": 1, "Blues": 1, "Pinks": 0}),
    # Same votes under D'Hondt, worked by hand from the quotient table:
    # 47, 23.5, 16, 15.8, 15.67, 12, 11.75, 9.4, 8, 7.9 (thousands).
    ("dhondt", WIKI_LR, 10, {"Yellows": 5, "Whites": 2, "Reds": 2, "Greens": 1, "Blues": 0, "Pinks": 0}),
    # The design brief: "D'Hondt can give 71/19/10 votes 6/1/0 of 7 seats";
    # Hare gives 5/1/1 (quotas 4.97, 1.33, 0.70).
    ("dhondt", {"yes": 71, "no": 19, "abstain": 10}, 7, {"yes": 6, "no": 1, "abstain": 0}),
    ("largest_remainder", {"yes": 71, "no": 19, "abstain": 10}, 7, {"yes": 5, "no": 1, "abstain": 1}),
]


@pytest.mark.parametrize("method,votes,seats,want", TEXTBOOK)
def test_textbook(method, votes, seats, want):
    assert apportion(method, votes, seats, tie_order=list(votes)) == want


def test_alabama_paradox():
    """Wikipedia, "Apportionment paradox", Alabama paradox example: three
    states of populations 6, 6 and 2; with 10 seats C gets 2, with 11 seats
    it gets 1. Hare largest remainder shows it; divisor methods cannot."""
    pops = {"A": 6, "B": 6, "C": 2}
    assert largest_remainder(pops, 10, tie_order="ABC") == {"A": 4, "B": 4, "C": 2}
    assert largest_remainder(pops, 11, tie_order="ABC") == {"A": 5, "B": 5, "C": 1}
    for f in (dhondt, sainte_lague):
        assert f(pops, 11, tie_order="ABC")["C"] >= f(pops, 10, tie_order="ABC")["C"]


def test_ties_go_to_more_votes_then_to_tie_order():
    # Equal remainders 5/10 for x (7 votes) and y (3): x, with more votes.
    assert largest_remainder({"x": 7, "y": 3}, 5, tie_order="yx") == {"x": 4, "y": 1}
    # Equal quotients 2/2 and 1/1: the party with more votes.
    assert dhondt({"x": 2, "y": 1}, 2, tie_order="yx") == {"x": 2, "y": 0}
    # A full tie: the first of tie_order.
    for f in (largest_remainder, dhondt, sainte_lague):
        assert f({"x": 1, "y": 1}, 1, tie_order="yx") == {"x": 0, "y": 1}
        assert f({"x": 1, "y": 1}, 1, tie_order="xy") == {"x": 1, "y": 0}


def test_preconditions_raise():
    with pytest.raises(ApportionError, match="no_votes"):
        dhondt({"x": 0}, 1, tie_order="x")
    with pytest.raises(ApportionError, match="bad_seats"):
        largest_remainder({"x": 1}, -1, tie_order="x")
    with pytest.raises(ApportionError, match="bad_votes"):
        largest_remainder({"x": 1.5}, 1, tie_order="x")
    with pytest.raises(ApportionError, match="bad_tie_order"):
        largest_remainder({"x": 1, "y": 1}, 1, tie_order="x")
    with pytest.raises(ApportionError, match="bad_method"):
        apportion("droop", {"x": 1}, 1, tie_order="x")


parties = st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 10**6), min_size=1).filter(
    lambda v: sum(v.values()) > 0
)


@settings(max_examples=300, deadline=None)
@given(parties, st.integers(0, 600), st.randoms(use_true_random=False))
def test_properties(votes, seats, rnd):
    order = list(votes)
    rnd.shuffle(order)
    total = sum(votes.values())
    lr = largest_remainder(votes, seats, tie_order=order)
    for p, v in votes.items():
        quota = Fraction(v * seats, total)  # Fraction here only to state the claim
        assert quota.numerator // quota.denominator <= lr[p] <= -(-quota.numerator // quota.denominator)
    for f in (largest_remainder, dhondt, sainte_lague):
        got = f(votes, seats, tie_order=order)
        assert sum(got.values()) == seats and set(got) == set(votes)
        if f is not largest_remainder:
            assert all(got[p] == 0 for p, v in votes.items() if v == 0)
        # More votes never means fewer seats.
        for p in votes:
            for q in votes:
                if votes[p] > votes[q]:
                    assert got[p] >= got[q]
