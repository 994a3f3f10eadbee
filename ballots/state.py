"""The assembly's state as the log has made it, and the stateful rules of
DESIGN section 3 checked against it.

``check`` raises a ``Refused`` subclass and changes nothing; ``apply`` folds an
accepted statement into the state. Both are pure (no I/O), so the ballot box,
``rebuild`` and the tests replay the log with exactly the same code.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ballots import errors as E
from ballots.statements import Kind, Statement, format_time, parse_time
from crypto.canonical import canonical_bytes


@dataclass(slots=True)
class Member:
    key: str
    name: str
    active: bool
    enrolled_index: int
    code_hash: str


@dataclass(slots=True)
class Motion:
    id: str
    topic: str
    title: str
    summary: str
    url: str
    opens: datetime
    closes: datetime
    quorum: int | None
    index: int
    close_index: int | None = None
    close_hash: str | None = None
    result_index: int | None = None
    result: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        """The motion as its statement gave it (times in the log's form)."""
        return {
            "id": self.id, "topic": self.topic, "title": self.title, "summary": self.summary,
            "url": self.url, "opens": format_time(self.opens), "closes": format_time(self.closes),
            "quorum": self.quorum,
        }


@dataclass(slots=True)
class Topic:
    id: str
    title: str
    description: str
    parent: str | None
    index: int


@dataclass(slots=True)
class AssemblyState:
    """Everything the rules and the tally need, folded from the log."""

    size: int = 0
    assembly_id: str | None = None
    server: str | None = None
    name: str = ""
    organizers: tuple[str, ...] = ()
    rules: dict[str, Any] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    invites: dict[str, str | None] = field(default_factory=dict)  # code_hash -> member key or None
    invite_notes: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    motions: dict[str, Motion] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)  # member -> scope -> key | "self"
    ballots: dict[str, dict[str, str]] = field(default_factory=dict)  # motion -> member -> choice
    roster: tuple[str, ...] = ()

    def is_active(self, key: str) -> bool:
        m = self.members.get(key)
        return m is not None and m.active

    def scope_chain(self, motion_id: str) -> list[str]:
        """`motion:M, topic:T, topic:parent(T), ..., *` (DESIGN section 4)."""
        chain = [f"motion:{motion_id}"]
        topic: str | None = self.motions[motion_id].topic
        while topic is not None:
            chain.append(f"topic:{topic}")
            topic = self.topics[topic].parent
        chain.append("*")
        return chain

    def active_roster(self) -> list[str]:
        return [k for k in self.roster if self.is_active(k)]


