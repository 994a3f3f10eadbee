"""The plain values that delegation resolution takes and returns.

Kept apart from the algorithms so that the ballot box, the tally, the graph
view and the tests all speak the same small vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from vocabulary import CHOICES


class Outcome(IntEnum):
    """Where a member's vote ended. Values 0..2 are the choices, in the order
    of `Choice`, so an outcome code indexes a count directly."""

    YES = 0
    NO = 1
    ABSTAIN = 2
    DEAD_END = 3
    CYCLE = 4
    ABSENT = 5

    @property
    def label(self) -> str:
        return self.name.lower()


CHOICE_CODE: dict[str, int] = {c.value: i for i, c in enumerate(CHOICES)}


class Reason(StrEnum):
    """Why a vote path ended where it did, for the member's own view."""

    VOTED = "voted"  # the member voted directly
    DELEGATED = "delegated"  # reached a member who voted
    NO_DELEGATION = "no delegation"  # the last member has no setting for M
    SELF = "self"  # the last member's setting is "self"
    EXPELLED = "expelled"  # the last member is not active
    CYCLE = "cycle"  # the path came back to a member on it


class ElectorateError(ValueError):
    """The input to a resolution breaks a precondition (duplicate member,
    empty scope chain, unknown choice). `code` is stable for callers."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


@dataclass(frozen=True, slots=True)
class Electorate:
    """Everything that decides one motion's resolution, as plain data.

    `members`: active member keys at the close, each once. `chain`: the
    motion's scope chain, most specific first (`motion:M`, `topic:T`, ...,
    `*`). `settings`: member -> scope -> target key or "self" (a null
    setting is absent). `ballots`: member -> "yes", "no" or "abstain"
    (withdrawn ballots absent). Settings and ballots of non-members may be
    present; they are ignored, which lets callers pass projections as is.
    """

    members: Sequence[str]
    chain: Sequence[str]
    settings: Mapping[str, Mapping[str, str]]
    ballots: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Counts:
    """The counts of a resolution; `yes + no + abstain + dead_end + cycle +
    absent == members` always holds."""

    members: int
    yes: int
    no: int
    abstain: int
    direct: int
    delegated: int
    dead_end: int
    cycle: int
    absent: int

    @classmethod
    def from_outcomes(cls, by_outcome: Sequence[int], direct: int) -> Counts:
        """The one counts builder (docs/SPEC.md section 10, Counts): from the
        number of members per `Outcome` code and the number of direct voters;
        `members` is their sum and `delegated` follows from the others."""
        yes, no, abstain, dead_end, cycle, absent = (int(x) for x in by_outcome)
        return cls(
            members=yes + no + abstain + dead_end + cycle + absent,
            yes=yes,
            no=no,
            abstain=abstain,
            direct=direct,
            delegated=yes + no + abstain - direct,
            dead_end=dead_end,
            cycle=cycle,
            absent=absent,
        )

    @property
    def voted(self) -> int:
        """Votes that reached a voter: the participation of the quorum rule."""
        return self.yes + self.no + self.abstain

    def by_choice(self) -> dict[str, int]:
        return {"yes": self.yes, "no": self.no, "abstain": self.abstain}

    def as_dict(self) -> dict[str, int]:
        return {
            "members": self.members,
            "yes": self.yes,
            "no": self.no,
            "abstain": self.abstain,
            "direct": self.direct,
            "delegated": self.delegated,
            "dead_end": self.dead_end,
            "cycle": self.cycle,
            "absent": self.absent,
        }


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who carries whose vote on one motion.

    Indexed by member position in `members` (the input order): `outcome[i]`
    is an `Outcome` code and `carrier[i]` the index of the direct voter whose
    choice member i counts with, or -1. Both are int sequences (lists from
    the reference path, NumPy arrays from the fast path); use the accessors
    for plain Python values.
    """

    members: Sequence[str]
    index: Mapping[str, int]
    outcome: Sequence[int]
    carrier: Sequence[int]
    counts: Counts

    def outcome_of(self, member: str) -> str:
        """The outcome label of an active member; raises KeyError otherwise."""
        return Outcome(int(self.outcome[self.index[member]])).label

    def carrier_of(self, member: str) -> str | None:
        """The direct voter who cast this member's vote, or None if lost."""
        c = int(self.carrier[self.index[member]])
        return None if c < 0 else self.members[c]

    def weights(self) -> dict[str, int]:
        """Direct voter -> weight (1 + members whose vote reached them)."""
        carrier = self.carrier
        if hasattr(carrier, "tolist"):  # a NumPy array: iterate Python ints
            carrier = carrier.tolist()
        w: dict[int, int] = {}
        for c in carrier:
            if c >= 0:
                w[c] = w.get(c, 0) + 1
        return {self.members[i]: n for i, n in sorted(w.items())}


@dataclass(frozen=True, slots=True)
class VotePath:
    """The path of one member's vote: keys from the member to where it ended
    (for a cycle, the revisited key is repeated last), the outcome label and
    the reason."""

    path: tuple[str, ...]
    outcome: str
    reason: Reason

    def as_dict(self) -> dict[str, object]:
        return {"path": list(self.path), "outcome": self.outcome, "reason": self.reason.value}
