"""The keyed digest the box keeps batch by batch (ballots/integrity.py)
takes the old rows of the common tables (authors, ballots, delegations)
from the state before the batch (ballots.projection.prior_rows) instead of
reading them back: after random batches of ballots, changed and withdrawn
choices and delegations, several by the same member in one batch, the
stored digest is that of the tables as they are, and those rows were not
read."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import select

from ballots import integrity
from ballots import schema as T
from tests.world import World

TABLES = {T.authors.name, T.ballots.name, T.delegations.name}


async def test_the_digest_kept_from_the_state_is_that_of_the_tables(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = await world.enroll(6)
    await world.topic("t")
    await world.motion("m", "t")
    await world.motion("n", "t")
    read: list[tuple[str, list[Any]]] = []
    real = integrity.old_rows

    async def old_rows(conn, table, keys):  # noqa: ANN001, ANN202
        keys = list(keys)
        if keys:
            read.append((table.name, keys))
        return await real(conn, table, keys)

    monkeypatch.setattr(integrity, "old_rows", old_rows)
    rnd = random.Random(16)
    scopes, choices = ["*", "topic:t", "motion:m"], ["yes", "no", "abstain", None]
    repeated = 0
    for _ in range(15):
        calls, authors = [], []
        for _ in range(rnd.randint(1, 14)):
            who = rnd.choice(members)
            authors.append(who.public)
            if rnd.random() < 0.55:
                calls.append(who.sign("ballot", world.assembly, motion=rnd.choice("mn"), choice=rnd.choice(choices)))
            else:
                to = rnd.choice([*(m.public for m in members if m is not who), None])
                calls.append(who.sign("delegate", world.assembly, scope=rnd.choice(scopes), to=to))
        repeated += len(authors) - len(set(authors))
        await asyncio.gather(*(world.box.append(c) for c in calls), return_exceptions=True)
        async with world.box.engine.connect() as conn:
            stored = await integrity.stored_digest(conn)
            rows = {t: [dict(r) for r in (await conn.execute(select(t))).mappings()] for t in T.PROJECTIONS}
        assert stored == (world.box.size, integrity.digest_of(world.box._digest_key, rows))
    assert repeated > 10  # members acted more than once in a batch
    assert not [name for name, _ in read if name in TABLES]
