"""Every refusal rule of the ballot box: the statement is refused with its own
exception and the log is unchanged."""

from __future__ import annotations

import copy
import json
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

import tally
from ballots import errors as E
from ballots.statements import Malformed
from client.author import Author, code_hash, genesis, new_code
from tests.world import World


async def refused(world: World, signed: dict[str, Any], exc: type[Exception], match: str | None = None) -> None:
    before = (world.box.size, world.box.checkpoint_text, copy.deepcopy(world.box.state))
    with pytest.raises(exc, match=match):
        await world.box.append(signed)
    assert (world.box.size, world.box.checkpoint_text) == before[:2]
    assert world.box.state == before[2]
    assert len(await world.box.export()) == before[0]


@pytest.fixture
async def w(world: World) -> World:
    await world.enroll(3)
    await world.topic("housing")
    await world.topic("rent", parent="housing")
    await world.motion("bill-1", "rent")
    return world


async def test_first_statement_must_be_genesis(box, server_key) -> None:
    a = Author()
    with pytest.raises(E.NotGenesis):
        await box.append(a.sign("topic", "0" * 64, id="t", title="T", description="", parent=None))
    assert box.size == 0


async def test_genesis_must_name_this_server(box) -> None:
    with pytest.raises(E.WrongServer):
        await box.append(genesis(Author(), server="ab" * 32))
    assert box.size == 0


async def test_second_genesis_refused(w: World) -> None:
    await refused(w, genesis(Author(), server=w.server_key.public_hex), E.AlreadyFounded)


async def test_unknown_field_is_malformed(w: World) -> None:
    signed = w.members[0].sign("ballot", w.assembly, motion="bill-1", choice="yes", weight=5)
    await refused(w, signed, Malformed, "unknown field 'weight'")


async def test_bad_signature(w: World) -> None:
    signed = w.members[0].sign("ballot", w.assembly, motion="bill-1", choice="yes")
    signed["statement"]["choice"] = "no"
    await refused(w, signed, E.BadSignature)


async def test_wrong_assembly(w: World) -> None:
    await refused(w, w.members[0].sign("ballot", "ab" * 32, motion="bill-1", choice="yes"), E.WrongAssembly)


async def test_replayed_seq(w: World) -> None:
    m = w.members[0]
    await w.vote(m, "bill-1", "yes")
    m.seq -= 1
    await refused(w, m.sign("ballot", w.assembly, motion="bill-1", choice="no"), E.ReplayedSeq, "not above")


async def test_member_cannot_sign_organizer_kinds(w: World) -> None:
    m = w.members[0]
    await refused(w, m.sign("topic", w.assembly, id="x", title="X", description="", parent=None), E.NotOrganizer)
    await refused(w, m.sign("invite", w.assembly, code_hash="ab" * 32, note=""), E.NotOrganizer)


async def test_duplicate_invite(w: World) -> None:
    await w.box.append(w.org("invite", code_hash=code_hash("c1"), note=""))
    await refused(w, w.org("invite", code_hash=code_hash("c1"), note="again"), E.DuplicateInvite)


async def test_enroll_unknown_used_and_twice(w: World) -> None:
    await refused(w, Author().sign("enroll", w.assembly, code="nope", name=""), E.UnknownInvite)
    code = new_code()
    await w.box.append(w.org("invite", code_hash=code_hash(code), note=""))
    a = Author()
    await w.box.append(a.sign("enroll", w.assembly, code=code, name="a"))
    await refused(w, Author().sign("enroll", w.assembly, code=code, name="b"), E.InviteUsed)
    code2 = new_code()
    await w.box.append(w.org("invite", code_hash=code_hash(code2), note=""))
    await refused(w, a.sign("enroll", w.assembly, code=code2, name="a"), E.AlreadyMember)


async def test_expelled_key_cannot_come_back(w: World) -> None:
    gone = w.members[2]
    await w.box.append(w.org("expel", member=gone.public, reason="spam"))
    code = new_code()
    await w.box.append(w.org("invite", code_hash=code_hash(code), note=""))
    await refused(w, gone.sign("enroll", w.assembly, code=code, name=""), E.AlreadyMember)
    await refused(w, gone.sign("ballot", w.assembly, motion="bill-1", choice="yes"), E.NotMember)
    await refused(w, w.org("expel", member=gone.public, reason="twice"), E.UnknownMember)


async def test_topic_rules(w: World) -> None:
    await refused(w, w.org("topic", id="housing", title="H", description="", parent=None), E.DuplicateTopic)
    await refused(w, w.org("topic", id="x", title="X", description="", parent="nowhere"), E.UnknownTopic)


