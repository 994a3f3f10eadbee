"""The server's own policy on top of the rules of the log (docs/SPEC.md
section 4, "Server policy"): checked when a statement arrives, never when the
log is replayed, and not replayed by the verifier.

A name already used by an active member is refused so that a newcomer cannot
pass for someone else. The comparison (NFC, then case folding) depends on the
Unicode version of the Python that runs it, which is why it is policy and not
a rule of the log: two verifiers with different Unicode tables would disagree.
"""

from __future__ import annotations

import itertools
import unicodedata
from typing import Any

from ballots import errors as E
from ballots.state import AssemblyState
from ballots.statements import Kind, Statement


def name_key(name: str) -> str:
    """The form two names are compared in: NFC, case-folded, NFC again
    (case folding can denormalise)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class _NameIndex:
    """name_key -> member keys, for one ``members`` dict (which only grows:
    a member is added at enrolment and never removed). Built once, then
    extended by the members added since; a hit is checked against the
    member's current state (expelled members keep their row)."""

    def __init__(self, members: dict[str, Any]) -> None:
        self.members = members  # held, so that its id cannot be reused while cached
        self.count = 0
        self.index: dict[str, list[str]] = {}

    def update(self) -> None:
        # The members added since, read from the end of the dict: an islice
        # from the start would walk every member first (O(N) per enrolment:
        # it was 70 % of the time of building 10^6 members).
        new = len(self.members) - self.count
        if new <= 0:
            return
        fresh = list(itertools.islice(reversed(self.members.values()), new))
        for m in reversed(fresh):
            if m.name:
                self.index.setdefault(name_key(m.name), []).append(m.key)
        self.count = len(self.members)

    def holder(self, wanted: str) -> str | None:
        self.update()
        for key in self.index.get(wanted, ()):
            m = self.members.get(key)
            if m is not None and m.active:
                return str(key)
        return None


_INDEXES: dict[int, _NameIndex] = {}


def _index_of(state: AssemblyState) -> _NameIndex:
    ix = _INDEXES.get(id(state.members))
    if ix is None or ix.members is not state.members:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        ix = _INDEXES[id(state.members)] = _NameIndex(state.members)
    return ix


def check_policy(state: AssemblyState, st: Statement) -> None:
    """Raise the Refused subclass of the first policy ``st`` breaks. O(1)
    per statement after the first (an index of names kept per state)."""
    if st.kind is Kind.ENROLL and st["name"]:
        if _index_of(state).holder(name_key(st["name"])) is not None:
            raise E.NameTaken(f"the name {st['name']!r} is already used by an active member")
