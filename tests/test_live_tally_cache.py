"""The live tally is kept while the state does not grow (ballots/closing.py):
asked twice, it is computed once; any new entry gives a fresh one, equal to
the tally computed from scratch."""

from __future__ import annotations

from ballots import closing
from tally import provisional_tally
from tests.world import World


def fresh(state, motion: str) -> dict:  # noqa: ANN001
    return provisional_tally(
        closing.electorate(state, motion), weights_limit=20, **closing.tally_options(state, motion)
    )


async def test_kept_until_the_state_grows(world: World) -> None:
    a, b = await world.enroll(2)
    await world.topic("city")
    await world.motion("park", "city")
    state = world.box.state
    first = closing.live_tally(state, "park")
    assert closing.live_tally(state, "park") is first and first == fresh(state, "park")
    await world.vote(a, "park", "yes")
    second = closing.live_tally(world.box.state, "park")
    assert second is not first and second["yes"] == 1 and second == fresh(world.box.state, "park")
    await world.delegate(b, "*", a)
    third = closing.live_tally(world.box.state, "park")
    assert third["yes"] == 2 and third == fresh(world.box.state, "park")
