"""The words of the protocol, once: ballot choices, apportionment methods,
statement kinds, scopes, and the choices a failed quorum may fall to
(docs/SPEC.md sections 3 and 5).

Plain data only (no imports of the project), so that every layer may use it:
`delegation` and `tally` stay pure with it, `ballots` checks statements with
it. The old homes (`delegation.model.Choice`, `tally.apportion.Method`,
`ballots.statements.Kind`) re-export these names.
"""

from __future__ import annotations

from enum import StrEnum


class Choice(StrEnum):
    """A ballot's choice; abstain is a choice and counts like the others."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


# The choices in their fixed order: outcome codes 0, 1, 2 and the order in
# which deputies are told (yes first, then no, then abstain).
CHOICES: tuple[Choice, ...] = (Choice.YES, Choice.NO, Choice.ABSTAIN)

# What the seats fall to when the quorum fails (assembly rule `no_quorum`).
NO_QUORUM: tuple[Choice, ...] = (Choice.ABSTAIN, Choice.NO)


class Method(StrEnum):
    """How the deputies' seats are apportioned among the choices."""

    LARGEST_REMAINDER = "largest_remainder"  # Hare quota
    DHONDT = "dhondt"
    SAINTE_LAGUE = "sainte_lague"


class Kind(StrEnum):
    """The kinds of signed statement."""

    ASSEMBLY = "assembly"
    INVITE = "invite"
    ENROLL = "enroll"
    EXPEL = "expel"
    TOPIC = "topic"
    MOTION = "motion"
    DEPUTIES = "deputies"
    DELEGATE = "delegate"
    BALLOT = "ballot"
    CLOSE = "close"
    RESULT = "result"
    REPORT = "report"
    RECORD = "record"
    DRAW = "draw"
    VOLUNTEER = "volunteer"
    CERTIFY = "certify"
    DRAWN = "drawn"
    WITNESSES = "witnesses"
    # Deliberation (docs/SPEC.md section 15)
    COMMENT = "comment"
    REDACT = "redact"
    PROPOSAL = "proposal"
    SUPPORT = "support"
    # Seeds nobody can choose (docs/SPEC.md section 16)
    COMMIT = "commit"


class Stance(StrEnum):
    """Where a comment stands on what it discusses (docs/SPEC.md section 15)."""

    FOR = "for"
    AGAINST = "against"
    NEUTRAL = "neutral"


# A motion turned from a proposal carries the url `proposal:<id>`.
PROPOSAL_PREFIX = "proposal:"


# What a deputy actually voted in the assembly (`report`, `record`): a
# choice, or absent from the vote.
VOTED: tuple[str, ...] = ("yes", "no", "abstain", "absent")

# A delegation scope is `*`, `topic:<id>` or `motion:<id>`; a motion's scope
# chain runs from its own scope through its topic and the topic's ancestors
# to `*` (most specific first).
SCOPE_ALL = "*"
TOPIC_PREFIX = "topic:"
MOTION_PREFIX = "motion:"

# A lottery is named after what it decides: `motion:<id>` (deputies' order)
# or `draw:<id>` (who is drawn); draws close before motions due together.
DRAW_PREFIX = "draw:"
LOTTERY_PREFIXES = (MOTION_PREFIX, DRAW_PREFIX)  # what a `commit` may name

# A delegation target that means "I vote myself": no delegation at that scope.
SELF = "self"

__all__ = [
    "CHOICES",
    "DRAW_PREFIX",
    "LOTTERY_PREFIXES",
    "MOTION_PREFIX",
    "NO_QUORUM",
    "PROPOSAL_PREFIX",
    "SCOPE_ALL",
    "SELF",
    "TOPIC_PREFIX",
    "VOTED",
    "Choice",
    "Kind",
    "Method",
    "Stance",
]
