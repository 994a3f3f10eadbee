"""Why the ballot box turns a statement away: one family, ``BoxError``, with
two branches, ``Malformed`` (the statement cannot be read: docs/SPEC.md
section 3) and ``Refused`` (it breaks a rule of the log: docs/SPEC.md
section 4), one exception type per rule, each with a stable ``code``.

No HTTP here: the server's edge maps each ``code`` to a status and a
problem+json ``type``.
"""

from __future__ import annotations


class BoxError(ValueError):
    """A statement the ballot box does not append; ``code`` is stable."""

    code = "box_error"


class Malformed(BoxError):
    """A statement cannot be read. Raised as one of its subclasses, which say
    how; all share the code `malformed`."""

    code = "malformed"

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


class MissingField(Malformed):
    """A required field is absent."""


class UnknownField(Malformed):
    """A field the kind does not have: refused, never ignored."""


class WrongType(Malformed):
    """A field of the wrong JSON type (a number for a string, ...)."""


class BadValue(Malformed):
    """A field of the right type whose value breaks its format or range."""


class Refused(BoxError):
    """A well-formed statement that breaks a rule of docs/SPEC.md section 4."""

    code = "refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _rule(name: str, code: str, doc: str = "") -> type[Refused]:
    return type(name, (Refused,), {"code": code, "__doc__": doc})


BadSignature = _rule("BadSignature", "bad_signature", "The signature is not the author's.")
NotGenesis = _rule("NotGenesis", "not_genesis", "The log is empty: only the assembly statement may start it.")
AlreadyFounded = _rule("AlreadyFounded", "already_founded", "An assembly statement after entry 0.")
WrongServer = _rule("WrongServer", "wrong_server", "The genesis names another server key.")
WrongAssembly = _rule("WrongAssembly", "wrong_assembly", "The statement is for another assembly.")
ReplayedSeq = _rule("ReplayedSeq", "replayed_seq", "seq is not above the author's last.")
NotOrganizer = _rule("NotOrganizer", "not_organizer", "Only an organizer may sign this kind.")
NotServer = _rule("NotServer", "not_server", "Only the server signs commit, close and result.")
NotMember = _rule("NotMember", "not_member", "The author is not an active member.")
DuplicateInvite = _rule("DuplicateInvite", "duplicate_invite", "This code hash was already invited.")
UnknownInvite = _rule("UnknownInvite", "unknown_invite", "No invitation matches the code.")
InviteUsed = _rule("InviteUsed", "invite_used", "The invitation was already redeemed.")
AlreadyMember = _rule("AlreadyMember", "already_member", "This key was already enrolled.")
UnknownMember = _rule("UnknownMember", "unknown_member", "The key is not an active member.")
DuplicateTopic = _rule("DuplicateTopic", "duplicate_topic", "The topic id is taken.")
UnknownTopic = _rule("UnknownTopic", "unknown_topic", "No such topic.")
DuplicateMotion = _rule("DuplicateMotion", "duplicate_motion", "The motion id is taken.")
UnknownMotion = _rule("UnknownMotion", "unknown_motion", "No such motion.")
BadWindow = _rule("BadWindow", "bad_window", "opens must come before closes.")
BadRoster = _rule("BadRoster", "bad_roster", "The roster must list distinct active members.")
SelfDelegation = _rule("SelfDelegation", "self_delegation", "A member cannot delegate to themselves.")
MotionNotOpen = _rule("MotionNotOpen", "motion_not_open", "The motion is not open yet.")
MotionClosed = _rule("MotionClosed", "motion_closed", "The motion is closed.")
TooEarly = _rule("TooEarly", "too_early", "The motion's closing time has not passed.")
BadCommit = _rule("BadCommit", "bad_commit", "The entry after a motion must be its commit, to this server's secret.")
BadReveal = _rule("BadReveal", "bad_reveal", "The reveal does not open its lottery's commit.")
BadResult = _rule("BadResult", "bad_result", "The result does not follow its close or differs from the tally.")
DuplicateDraw = _rule("DuplicateDraw", "duplicate_draw", "The draw id is taken.")
UnknownDraw = _rule("UnknownDraw", "unknown_draw", "No such draw.")
DrawNotOpen = _rule("DrawNotOpen", "draw_not_open", "The draw does not take volunteers yet.")
DrawClosed = _rule("DrawClosed", "draw_closed", "The draw is closed.")
BadDrawn = _rule("BadDrawn", "bad_drawn", "The drawn entry differs from the draw recomputed from the log.")
DrawOpened = _rule("DrawOpened", "draw_opened", "Certifications are accepted only before the draw opens.")
NotInstructed = _rule(
    "NotInstructed", "not_instructed", "The motion has no result yet, or the deputy has no instruction in it."
)
BadWitnesses = _rule(
    "BadWitnesses",
    "bad_witnesses",
    "A witness policy's cosigners: none, an invalid C2SP key name, a name or key twice, or a URL not http(s).",
)
QuorumNotMajority = _rule(
    "QuorumNotMajority", "quorum_not_majority", "A witness policy's quorum is not a majority of its cosigners."
)
# Deliberation (docs/SPEC.md section 15)
UnknownProposal = _rule("UnknownProposal", "unknown_proposal", "No such proposal.")
DuplicateProposal = _rule(
    "DuplicateProposal", "duplicate_proposal", "The proposal id is taken by a motion or a proposal."
)
ProposalNotReady = _rule(
    "ProposalNotReady", "proposal_not_ready", "The proposal has fewer supporters than 10 % of the members."
)
ProposalAdopted = _rule("ProposalAdopted", "proposal_adopted", "The proposal was already turned into a motion.")
BadReply = _rule("BadReply", "bad_reply", "reply_to is not a comment on the same motion or proposal.")
UnknownComment = _rule("UnknownComment", "unknown_comment", "The entry is not a comment.")
AlreadyRedacted = _rule("AlreadyRedacted", "already_redacted", "The comment was already redacted.")
NotRedactor = _rule("NotRedactor", "not_redactor", "Only an organizer or the comment's author may redact it.")
# The text beside a comment (docs/SPEC.md section 15.2): checked by the server
# before anything is written, and by the verifier when it is given the texts.
BadTextLength = _rule("BadTextLength", "bad_text_length", "A comment's text has 1 to 4,000 characters.")
TextHashMismatch = _rule("TextHashMismatch", "text_hash_mismatch", "The text and salt do not hash to text_hash.")
# The server's policy, not a rule of the log (docs/SPEC.md section 15.3).
RateLimited = _rule("RateLimited", "rate_limited", "Too many comments from this member; wait a little.")
# The server's policy (ballots.policy), not a rule of the log.
NameTaken = _rule("NameTaken", "name_taken", "The name is already used by an active member.")

ALL_REFUSALS: tuple[type[Refused], ...] = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Refused) and cls is not Refused
)


class LogCorrupted(RuntimeError):
    """The stored log does not match its stored head or root: refuse to serve it."""


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of the server, whose
    schema this one does not know: refuse it rather than guess."""


__all__ = [
    "ALL_REFUSALS",
    "BadValue",
    "BoxError",
    "LogCorrupted",
    "Malformed",
    "MissingField",
    "Refused",
    "SchemaTooNew",
    "UnknownField",
    "WrongType",
] + [c.__name__ for c in ALL_REFUSALS]
