"""Whom the server submits its checkpoints to (serving/witness_targets.py,
docs/SPEC.md section 14.2), over random logs: random policies (names reused
with other keys, so a witness's new key is another cosigner), random motions
and draws committed under them, open or closed, and random progress of each
policy's quorum. A naive reference written from the SPEC text is compared
with the function, and the invariants the server relies on are checked:
the current policy is always served, a witness of an earlier policy is
served exactly while that policy owes a close, and more cosignatures never
add a witness."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.state import Witnesses
from serving.witness_targets import LotteryAt, Target, governing, pending, submission_targets

NAMES = ("w1.example/w", "w2.example/w", "w3.example/w", "w4.example/w")
KEYS = ("aa" * 32, "bb" * 32, "cc" * 32)


@st.composite
def logs(draw: Any) -> tuple[list[Witnesses], list[LotteryAt], dict[int, int]]:
    """Policies at ascending indexes, lotteries committed anywhere in the
    log (before the first policy too), and each policy's witnessed size."""
    size = draw(st.integers(5, 80))
    indexes = sorted(draw(st.sets(st.integers(1, size - 1), min_size=1, max_size=5)))
    policies = []
    for i in indexes:
        names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        cosigners = tuple(
            {
                "name": n,
                "key": draw(st.sampled_from(KEYS)),
                "url": f"http://{n.split('/')[0]}:{draw(st.integers(1, 3))}",
            }
            for n in names
        )
        quorum = len(cosigners) // 2 + 1
        policies.append(Witnesses(i, cosigners, quorum, 10))
    lotteries = []
    for n in range(draw(st.integers(0, 8))):
        before = draw(st.integers(1, size - 1))
        closed = draw(st.one_of(st.none(), st.integers(before + 1, size + 1)))
        lotteries.append(LotteryAt(f"{draw(st.sampled_from(('motion', 'draw')))}:l{n}", before, closed))
    witnessed_to = {p.index: draw(st.integers(0, size + 2)) for p in policies if draw(st.booleans())}
    return policies, lotteries, witnessed_to


def reference(
    policies: list[Witnesses], lotteries: list[LotteryAt], witnessed_to: dict[int, int]
) -> dict[tuple[str, str], tuple[bool, set[int], set[str]]]:
    """From docs/SPEC.md 14.2 read literally: (name, key) -> (in the current
    policy, the earlier policies it serves, the lotteries they owe)."""
    current = policies[-1]
    out: dict[tuple[str, str], tuple[bool, set[int], set[str]]] = {
        (c["name"], c["key"]): (True, set(), set()) for c in current.cosigners
    }
    for lot in lotteries:
        earlier = [p for p in policies if p.index < lot.governed_before]
        if not earlier or earlier[-1] is current:
            continue
        gov = earlier[-1]
        witnessed = lot.closed_at is not None and witnessed_to.get(gov.index, 0) > lot.closed_at
        if witnessed:
            continue
        for c in gov.cosigners:
            is_current, served, owed = out.get((c["name"], c["key"]), (False, set(), set()))
            out[(c["name"], c["key"])] = (is_current, served | {gov.index}, owed | {lot.lottery})
    return out


def as_map(targets: tuple[Target, ...]) -> dict[tuple[str, str], tuple[bool, set[int], set[str]]]:
    return {(t.name, t.key): (t.current, set(t.earlier_policies), set(t.lotteries)) for t in targets}


@settings(max_examples=200, deadline=None)
@given(logs())
def test_the_targets_are_what_the_spec_says(log: tuple[list[Witnesses], list[LotteryAt], dict[int, int]]) -> None:
    policies, lotteries, witnessed_to = log
    targets = submission_targets(policies, lotteries, witnessed_to)
    assert as_map(targets) == reference(policies, lotteries, witnessed_to)
    pairs = [(t.name, t.key) for t in targets]
    assert len(pairs) == len(set(pairs))  # each witness (name, key) once
    # The current policy's cosigners first, in its order.
    current = policies[-1]
    assert pairs[: len(current.cosigners)] == [(c["name"], c["key"]) for c in current.cosigners]
    assert all(t.current for t in targets[: len(current.cosigners)])
    assert not any(t.current for t in targets[len(current.cosigners) :])
    # A witness served only for an earlier policy owes something; its URL is
    # the one of the latest policy listing it.
    for t in targets:
        assert t.current or (t.earlier_policies and t.lotteries)
        listing = [p for p in policies if any((c["name"], c["key"]) == (t.name, t.key) for c in p.cosigners)]
        want = next(c["url"] for c in listing[-1].cosigners if (c["name"], c["key"]) == (t.name, t.key))
        assert t.url == want
    # `pending` names exactly the owed lotteries, each with its governing policy.
    owed = pending(policies, lotteries, witnessed_to)
    assert set(owed) == {x for t in targets for x in t.lotteries}
    for lot in lotteries:
        if lot.lottery in owed:
            gov = governing(policies, lot.governed_before)
            assert gov is not None and owed[lot.lottery] == gov.index != current.index


@settings(max_examples=100, deadline=None)
@given(logs(), st.data())
def test_more_cosignatures_never_add_a_witness(log: Any, data: Any) -> None:
    policies, lotteries, witnessed_to = log
    before = {(t.name, t.key) for t in submission_targets(policies, lotteries, witnessed_to)}
    more = {p.index: witnessed_to.get(p.index, 0) + data.draw(st.integers(0, 50)) for p in policies}
    after = {(t.name, t.key) for t in submission_targets(policies, lotteries, more)}
    assert after <= before
    # Once every lottery is closed and witnessed, only the current policy is left.
    closed = [LotteryAt(x.lottery, x.governed_before, x.closed_at or x.governed_before + 1) for x in lotteries]
    done = {p.index: 10**6 for p in policies}
    targets = submission_targets(policies, closed, done)
    assert [(t.name, t.key) for t in targets] == [(c["name"], c["key"]) for c in policies[-1].cosigners]


def test_a_policy_replaced_while_a_motion_is_open_is_served_until_its_close_is_witnessed() -> None:
    a = Witnesses(
        3,
        ({"name": "a1", "key": "11" * 32, "url": "http://a1"}, {"name": "a2", "key": "22" * 32, "url": "http://a2"}),
        2,
        10,
    )
    b = Witnesses(
        9,
        (
            {"name": "b1", "key": "33" * 32, "url": "http://b1"},
            {"name": "a2", "key": "22" * 32, "url": "http://a2.new"},
        ),
        2,
        10,
    )
    open_m = LotteryAt("motion:m", 6, None)
    assert [
        (t.name, t.current, t.earlier_policies, t.lotteries, t.url) for t in submission_targets([a, b], [open_m], {})
    ] == [
        ("b1", True, (), (), "http://b1"),
        ("a2", True, (3,), ("motion:m",), "http://a2.new"),  # in both: served once, at B's URL
        ("a1", False, (3,), ("motion:m",), "http://a1"),
    ]
    closed = LotteryAt("motion:m", 6, 14)
    assert len(submission_targets([a, b], [closed], {3: 14})) == 3  # size 14 holds entries 0..13: not the close
    assert [t.name for t in submission_targets([a, b], [closed], {3: 15})] == ["b1", "a2"]
    # Committed under B, or before any policy: nothing earlier to serve.
    assert [
        t.name for t in submission_targets([a, b], [LotteryAt("draw:d", 10, None), LotteryAt("motion:x", 2, None)], {})
    ] == ["b1", "a2"]
    assert submission_targets([], [open_m], {}) == ()
