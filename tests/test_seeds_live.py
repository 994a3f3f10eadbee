"""The D items kept as ballots arrive (ballots.seeds) against the reference
(tally.ballots_digest, tally.motion_seed): after every statement of random
sequences of enrolments, ballots, changed choices, withdrawals, expulsions,
motions and closes applied through ballots.state.apply, in a state and in
a deep copy of it taken midway (a copy must follow the log on its own); the seed
of every close; a structure built afresh from the final state; and through
the ballot box, with a reopen, a rebuild and --full-check (docs/SPEC.md
section 16.2)."""

from __future__ import annotations

import copy
import logging
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tally
from ballots import closing
from ballots.box import BallotBox
from ballots.closing import electorate, result_statement, tally_options
from ballots.live import LiveTallies
from ballots.seeds import LiveSeeds, SortedItems
from ballots.state import AssemblyState, Topic, apply
from ballots.statements import Kind, Statement
from tests.world import World

CHOICES = ["yes", "no", "abstain"]
MOTIONS = ["M", "N", "O"]
SERVER_SEED = bytes(range(32))


def key(i: int) -> str:
    return f"{i * 7919 + 1:064x}"


def reference_d(state: AssemblyState, motion: str) -> bytes:
    """D as SPEC 16.2 words it: the items of the active members with a ballot."""
    return tally.ballots_digest([k for k, m in state.members.items() if m.active], state.ballots[motion])


class Tiny(SortedItems):
    chunk = 2  # splits and emptied chunks every few operations


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=150))
def test_sorted_items_stay_sorted_through_adds_and_removes(ops: list[tuple[bool, int]]) -> None:
    items, ref = Tiny(), []
    for add, i in ops:
        x = tally.pool_item(key(i))
        if add:
            items.add(x)
            ref.append(x)
        elif x in ref:
            items.remove(x)
            ref.remove(x)
        else:
            with pytest.raises(KeyError):
                items.remove(x)
        assert list(items) == sorted(ref) and len(items) == len(ref)
        assert all(c and bytes(c[-32:]) == m for c, m in zip(items.chunks, items.maxes, strict=True))
        assert all(len(c) <= 2 * Tiny.chunk * 32 for c in items.chunks)
        assert items.digest() == tally.participants_digest(ref)
    with pytest.raises(ValueError):
        items.add(b"short")
    assert Tiny(ref).digest() == items.digest() and list(Tiny(ref)) == sorted(ref)  # built at once: the same
    copied = copy.deepcopy(items)
    assert type(copied) is Tiny and list(copied) == list(items)
    copied.add(b"\xff" * 32)  # the copy is its own
    assert len(copied) == len(items) + 1


