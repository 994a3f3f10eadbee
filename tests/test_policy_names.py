"""The index of names that ballots/policy.py keeps per members dict: after
any sequence of enrolments and expulsions it answers as a scan of every
member would (it reads only the members added since its last look)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.policy import _NameIndex, name_key
from ballots.state import Member

NAMES = st.sampled_from(["alice", "Alice", "ALICE", "bob", "Straße", "strasse", "René", "rene\u0301", ""])
STEPS = st.lists(st.tuples(st.sampled_from(["enroll", "expel", "ask"]), NAMES, st.integers(0, 30)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS)
def test_the_name_index_answers_as_a_scan_of_every_member(steps: list[tuple[str, str, int]]) -> None:
    members: dict[str, Member] = {}
    index = _NameIndex(members)
    for op, name, pick in steps:
        if op == "enroll":
            key = f"k{len(members)}"
            members[key] = Member(key, name, True, len(members), "")
        elif op == "expel" and members:
            list(members.values())[pick % len(members)].active = False
        wanted = name_key(name)
        holder = index.holder(wanted)
        actives = [m.key for m in members.values() if m.active and m.name and name_key(m.name) == wanted]
        assert (holder is None) == (not actives) and (holder is None or holder in actives)
