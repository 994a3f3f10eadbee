"""Random sequences of valid and invalid statements against the ballot box and
against a naive model of the rules (SPEC section 4) written here, with its own
small sets and dicts rather than ``ballots.state``.

After every step the box must have decided as the model predicted (accepted,
or refused with the predicted code), written nothing on a refusal, and kept a
log whose chain, Merkle root and head recompute from the exported entries.
Every few steps, and at the end, the projections read back by a second box
and a full ``rebuild`` must equal the incremental state.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ballots import errors as E
from ballots.box import BallotBox
from ballots.statements import Malformed, format_time
from client.author import code_hash
from crypto import merkle
from crypto.canonical import parse_canonical
from crypto.checkpoint import open_checkpoint
from crypto.signing import KeyPair, sign_statement
from tests.world import T0, Clock

SERVER = KeyPair(bytes(range(32)))
FOUNDER = KeyPair(bytes([200]) * 32)
POOL = [KeyPair(bytes([i + 1]) * 32) for i in range(5)]  # would-be members
STRANGER = KeyPair(bytes([99]) * 32)  # never invited
KEYS = [k.public_hex for k in POOL]
TOPICS = ["t0", "t1", "t2"]
MOTIONS = ["m0", "m1", "m2"]
CHOICES = ["yes", "no", "abstain", None]
REBUILD_EVERY = 10

pool_index = st.integers(0, len(POOL) - 1)
# Anyone who could author a member statement: the pool, the founder (an
# organizer, not a member) and a stranger.
# Who authors a member statement: mostly an active member (when there is
# one), else anyone of the pool, the founder (an organizer, not a member) or a
# stranger; resolved against the model by ``BoxMachine.who``.
authors = st.tuples(st.sampled_from(["member", "member", "member", "pool", "founder", "stranger"]), pool_index)


class Model:
    """What the log has established, in the plainest terms."""

    def __init__(self) -> None:
        self.size = 0
        self.assembly = ""
        self.seqs: dict[str, int] = {}
        self.invites: dict[str, bool] = {}  # code hash -> used
        self.enrolled: set[str] = set()  # ever, including the expelled
        self.active: set[str] = set()
        self.topics: set[str] = set()
        self.motions: dict[str, tuple[str, str, bool]] = {}  # id -> (opens, closes, closed); times as written

    def close_due(self, now: str) -> int:
        """The box closes every due motion (close, then result) before it
        looks at a statement. Returns how many entries that adds."""
        due = [m for m, (_, closes, closed) in self.motions.items() if not closed and closes <= now]
        for m in due:
            opens, closes, _ = self.motions[m]
            self.motions[m] = (opens, closes, True)
        self.size += 2 * len(due)
        if due:
            self.seqs[SERVER.public_hex] = self.seqs.get(SERVER.public_hex, 0) + 2 * len(due)
        return 2 * len(due)

    def predict(self, s: dict[str, Any], now: str) -> str | None:
        """The refusal code of statement ``s`` received at ``now``, or None."""
        author, kind = s["author"], s["kind"]
        if s["assembly"] != self.assembly:
            return "wrong_assembly"
        if s["seq"] <= self.seqs.get(author, 0):
            return "replayed_seq"
        organizer = author == FOUNDER.public_hex
        member = author in self.active
        if kind in ("invite", "expel", "topic", "motion", "deputies") and not organizer:
            return "not_organizer"
        if kind in ("delegate", "ballot") and not member:
            return "not_member"
        if kind in ("close", "result") and author != SERVER.public_hex:
            return "not_server"
        if kind == "invite":
            return "duplicate_invite" if s["code_hash"] in self.invites else None
        if kind == "enroll":
            h = code_hash(s["code"])
            if h not in self.invites:
                return "unknown_invite"
            if self.invites[h]:
                return "invite_used"
            return "already_member" if author in self.enrolled else None
        if kind == "expel":
            return None if s["member"] in self.active else "unknown_member"
        if kind == "topic":
            if s["id"] in self.topics:
                return "duplicate_topic"
            return "unknown_topic" if s["parent"] is not None and s["parent"] not in self.topics else None
        if kind == "motion":
            if s["id"] in self.motions:
                return "duplicate_motion"
            if s["topic"] not in self.topics:
                return "unknown_topic"
            return None if s["opens"] < s["closes"] else "bad_window"
        if kind == "deputies":
            roster = s["roster"]
            ok = roster and len(set(roster)) == len(roster) and all(k in self.active for k in roster)
            return None if ok else "bad_roster"
        if kind == "delegate":
            scope, to = s["scope"], s["to"]
            if scope.startswith("topic:") and scope[6:] not in self.topics:
                return "unknown_topic"
            if scope.startswith("motion:"):
                if scope[7:] not in self.motions:
                    return "unknown_motion"
                if self.motions[scope[7:]][2]:
                    return "motion_closed"
            if to is not None and to != "self":
                if to == author:
                    return "self_delegation"
                if to not in self.active:
                    return "unknown_member"
            return None
        if kind == "ballot":
            if s["motion"] not in self.motions:
                return "unknown_motion"
            opens, closes, closed = self.motions[s["motion"]]
            if now < opens:
                return "motion_not_open"
            return "motion_closed" if closed or now >= closes else None
        if kind == "close":
            if s["motion"] not in self.motions:
                return "unknown_motion"
            # A due motion was closed by the box itself just before.
            return "motion_closed" if self.motions[s["motion"]][2] else "too_early"
        raise AssertionError(f"the model does not know kind {kind}")

    def accept(self, s: dict[str, Any]) -> None:
        self.size += 1
        self.seqs[s["author"]] = s["seq"]
        match s["kind"]:
            case "invite":
                self.invites[s["code_hash"]] = False
            case "enroll":
                self.invites[code_hash(s["code"])] = True
                self.enrolled.add(s["author"])
                self.active.add(s["author"])
            case "expel":
                self.active.discard(s["member"])
            case "topic":
                self.topics.add(s["id"])
            case "motion":
                self.motions[s["id"]] = (s["opens"], s["closes"], False)
                self.size += 1  # the box appends its commit right after it (SPEC 16)


class BoxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.dir = Path(tempfile.mkdtemp(prefix="box-stateful-"))
        self.url = f"sqlite+aiosqlite:///{self.dir / 'box.db'}"
        self.clock = Clock(T0)
        self.box: BallotBox = self.runner.run(BallotBox.open(self.url, SERVER, clock=self.clock))
        self.model = Model()
        self.next_seq: dict[str, int] = {}
        self.codes: list[str] = []
        self.steps = 0

    # -- plumbing -----------------------------------------------------------

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def now(self) -> str:
        return format_time(self.clock.t)

    def sign(
        self, key: KeyPair, kind: str, *, seq: int | None = None, assembly: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        if seq is None:
            seq = self.next_seq.get(key.public_hex, 0) + 1
        self.next_seq[key.public_hex] = max(seq, self.next_seq.get(key.public_hex, 0))
        statement = {
            "v": 1,
            "assembly": self.model.assembly if assembly is None else assembly,
            "kind": kind,
            "author": key.public_hex,
            "seq": seq,
            **fields,
        }
        return sign_statement(key, statement)

    def who(self, pick: tuple[str, int]) -> KeyPair:
        kind, i = pick
        active = [k for k in POOL if k.public_hex in self.model.active]
        if kind == "member" and active:
            return active[i % len(active)]
        return {"founder": FOUNDER, "stranger": STRANGER}.get(kind, POOL[i])

    def submit(self, signed: dict[str, Any], *, expect: str | None = "model") -> None:
        """Append ``signed``; the outcome must be the model's (or ``expect``,
        for refusals found before the rules: malformed, bad_signature)."""
        before = self.box.size
        now = self.now()
        if expect == "model":
            added = self.model.close_due(now)
            expect = self.model.predict(signed["statement"], now)
        else:
            added = 0  # refused before the writer: nothing is closed either
        event(f"{signed['statement']['kind']}: {expect or 'accepted'}")
        try:
            receipt = self.run(self.box.append(signed))
        except (E.Refused, Malformed) as exc:
            assert exc.code == expect, f"box refused with {exc.code}, model says {expect}: {exc}"
            assert self.box.size == before + added
            return
        assert expect is None, f"box accepted, model says {expect}"
        assert receipt.index == before + added
        self.model.accept(signed["statement"])
        self.model.close_due(now)  # a motion may be due as soon as it is made

    # -- rules --------------------------------------------------------------

    @initialize(members=st.integers(0, 3), topic=st.booleans(), motion=st.booleans())
    def found(self, members: int, topic: bool, motion: bool) -> None:
        """Refused before genesis, then founded; then, so that 30 random steps
        reach the deeper rules, maybe a few members, a topic and an open motion."""
        self.submit(
            self.sign(FOUNDER, "topic", assembly="0" * 64, id="t", title="T", description="", parent=None),
            expect="not_genesis",
        )
        genesis = {
            "name": "A",
            "organizers": [FOUNDER.public_hex],
            "rules": {"method": "largest_remainder", "quorum": 0, "no_quorum": "abstain"},
        }
        self.submit(
            self.sign(FOUNDER, "assembly", assembly="", server=STRANGER.public_hex, **genesis), expect="wrong_server"
        )
        self.submit(self.sign(FOUNDER, "assembly", assembly="", server=SERVER.public_hex, **genesis), expect=None)
        self.model.size, self.model.assembly = 1, self.box.state.assembly_id
        self.model.seqs[FOUNDER.public_hex] = self.next_seq[FOUNDER.public_hex]
        for i in range(members):
            self.invite(FOUNDER, "fresh")
            self.enroll(i, "unused")
        if topic or motion:
            self.topic(FOUNDER, "t0", None)
        if motion:
            self.motion(FOUNDER, "m0", "t0", 0, 3600)

    @rule(by=st.sampled_from([FOUNDER, FOUNDER, POOL[0]]), code=st.sampled_from(["fresh", "fresh", "again"]))
    def invite(self, by: KeyPair, code: str) -> None:
        if code == "fresh" or not self.codes:
            self.codes.append(f"code-{len(self.codes)}")
        chosen = self.codes[-1] if code == "fresh" else self.codes[0]
        self.submit(self.sign(by, "invite", code_hash=code_hash(chosen), note=""))

    @rule(who=pool_index, code=st.sampled_from(["unused", "unused", "used", "unknown"]))
    def enroll(self, who: int, code: str) -> None:
        """An invited code not yet redeemed (when there is one), one already
        redeemed (or any invited code), or a code never invited."""
        used = {h for h, u in self.model.invites.items() if u}
        unused = [c for c in self.codes if code_hash(c) in self.model.invites and code_hash(c) not in used]
        redeemed = [c for c in self.codes if code_hash(c) in used] or self.codes
        if code == "unused" and unused:
            chosen = unused[0]
        elif code == "used" and redeemed:
            chosen = redeemed[0]
        else:
            chosen = "no-such-code"
        self.submit(self.sign(POOL[who], "enroll", code=chosen, name=f"p{who}"))

    @rule(by=st.sampled_from([FOUNDER, FOUNDER, POOL[1]]), member=st.sampled_from([*KEYS, STRANGER.public_hex]))
    def expel(self, by: KeyPair, member: str) -> None:
        self.submit(self.sign(by, "expel", member=member, reason="r"))

    @rule(
        by=st.sampled_from([FOUNDER, FOUNDER, POOL[2]]),
        id=st.sampled_from(TOPICS),
        parent=st.sampled_from([None, *TOPICS, "nowhere"]),
    )
    def topic(self, by: KeyPair, id: str, parent: str | None) -> None:
        self.submit(self.sign(by, "topic", id=id, title=id, description="", parent=parent))

    @rule(
        by=st.sampled_from([FOUNDER, FOUNDER, POOL[3]]),
        id=st.sampled_from(MOTIONS),
        topic=st.sampled_from([*TOPICS, "nowhere"]),
        opens=st.sampled_from([-60, 0, 30, 600]),
        length=st.sampled_from([-10, 0, 60, 3600]),
    )
    def motion(self, by: KeyPair, id: str, topic: str, opens: int, length: int) -> None:
        t_open = self.clock.t + timedelta(seconds=opens)
        self.submit(
            self.sign(
                by,
                "motion",
                id=id,
                topic=topic,
                title=id,
                summary="s",
                url="",
                opens=format_time(t_open),
                closes=format_time(t_open + timedelta(seconds=length)),
                quorum=None,
            )
        )

    @rule(
        by=st.sampled_from([FOUNDER, FOUNDER, POOL[0]]),
        roster=st.lists(st.sampled_from([*KEYS, STRANGER.public_hex]), max_size=3),
    )
    def deputies(self, by: KeyPair, roster: list[str]) -> None:
        self.submit(self.sign(by, "deputies", roster=roster))

    @rule(
        pick=authors,
        scope=st.sampled_from(
            ["*", "*", "topic:t0", "topic:t1", "topic:nowhere", "motion:m0", "motion:m0", "motion:m1", "motion:nowhere"]
        ),
        to=st.sampled_from(["member", "member", "member", "own", "self", None, "stranger", "founder"]),
        other=pool_index,
    )
    def delegate(self, pick: tuple[str, int], scope: str, to: str | None, other: int) -> None:
        who = self.who(pick)
        active = sorted(self.model.active) or KEYS
        key = {
            "member": active[other % len(active)],
            "own": who.public_hex,
            "stranger": STRANGER.public_hex,
            "founder": FOUNDER.public_hex,
        }.get(to or "", to)  # type: ignore[arg-type]
        self.submit(self.sign(who, "delegate", scope=scope, to=key))

    @rule(pick=authors, motion=st.sampled_from([*MOTIONS, "nowhere"]), choice=st.sampled_from(CHOICES))
    def ballot(self, pick: tuple[str, int], motion: str, choice: str | None) -> None:
        who = self.who(pick)
        self.submit(self.sign(who, "ballot", motion=motion, choice=choice))

    @rule(i=pool_index, choice=st.sampled_from(CHOICES))
    def member_votes(self, i: int, choice: str | None) -> None:
        """The common case, weighted up: a member votes on the first motion."""
        self.ballot(("member", i), "m0", choice)

    @rule(motion=st.sampled_from([*MOTIONS, "nowhere"]), by_server=st.booleans())
    def close(self, motion: str, by_server: bool) -> None:
        by = SERVER if by_server else POOL[0]
        # Well above the server's last seq, which the box's own closes may move first.
        seq = self.model.seqs.get(by.public_hex, 0) + 100 if by_server else None
        self.submit(self.sign(by, "close", seq=seq, motion=motion, reveal="ab" * 32))

    @precondition(lambda self: any(v for v in self.model.seqs.values()))
    @rule(data=st.data())
    def replayed_seq(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from([k for k in [FOUNDER, *POOL] if self.model.seqs.get(k.public_hex)]))
        last = self.model.seqs[key.public_hex]
        seq = data.draw(st.integers(1, last))
        self.submit(self.sign(key, "ballot", seq=seq, motion="m0", choice="yes"))

    @rule(pick=authors)
    def wrong_assembly(self, pick: tuple[str, int]) -> None:
        who = self.who(pick)
        self.submit(self.sign(who, "ballot", assembly="ab" * 32, motion="m0", choice="yes"))

    @rule(pick=authors)
    def bad_signature(self, pick: tuple[str, int]) -> None:
        who = self.who(pick)
        signed = self.sign(who, "ballot", motion="m0", choice="yes")
        signed["statement"]["choice"] = "no"
        self.submit(signed, expect="bad_signature")

    @rule(pick=authors)
    def malformed(self, pick: tuple[str, int]) -> None:
        who = self.who(pick)
        self.submit(self.sign(who, "ballot", motion="m0", choice="yes", weight=2), expect="malformed")

    @rule(seconds=st.sampled_from([1, 30, 61, 700, 3601]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule()
    def close_due(self) -> None:
        self.model.close_due(self.now())
        self.run(self.box.close_due())

    # -- invariants ---------------------------------------------------------

    @invariant()
    def log_is_sound(self) -> None:
        if not hasattr(self, "box"):
            return
        box = self.box
        assert box.size == self.model.size
        lines = self.run(box.export())
        assert len(lines) == box.size
        prev = "0" * 64
        for i, line in enumerate(lines):
            entry = parse_canonical(line)
            assert entry["index"] == i and entry["prev"] == prev
            prev = hashlib.sha256(line).hexdigest()
        if lines:
            assert box.head_hash.hex() == prev
            root = merkle.root([merkle.leaf_hash(x) for x in lines])
            assert root == box.frontier.root()
            cp = open_checkpoint(
                box.checkpoint_text, public_key=SERVER.public_bytes, name=box.origin, origin=box.origin
            )
            assert (cp.size, cp.root) == (box.size, root)
        assert {k for k, m in box.state.members.items() if m.active} == self.model.active
        self.steps += 1
        if self.steps % REBUILD_EVERY == 0:
            self.projections_equal_a_rebuild()

    def projections_equal_a_rebuild(self) -> None:
        async def compare() -> None:
            other = await BallotBox.open(self.url, SERVER, clock=self.clock)
            try:
                assert other.state == self.box.state
                assert await other.rebuild() == self.box.state
            finally:
                await other.aclose()

        self.run(compare())

    def teardown(self) -> None:
        try:
            if hasattr(self, "box"):
                self.projections_equal_a_rebuild()
                self.run(self.box.aclose())
        finally:
            self.runner.close()
            shutil.rmtree(self.dir, ignore_errors=True)


BoxMachine.TestCase.settings = settings(
    max_examples=15,  # sized to make test (82 s at 25 on one worker, since each step checks closed paths and the kept D)
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBoxMachine = BoxMachine.TestCase