class Log:
    """Statements folded through apply into a state with the live
    structures attached and, from ``fork`` on, into a deep copy of it."""

    def __init__(self, members: int) -> None:
        rules = {"method": "largest_remainder", "quorum": 20, "no_quorum": "abstain"}
        self.state = AssemblyState(assembly_id="a" * 64, rules=rules, roster=tuple(key(i) for i in range(4)))
        self.state.topics["T"] = Topic("T", "T", "", None, 0)
        LiveTallies.attach(self.state)
        self.states = [self.state]
        self.n = 0
        self.seq: dict[str, int] = {}
        self.closes = 0
        for _ in range(members):
            self.enroll()

    def fork(self) -> None:
        """A deep copy of the state (live included) that follows the log from now."""
        if len(self.states) == 1:
            self.states.append(copy.deepcopy(self.state))

    def put(self, kind: Kind, author: str, **body: Any) -> None:
        self.seq[author] = self.seq.get(author, 0) + 1
        st_ = Statement(1, "a" * 64, kind, author, self.seq[author], body, dict(body))
        for s in self.states:
            apply(s, st_, index=s.size, entry_hash=f"{s.size:064x}")

    def enroll(self) -> None:
        self.put(Kind.ENROLL, key(self.n), code=f"c{self.n}", name=f"m{self.n}")
        self.n += 1

    def active(self, i: int) -> bool:
        return 0 <= i < self.n and self.state.is_active(key(i))

    def is_open(self, motion: str) -> bool:
        m = self.state.motions.get(motion)
        return m is not None and m.close_index is None

    def r(self, motion: str) -> bytes:
        return tally.lottery_secret(SERVER_SEED, "a" * 64, "motion:" + motion)

    def step(self, op: tuple[Any, ...]) -> None:
        """One random operation, skipped where the rules would refuse it."""
        what = op[0]
        if what == "enroll":
            self.enroll()
        elif what == "expel" and self.active(op[1] % max(self.n, 1)):
            self.put(Kind.EXPEL, "org", member=key(op[1] % self.n), reason="")
        elif what == "ballot" and self.n and self.active(op[1] % self.n) and self.is_open(op[2]):
            self.put(Kind.BALLOT, key(op[1] % self.n), motion=op[2], choice=op[3])
        elif what == "motion" and op[1] not in self.state.motions:
            times = {"opens": "2026-01-01T00:00:00Z", "closes": "2027-01-01T00:00:00Z"}
            self.put(Kind.MOTION, "org", id=op[1], topic="T", title="", summary="", url="", quorum=None, **times)
            self.put(Kind.COMMIT, "srv", lottery="motion:" + op[1], hash=tally.commit_hash(self.r(op[1])))
        elif what == "close" and self.is_open(op[1]):
            self.close(op[1])
        elif what == "fork":
            self.fork()

    def close(self, motion: str) -> None:
        """`close` with its reveal, then the `result` the box would write:
        in every state, the seed from the kept D is the reference's."""
        r = self.r(motion)
        self.put(Kind.CLOSE, "srv", motion=motion, reveal=r.hex())
        docs = []
        for s in self.states:
            assert s.live is not None and s.live.seeds.digest(motion) == reference_d(s, motion)
            want = tally.motion_seed(r, electorate(s, motion))
            assert closing.seed(s, motion, r) == want == closing.seed(s, motion, r, check=True)
            ref = copy.deepcopy(s)
            ref.live = None  # ballots.closing resolves and hashes in full
            doc = result_statement(s, motion, {})
            assert doc == result_statement(ref, motion, {}) and doc["seed"] == want.hex()
            docs.append(doc)
        assert all(d == docs[0] for d in docs)
        self.put(Kind.RESULT, "srv", **docs[0])
        self.closes += 1
        assert all(s.live is not None and s.live.seeds.digest(motion) is None for s in self.states)

    def check(self) -> None:
        for s in self.states:
            assert s.live is not None
            for mid, m in s.motions.items():
                kept = s.live.seeds.digest(mid)
                assert kept == (None if m.result_index is not None else reference_d(s, mid)), mid


member = st.integers(0, 30)
motion = st.sampled_from(MOTIONS)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("enroll")),
        st.tuples(st.just("expel"), member),
        *[st.tuples(st.just("ballot"), member, motion, st.sampled_from([*CHOICES, None]))] * 6,
        st.tuples(st.just("motion"), motion),
        st.tuples(st.just("close"), motion),
        st.tuples(st.just("fork")),
    ),
    min_size=10,
    max_size=100,
)


@settings(max_examples=250, deadline=None)
@given(st.integers(1, 10), ops)
def test_kept_d_equals_the_reference_after_every_statement_and_at_every_close(
    members: int, sequence: list[Any]
) -> None:
    log = Log(members)
    log.step(("motion", "M"))
    log.check()
    for op in sequence:
        log.step(op)
        log.check()
    # Built afresh from the final state (start-up, rebuild, restore): the same.
    for s in log.states:
        fresh = LiveSeeds.build(s)
        assert s.live is not None and fresh.motions.keys() == s.live.seeds.motions.keys()
        for mid in fresh.motions:
            assert fresh.digest(mid) == s.live.seeds.digest(mid) == reference_d(s, mid)
    for mid in MOTIONS:  # and every motion still open closes on the reference's seed
        if log.is_open(mid):
            log.close(mid)


def test_seeded_long_sequences_change_expel_and_close() -> None:
    """Longer plain sequences beside hypothesis, dense in changed choices and
    expulsions of members who voted, asserting that those cases happen."""
    rng = random.Random(12)
    changed = expelled_voters = 0
    for _ in range(40):
        log = Log(rng.randint(5, 25))
        log.fork()
        for mid in MOTIONS:
            log.step(("motion", mid))
        for _ in range(300):
            r = rng.random()
            if r < 0.8:
                i, mid = rng.randrange(log.n), rng.choice(MOTIONS)
                changed += key(i) in log.state.ballots[mid] and log.active(i) and log.is_open(mid)
                log.step(("ballot", i, mid, rng.choice([*CHOICES, None])))
            elif r < 0.9:
                i = rng.randrange(log.n)
                expelled_voters += log.active(i) and any(key(i) in b for b in log.state.ballots.values())
                log.step(("expel", i))
            else:
                log.step(("enroll",))
            log.check()
        for mid in MOTIONS:
            log.close(mid)
    assert changed > 1000 and expelled_voters > 100