async def test_motion_rules(w: World) -> None:
    def motion(**kw: Any) -> dict[str, Any]:
        fields = dict(
            id="bill-2",
            topic="rent",
            title="T",
            summary="S",
            url="",
            opens="2026-11-23T10:00:00Z",
            closes="2026-11-24T10:00:00Z",
            quorum=None,
        )
        return w.org("motion", **{**fields, **kw})

    await refused(w, motion(id="bill-1"), E.DuplicateMotion)
    await refused(w, motion(topic="nowhere"), E.UnknownTopic)
    await refused(w, motion(closes="2026-11-23T10:00:00Z"), E.BadWindow)
    await refused(w, motion(closes="2026-11-23T10:00:00+01:00"), Malformed, "UTC time")


async def test_roster_rules(w: World) -> None:
    a, b, _ = w.members
    await refused(w, w.org("deputies", roster=[]), E.BadRoster, "empty")
    await refused(w, w.org("deputies", roster=[a.public, a.public]), E.BadRoster, "twice")
    await refused(w, w.org("deputies", roster=[a.public, Author().public]), E.BadRoster, "not an active")


async def test_delegation_rules(w: World) -> None:
    a, b, _ = w.members
    await refused(w, a.sign("delegate", w.assembly, scope="*", to=a.public), E.SelfDelegation)
    await refused(w, a.sign("delegate", w.assembly, scope="*", to=Author().public), E.UnknownMember)
    await refused(w, a.sign("delegate", w.assembly, scope="topic:nope", to=b.public), E.UnknownTopic)
    await refused(w, a.sign("delegate", w.assembly, scope="motion:nope", to=b.public), E.UnknownMotion)
    await refused(w, Author().sign("delegate", w.assembly, scope="*", to=b.public), E.NotMember)
    await refused(w, a.sign("delegate", w.assembly, scope="everything", to=b.public), Malformed, "scope")


async def test_ballot_window(w: World) -> None:
    a = w.members[0]
    await w.motion("later", "rent", opens=600, closes=1200)
    await refused(w, a.sign("ballot", w.assembly, motion="later", choice="yes"), E.MotionNotOpen)
    await refused(w, a.sign("ballot", w.assembly, motion="nope", choice="yes"), E.UnknownMotion)
    await refused(w, a.sign("ballot", w.assembly, motion="bill-1", choice="maybe"), Malformed, "choice")
    w.clock.advance(seconds=3600)
    await w.box.close_due()  # the box closes a due motion before it looks at anything else
    await refused(w, a.sign("ballot", w.assembly, motion="bill-1", choice="yes"), E.MotionClosed)


async def test_closed_motion_refuses_ballots_and_delegations(w: World) -> None:
    a, b, _ = w.members
    w.clock.advance(seconds=3601)
    await w.box.close_due()
    assert w.box.state.motions["bill-1"].close_index is not None
    await refused(w, a.sign("ballot", w.assembly, motion="bill-1", choice="yes"), E.MotionClosed)
    await refused(w, a.sign("delegate", w.assembly, scope="motion:bill-1", to=b.public), E.MotionClosed)


async def test_only_the_server_closes(w: World) -> None:
    a = w.members[0]
    r = "ab" * 32
    await refused(w, a.sign("close", w.assembly, motion="bill-1", reveal=r), E.NotServer)
    server = Author(w.server_key, seq=w.box.state.seqs.get(w.server_key.public_hex, 0))
    await refused(w, server.sign("close", w.assembly, motion="bill-1", reveal=r), E.TooEarly)
    await refused(w, server.sign("close", w.assembly, motion="nope", reveal=r), E.UnknownMotion)
    await refused(w, a.sign("commit", w.assembly, lottery="motion:bill-2", hash=r), E.NotServer)


async def test_the_box_commits_right_after_each_motion(w: World) -> None:
    """SPEC 16: the entry after a motion is its commit, SHA-256 of the r the
    server key derives; nobody else can slip a commit in."""
    es = [json.loads(x) for x in await w.box.export()]
    i = next(i for i, e in enumerate(es) if e["statement"]["kind"] == "motion")
    commit = es[i + 1]["statement"]
    r = tally.lottery_secret(w.server_key.seed, w.assembly, "motion:bill-1")
    assert (commit["kind"], commit["lottery"], commit["hash"]) == ("commit", "motion:bill-1", tally.commit_hash(r))
    assert w.box.state.lotteries["motion:bill-1"].index == i + 1
    server = Author(w.server_key, seq=w.box.state.seqs.get(w.server_key.public_hex, 0))
    # No motion awaits a commit from outside, even one signed by the server key.
    await refused(w, server.sign("commit", w.assembly, lottery="motion:bill-1", hash=commit["hash"]), E.BadCommit)
    await refused(w, server.sign("commit", w.assembly, lottery="draw:d1", hash=commit["hash"]), E.BadCommit)


