"""The fast compile of an Electorate into integer arrays (`delegation.arrays`:
keys parsed as hex, a NumPy hash table, settings picked by scope rank)
against the reference compile (`resolve.compile_electorate`: one dict
lookup per key), on inputs made to hit its corners: keys that are not 64
lowercase hex digits, the uppercase twin of a member key, keys whose
digests collide, "self" and null targets, duplicate members, bad choices."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import Electorate, ElectorateError, compile_arrays, compile_electorate, setting_for
from delegation.arrays import _compile_hex, compile_with_dict
from delegation.resolve import EXPELLED, NO_SETTING

CHAIN = ["motion:M", "topic:T", "topic:P", "*", "topic:T"]  # a repeated scope too
SCOPES = ["motion:M", "topic:T", "topic:P", "*", "topic:Q", "motion:N"]
CHOICES = ["yes", "no", "abstain"]


def hexkey(i: int) -> str:
    return hashlib.sha256(i.to_bytes(4, "big")).hexdigest()


def twin(key: str) -> str:
    """Another key with the same digest (the XOR of its four 8-byte words):
    the first two words swapped."""
    return key[16:32] + key[:16] + key[32:]


# Keys that are not 64 lowercase hex digits: no member can have them.
ODD = ["self", "", "nobody", "a" * 63, "a" * 65, "é" * 64, "g" * 64, "\t\t" + "c" * 62, "0" * 62 + "\n\n"]
# Input that the fast path hands to the dict path: a key with a space in it,
# a null target (the broader scope applies).
SPOILERS = [" " + "a" * 63, "x y", None]


def rarely(draw) -> bool:
    return draw(st.integers(0, 7)) == 0


@st.composite
def electorates(draw, canonical: bool):
    n = draw(st.integers(0, 12))
    members = [hexkey(i) for i in draw(st.lists(st.integers(0, 40), min_size=n, max_size=n, unique=True))]
    outsiders = [hexkey(100 + i) for i in range(draw(st.integers(0, 3)))]
    others = outsiders + [twin(m) for m in members[:2]]
    target_pool = []
    if not canonical:
        others += [m.upper() for m in members[:2]] + draw(st.lists(st.sampled_from(ODD), max_size=4))
        if members and rarely(draw):
            members.append(draw(st.sampled_from(members + ODD)))  # a duplicate, or an odd key
        if rarely(draw):
            target_pool.append(draw(st.sampled_from(SPOILERS)))
    people = members + others
    pool = people + target_pool + ["self"]
    targets = st.sampled_from(pool)
    settings_ = {}
    for m in people:
        if draw(st.booleans()):
            settings_[m] = draw(st.dictionaries(st.sampled_from(SCOPES), targets, max_size=4))
    choices = CHOICES + ([] if canonical else ["maybe"])
    ballots = {m: draw(st.sampled_from(choices)) for m in people if draw(st.booleans())}
    return Electorate(members, CHAIN, settings_, ballots)


def reference(e: Electorate):
    try:
        c = compile_electorate(e)
    except ElectorateError as x:
        return x.code
    return c.target, [int(v) for v in c.choice]


def fast(compile_, e: Electorate):
    try:
        index, target, choice = compile_(e)
    except ElectorateError as x:
        return x.code
    assert dict(index) == {k: i for i, k in enumerate(e.members)}
    assert target.dtype == np.int64 and choice.dtype == np.int8
    return target.tolist(), choice.tolist()


@settings(max_examples=400, deadline=None)
@given(electorates(canonical=True))
def test_fast_compile_takes_hex_keys_and_matches_reference(e):
    assert _compile_hex(e) is not None
    assert fast(compile_arrays, e) == reference(e)


@settings(max_examples=400, deadline=None)
@given(electorates(canonical=True))
def test_fast_compile_is_setting_for_of_each_member(e):
    """The vectorised scope ranking is an optimisation of `setting_for`, the
    one statement of "the first scope with a setting wins"."""
    index, target, _ = _compile_hex(e)
    for i, m in enumerate(e.members):
        s = setting_for(e.settings.get(m), e.chain)
        want = NO_SETTING if s in (None, "self") else (e.members.index(s) if s in e.members else EXPELLED)
        assert int(target[i]) == want, (m, s)


@settings(max_examples=400, deadline=None)
@given(electorates(canonical=False))
def test_fast_compile_matches_reference_on_odd_input(e):
    want = reference(e)
    assert fast(compile_arrays, e) == want
    assert fast(compile_with_dict, e) == want


def test_fast_path_declines_what_it_cannot_vouch_for():
    a, b = hexkey(1), hexkey(2)
    # Members whose digests collide go to the dict path, which is exact.
    assert _compile_hex(Electorate([a, twin(a)], CHAIN, {}, {})) is None
    assert _compile_hex(Electorate([a, a.upper()], CHAIN, {}, {})) is None
    assert _compile_hex(Electorate([a, "b"], CHAIN, {}, {})) is None
    # A null target at the first scope: the broader one applies.
    e = Electorate([a, b], CHAIN, {a: {"motion:M": None, "*": b}}, {b: "yes"})
    assert _compile_hex(e) is None
    assert compile_arrays(e)[1].tolist() == [1, -1]
    # A key with a space in it cannot be told apart once joined.
    assert _compile_hex(Electorate([a, b], CHAIN, {a: {"*": "x y"}}, {})) is None
    assert compile_arrays(Electorate([a, b], CHAIN, {a: {"*": "x y"}}, {}))[1].tolist() == [-2, -1]
    # An uppercase twin of a member is another string: an expelled target.
    e = Electorate([a, b], CHAIN, {a: {"*": b.upper()}, b.upper(): {"*": a}}, {b.upper(): "no"})
    assert _compile_hex(e) is not None
    _, target, choice = compile_arrays(e)
    assert target.tolist() == [-2, -1] and choice.tolist() == [-1, -1]


def test_fast_compile_errors():
    a = hexkey(1)
    with pytest.raises(ElectorateError, match="duplicate_member"):
        compile_arrays(Electorate([a, a], CHAIN, {}, {}))
    with pytest.raises(ElectorateError, match="bad_choice"):
        compile_arrays(Electorate([a], CHAIN, {}, {a: "maybe"}))
    with pytest.raises(ElectorateError, match="empty_chain"):
        compile_arrays(Electorate([a], [], {}, {}))
    # A bad choice of a non-member is ignored, like the rest of their input.
    assert compile_arrays(Electorate([a], CHAIN, {}, {hexkey(2): "maybe"}))[2].tolist() == [-1]


def test_crowded_table_still_exact():
    """Many members sharing a digest's top bits make long probe runs."""
    members = []
    i = 0
    while len(members) < 300:
        k = hexkey(i)
        i += 1
        b = bytes.fromhex(k)
        if b[7] ^ b[15] ^ b[23] ^ b[31] < 4:  # the top byte of the digest (little-endian words)
            members.append(k)
    members += [hexkey(10**6 + j) for j in range(200)]
    s = {m: {"*": members[(j * 7) % len(members)]} for j, m in enumerate(members)}
    e = Electorate(members, CHAIN, s, {m: "yes" for m in members[::5]})
    assert _compile_hex(e) is not None
    assert fast(compile_arrays, e) == reference(e)