def code_hash(code: str) -> str:
    """What an `invite` publishes for an invitation code: SHA-256 of its UTF-8."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def assembly_id(genesis: dict[str, Any]) -> str:
    """SHA-256 of the canonical bytes of the genesis statement object."""
    return hashlib.sha256(canonical_bytes(genesis)).hexdigest()


def check(state: AssemblyState, st: Statement, received: datetime, *, server_key: str) -> None:
    """Raise the Refused subclass of the first rule ``st`` breaks, received at
    ``received``. The signature is checked before, by the caller."""
    if state.size == 0:
        if st.kind is not Kind.ASSEMBLY:
            raise E.NotGenesis("the first statement must be the assembly's genesis")
        if st["server"] != server_key:
            raise E.WrongServer(f"genesis names server {st['server']}, this server is {server_key}")
        return
    if st.kind is Kind.ASSEMBLY:
        raise E.AlreadyFounded("this log already has its genesis")
    if st.assembly != state.assembly_id:
        raise E.WrongAssembly(f"assembly is {st.assembly}, want {state.assembly_id}")
    last = state.seqs.get(st.author, 0)
    if st.seq <= last:
        raise E.ReplayedSeq(f"seq {st.seq} is not above the author's last, {last}")
    _RULES[st.kind](state, st, received)


def _organizer(state: AssemblyState, st: Statement) -> None:
    if st.author not in state.organizers:
        raise E.NotOrganizer(f"{st.kind} must be signed by an organizer")


def _member(state: AssemblyState, st: Statement) -> None:
    if not state.is_active(st.author):
        raise E.NotMember("the author is not an active member")


def _server(state: AssemblyState, st: Statement) -> None:
    if st.author != state.server:
        raise E.NotServer(f"{st.kind} must be signed by the server")


def _motion_of(state: AssemblyState, motion_id: str) -> Motion:
    motion = state.motions.get(motion_id)
    if motion is None:
        raise E.UnknownMotion(f"motion {motion_id!r} does not exist")
    return motion


def _invite(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    if st["code_hash"] in state.invites:
        raise E.DuplicateInvite("an invitation with this code hash exists")


def _enroll(state: AssemblyState, st: Statement, received: datetime) -> None:
    hashed = code_hash(st["code"])
    if hashed not in state.invites:
        raise E.UnknownInvite("no invitation matches this code")
    if state.invites[hashed] is not None:
        raise E.InviteUsed("this invitation was already redeemed")
    if st.author in state.members:
        raise E.AlreadyMember("this key was already enrolled")


def _expel(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    if not state.is_active(st["member"]):
        raise E.UnknownMember(f"{st['member']} is not an active member")


def _topic(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    if st["id"] in state.topics:
        raise E.DuplicateTopic(f"topic {st['id']!r} exists")
    if st["parent"] is not None and st["parent"] not in state.topics:
        raise E.UnknownTopic(f"parent topic {st['parent']!r} does not exist")


def _motion(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    if st["id"] in state.motions:
        raise E.DuplicateMotion(f"motion {st['id']!r} exists")
    if st["topic"] not in state.topics:
        raise E.UnknownTopic(f"topic {st['topic']!r} does not exist")
    if not parse_time(st["opens"]) < parse_time(st["closes"]):
        raise E.BadWindow(f"opens {st['opens']} is not before closes {st['closes']}")


def _deputies(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    roster = st["roster"]
    if not roster:
        raise E.BadRoster("the roster is empty")
    if len(set(roster)) != len(roster):
        raise E.BadRoster("the roster lists a deputy twice")
    for key in roster:
        if not state.is_active(key):
            raise E.BadRoster(f"deputy {key} is not an active member")


def _delegate(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    scope = st["scope"]
    if scope.startswith("topic:") and scope[6:] not in state.topics:
        raise E.UnknownTopic(f"topic {scope[6:]!r} does not exist")
    if scope.startswith("motion:"):
        motion = _motion_of(state, scope[7:])
        if motion.close_index is not None:
            raise E.MotionClosed(f"motion {motion.id!r} is closed")
    to = st["to"]
    if to is not None and to != "self":
        if to == st.author:
            raise E.SelfDelegation("a member cannot delegate to themselves; use \"self\"")
        if not state.is_active(to):
            raise E.UnknownMember(f"{to} is not an active member")


def _ballot(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    motion = _motion_of(state, st["motion"])
    if received < motion.opens:
        raise E.MotionNotOpen(f"motion {motion.id!r} opens at {format_time(motion.opens)}")
    if received >= motion.closes or motion.close_index is not None:
        raise E.MotionClosed(f"motion {motion.id!r} closed at {format_time(motion.closes)}")


def _close(state: AssemblyState, st: Statement, received: datetime) -> None:
    _server(state, st)
    motion = _motion_of(state, st["motion"])
    if motion.close_index is not None:
        raise E.MotionClosed(f"motion {motion.id!r} is already closed")
    if received < motion.closes:
        raise E.TooEarly(f"motion {motion.id!r} closes at {format_time(motion.closes)}")


def _result(state: AssemblyState, st: Statement, received: datetime) -> None:
    _server(state, st)
    motion = _motion_of(state, st["motion"])
    if motion.close_index != state.size - 1 or motion.result_index is not None:
        raise E.BadResult("a result must be the entry right after its motion's close")
    # Equality with the tally is checked by the caller, which owns the tally.


_RULES = {
    Kind.INVITE: _invite, Kind.ENROLL: _enroll, Kind.EXPEL: _expel, Kind.TOPIC: _topic,
    Kind.MOTION: _motion, Kind.DEPUTIES: _deputies, Kind.DELEGATE: _delegate,
    Kind.BALLOT: _ballot, Kind.CLOSE: _close, Kind.RESULT: _result,
}


def apply(state: AssemblyState, st: Statement, *, index: int, entry_hash: str) -> None:
    """Fold an accepted statement (entry ``index``) into ``state``."""
    state.size = index + 1
    state.seqs[st.author] = st.seq
    b = st.body
    match st.kind:
        case Kind.ASSEMBLY:
            state.assembly_id = assembly_id(st.raw)
            state.server = b["server"]
            state.name = b["name"]
            state.organizers = tuple(b["organizers"])
            state.rules = dict(b["rules"])
        case Kind.INVITE:
            state.invites[b["code_hash"]] = None
            state.invite_notes[b["code_hash"]] = b["note"]
        case Kind.ENROLL:
            hashed = code_hash(b["code"])
            state.invites[hashed] = st.author
            state.members[st.author] = Member(st.author, b["name"], True, index, hashed)
        case Kind.EXPEL:
            state.members[b["member"]].active = False
        case Kind.TOPIC:
            state.topics[b["id"]] = Topic(b["id"], b["title"], b["description"], b["parent"], index)
        case Kind.MOTION:
            state.motions[b["id"]] = Motion(
                b["id"], b["topic"], b["title"], b["summary"], b["url"],
                parse_time(b["opens"]), parse_time(b["closes"]), b["quorum"], index,
            )
            state.ballots[b["id"]] = {}
        case Kind.DEPUTIES:
            state.roster = tuple(b["roster"])
        case Kind.DELEGATE:
            if b["to"] is not None:
                state.settings.setdefault(st.author, {})[b["scope"]] = b["to"]
            elif st.author in state.settings:
                mine = state.settings[st.author]
                mine.pop(b["scope"], None)
                if not mine:  # no empty maps: the state has one spelling
                    del state.settings[st.author]
        case Kind.BALLOT:
            box = state.ballots[b["motion"]]
            if b["choice"] is None:
                box.pop(st.author, None)
            else:
                box[st.author] = b["choice"]
        case Kind.CLOSE:
            motion = state.motions[b["motion"]]
            motion.close_index = index
            motion.close_hash = entry_hash
        case Kind.RESULT:
            motion = state.motions[b["motion"]]
            motion.result_index = index
            motion.result = result_fields(st.raw)


RESULT_HEADER = ("v", "assembly", "kind", "author", "seq")


def result_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The result document: a result statement less its header fields."""
    return {k: v for k, v in raw.items() if k not in RESULT_HEADER}
