"""The server's own policy on top of the rules of the log (docs/SPEC.md
section 4, "Server policy"): checked when a statement arrives, never when the
log is replayed, and not replayed by the verifier.

A name already used by an active member is refused so that a newcomer cannot
pass for someone else. The comparison (NFC, then case folding) depends on the
Unicode version of the Python that runs it, which is why it is policy and not
a rule of the log: two verifiers with different Unicode tables would disagree.
"""

from __future__ import annotations

import unicodedata

from ballots import errors as E
from ballots.state import AssemblyState
from ballots.statements import Kind, Statement


def name_key(name: str) -> str:
    """The form two names are compared in: NFC, case-folded, NFC again
    (case folding can denormalise)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def check_policy(state: AssemblyState, st: Statement) -> None:
    """Raise the Refused subclass of the first policy ``st`` breaks."""
    if st.kind is Kind.ENROLL and st["name"]:
        wanted = name_key(st["name"])
        for member in state.members.values():
            if member.active and member.name and name_key(member.name) == wanted:
                raise E.NameTaken(f"the name {st['name']!r} is already used by an active member")
