"""The rules of acceptance (docs/SPEC.md section 4), all in one place and
pure: ``check`` raises the ``Refused`` subclass of the first rule a
statement breaks and changes nothing; ``due_motions`` says which motions
must be closed before anything else is accepted (close first); a `result`
must equal the tally of its close (``_result``).

The ballot box calls these and only these; it adds no rule of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import tally
from ballots import errors as E
from ballots import sortition
from ballots.closing import result_statement
from ballots.state import RESULT_HEADER, AssemblyState, Draw, Motion, Proposal, code_hash
from ballots.statements import Kind, Statement, format_time, parse_time
from vocabulary import DRAW_PREFIX, MOTION_PREFIX, PROPOSAL_PREFIX, TOPIC_PREFIX

# r of a lottery, by name (``tally.lottery_secret`` with the server's key).
Secret = Callable[[str], bytes]

# The kinds that reveal a lottery's r in their `reveal` field, and the name
# of the lottery each reveals (docs/SPEC.md section 16).
REVEALS: dict[Kind, Callable[[Statement], str]] = {
    Kind.CLOSE: lambda st: MOTION_PREFIX + st["motion"],
    Kind.DRAWN: lambda st: DRAW_PREFIX + st["draw"],
}
# The kinds whose entries the lottery checks read (``check_lottery``).
LOTTERY_KINDS: tuple[Kind, ...] = (Kind.COMMIT, *REVEALS)


def due_motions(state: AssemblyState, now: datetime) -> list[str]:
    """The motions whose closing time has passed at ``now`` and that have no
    `close` entry yet, earliest closing first (ties by id). Close first:
    nothing is accepted at or after a motion's closing time before that
    motion's `close` and `result` (docs/SPEC.md section 4)."""
    due = sorted((m.closes, m.id) for m in state.motions.values() if m.close_index is None and m.closes <= now)
    return [motion_id for _, motion_id in due]


def due_lotteries(state: AssemblyState, now: datetime) -> list[str]:
    """Every lottery due at ``now`` whose closing entry (`close` for a
    motion, `drawn` for a draw) is not in the log yet, by `closes`, then by
    lottery name (`draw:<id>` before `motion:<id>`): the order in which the
    server closes them (docs/SPEC.md section 4, close first)."""
    due = [
        (m.closes, MOTION_PREFIX + m.id) for m in state.motions.values() if m.close_index is None and m.closes <= now
    ]
    due += [(d.closes, DRAW_PREFIX + d.id) for d in state.draws.values() if d.drawn_index is None and d.closes <= now]
    return [name for _, name in sorted(due)]


def next_closing(state: AssemblyState) -> datetime | None:
    """The earliest `closes` among unclosed motions and undrawn draws: before
    it, ``due_lotteries`` is empty (the box uses it to skip the scan)."""
    motions = (m.closes for m in state.motions.values() if m.close_index is None)
    draws = (d.closes for d in state.draws.values() if d.drawn_index is None)
    return min((*motions, *draws), default=None)


def check(
    state: AssemblyState, st: Statement, received: datetime, *, server_key: str, secret: Secret | None = None
) -> None:
    """Raise the Refused subclass of the first rule ``st`` breaks, received at
    ``received`` (docs/SPEC.md section 4, in the order of its tables). The
    signature is checked before, by the caller; the motions that are due
    (``due_motions``) must be closed before ``st`` is checked. With
    ``secret``, a `commit` must also commit to this server's r."""
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
    check_lottery(state, st, secret)


def check_lottery(state: AssemblyState, st: Statement, secret: Secret | None = None) -> None:
    """The lottery rules of docs/SPEC.md section 16, for a statement that
    otherwise passes: the entry right after a `motion` is its `commit`
    (``bad_commit``); a statement that reveals r (`close`) opens its
    lottery's commit (``bad_reveal``). With ``secret`` (the box's own r), a
    commit's hash is SHA-256 of this server's r. ``rebuild`` replays this on
    every entry of a stored log."""
    awaited = state.awaiting_commit
    if st.kind is Kind.COMMIT:
        if st["lottery"] != awaited:
            want = f"only {awaited!r} may be committed now" if awaited else "no motion is awaiting its commit"
            raise E.BadCommit(f"a commit for {st['lottery']!r}: {want}")
        if secret is not None and st["hash"] != tally.commit_hash(secret(st["lottery"])):
            raise E.BadCommit(f"the commit for {st['lottery']!r} is not SHA-256 of this server's r")
        return
    if awaited is not None:
        raise E.BadCommit(f"the entry right after {awaited!r} must be its commit, not a {st.kind}")
    name = REVEALS.get(st.kind)
    if name is not None:
        lottery = state.lotteries.get(name(st))
        if lottery is None or lottery.reveal is not None:
            raise E.BadReveal(f"{name(st)!r} has no open commitment to reveal")
        if not tally.reveal_matches(st["reveal"], lottery.hash):
            raise E.BadReveal(f"SHA-256 of the reveal is not the commit hash of {name(st)!r} (entry {lottery.index})")


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
    if st["url"].startswith(PROPOSAL_PREFIX):
        _adoptable(state, _proposal_of(state, st["url"][len(PROPOSAL_PREFIX) :]))


