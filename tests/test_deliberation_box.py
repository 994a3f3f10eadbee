"""Deliberation in the ballot box (docs/SPEC.md section 15): comments with
their texts off the log, redactions, proposals, support, and turning a ready
proposal into a motion. Every refusal is seen refused with nothing written."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from ballots import errors as E
from ballots import schema as T
from ballots.box import BallotBox
from ballots.statements import Malformed
from ballots.texts import RatePolicy, text_hash
from client.author import Author, comment
from tests.world import World, at


async def refused(world: World, signed: dict[str, Any], exc: type[Exception], match: str | None = None) -> None:
    before = (world.box.size, world.box.checkpoint_text, copy.deepcopy(world.box.state))
    texts_before = await stored_texts(world.box)
    with pytest.raises(exc, match=match):
        await world.box.append(signed)
    assert (world.box.size, world.box.checkpoint_text) == before[:2]
    assert world.box.state == before[2]
    assert len(await world.box.export()) == before[0]
    assert await stored_texts(world.box) == texts_before


async def stored_texts(box: BallotBox) -> dict[int, tuple[str, str]]:
    async with box.engine.connect() as conn:
        rows = await conn.execute(select(T.texts.c.idx, T.texts.c.text, T.texts.c.salt))
        return {i: (t, s) for i, t, s in rows}


@pytest.fixture
async def w(world: World) -> World:
    await world.enroll(4)
    await world.topic("housing")
    await world.motion("bill-1", "housing")
    return world


def say(w: World, who: Author, text: str = "I agree.", **kw: Any) -> dict[str, Any]:
    kw.setdefault("motion", "bill-1")
    return comment(who, w.assembly, text, **kw)


def propose(w: World, who: Author, id: str = "bike-lanes", **kw: Any) -> dict[str, Any]:
    fields = {"topic": "housing", "title": "Bike lanes", "summary": "Paint them.", "url": "", "amends": None, **kw}
    return who.sign("proposal", w.assembly, id=id, **fields)


def motion_from(w: World, proposal: str, id: str = "bike-bill") -> dict[str, Any]:
    return w.org(
        "motion",
        id=id,
        topic="housing",
        title="Bike lanes",
        summary="Paint them.",
        url=f"proposal:{proposal}",
        opens=at(w.clock),
        closes=at(w.clock, seconds=3600),
        quorum=None,
    )


# -- comments -------------------------------------------------------------------


async def test_comment_is_appended_and_its_text_stored_off_the_log(w: World) -> None:
    r = await w.box.append(say(w, w.members[0], "Rents are too high.", stance="for"))
    st = r.entry["statement"]
    assert "text" not in st and "text" not in r.entry and st["stance"] == "for"
    texts = await w.box.texts(0)
    assert texts == [{"index": r.index, "text": "Rents are too high.", "salt": texts[0]["salt"]}]
    assert text_hash(bytes.fromhex(texts[0]["salt"]), "Rents are too high.") == st["text_hash"]
    reply = await w.box.append(say(w, w.members[1], "No.", stance="against", reply_to=r.index))
    assert w.box.state.comments[r.index].replies == 1
    assert [t["index"] for t in await w.box.texts(r.index + 1)] == [reply.index]


async def test_comment_needs_exactly_one_target(w: World) -> None:
    m = w.members[0]
    await refused(w, say(w, m, motion=None), Malformed, "exactly one")
    await w.box.append(propose(w, m))
    await refused(w, say(w, m, motion="bill-1", proposal="bike-lanes"), Malformed, "exactly one")


async def test_comment_from_a_non_member(w: World) -> None:
    await refused(w, say(w, Author()), E.NotMember)


async def test_comment_on_unknown_motion_or_proposal(w: World) -> None:
    await refused(w, say(w, w.members[0], motion="nope"), E.UnknownMotion)
    await refused(w, say(w, w.members[0], motion=None, proposal="nope"), E.UnknownProposal)


async def test_comment_on_a_closed_bill_is_refused(w: World) -> None:
    w.clock.advance(seconds=3601)
    await w.box.close_due()
    await refused(w, say(w, w.members[0]), E.MotionClosed, "debate is over")


async def test_comment_at_closes_is_refused_before_the_closer_ran(w: World) -> None:
    """Judged like a ballot (SPEC 15.1 and "close first", 13.2): a comment
    received at `closes`, before the closer ran, makes the box append the
    motion's `close` first, and is then refused; its text is not stored."""
    await w.box.append(say(w, w.members[0], "just in time"))
    w.clock.advance(seconds=3600)  # exactly `closes`; close_due not run
    size = w.box.size
    with pytest.raises(E.MotionClosed):
        await w.box.append(say(w, w.members[0], "too late"))
    close = w.box.state.motions["bill-1"].close_index
    assert close is not None and close >= size  # the close came first, at the refused comment's turn
    assert len(w.box.state.comments) == 1 and len(await stored_texts(w.box)) == 1


