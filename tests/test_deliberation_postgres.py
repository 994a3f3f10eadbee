"""Deliberation on a real PostgreSQL server (tests/pg.py): the ballot box's
deliberation tests again (the texts table beside the log, erased by a
redact in the same transaction, kept by a rebuild), then two boxes on one
database: a text posted through one is served by the other, and a
redaction made through one is served as such by the other once it caught
up, the text gone from the shared table."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ballots import schema as T
from ballots.box import BallotBox
from client.author import comment
from crypto.signing import KeyPair
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.test_deliberation_box import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_a_ready_proposal_becomes_a_motion_once,
    test_author_redacts_and_the_text_is_erased_the_log_intact,
    test_comment_at_closes_is_refused_before_the_closer_ran,
    test_comment_is_appended_and_its_text_stored_off_the_log,
    test_organizer_redacts_another_member_cannot,
    test_rate_limit_is_the_servers_policy,
    test_state_survives_restart_and_rebuild_keeps_texts,
    test_text_length_limits,
    test_text_must_match_its_hash,
    w,
)
from tests.world import Clock, World

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(pg_url: str) -> str:  # noqa: F811
    """Overrides conftest's SQLite URL: the imported tests and ``world`` run on PostgreSQL."""
    return pg_url


async def test_two_boxes_share_texts_and_redactions(pg_url: str, clock: Clock, server_key: KeyPair) -> None:  # noqa: F811
    a = await BallotBox.open(pg_url, server_key, clock=clock)
    b = await BallotBox.open(pg_url, server_key, clock=clock)
    try:
        world = World(a, clock, server_key)
        await world.found()
        ann, bob = await world.enroll(2)
        await world.topic("t")
        await world.motion("m", "t")
        kept = await a.append(comment(ann, world.assembly, "Kept, é 😀.", motion="m", stance="for"))
        erased = await a.append(comment(bob, world.assembly, "To erase.", motion="m", reply_to=kept.index))
        await b.sync()
        assert await b.texts(0) == await a.texts(0) and (await b.texts(0))[0]["text"] == "Kept, é 😀."
        await b.append(bob.sign("redact", world.assembly, entry=erased.index, reason="mine"))
        await a.sync()
        records = await a.texts(0)
        assert records[1] == {"index": erased.index, "redacted": True, "reason": "mine", "redact": erased.index + 1}
        assert records == await b.texts(0) and records[0]["text"] == "Kept, é 😀."
        async with a.engine.connect() as conn:
            rows = [i for (i,) in await conn.execute(select(T.texts.c.idx).order_by(T.texts.c.idx))]
        assert rows == [kept.index]
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_box_behind_another_processs_redaction_still_serves_its_record(
    pg_url: str,  # noqa: F811
    clock: Clock,
    server_key: KeyPair,
) -> None:
    """A box that has not caught up with a redact another process committed
    finds the text's row gone: it learns the redact rather than leave the
    comment without a record (which a verifier would report as withheld)."""
    a = await BallotBox.open(pg_url, server_key, clock=clock)
    b = await BallotBox.open(pg_url, server_key, clock=clock)
    try:
        world = World(a, clock, server_key)
        await world.found()
        (ann,) = await world.enroll(1)
        await world.topic("t")
        await world.motion("m", "t")
        said = await a.append(comment(ann, world.assembly, "Soon gone.", motion="m"))
        await b.sync()
        await b.append(ann.sign("redact", world.assembly, entry=said.index, reason="oops"))
        assert a.state.comments[said.index].redacted_by is None  # a has not seen it yet
        assert await a.texts(0) == [{"index": said.index, "redacted": True, "reason": "oops", "redact": said.index + 1}]
    finally:
        await a.aclose()
        await b.aclose()
