"""The ballot box keeps open motions' resolutions live (ballots.live, issue
16): what readers see while a motion is open and the `result` written at its
close equal the full recomputation (delegation.resolve_reference, and
tally.close_motion on the same state), also after a reopen, a rebuild, and
with --full-check."""

from __future__ import annotations

import copy

from sqlalchemy import inspect

import tally
from ballots import views
from ballots.box import BallotBox
from ballots.closing import electorate, live_tally, tally_options
from ballots.state import AssemblyState
from delegation import resolve_reference
from tests.world import World


def reference_state(state: AssemblyState) -> AssemblyState:
    """The same state without its live resolutions: ballots.closing resolves in full."""
    s = copy.deepcopy(state)
    s.live = None
    return s


def assert_live_is_reference(box: BallotBox, motion: str) -> None:
    state = box.state
    assert state.live is not None and motion in state.live.motions
    ref = reference_state(state)
    assert state.live.counts(motion) == resolve_reference(electorate(ref, motion)).counts
    assert live_tally(state, motion) == live_tally(ref, motion)
    for key in [*state.members, "f" * 64]:
        assert views.vote_path(state, key, motion) == views.vote_path(ref, key, motion)
    # Pages of members, cursor by cursor, give the whole list in enrolment order.
    pages, after = [], 0
    while after is not None:
        page = views.member_page(box.state, after, 2)
        pages += page["members"]
        after = page["next"]
    assert pages == views.member_list(box.state)


async def test_live_reads_and_the_close_equal_the_full_recomputation(world: World) -> None:
    a, b, c, d, e, f = await world.enroll(6)
    await world.box.append(world.org("deputies", roster=[a.public, b.public, c.public]))
    await world.topic("t")
    await world.topic("u", parent="t")
    await world.delegate(d, "topic:t", e)  # before the motion: in its initial build
    await world.motion("m", "u", closes=100)
    assert_live_is_reference(world.box, "m")
    await world.delegate(e, "*", f)
    await world.delegate(f, "topic:u", d)  # d -> e -> f -> d: a cycle
    assert world.box.state.live.counts("m").cycle == 3
    await world.vote(a, "m", "yes")
    await world.delegate(b, "motion:m", a)
    await world.vote(e, "m", "no")  # breaks the cycle: d and f follow e
    assert_live_is_reference(world.box, "m")
    assert world.box.state.live.counts("m").no == 3
    more = await world.enroll(2)
    await world.delegate(more[0], "*", b)
    await world.box.append(world.org("expel", member=a.public, reason="left"))  # b and more[0] now dead ends
    await world.vote(c, "m", "abstain")
    await world.vote(c, "m", None)
    assert_live_is_reference(world.box, "m")
    # A reopened box builds the live resolution from the tables: the same.
    reopened = await BallotBox.open(str(world.box.engine.url), world.server_key, clock=world.clock, full_check=True)
    try:
        assert reopened.state.live.counts("m") == world.box.state.live.counts("m")
        assert_live_is_reference(reopened, "m")
    finally:
        await reopened.aclose()
    state_at_close = reference_state(world.box.state)
    world.clock.advance(seconds=101)
    await world.box.close_due()
    motion = world.box.state.motions["m"]
    assert "m" not in world.box.state.live.motions  # tallied: no longer kept
    # The result written from the live counts is byte for byte the reference tally.
    ref = tally.close_motion(
        electorate(state_at_close, "m"),
        motion="m",
        close_hash=bytes.fromhex(motion.close_hash),
        reveal=bytes.fromhex(world.box.state.lotteries["motion:m"].reveal),
        **tally_options(state_at_close, "m"),
    )
    assert motion.result == ref  # seed included: the O(ballots) seed equals tally.motion_seed
    assert (motion.result["no"], motion.result["dead_end"]) == (3, 2)


async def test_rebuild_keeps_live_resolutions(world: World) -> None:
    a, b = await world.enroll(2)
    await world.topic("t")
    await world.motion("m", "t", closes=100)
    await world.delegate(b, "*", a)
    await world.vote(a, "m", "yes")
    await world.box.rebuild()
    assert world.box.state.live.counts("m").yes == 2
    await world.vote(a, "m", "no")  # and it follows the log after the rebuild
    assert world.box.state.live.counts("m").no == 2
    assert_live_is_reference(world.box, "m")


async def test_who_delegates_to_a_member_comes_from_an_indexed_read(world: World) -> None:
    a, b, c, d = await world.enroll(4)
    await world.topic("t")
    await world.delegate(b, "*", a)
    await world.delegate(c, "topic:t", a)
    await world.delegate(c, "*", a)
    await world.delegate(d, "*", b)
    await world.box.append(world.org("expel", member=c.public, reason="left"))
    pairs = await world.box.delegators(a.public)
    assert pairs == sorted([(b.public, "*"), (c.public, "*"), (c.public, "topic:t")])
    state = world.box.state
    fast = views.member_detail(state, a.public, pairs)
    assert fast == views.member_detail(state, a.public)  # the O(N) scan: the same answer
    assert fast["delegated_by"] == [{"member": b.public, "scopes": ["*"]}]  # expelled c left out
    async with world.box.engine.connect() as conn:
        names = await conn.run_sync(lambda c: [i["name"] for i in inspect(c).get_indexes("delegations")])
    assert "ix_delegations_target" in names