async def test_debate_may_start_before_the_vote_and_go_on_after_adoption(w: World) -> None:
    """SPEC 15.1: comments on an upcoming motion are accepted, and on a
    proposal as long as it exists, also after it became a bill."""
    await w.motion("later", "housing", opens=3600, closes=7200)
    await w.box.append(say(w, w.members[0], "Before the vote opens.", motion="later"))
    await w.box.append(propose(w, w.members[0]))
    await w.box.append(w.members[0].sign("support", w.assembly, proposal="bike-lanes", on=True))  # 1 of 4: ready
    await w.box.append(motion_from(w, "bike-lanes"))
    await w.box.append(say(w, w.members[1], "Still worth saying.", motion=None, proposal="bike-lanes"))
    assert len(w.box.state.comments_on["proposal:bike-lanes"]) == 1
    assert len(w.box.state.comments_on["motion:later"]) == 1


async def test_reply_to_must_be_a_comment_on_the_same_thing(w: World) -> None:
    m = w.members[0]
    await w.motion("bill-2", "housing")
    first = await w.box.append(say(w, m))
    await refused(w, say(w, m, reply_to=1), E.BadReply, "not a comment")
    await refused(w, say(w, m, reply_to=first.index + 99), E.BadReply, "not a comment")
    await refused(w, say(w, m, motion="bill-2", reply_to=first.index), E.BadReply, "not the same")


async def test_text_must_come_with_a_comment_and_only_with_one(w: World) -> None:
    m = w.members[0]
    bare = say(w, m)
    del bare["text"], bare["salt"]
    await refused(w, bare, Malformed, "comes with its 'text'")
    half = say(w, m)
    del half["salt"]
    await refused(w, half, Malformed, "missing field 'salt'")
    ballot = {**m.sign("ballot", w.assembly, motion="bill-1", choice="yes"), "text": "x", "salt": "00" * 16}
    await refused(w, ballot, Malformed, "only a comment carries a text")


async def test_text_length_limits(w: World) -> None:
    m = w.members[0]
    await refused(w, say(w, m, ""), E.BadTextLength, "has 0 characters, want 1 to 4000")
    await refused(w, say(w, m, "é" * 4001), E.BadTextLength, "has 4001 characters")
    await w.box.append(say(w, m, "😀" * 4000))  # code points, not bytes or UTF-16 units


async def test_text_must_match_its_hash(w: World) -> None:
    m = w.members[0]
    signed = say(w, m, "The real text.")
    signed["text"] = "Another text."
    await refused(w, signed, E.TextHashMismatch)
    bad_salt = say(w, m)
    bad_salt["salt"] = "AB" * 16
    await refused(w, bad_salt, Malformed, "salt")
    short = say(w, m, salt=b"\x01" * 8)
    await refused(w, short, Malformed, "16 random bytes")


async def test_rate_limit_is_the_servers_policy(box: BallotBox, world: World) -> None:
    world.box.comment_rate = RatePolicy(count=2, seconds=60)
    await world.enroll(1)
    await world.topic("housing")
    await world.motion("bill-1", "housing")
    m = world.members[0]
    await world.box.append(say(world, m, "one"))
    await world.box.append(say(world, m, "two"))
    await refused(world, say(world, m, "three"), E.RateLimited, "at most 2 comments in 60 seconds")
    world.clock.advance(seconds=61)
    await world.box.append(say(world, m, "three, later"))


# -- redaction ------------------------------------------------------------------


async def test_author_redacts_and_the_text_is_erased_the_log_intact(w: World) -> None:
    m = w.members[0]
    r = await w.box.append(say(w, m, "Something I regret."))
    log_before = await w.box.export()
    await w.box.append(m.sign("redact", w.assembly, entry=r.index, reason="I said too much"))
    assert (await w.box.export())[: len(log_before)] == log_before
    assert await w.box.texts(r.index, 1) == [
        {"index": r.index, "redacted": True, "reason": "I said too much", "redact": r.index + 1}
    ]
    assert r.index not in await stored_texts(w.box)
    await refused(w, w.org("redact", entry=r.index, reason="again"), E.AlreadyRedacted)


async def test_organizer_redacts_another_member_cannot(w: World) -> None:
    r = await w.box.append(say(w, w.members[0], "Insult."))
    await refused(w, w.members[1].sign("redact", w.assembly, entry=r.index, reason="no"), E.NotRedactor)
    await w.box.append(w.org("redact", entry=r.index, reason="insult, rule 3"))
    assert w.box.state.comments[r.index].reason == "insult, rule 3"


async def test_expelled_author_may_still_erase_their_words(w: World) -> None:
    m = w.members[0]
    r = await w.box.append(say(w, m, "Mine."))
    await w.box.append(w.org("expel", member=m.public, reason="left"))
    await w.box.append(m.sign("redact", w.assembly, entry=r.index, reason="I left"))


