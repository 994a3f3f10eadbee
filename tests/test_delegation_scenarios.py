"""Hand-checked scenarios, as data: each names its members (short names,
turned into keys), settings, ballots and who is expelled, and gives the
counts and the outcome of chosen members that the rules of docs/SPEC.md section 10
lead to when worked out by hand. Both engines must agree with every row."""

from __future__ import annotations

import hashlib

import pytest

from delegation import Electorate, resolve, resolve_reference, vote_path

CHAIN = ["motion:M", "topic:T", "topic:P", "*"]


def key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


SCENARIOS = [
    dict(
        desc="direct votes only",
        members="abc",
        ballots={"a": "yes", "b": "no", "c": "abstain"},
        counts=dict(yes=1, no=1, abstain=1, direct=3, delegated=0),
    ),
    dict(
        desc="transitive chain a->b->c, c votes",
        members="abcd",
        settings={"a": {"*": "b"}, "b": {"*": "c"}},
        ballots={"c": "no"},
        counts=dict(no=3, direct=1, delegated=2, absent=1),
        outcomes={"a": "no", "b": "no", "d": "absent"},
    ),
    dict(
        desc="voterless cycle, and a member only leading into it",
        members="abcde",
        settings={"a": {"*": "b"}, "b": {"*": "c"}, "c": {"*": "a"}, "d": {"*": "a"}},
        ballots={"e": "yes"},
        counts=dict(yes=1, cycle=4, direct=1),
        outcomes={"d": "cycle", "a": "cycle"},
    ),
    dict(
        desc="cycle with a voter on it counts for the voter",
        members="abc",
        settings={"a": {"*": "b"}, "b": {"*": "c"}, "c": {"*": "a"}},
        ballots={"c": "yes"},
        counts=dict(yes=3, direct=1, delegated=2, cycle=0),
        weights={"c": 3},
    ),
    dict(
        desc="topic beats parent beats *",
        members="afgbcd",
        settings={"a": {"topic:T": "b", "topic:P": "c", "*": "d"}, "f": {"topic:P": "c", "*": "d"}, "g": {"*": "d"}},
        ballots={"b": "yes", "c": "no", "d": "abstain"},
        counts=dict(yes=2, no=2, abstain=2, direct=3, delegated=3),
        outcomes={"a": "yes", "f": "no", "g": "abstain"},
    ),
    dict(
        desc="self blocks the broader scopes",
        members="ab",
        settings={"a": {"topic:T": "self", "*": "b"}},
        ballots={"b": "yes"},
        counts=dict(yes=1, absent=1),
        outcomes={"a": "absent"},
    ),
    dict(
        desc="a null setting is absent: the broader one applies again",
        members="abc",
        settings={"a": {"*": "b"}},
        ballots={"b": "yes", "c": "no"},
        counts=dict(yes=2, no=1, delegated=1),
        outcomes={"a": "yes"},
    ),
    dict(
        desc="a delegate who abstains carries abstentions",
        members="abc",
        settings={"a": {"*": "b"}, "c": {"topic:P": "b"}},
        ballots={"b": "abstain"},
        counts=dict(abstain=3, direct=1, delegated=2),
    ),
    dict(
        desc="a withdrawn ballot hands the vote back to the delegation",
        members="ab",
        settings={"a": {"*": "b"}},
        ballots={"b": "no"},  # a's ballot was withdrawn
        counts=dict(no=2, direct=1, delegated=1),
        outcomes={"a": "no"},
    ),
    dict(
        desc="a delegate expelled: dead end, their ballot and settings ignored",
        members="abc",
        expelled="x",
        settings={"a": {"*": "x"}, "x": {"*": "b"}, "c": {"*": "b"}},
        ballots={"x": "yes", "b": "no"},
        counts=dict(no=2, dead_end=1, direct=1, delegated=1),
        outcomes={"a": "dead_end"},
    ),
    dict(
        desc="a motion-level setting overrides the topic",
        members="abc",
        settings={"a": {"motion:M": "c", "topic:T": "b"}},
        ballots={"b": "yes", "c": "no"},
        counts=dict(yes=1, no=2),
        outcomes={"a": "no"},
    ),
    dict(
        desc="dead end at a member with no setting, and at one with self",
        members="abcd",
        settings={"a": {"*": "b"}, "c": {"*": "d"}, "d": {"topic:T": "self", "*": "a"}},
        counts=dict(dead_end=2, absent=2),
        outcomes={"a": "dead_end", "b": "absent", "c": "dead_end", "d": "absent"},
    ),
    dict(
        desc="settings of another topic do not apply",
        members="ab",
        settings={"a": {"topic:OTHER": "b"}},
        ballots={"b": "yes"},
        counts=dict(yes=1, absent=1),
    ),
    dict(
        desc="a direct vote wins over the member's own delegation",
        members="ab",
        settings={"a": {"*": "b"}, "b": {"*": "a"}},
        ballots={"a": "no", "b": "yes"},
        counts=dict(yes=1, no=1, direct=2, delegated=0),
    ),
    dict(desc="nobody", members="", counts=dict(members=0)),
]


def electorate(sc: dict) -> Electorate:
    names = list(sc["members"])
    settings = {
        key(m): {s: (t if t == "self" else key(t)) for s, t in v.items()} for m, v in sc.get("settings", {}).items()
    }
    ballots = {key(m): c for m, c in sc.get("ballots", {}).items()}
    return Electorate([key(m) for m in names], CHAIN, settings, ballots)


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s["desc"] for s in SCENARIOS])
@pytest.mark.parametrize("engine", [resolve, resolve_reference], ids=["numpy", "python"])
def test_scenario(sc, engine):
    e = electorate(sc)
    r = engine(e)
    got = r.counts.as_dict()
    want = dict(
        members=len(sc["members"]), yes=0, no=0, abstain=0, direct=0, delegated=0, dead_end=0, cycle=0, absent=0
    )
    want.update(sc["counts"])
    # The rows give only the counts that matter; derive the rest.
    want["direct"] = sc["counts"].get("direct", len([m for m in sc.get("ballots", {}) if m in sc["members"]]))
    want["delegated"] = want["yes"] + want["no"] + want["abstain"] - want["direct"]
    assert got == want
    for m, o in sc.get("outcomes", {}).items():
        assert r.outcome_of(key(m)) == o
        assert vote_path(e, key(m)).outcome == o
    for m, w in sc.get("weights", {}).items():
        assert r.weights()[key(m)] == w


def test_vote_path_reasons():
    e = electorate(
        dict(
            members="abcdefg",
            expelled="x",
            settings={
                "a": {"*": "b"},
                "b": {"topic:T": "c"},
                "d": {"*": "x"},
                "e": {"*": "f"},
                "f": {"*": "e"},
                "g": {"*": "self"},
            },
            ballots={"c": "yes"},
        )
    )
    k = key
    assert vote_path(e, k("a")).as_dict() == {"path": [k("a"), k("b"), k("c")], "outcome": "yes", "reason": "delegated"}
    assert vote_path(e, k("c")).as_dict() == {"path": [k("c")], "outcome": "yes", "reason": "voted"}
    assert vote_path(e, k("d")).as_dict() == {"path": [k("d"), k("x")], "outcome": "dead_end", "reason": "expelled"}
    assert vote_path(e, k("e")).as_dict() == {"path": [k("e"), k("f"), k("e")], "outcome": "cycle", "reason": "cycle"}
    assert vote_path(e, k("g")).as_dict() == {"path": [k("g")], "outcome": "absent", "reason": "self"}
    r = resolve(e)
    assert r.carrier_of(k("a")) == k("c") and r.carrier_of(k("d")) is None
