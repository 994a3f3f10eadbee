"""The tally: quorum, seats and instructions for hand-checked scenarios, the
two lotteries recomputed from their definition, the shape of the result
document, the provisional tally, and every refusal."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import Electorate, resolve
from tally import (
    ApportionError,
    choice_order,
    close_motion,
    deputy_order,
    lottery_seed,
    motion_seed,
    participants_digest,
    provisional_tally,
    result_document,
)

CHAIN = ["motion:M", "topic:T", "*"]
SEED = hashlib.sha256(b"close").digest()
CLOSE = hashlib.sha256(b"the close entry").digest()
KEYS = [f"{i:064x}" for i in range(1, 41)]


def run(n, ballots, *, roster=3, method="largest_remainder", quorum=0, no_quorum="abstain", settings=None, seed=SEED):
    """n members KEYS[:n]; ballots {member index: choice}; settings
    {member index: target index} at `*`; roster = the first `roster` keys."""
    m = KEYS[:n]
    e = Electorate(
        m, CHAIN, {m[a]: {"*": m[b]} for a, b in (settings or {}).items()}, {m[i]: c for i, c in ballots.items()}
    )
    return result_document(
        resolve(e).counts,
        motion="M",
        roster=KEYS[:roster],
        method=method,
        quorum=quorum,
        no_quorum=no_quorum,
        close_hash=CLOSE,
        seed=seed,
    )


def lottery_first(names):
    return min(names, key=lambda x: hashlib.sha256(SEED + x.encode()).digest())


# (desc, kwargs for run, want seats, want quorum met)
SEATS = [
    (
        "quorum just met: 3 of 10 with 30%",
        dict(n=10, ballots={0: "yes", 1: "yes", 2: "no"}, quorum=30),
        {"yes": 2, "no": 1, "abstain": 0},
        True,
    ),
    (
        "quorum just missed: 2 of 10 with 21%",
        dict(n=10, ballots={0: "yes", 1: "yes"}, quorum=21),
        {"yes": 0, "no": 0, "abstain": 3},
        False,
    ),
    (
        "quorum missed, no_quorum says no",
        dict(n=10, ballots={0: "yes"}, quorum=50, no_quorum="no"),
        {"yes": 0, "no": 3, "abstain": 0},
        False,
    ),
    (
        "delegated votes count toward the quorum",
        dict(n=4, ballots={0: "no"}, settings={1: 0, 2: 1}, quorum=75),
        {"yes": 0, "no": 3, "abstain": 0},
        True,
    ),
    (
        "zero votes with a 0% quorum: seats to no_quorum",
        dict(n=5, ballots={}, quorum=0),
        {"yes": 0, "no": 0, "abstain": 3},
        True,
    ),
    ("nobody at all", dict(n=0, ballots={}, roster=2, quorum=50), {"yes": 0, "no": 0, "abstain": 2}, True),
    ("one deputy", dict(n=5, ballots={0: "no", 1: "no", 2: "yes"}, roster=1), {"yes": 0, "no": 1, "abstain": 0}, True),
    ("more deputies than voters", dict(n=5, ballots={0: "yes"}, roster=7), {"yes": 7, "no": 0, "abstain": 0}, True),
    (
        "abstain is a choice and wins seats",
        dict(n=4, ballots={0: "abstain", 1: "abstain", 2: "yes"}, roster=3),
        {"yes": 1, "no": 0, "abstain": 2},
        True,
    ),
    (
        "equal remainders 5/10: more votes wins",
        dict(n=10, ballots={**{i: "yes" for i in range(7)}, 7: "no", 8: "no", 9: "no"}, roster=5),
        {"yes": 4, "no": 1, "abstain": 0},
        True,
    ),
    (
        "dhondt, equal quotients: more votes wins",
        dict(n=3, ballots={0: "yes", 1: "yes", 2: "no"}, roster=2, method="dhondt"),
        {"yes": 2, "no": 0, "abstain": 0},
        True,
    ),
    (
        "sainte_lague 5/3/2 of 3 seats",
        dict(
            n=10,
            ballots={**{i: "yes" for i in range(5)}, 5: "no", 6: "no", 7: "no", 8: "abstain", 9: "abstain"},
            roster=3,
            method="sainte_lague",
        ),
        {"yes": 1, "no": 1, "abstain": 1},
        True,
    ),
    ("no deputies", dict(n=2, ballots={0: "yes"}, roster=0), {"yes": 0, "no": 0, "abstain": 0}, True),
]


@pytest.mark.parametrize("desc,kw,seats,met", SEATS, ids=[s[0] for s in SEATS])
def test_seats(desc, kw, seats, met):
    doc = run(**kw)
    assert doc["seats"] == seats and doc["quorum"]["met"] is met
    assert [i["deputy"] for i in doc["instructions"]] == KEYS[: kw.get("roster", 3)]
    told = [i["choice"] for i in doc["instructions"]]
    assert {c: told.count(c) for c in seats} == seats


@pytest.mark.parametrize("method", ["largest_remainder", "dhondt", "sainte_lague"])
def test_full_tie_goes_to_the_choice_lottery(method):
    doc = run(2, {0: "yes", 1: "no"}, roster=1, method=method)
    first = lottery_first(["yes", "no"])
    assert doc["seats"][first] == 1
    doc = run(3, {0: "yes", 1: "no", 2: "abstain"}, roster=2, method=method)
    loser = max(["yes", "no", "abstain"], key=lambda x: hashlib.sha256(SEED + x.encode()).digest())
    assert doc["seats"][loser] == 0


def test_lotteries_follow_their_definition():
    assert choice_order(SEED) == sorted(
        ["yes", "no", "abstain"], key=lambda x: hashlib.sha256(SEED + x.encode()).digest()
    )
    roster = KEYS[:9]
    order = deputy_order(SEED, roster)
    digests = [hashlib.sha256(SEED + bytes.fromhex(k)).hexdigest() for k in order]
    assert digests == sorted(digests) and sorted(order) == sorted(roster)
    doc = run(
        9, {0: "yes", 1: "yes", 2: "yes", 3: "no", 4: "no", 5: "no", 6: "abstain", 7: "abstain", 8: "abstain"}, roster=9
    )
    told = {i["deputy"]: i["choice"] for i in doc["instructions"]}
    assert [told[k] for k in order] == ["yes"] * 3 + ["no"] * 3 + ["abstain"] * 3


def test_result_document_shape():
    doc = run(5, {0: "yes", 1: "no"}, settings={2: 0, 3: 4}, quorum=40)
    assert list(doc) == [
        "motion",
        "close",
        "seed",
        "members",
        "yes",
        "no",
        "abstain",
        "direct",
        "delegated",
        "dead_end",
        "cycle",
        "absent",
        "quorum",
        "method",
        "seats",
        "instructions",
    ]
    assert doc["close"] == CLOSE.hex() and doc["seed"] == SEED.hex() and doc["method"] == "largest_remainder"
    assert (doc["yes"], doc["no"], doc["delegated"], doc["dead_end"], doc["absent"]) == (2, 1, 1, 1, 1)

    def plain(x):
        if isinstance(x, dict):
            return all(isinstance(k, str) and plain(v) for k, v in x.items())
        if isinstance(x, list):
            return all(plain(v) for v in x)
        return type(x) in (int, bool, str)

    assert plain(doc) and json.loads(json.dumps(doc)) == doc


def test_provisional_tally():
    m = KEYS[:4]
    e = Electorate(m, CHAIN, {m[1]: {"*": m[0]}, m[2]: {"*": m[0]}}, {m[0]: "no", m[3]: "yes"})
    t = provisional_tally(e, roster=KEYS[:4], method="dhondt", quorum=50, no_quorum="abstain")
    assert t["provisional"] is True and "instructions" not in t
    assert (t["no"], t["yes"], t["seats"]) == (3, 1, {"yes": 1, "no": 3, "abstain": 0})
    assert t["weights"] == [{"member": m[0], "weight": 3}, {"member": m[3], "weight": 1}]
    t = provisional_tally(e, roster=[], method="dhondt", quorum=50, no_quorum="abstain", weights_limit=1)
    assert len(t["weights"]) == 1
    json.dumps(t)


@pytest.mark.parametrize(
    "kw,code",
    [
        (dict(quorum=101), "bad_quorum"),
        (dict(quorum=-1), "bad_quorum"),
        (dict(no_quorum="yes"), "bad_no_quorum"),
        (dict(method="droop"), "bad_method"),
        (dict(seed=b"short"), "bad_seed"),
    ],
)
def test_refusals(kw, code):
    with pytest.raises(ApportionError, match=code):
        run(3, {0: "yes"}, **kw)


def test_bad_rosters_and_inputs():
    counts = resolve(Electorate(KEYS[:2], CHAIN, {}, {KEYS[0]: "yes"})).counts
    common = dict(motion="M", method="dhondt", quorum=0, no_quorum="abstain", close_hash=CLOSE, seed=SEED)
    with pytest.raises(ApportionError, match="duplicate_deputy"):
        result_document(counts, roster=[KEYS[0], KEYS[0]], **common)
    with pytest.raises(ApportionError, match="bad_deputy"):
        result_document(counts, roster=["ab"], **common)
    from delegation import ElectorateError

    with pytest.raises(ElectorateError, match="bad_choice"):
        resolve(Electorate(KEYS[:1], CHAIN, {}, {KEYS[0]: "maybe"}))
    with pytest.raises(ElectorateError, match="duplicate_member"):
        resolve(Electorate(KEYS[:1] * 2, CHAIN, {}, {}))
    with pytest.raises(ElectorateError, match="empty_chain"):
        resolve(Electorate(KEYS[:1], [], {}, {}))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["yes", "no", "abstain", None]), max_size=30),
    st.integers(0, 25),
    st.integers(0, 100),
    st.sampled_from(["largest_remainder", "dhondt", "sainte_lague"]),
)
def test_seats_always_fill_the_roster(votes, s, q, method):
    doc = run(len(votes), {i: c for i, c in enumerate(votes) if c}, roster=s, quorum=q, method=method)
    assert sum(doc["seats"].values()) == s == len(doc["instructions"])
    assert doc["yes"] + doc["no"] + doc["abstain"] + doc["dead_end"] + doc["cycle"] + doc["absent"] == doc["members"]


def test_close_motion_seeds_with_reveal_and_counted_ballots():
    """SPEC 16: close_motion's seed is SHA-256(prefix || r || D), D over the
    (key, choice) of the active direct voters only; the close hash is only
    named in the document."""
    m = KEYS[:4]
    r = hashlib.sha256(b"r").digest()
    # m[3]'s ballot is not counted: m[3] is not an active member.
    e = Electorate(m[:3], CHAIN, {m[2]: {"*": m[0]}}, {m[0]: "yes", m[1]: "no", m[3]: "yes"})
    doc = close_motion(
        e, motion="M", roster=m[:3], method="dhondt", quorum=0, no_quorum="abstain", close_hash=CLOSE, reveal=r
    )
    items = sorted(hashlib.sha256(bytes.fromhex(k) + c.encode()).digest() for k, c in [(m[0], "yes"), (m[1], "no")])
    d = hashlib.sha256(b"".join(items)).digest()
    seed = hashlib.sha256(b"liquid-mandate/v1/lottery\n" + r + d).digest()
    assert doc["seed"] == seed.hex() == motion_seed(r, e).hex() and doc["close"] == CLOSE.hex()
    assert participants_digest([]) == hashlib.sha256(b"").digest()
    with pytest.raises(ValueError):
        participants_digest([b"short"])
    with pytest.raises(ValueError):
        lottery_seed(b"short", d)