def _proposal_of(state: AssemblyState, proposal_id: str) -> Proposal:
    proposal = state.proposals.get(proposal_id)
    if proposal is None:
        raise E.UnknownProposal(f"proposal {proposal_id!r} does not exist")
    return proposal


def _adoptable(state: AssemblyState, p: Proposal) -> None:
    """A motion may be turned from a proposal that is ready and not yet
    turned into a motion (docs/SPEC.md section 15)."""
    if p.motion is not None:
        raise E.ProposalAdopted(f"proposal {p.id!r} was turned into motion {p.motion!r}")
    if not state.is_ready(p):
        have, members = len(state.supporters(p)), state.active_count()
        raise E.ProposalNotReady(f"proposal {p.id!r} has {have} supporters, want 10 % of {members} members")


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
    if scope.startswith(TOPIC_PREFIX) and scope[len(TOPIC_PREFIX) :] not in state.topics:
        raise E.UnknownTopic(f"topic {scope[len(TOPIC_PREFIX) :]!r} does not exist")
    if scope.startswith(MOTION_PREFIX):
        motion = _motion_of(state, scope[len(MOTION_PREFIX) :])
        if motion.close_index is not None:
            raise E.MotionClosed(f"motion {motion.id!r} is closed")
    to = st["to"]
    if to is not None and to != "self":
        if to == st.author:
            raise E.SelfDelegation('a member cannot delegate to themselves; use "self"')
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


def _commit(state: AssemblyState, st: Statement, received: datetime) -> None:
    _server(state, st)  # its place and hash: check_lottery


def _result(state: AssemblyState, st: Statement, received: datetime) -> None:
    _server(state, st)
    motion = _motion_of(state, st["motion"])
    if motion.close_index != state.size - 1 or motion.result_index is not None:
        raise E.BadResult("a result must be the entry right after its motion's close")
    want = result_statement(state, motion.id, {k: st.raw[k] for k in RESULT_HEADER})
    if want != st.raw:
        raise E.BadResult("the result differs from the tally of its close")


def _instructed(motion: Motion, deputy: str) -> None:
    """A deputy's vote can be reported or recorded only once the motion's
    result is in the log and gives that deputy an instruction."""
    if motion.result is None:
        raise E.NotInstructed(f"motion {motion.id!r} has no result yet")
    if not any(i["deputy"] == deputy for i in motion.result["instructions"]):
        raise E.NotInstructed(f"the result of {motion.id!r} gives {deputy[:16]}... no instruction")


def _report(state: AssemblyState, st: Statement, received: datetime) -> None:
    _instructed(_motion_of(state, st["motion"]), st.author)


