"""The assembly's state as the log has made it (docs/SPEC.md section 4:
"state is what the entries before the statement established").

``apply`` folds an accepted statement into the state; the rules that decide
whether a statement is accepted are in ``ballots.rules``. Both are pure (no
I/O), so the ballot box, ``rebuild`` and the tests replay the log with
exactly the same code.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ballots import paths
from ballots.statements import Kind, Statement, format_time, parse_time
from crypto.canonical import canonical_bytes
from vocabulary import DRAW_PREFIX, MOTION_PREFIX, PROPOSAL_PREFIX, SCOPE_ALL, TOPIC_PREFIX

if TYPE_CHECKING:  # ballots.live imports this module
    from ballots.live import LiveTallies


@dataclass(slots=True)
class Member:
    key: str
    name: str
    active: bool
    enrolled_index: int
    code_hash: str

    def __reduce__(self) -> tuple[type[Member], tuple[Any, ...]]:
        # Pickled as a call with its fields (ballots.snapshot): half the time
        # of the default for slots (a dict of slot values per object) at
        # 10^6 members. Every field, in order, so none can be forgotten.
        return Member, _member_fields(self)


_member_fields = operator.attrgetter(*(f.name for f in fields(Member)))


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
            "id": self.id,
            "topic": self.topic,
            "title": self.title,
            "summary": self.summary,
            "url": self.url,
            "opens": format_time(self.opens),
            "closes": format_time(self.closes),
            "quorum": self.quorum,
        }


@dataclass(slots=True)
class Lottery:
    """A lottery's commitment (docs/SPEC.md section 16): the `commit` entry
    at ``index`` holds ``hash`` = SHA-256(r); ``reveal`` is r in hex once
    the `close` (or `drawn`) entry revealed it."""

    name: str
    hash: str
    index: int
    reveal: str | None = None


@dataclass(slots=True)
class Topic:
    id: str
    title: str
    description: str
    parent: str | None
    index: int


@dataclass(frozen=True, slots=True)
class Witnesses:
    """The witness policy in force: the last `witnesses` entry (docs/SPEC.md section 14),
    its index, its cosigners ({name, key, url}, in statement order), quorum
    and grace in seconds."""

    index: int
    cosigners: tuple[dict[str, str], ...]
    quorum: int
    grace: int

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "cosigners": list(self.cosigners), "quorum": self.quorum, "grace": self.grace}


@dataclass(slots=True)
class Draw:
    """A draw by lot among volunteers (docs/SPEC.md section 4, draws)."""

    id: str
    title: str
    seats: int
    opens: datetime
    closes: datetime
    certified: bool  # only certified volunteers enter the pool
    index: int
    standing: dict[str, bool] = field(default_factory=dict)  # member -> latest `volunteer`
    certifications: set[str] = field(default_factory=set)
    drawn_index: int | None = None
    drawn: dict[str, Any] | None = None  # the `drawn` statement's fields

    def fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "seats": self.seats,
            "opens": format_time(self.opens),
            "closes": format_time(self.closes),
            "certified": self.certified,
        }


@dataclass(frozen=True, slots=True)
class Vote:
    """What a deputy voted in the assembly, as a `report` (by the deputy) or a
    `record` (by an organizer, from the official roll call) says."""

    voted: str
    source: str
    note: str
    index: int
    author: str


@dataclass(slots=True)
class Comment:
    """A `comment` entry (docs/SPEC.md section 15): what it discusses, its
    place in a thread, and whether a `redact` erased its text."""

    index: int
    author: str
    motion: str | None
    proposal: str | None
    stance: str
    reply_to: int | None
    text_hash: str
    received: str | None
    replies: int = 0  # direct replies, a count the views sort by
    redacted_by: int | None = None  # the index of the `redact` entry
    reason: str | None = None

    @property
    def target(self) -> str:
        """`motion:<id>` or `proposal:<id>`: what the comment discusses."""
        return MOTION_PREFIX + self.motion if self.motion is not None else PROPOSAL_PREFIX + str(self.proposal)


@dataclass(slots=True)
class Proposal:
    """A member's `proposal` (docs/SPEC.md section 15), its supporters (key
    -> index of their `support` entry) and the motion it was turned into."""

    id: str
    topic: str
    title: str
    summary: str
    url: str
    amends: str | None
    author: str
    index: int
    supporters: dict[str, int] = field(default_factory=dict)
    motion: str | None = None


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
    invite_notes: dict[str, str] = field(default_factory=dict)  # only the non-empty ones
    members: dict[str, Member] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    motions: dict[str, Motion] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)  # member -> scope -> key | "self"
    ballots: dict[str, dict[str, str]] = field(default_factory=dict)  # motion -> member -> choice
    roster: tuple[str, ...] = ()
    # motion -> deputy -> the latest `report` / `record` about them (docs/SPEC.md section 4)
    draws: dict[str, Draw] = field(default_factory=dict)
    # The deputies whose compliance changed (a result, report or record
    # about them) since ballots/compliance.py last summed it: its cache is
    # refreshed for them only. Not part of the state's value.
    compliance_dirty: set[str] = field(default_factory=set, compare=False, repr=False)
    # ballots.compliance's index of this state's results, kept on the state itself
    # (a cache keyed by id() would outlive its state and be found by the next one)
    compliance_cache: Any = field(default=None, compare=False, repr=False)
    reports: dict[str, dict[str, Vote]] = field(default_factory=dict)
    records: dict[str, dict[str, Vote]] = field(default_factory=dict)
    witnesses: Witnesses | None = None  # the policy in force, None before the first `witnesses`
    # Deliberation (docs/SPEC.md section 15); the last two are indexes over comments.
    comments: dict[int, Comment] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    comments_on: dict[str, list[int]] = field(default_factory=dict)  # target -> comment indexes
    comments_by: dict[str, list[int]] = field(default_factory=dict)  # author -> comment indexes
    lotteries: dict[str, Lottery] = field(default_factory=dict)  # lottery name -> its commitment
    # The lottery whose `commit` must be the next entry (set by a `motion`).
    awaiting_commit: str | None = None
    # The live resolutions of open motions (ballots.live.LiveTallies), or None:
    # told of every statement `apply` folds in (issue 16).
    live: LiveTallies | None = field(default=None, repr=False, compare=False)
    # motion -> what is kept of its vote paths at its close (ballots.paths):
    # a projection row; the snapshot itself is stored beside (closed_path_data).
    closed_paths: dict[str, paths.Summary] = field(default_factory=dict)
    # When not None, `apply` leaves here the snapshot each `close` takes, for
    # whoever stores it (the box's batch, a rebuild, a restore) to pick up.
    fresh_paths: dict[str, paths.ClosedPaths] | None = field(default=None, repr=False, compare=False)
    # The log size as of the last entry that changed who the members are or
    # whom they delegate to (an enrol, an expel, a delegate): a scope's
    # delegation graph without ballots (`*`, `topic:`) changes only then, so
    # ballots.scope_power keeps it until this moves. 0 for a state loaded
    # from the tables (a cache tells states apart by identity). Not part of
    # the state's value.
    graph_changed: int = field(default=0, repr=False, compare=False)

    def is_active(self, key: str) -> bool:
        m = self.members.get(key)
        return m is not None and m.active

    def scope_chain(self, scope: str) -> list[str]:
        """The scope chain of a scope, most specific first (docs/SPEC.md
        section 10, Inputs): for `motion:M` it is `motion:M, topic:T,
        topic:parent(T), ..., *`; for `topic:T` it starts at `topic:T`; for
        `*` it is `*` alone. Raises KeyError for an unknown motion or topic."""
        chain: list[str] = []
        topic: str | None = None
        if scope.startswith(MOTION_PREFIX):
            chain.append(scope)
            topic = self.motions[scope[len(MOTION_PREFIX) :]].topic
        elif scope.startswith(TOPIC_PREFIX):
            topic = self.topics[scope[len(TOPIC_PREFIX) :]].id
        while topic is not None:
            chain.append(TOPIC_PREFIX + topic)
            topic = self.topics[topic].parent
        chain.append(SCOPE_ALL)
        return chain

    def active_roster(self) -> list[str]:
        return [k for k in self.roster if self.is_active(k)]

    def active_count(self) -> int:
        return sum(1 for m in self.members.values() if m.active)

    def supporters(self, proposal: Proposal) -> list[str]:
        """The active members who support ``proposal`` now, in the order they
        first did (an expelled supporter no longer counts)."""
        return [k for k in proposal.supporters if self.is_active(k)]

    def is_ready(self, proposal: Proposal) -> bool:
        """Ready to be turned into a motion: supporters x 10 >= the active
        members, counted now (docs/SPEC.md section 15)."""
        return len(self.supporters(proposal)) * 10 >= self.active_count()

    def add_comment(self, c: Comment) -> None:
        """Record a comment and its place in the indexes (also used when the
        state is read back from the projection tables)."""
        self.comments[c.index] = c
        self.comments_on.setdefault(c.target, []).append(c.index)
        self.comments_by.setdefault(c.author, []).append(c.index)
        if c.reply_to is not None:
            self.comments[c.reply_to].replies += 1


def code_hash(code: str) -> str:
    """What an `invite` publishes for an invitation code: SHA-256 of its UTF-8
    (docs/SPEC.md section 3). The one definition; the client uses it too."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def assembly_id(genesis: dict[str, Any]) -> str:
    """SHA-256 of the canonical bytes of the genesis statement object."""
    return hashlib.sha256(canonical_bytes(genesis)).hexdigest()