def test_a_key_enrolled_again_brings_its_ballot_back() -> None:
    """The rules never let an expelled key back (SPEC section 4, `already_member`),
    but a replayed tampered log could: the kept D follows the reference there
    too. (Only D: ballots.live's counts give the key a fresh index without
    its old ballot, a case the rules make unreachable.)"""
    log = Log(3)
    log.step(("motion", "M"))
    log.step(("ballot", 1, "M", "yes"))
    log.step(("expel", 1))
    log.check()
    assert log.state.live is not None and len(log.state.live.seeds.motions["M"].items) == 0
    log.put(Kind.ENROLL, key(1), code="again", name="again")
    assert log.state.is_active(key(1))
    log.check()
    assert len(log.state.live.seeds.motions["M"].items) == 1
    r = log.r("M")
    assert closing.seed(log.state, "M", r) == tally.motion_seed(r, electorate(log.state, "M"))


# -- through the ballot box ----------------------------------------------------


def assert_kept_d_is_reference(box: BallotBox, motion: str) -> None:
    assert box.state.live is not None
    assert box.state.live.seeds.digest(motion) == reference_d(box.state, motion)


async def test_the_box_keeps_d_and_closes_on_the_reference_seed(world: World, caplog: Any) -> None:
    a, b, c, d, e = await world.enroll(5)
    await world.box.append(world.org("deputies", roster=[a.public, b.public, c.public]))
    await world.topic("t")
    await world.motion("m", "t", closes=100)
    await world.vote(a, "m", "yes")
    await world.vote(b, "m", "no")
    await world.vote(c, "m", "yes")
    await world.vote(d, "m", "abstain")
    await world.vote(b, "m", "yes")  # a changed choice
    await world.vote(c, "m", None)  # a withdrawal
    await world.box.append(world.org("expel", member=d.public, reason="left"))  # expelled after voting
    assert_kept_d_is_reference(world.box, "m")
    assert len(world.box.state.live.seeds.motions["m"].items) == 2  # a and b
    # A reopened box builds D from the tables; a rebuilt one from the log.
    reopened = await BallotBox.open(str(world.box.engine.url), world.server_key, clock=world.clock)
    try:
        assert_kept_d_is_reference(reopened, "m")
    finally:
        await reopened.aclose()
    await world.box.rebuild()
    assert_kept_d_is_reference(world.box, "m")
    await world.vote(e, "m", "no")  # and it follows the log after the rebuild
    assert_kept_d_is_reference(world.box, "m")
    state_at_close = copy.deepcopy(world.box.state)
    state_at_close.live = None
    world.clock.advance(seconds=101)
    with caplog.at_level(logging.ERROR, logger="ballots.closing"):
        await world.box.close_due()
    assert not caplog.records
    m = world.box.state.motions["m"]
    reveal = bytes.fromhex(world.box.state.lotteries["motion:m"].reveal)
    want = tally.close_motion(
        electorate(state_at_close, "m"),
        motion="m",
        close_hash=bytes.fromhex(m.close_hash),
        reveal=reveal,
        **tally_options(state_at_close, "m"),
    )
    assert m.result == want
    assert m.result["seed"] == tally.motion_seed(reveal, electorate(state_at_close, "m")).hex()
    assert "m" not in world.box.state.live.seeds.motions


@pytest.fixture
async def checking(db_url: str, clock: Any, server_key: Any) -> Any:
    """A World on a box opened with --full-check."""
    box = await BallotBox.open(db_url, server_key, clock=clock, full_check=True)
    w = World(box, clock, server_key)
    await w.found()
    yield w
    await box.aclose()


async def test_full_check_logs_a_kept_d_that_differs(checking: World, caplog: Any) -> None:
    """Under --full-check the close recomputes D and logs a difference (here
    forced by changing the kept items): the result uses the recomputed D."""
    w, box = checking, checking.box
    a, b = await w.enroll(2)
    await w.topic("t")
    await w.motion("m", "t", closes=100)
    await w.vote(a, "m", "yes")
    await w.vote(b, "m", "no")
    ref = copy.deepcopy(box.state)
    ref.live = None
    box.state.live.seeds.motions["m"].drop(a.public)  # what a bug in ballots.seeds would do
    w.clock.advance(seconds=101)
    with caplog.at_level(logging.ERROR, logger="ballots.closing"):
        await box.close_due()
    assert any("differs from the recomputed" in r.getMessage() for r in caplog.records)
    reveal = bytes.fromhex(box.state.lotteries["motion:m"].reveal)
    assert box.state.motions["m"].result["seed"] == tally.motion_seed(reveal, electorate(ref, "m")).hex()