def _record(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    _instructed(_motion_of(state, st["motion"]), st["deputy"])


def _draw_of(state: AssemblyState, draw_id: str) -> Draw:
    draw = state.draws.get(draw_id)
    if draw is None:
        raise E.UnknownDraw(f"draw {draw_id!r} does not exist")
    return draw


def _draw(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    if st["id"] in state.draws:
        raise E.DuplicateDraw(f"draw {st['id']!r} exists")
    if parse_time(st["opens"]) >= parse_time(st["closes"]):
        raise E.BadWindow("opens must come before closes")


def _volunteer(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    draw = _draw_of(state, st["draw"])
    if received < draw.opens:
        raise E.DrawNotOpen(f"draw {draw.id!r} opens at {format_time(draw.opens)}")
    if received >= draw.closes or draw.drawn_index is not None:
        raise E.DrawClosed(f"draw {draw.id!r} closed at {format_time(draw.closes)}")


def _certify(state: AssemblyState, st: Statement, received: datetime) -> None:
    _organizer(state, st)
    draw = _draw_of(state, st["draw"])
    if not state.is_active(st["member"]):
        raise E.UnknownMember("the certified key is not an active member")
    if received >= draw.opens:
        raise E.DrawOpened(f"draw {draw.id!r} opened at {format_time(draw.opens)}: certify before it opens")


# C2SP signed-note: a key name is non-empty and holds no Unicode space and no
# '+'. Spelled out (every White_Space character, plus the C0 controls and
# DEL) so that no Unicode table version changes the rule (SPEC 4).
_BAD_KEY_NAME = re.compile(r"[\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000+]")


def _witnesses(state: AssemblyState, st: Statement, received: datetime) -> None:
    """docs/SPEC.md section 14: cosigners with valid, distinct C2SP key names, distinct
    keys and http(s) URLs; a quorum that is a majority of them."""
    _organizer(state, st)
    cosigners = st["cosigners"]
    if not cosigners:
        raise E.BadWitnesses("the policy names no cosigner")
    for i, c in enumerate(cosigners):
        if _BAD_KEY_NAME.search(c["name"]):
            raise E.BadWitnesses(f"cosigners[{i}]: {c['name']!r} is not a key name (a space, '+' or a control)")
        if not c["url"].startswith(("https://", "http://")):
            raise E.BadWitnesses(f"cosigners[{i}]: url must start with https:// or http://")
    if len({c["name"] for c in cosigners}) != len(cosigners):
        raise E.BadWitnesses("two cosigners have the same name")
    if len({c["key"] for c in cosigners}) != len(cosigners):
        raise E.BadWitnesses("two cosigners have the same key")
    n, quorum = len(cosigners), st["quorum"]
    if not (2 * quorum > n and quorum <= n):
        raise E.QuorumNotMajority(f"quorum {quorum} is not a majority of {n} cosigners (2 x quorum > {n}, at most {n})")


def _comment(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    if st["motion"] is not None:
        motion = _motion_of(state, st["motion"])
        if received >= motion.closes or motion.close_index is not None:
            raise E.MotionClosed(f"motion {motion.id!r} is closed: its debate is over")
    else:
        _proposal_of(state, st["proposal"])
    reply_to = st["reply_to"]
    if reply_to is not None:
        parent = state.comments.get(reply_to)
        if parent is None:
            raise E.BadReply(f"entry {reply_to} is not a comment")
        if (parent.motion, parent.proposal) != (st["motion"], st["proposal"]):
            raise E.BadReply(f"comment {reply_to} discusses {parent.target}, not the same")


def _redact(state: AssemblyState, st: Statement, received: datetime) -> None:
    comment = state.comments.get(st["entry"])
    if comment is None:
        raise E.UnknownComment(f"entry {st['entry']} is not a comment")
    # The author may erase their own words even once expelled (docs/SPEC.md section 15).
    if st.author != comment.author and st.author not in state.organizers:
        raise E.NotRedactor("only an organizer or the comment's author may redact it")
    if comment.redacted_by is not None:
        raise E.AlreadyRedacted(f"comment {comment.index} was redacted by entry {comment.redacted_by}")


def _proposal(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    if st["id"] in state.proposals or st["id"] in state.motions:
        raise E.DuplicateProposal(f"id {st['id']!r} is taken by a motion or a proposal")
    if st["topic"] not in state.topics:
        raise E.UnknownTopic(f"topic {st['topic']!r} does not exist")
    if st["amends"] is not None:
        motion = _motion_of(state, st["amends"])
        if received >= motion.closes or motion.close_index is not None:
            raise E.MotionClosed(f"motion {motion.id!r} is closed: it can no longer be amended")


def _support(state: AssemblyState, st: Statement, received: datetime) -> None:
    _member(state, st)
    proposal = _proposal_of(state, st["proposal"])
    if proposal.motion is not None:
        raise E.ProposalAdopted(f"proposal {proposal.id!r} was turned into motion {proposal.motion!r}")


def _drawn(state: AssemblyState, st: Statement, received: datetime) -> None:
    _server(state, st)
    draw = _draw_of(state, st["draw"])
    if draw.drawn_index is not None:
        raise E.DrawClosed(f"draw {draw.id!r} was drawn at entry {draw.drawn_index}")
    if received < draw.closes:
        raise E.TooEarly(f"draw {draw.id!r} closes at {format_time(draw.closes)}")
    want = sortition.drawn_fields(state, draw, bytes.fromhex(st["reveal"]))
    got = {k: st.raw[k] for k in want}
    if got != want:
        wrong = next(k for k in want if got[k] != want[k])
        raise E.BadDrawn(f"{wrong} differs from the draw recomputed from the log")


_RULES = {
    Kind.INVITE: _invite,
    Kind.ENROLL: _enroll,
    Kind.EXPEL: _expel,
    Kind.TOPIC: _topic,
    Kind.MOTION: _motion,
    Kind.DEPUTIES: _deputies,
    Kind.DELEGATE: _delegate,
    Kind.BALLOT: _ballot,
    Kind.CLOSE: _close,
    Kind.RESULT: _result,
    Kind.REPORT: _report,
    Kind.RECORD: _record,
    Kind.DRAW: _draw,
    Kind.VOLUNTEER: _volunteer,
    Kind.CERTIFY: _certify,
    Kind.WITNESSES: _witnesses,
    Kind.COMMENT: _comment,
    Kind.REDACT: _redact,
    Kind.PROPOSAL: _proposal,
    Kind.SUPPORT: _support,
    Kind.COMMIT: _commit,
    Kind.DRAWN: _drawn,
}
