"""`GET /api/motions/{id}` answers from an encoded body kept until the state
moves (serving/motion_bodies.py, issue 16): after a ballot, a delegation, the
clock opening or closing the motion, and a reload, the body served is the
one computed afresh."""

from __future__ import annotations

import json
from typing import Any

from ballots import views
from serving.motion_bodies import MotionBodies
from tests.world import World


def fresh(world: World, motion: str) -> bytes:
    return json.dumps(views.motion_detail(world.box.state, motion, world.clock())).encode()


async def test_the_body_follows_every_change(world: World) -> None:
    bodies = MotionBodies()

    def served() -> bytes | None:
        return bodies.body(world.box.state, world.box.loads, "m", world.clock())

    a, b = await world.enroll(2)
    await world.topic("t")
    assert served() is None  # no such motion (yet)
    await world.motion("m", "t", opens=60, closes=120)
    seen = [served()]
    assert seen[-1] == fresh(world, "m") and json.loads(seen[-1])["state"] == "upcoming"
    assert served() is seen[-1]  # kept while nothing moved
    world.clock.advance(seconds=61)  # the clock alone opens it
    seen.append(served())
    assert seen[-1] == fresh(world, "m") and json.loads(seen[-1])["state"] == "open"
    await world.vote(a, "m", "yes")
    seen.append(served())
    assert seen[-1] == fresh(world, "m") and json.loads(seen[-1])["tally"]["yes"] == 1
    await world.delegate(b, "*", a)
    seen.append(served())
    assert seen[-1] == fresh(world, "m") and json.loads(seen[-1])["tally"]["yes"] == 2
    world.clock.advance(seconds=60)
    await world.box.close_due()
    seen.append(served())
    assert seen[-1] == fresh(world, "m") and json.loads(seen[-1])["result"]["yes"] == 2
    assert len(set(seen)) == len(seen)


async def test_a_reloaded_state_of_the_same_size_is_not_taken_for_the_one_before(world: World) -> None:
    (a,) = await world.enroll(1)
    await world.topic("t")
    await world.motion("m", "t")
    bodies = MotionBodies()
    before = bodies.body(world.box.state, world.box.loads, "m", world.clock())
    world.box.state.ballots["m"][a.public] = "yes"  # what a staged batch that failed would leave
    assert bodies.body(world.box.state, world.box.loads, "m", world.clock()) is before
    await world.box.rebuild()  # a new state, at the same size: a new body
    again = bodies.body(world.box.state, world.box.loads, "m", world.clock())
    assert again is not before and again == fresh(world, "m")


async def test_past_the_limit_the_cache_starts_afresh(world: World, monkeypatch: Any) -> None:
    from serving import motion_bodies

    monkeypatch.setattr(motion_bodies, "LIMIT", 2)
    await world.topic("t")
    for i in range(3):
        await world.motion(f"m{i}", "t")
    bodies = MotionBodies()
    first = bodies.body(world.box.state, world.box.loads, "m0", world.clock())
    assert bodies.body(world.box.state, world.box.loads, "m1", world.clock()) == fresh(world, "m1")
    assert bodies.body(world.box.state, world.box.loads, "m0", world.clock()) is first
    assert bodies.body(world.box.state, world.box.loads, "m2", world.clock()) == fresh(world, "m2")  # clears
    again = bodies.body(world.box.state, world.box.loads, "m0", world.clock())
    assert again == first and again is not first