def apply(state: AssemblyState, st: Statement, *, index: int, entry_hash: str, received: str | None = None) -> None:
    """Fold an accepted statement (entry ``index``, received at ``received``,
    which only comments keep) into ``state``."""
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
            if b["note"]:  # (most are empty: a million empty entries would be 60 MiB)
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
                b["id"],
                b["topic"],
                b["title"],
                b["summary"],
                b["url"],
                parse_time(b["opens"]),
                parse_time(b["closes"]),
                b["quorum"],
                index,
            )
            state.ballots[b["id"]] = {}
            if b["url"].startswith(PROPOSAL_PREFIX):
                state.proposals[b["url"][len(PROPOSAL_PREFIX) :]].motion = b["id"]
            state.awaiting_commit = MOTION_PREFIX + b["id"]
        case Kind.COMMIT:
            state.lotteries[b["lottery"]] = Lottery(b["lottery"], b["hash"], index)
            state.awaiting_commit = None
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
            lottery = state.lotteries.get(MOTION_PREFIX + motion.id)
            if lottery is not None:  # the rules saw to it; tests replay tampered logs
                lottery.reveal = b["reveal"]
            # The vote paths as they stand at the close (SPEC section 9): the
            # live resolution is still there, it leaves at the `result`.
            snap = paths.take(state, motion.id)
            state.closed_paths[motion.id] = snap.summary(index)
            if state.fresh_paths is not None:
                state.fresh_paths[motion.id] = snap
        case Kind.RESULT:
            motion = state.motions[b["motion"]]
            motion.result_index = index
            motion.result = result_fields(st.raw)
            state.compliance_dirty.update(i["deputy"] for i in b["instructions"])
        case Kind.REPORT:
            state.compliance_dirty.add(st.author)
            vote = Vote(b["voted"], b["source"], b["note"], index, st.author)
            state.reports.setdefault(b["motion"], {})[st.author] = vote
        case Kind.RECORD:
            state.compliance_dirty.add(b["deputy"])
            vote = Vote(b["voted"], b["source"], "", index, st.author)
            state.records.setdefault(b["motion"], {})[b["deputy"]] = vote
        case Kind.DRAW:
            state.draws[b["id"]] = Draw(
                b["id"], b["title"], b["seats"], parse_time(b["opens"]), parse_time(b["closes"]), b["certified"], index
            )
            state.awaiting_commit = DRAW_PREFIX + b["id"]
        case Kind.DRAWN:
            draw = state.draws[b["draw"]]
            draw.drawn_index = index
            draw.drawn = {k: v for k, v in st.raw.items() if k not in RESULT_HEADER}
            drawn_lottery = state.lotteries.get(DRAW_PREFIX + draw.id)
            if drawn_lottery is not None:
                drawn_lottery.reveal = b["reveal"]
        case Kind.VOLUNTEER:
            state.draws[b["draw"]].standing[st.author] = b["standing"]
        case Kind.CERTIFY:
            state.draws[b["draw"]].certifications.add(b["member"])
        case Kind.WITNESSES:
            state.witnesses = Witnesses(index, tuple(dict(c) for c in b["cosigners"]), b["quorum"], b["grace"])
        case Kind.COMMENT:
            state.add_comment(
                Comment(
                    index, st.author, b["motion"], b["proposal"], b["stance"], b["reply_to"], b["text_hash"], received
                )
            )
        case Kind.REDACT:
            comment = state.comments[b["entry"]]
            comment.redacted_by, comment.reason = index, b["reason"]
        case Kind.PROPOSAL:
            state.proposals[b["id"]] = Proposal(
                b["id"], b["topic"], b["title"], b["summary"], b["url"], b["amends"], st.author, index
            )
        case Kind.SUPPORT:
            supporters = state.proposals[b["proposal"]].supporters
            if b["on"]:
                supporters.setdefault(st.author, index)
            else:
                supporters.pop(st.author, None)
    if st.kind in GRAPH_KINDS:
        state.graph_changed = state.size
    if state.live is not None:
        state.live.after(state, st)


# The kinds that change a scope's delegation graph whatever its ballots.
GRAPH_KINDS = frozenset((Kind.ENROLL, Kind.EXPEL, Kind.DELEGATE))


RESULT_HEADER = ("v", "assembly", "kind", "author", "seq")


def result_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The result document: a result statement less its header fields."""
    return {k: v for k, v in raw.items() if k not in RESULT_HEADER}
