"""Why the ballot box refuses a statement: one exception type per rule, each
with a stable ``code`` that server.py maps to a problem+json ``type``."""
from __future__ import annotations

from ballots.statements import Malformed


class Refused(ValueError):
    """A well-formed statement that breaks a rule of DESIGN section 3."""

    code = "refused"
    status = 422

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _rule(name: str, code: str, status: int = 422, doc: str = "") -> type[Refused]:
    return type(name, (Refused,), {"code": code, "status": status, "__doc__": doc})


BadSignature = _rule("BadSignature", "bad_signature", 403, "The signature is not the author's.")
NotGenesis = _rule("NotGenesis", "not_genesis", 409, "The log is empty: only the assembly statement may start it.")
AlreadyFounded = _rule("AlreadyFounded", "already_founded", 409, "An assembly statement after entry 0.")
WrongServer = _rule("WrongServer", "wrong_server", 422, "The genesis names another server key.")
WrongAssembly = _rule("WrongAssembly", "wrong_assembly", 422, "The statement is for another assembly.")
ReplayedSeq = _rule("ReplayedSeq", "replayed_seq", 409, "seq is not above the author's last.")
NotOrganizer = _rule("NotOrganizer", "not_organizer", 403, "Only an organizer may sign this kind.")
NotServer = _rule("NotServer", "not_server", 403, "Only the server signs close and result.")
NotMember = _rule("NotMember", "not_member", 403, "The author is not an active member.")
DuplicateInvite = _rule("DuplicateInvite", "duplicate_invite", 409, "This code hash was already invited.")
UnknownInvite = _rule("UnknownInvite", "unknown_invite", 422, "No invitation matches the code.")
InviteUsed = _rule("InviteUsed", "invite_used", 409, "The invitation was already redeemed.")
AlreadyMember = _rule("AlreadyMember", "already_member", 409, "This key was already enrolled.")
UnknownMember = _rule("UnknownMember", "unknown_member", 422, "The key is not an active member.")
DuplicateTopic = _rule("DuplicateTopic", "duplicate_topic", 409, "The topic id is taken.")
UnknownTopic = _rule("UnknownTopic", "unknown_topic", 422, "No such topic.")
DuplicateMotion = _rule("DuplicateMotion", "duplicate_motion", 409, "The motion id is taken.")
UnknownMotion = _rule("UnknownMotion", "unknown_motion", 422, "No such motion.")
BadWindow = _rule("BadWindow", "bad_window", 422, "opens must come before closes.")
BadRoster = _rule("BadRoster", "bad_roster", 422, "The roster must list distinct active members.")
SelfDelegation = _rule("SelfDelegation", "self_delegation", 422, "A member cannot delegate to themselves.")
MotionNotOpen = _rule("MotionNotOpen", "motion_not_open", 409, "The motion is not open yet.")
MotionClosed = _rule("MotionClosed", "motion_closed", 409, "The motion is closed.")
TooEarly = _rule("TooEarly", "too_early", 409, "The motion's closing time has not passed.")
BadResult = _rule("BadResult", "bad_result", 422, "The result does not follow its close or differs from the tally.")

ALL_REFUSALS: tuple[type[Refused], ...] = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Refused) and cls is not Refused
)


class LogCorrupted(RuntimeError):
    """The stored log does not match its stored head or root: refuse to serve it."""


__all__ = ["ALL_REFUSALS", "LogCorrupted", "Malformed", "Refused"] + [c.__name__ for c in ALL_REFUSALS]