def test_lottery_rules_of_a_state(w: World) -> None:
    """The rules the box replays on rebuild (check_lottery), on a copy of its
    state: an entry other than the commit right after a motion, a commit to
    another r, and a reveal that does not open the commit are refused."""
    from ballots.rules import check
    from ballots.statements import parse_statement

    def stmt(author: Author, kind: str, **fields: Any) -> Any:
        return parse_statement(author.sign(kind, w.assembly, **fields)["statement"])

    state = copy.deepcopy(w.box.state)
    server = Author(w.server_key, seq=state.seqs.get(w.server_key.public_hex, 0))
    now = w.clock()
    secret = lambda name: tally.lottery_secret(w.server_key.seed, w.assembly, name)  # noqa: E731
    state.awaiting_commit = "motion:bill-9"
    with pytest.raises(E.BadCommit, match="must be its commit"):
        check(state, stmt(w.members[0], "ballot", motion="bill-1", choice="yes"), now, server_key=server.public)
    with pytest.raises(E.BadCommit, match="not SHA-256 of this server's r"):
        bad = stmt(server, "commit", lottery="motion:bill-9", hash="00" * 32)
        check(state, bad, now, server_key=server.public, secret=secret)
    good = stmt(server, "commit", lottery="motion:bill-9", hash=tally.commit_hash(secret("motion:bill-9")))
    check(state, good, now, server_key=server.public, secret=secret)
    state.awaiting_commit = None
    later = now + timedelta(seconds=3601)
    wrong = secret("motion:bill-2").hex()
    with pytest.raises(E.BadReveal, match="not the commit hash"):
        check(state, stmt(server, "close", motion="bill-1", reveal=wrong), later, server_key=server.public)
    right = secret("motion:bill-1").hex()
    check(state, stmt(server, "close", motion="bill-1", reveal=right), later, server_key=server.public)


async def test_result_must_follow_its_close(w: World) -> None:
    server = Author(w.server_key, seq=w.box.state.seqs.get(w.server_key.public_hex, 0))
    doc = {
        "motion": "bill-1",
        "close": "00" * 32,
        "seed": "00" * 32,
        "members": 3,
        "yes": 0,
        "no": 0,
        "abstain": 0,
        "direct": 0,
        "delegated": 0,
        "dead_end": 0,
        "cycle": 0,
        "absent": 3,
        "quorum": {"required": 0, "met": True},
        "method": "largest_remainder",
        "seats": {"yes": 0, "no": 0, "abstain": 0},
        "instructions": [],
    }
    await refused(w, server.sign("result", w.assembly, **doc), E.BadResult)


async def test_name_of_an_active_member_is_taken(w: World) -> None:
    """Server policy (ballots.policy), not a rule of the log: "M0" is "m0"."""
    code = new_code()
    await w.box.append(w.org("invite", code_hash=code_hash(code), note=""))
    await refused(w, Author().sign("enroll", w.assembly, code=code, name="M0"), E.NameTaken)


async def test_every_rule_has_a_refusal_test() -> None:
    """Each exception class of ballots.errors is raised by a test (here, or in
    the test file of the kind that brought the rule)."""
    source = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    missing = [c.__name__ for c in E.ALL_REFUSALS if f"E.{c.__name__}" not in source]
    assert missing == []


def test_due_motions_is_pure_and_ordered() -> None:
    """Close first (docs/SPEC.md section 4): the motions due at `now`, earliest
    closing first, ties by id; closed motions and future ones are not due."""
    from datetime import datetime, timedelta

    from ballots.rules import due_motions, next_closing
    from ballots.state import AssemblyState, Motion

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    state = AssemblyState()
    for mid, closes, closed in [("b", 10, False), ("a", 10, False), ("c", 5, False), ("d", 1, True), ("e", 30, False)]:
        m = Motion(mid, "t", mid, "", "", t0, t0 + timedelta(seconds=closes), None, 0)
        m.close_index = 1 if closed else None
        state.motions[mid] = m
    assert due_motions(state, t0 + timedelta(seconds=4)) == []
    assert due_motions(state, t0 + timedelta(seconds=10)) == ["c", "a", "b"]
    assert next_closing(state) == t0 + timedelta(seconds=5)
    assert state.motions["b"].close_index is None  # nothing changed
