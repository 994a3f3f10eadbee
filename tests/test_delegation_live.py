"""The live resolution (delegation.live, ballots.live) against the full
recomputation (delegation.resolve_reference), after every statement of random
sequences of enrolments, expulsions, delegation changes and ballots applied
through ballots.state.apply: identical counts and weights at every step, and
a structure built afresh from the final state agrees too."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.closing import electorate
from ballots.live import LiveTallies
from ballots.state import AssemblyState, Topic, apply
from ballots.statements import Kind, Statement
from delegation import ElectorateError, resolve_reference
from delegation.live import LiveResolution
from delegation.resolve import EXPELLED, NO_SETTING

SCOPES = ["motion:M", "topic:T", "topic:P", "*", "topic:Q", "motion:N"]
CHOICES = ["yes", "no", "abstain"]


def key(i: int) -> str:
    return f"{i * 7919 + 1:064x}"  # 64 hex digits: the fast compiler's path


class Log:
    """Statements folded into a state with LiveTallies attached, as the box does."""

    def __init__(self, members: int) -> None:
        self.state = AssemblyState()
        self.state.topics["P"] = Topic("P", "P", "", None, 0)
        self.state.topics["T"] = Topic("T", "T", "", "P", 0)
        self.state.topics["Q"] = Topic("Q", "Q", "", None, 0)
        LiveTallies.attach(self.state)
        self.n = 0
        self.seq: dict[str, int] = {}
        for _ in range(members):
            self.enroll()
        self.motion("M", "T")

    def put(self, kind: Kind, author: str, **body: Any) -> None:
        self.seq[author] = self.seq.get(author, 0) + 1
        st_ = Statement(1, "a", kind, author, self.seq[author], body, {})
        apply(self.state, st_, index=self.state.size, entry_hash="00" * 32)

    def enroll(self) -> None:
        self.put(Kind.ENROLL, key(self.n), code=f"c{self.n}", name=f"m{self.n}")
        self.n += 1

    def motion(self, mid: str, topic: str) -> None:
        times = {"opens": "2026-01-01T00:00:00Z", "closes": "2027-01-01T00:00:00Z"}
        self.put(Kind.MOTION, "org", id=mid, topic=topic, title=mid, summary="", url="", quorum=None, **times)

    def active(self, i: int) -> bool:
        return 0 <= i < self.n and self.state.is_active(key(i))

    def step(self, op: tuple[Any, ...]) -> None:
        """One random operation, skipped where the rules would refuse it."""
        what = op[0]
        if what == "enroll":
            self.enroll()
        elif what == "expel" and self.active(op[1] % max(self.n, 1)):
            self.put(Kind.EXPEL, "org", member=key(op[1] % self.n))
        elif what == "delegate" and self.n and self.active(op[1] % self.n):
            me = op[1] % self.n
            to: str | None
            if op[3] == "self" or op[3] is None:
                to = op[3]
            else:
                j = op[3] % self.n
                if j == me or not self.active(j):
                    return
                to = key(j)
            scope = op[2]
            if scope == "motion:N" and "N" not in self.state.motions:
                return
            self.put(Kind.DELEGATE, key(me), scope=scope, to=to)
        elif what == "ballot" and self.n and self.active(op[1] % self.n):
            motion = op[2]
            if motion in self.state.motions:
                self.put(Kind.BALLOT, key(op[1] % self.n), motion=motion, choice=op[3])
        elif what == "motion" and "N" not in self.state.motions:
            self.motion("N", "Q" if op[1] else "T")

    def check(self, live: LiveTallies) -> None:
        for mid in self.state.motions:
            ref = resolve_reference(electorate(self.state, mid))
            assert live.counts(mid) == ref.counts, mid
            want = sorted(ref.weights().items(), key=lambda kw: (-kw[1], kw[0]))
            assert live.weights(mid, None) == want
            assert live.weights(mid, 2) == want[:2]


member = st.integers(0, 40)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("enroll")),
        st.tuples(st.just("expel"), member),
        *[
            st.tuples(
                st.just("delegate"),
                member,
                st.sampled_from(SCOPES),
                st.one_of(member, member, member, st.just("self"), st.none()),
            )
        ]
        * 3,
        st.tuples(st.just("ballot"), member, st.sampled_from(["M", "N"]), st.sampled_from([*CHOICES, None])),
        st.tuples(st.just("motion"), st.booleans()),
    ),
    min_size=10,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 12), ops)
def test_live_counts_equal_the_full_recomputation_after_every_statement(members: int, sequence: list[Any]) -> None:
    log = Log(members)
    live = log.state.live
    log.check(live)
    for op in sequence:
        log.step(op)
        log.check(live)
    # Built afresh from the final state (start-up, rebuild): the same again.
    fresh = LiveTallies.attach(log.state)
    log.check(fresh)
    for op in sequence[:10]:  # and it keeps following the log from there
        log.step(op)
        log.check(fresh)


def random_op(rng: random.Random) -> tuple[Any, ...]:
    r = rng.random()
    if r < 0.1:
        return ("enroll",)
    if r < 0.15:
        return ("expel", rng.randint(0, 40))
    if r < 0.7:
        to = rng.choice([rng.randint(0, 40)] * 3 + ["self", None])
        return ("delegate", rng.randint(0, 40), rng.choice(SCOPES), to)
    if r < 0.97:
        return ("ballot", rng.randint(0, 40), rng.choice("MN"), rng.choice([*CHOICES, None]))
    return ("motion", rng.random() < 0.5)


def test_live_counts_on_seeded_random_sequences() -> None:
    """Plain seeded sequences beside hypothesis: longer ones, dense in
    delegations, so cycles form and break often (asserted, not assumed)."""
    rng = random.Random(16)
    cycles = 0
    for _ in range(150):
        log = Log(rng.randint(0, 12))
        for _ in range(100):
            log.step(random_op(rng))
            log.check(log.state.live)
            cycles += log.state.live.counts("M").cycle > 0
    assert cycles > 100


def test_a_long_chain_and_a_big_cycle_cost_their_length_not_more() -> None:
    """A 100,000-long chain into a voter, then closed into a cycle and broken
    again: the counts follow, and the build of such a tree has no recursion."""
    n = 100_000
    keys = [key(i) for i in range(n)]
    target = np.arange(1, n + 1, dtype=np.int64)
    target[-1] = NO_SETTING
    choice = np.full(n, -1, dtype=np.int8)
    choice[-1] = 0
    r = LiveResolution.build(keys, [True] * n, target, choice)
    assert (r.counts().yes, r.counts().direct, r.counts().delegated) == (n, 1, n - 1)
    r.set_choice(n - 1, -1)  # withdrawn: the chain now ends at a member without a setting
    assert (r.counts().absent, r.counts().dead_end) == (1, n - 1)
    r.set_target(n - 1, 0)  # closes the chain into one cycle
    assert r.counts().cycle == n
    r.set_choice(n // 2, 1)  # a voter in the middle breaks it
    c = r.counts()
    assert (c.no, c.cycle, c.direct) == (n, 0, 1)
    assert r.weights(1) == [(keys[n // 2], n)]


def test_bad_input_is_refused() -> None:
    keys = [key(i) for i in range(3)]
    with pytest.raises(ElectorateError) as e:
        LiveResolution.build(keys, [True] * 3, np.array([1, 5, -1]), np.full(3, -1))
    assert e.value.code == "bad_arrays"
    with pytest.raises(ElectorateError) as e:
        LiveResolution.build(keys, [True, False, True], np.array([1, -1, -1]), np.full(3, -1))
    assert e.value.code == "bad_arrays"
    r = LiveResolution.build(keys, [True, True, False], np.array([1, NO_SETTING, EXPELLED]), np.full(3, -1))
    with pytest.raises(ElectorateError) as e:
        r.set_choice(2, 0)  # inactive
    assert e.value.code == "not_member"
    with pytest.raises(ElectorateError) as e:
        r.set_choice(0, 3)
    assert e.value.code == "bad_choice"
    with pytest.raises(ElectorateError) as e:
        r.add_member()  # no key for index 3 yet
    assert e.value.code == "bad_index"
    assert r.counts().members == 2