async def test_redact_names_a_comment(w: World) -> None:
    await refused(w, w.org("redact", entry=1, reason="x"), E.UnknownComment)
    await refused(w, w.org("redact", entry=10**6, reason="x"), E.UnknownComment)
    r = await w.box.append(say(w, w.members[0]))
    await refused(w, w.org("redact", entry=r.index, reason=""), Malformed, "reason")


# -- proposals and support ------------------------------------------------------


async def test_proposal_rules(w: World) -> None:
    m = w.members[0]
    await refused(w, propose(w, Author()), E.NotMember)
    await refused(w, propose(w, m, id="bill-1"), E.DuplicateProposal, "taken by a motion")
    await refused(w, propose(w, m, topic="nowhere"), E.UnknownTopic)
    await refused(w, propose(w, m, amends="nope"), E.UnknownMotion)
    await refused(w, propose(w, m, url="ftp://x"), Malformed, "url")
    await w.box.append(propose(w, m))
    await refused(w, propose(w, w.members[1]), E.DuplicateProposal, "taken")
    await w.box.append(propose(w, m, id="bill-1-amended", amends="bill-1", url="https://example.org/a"))
    assert w.box.state.proposals["bill-1-amended"].amends == "bill-1"
    w.clock.advance(seconds=3601)
    await w.box.close_due()
    await refused(w, propose(w, m, id="late-amendment", amends="bill-1"), E.MotionClosed, "amended")


async def test_support_rules(w: World) -> None:
    m = w.members[0]
    await refused(w, m.sign("support", w.assembly, proposal="nope", on=True), E.UnknownProposal)
    await w.box.append(propose(w, m))
    await refused(w, Author().sign("support", w.assembly, proposal="bike-lanes", on=True), E.NotMember)
    await w.box.append(m.sign("support", w.assembly, proposal="bike-lanes", on=True))
    await w.box.append(w.members[1].sign("support", w.assembly, proposal="bike-lanes", on=True))
    await w.box.append(m.sign("support", w.assembly, proposal="bike-lanes", on=False))
    assert w.box.state.supporters(w.box.state.proposals["bike-lanes"]) == [w.members[1].public]


async def test_a_ready_proposal_becomes_a_motion_once(w: World) -> None:
    await w.enroll(12)  # 16 members: 2 supporters are 12.5 %, 1 is 6.25 %
    await w.box.append(propose(w, w.members[0]))
    await refused(w, motion_from(w, "nope"), E.UnknownProposal)
    await refused(w, motion_from(w, "bike-lanes"), E.ProposalNotReady, "0 supporters, want 10 % of 16")
    await w.box.append(w.members[0].sign("support", w.assembly, proposal="bike-lanes", on=True))
    await refused(w, motion_from(w, "bike-lanes"), E.ProposalNotReady, "1 supporters")
    await w.box.append(w.members[1].sign("support", w.assembly, proposal="bike-lanes", on=True))
    assert w.box.state.is_ready(w.box.state.proposals["bike-lanes"])
    await w.box.append(motion_from(w, "bike-lanes", id="bike-lanes"))  # a motion may take the proposal's id
    assert w.box.state.proposals["bike-lanes"].motion == "bike-lanes"
    await refused(w, motion_from(w, "bike-lanes", id="again"), E.ProposalAdopted)
    await refused(w, w.members[2].sign("support", w.assembly, proposal="bike-lanes", on=True), E.ProposalAdopted)


async def test_an_expelled_supporter_no_longer_counts(w: World) -> None:
    await w.enroll(6)  # 10 members
    await w.box.append(propose(w, w.members[0]))
    await w.box.append(w.members[0].sign("support", w.assembly, proposal="bike-lanes", on=True))
    await w.box.append(w.org("expel", member=w.members[0].public, reason="left"))
    await refused(w, motion_from(w, "bike-lanes"), E.ProposalNotReady)
    await w.box.append(w.members[1].sign("support", w.assembly, proposal="bike-lanes", on=True))
    await w.box.append(motion_from(w, "bike-lanes"))  # 1 of 9 active: 10 >= 9


# -- restart and rebuild keep everything ----------------------------------------


async def test_state_survives_restart_and_rebuild_keeps_texts(w: World, db_url: str, clock, server_key) -> None:
    m = w.members[0]
    r1 = await w.box.append(say(w, m, "kept", stance="for"))
    r2 = await w.box.append(say(w, w.members[1], "erased", stance="against", reply_to=r1.index))
    await w.box.append(w.members[1].sign("redact", w.assembly, entry=r2.index, reason="r"))
    await w.box.append(propose(w, m))
    await w.box.append(m.sign("support", w.assembly, proposal="bike-lanes", on=True))
    state, texts = copy.deepcopy(w.box.state), await w.box.texts(0)
    await w.box.aclose()
    again = await BallotBox.open(db_url, server_key, clock=clock)
    try:
        assert again.state == state
        rebuilt = await again.rebuild()
        assert rebuilt == state
        assert await again.texts(0) == texts
        assert texts[0]["text"] == "kept" and texts[1]["redacted"] is True
    finally:
        await again.aclose()
