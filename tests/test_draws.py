"""Draws by lot among volunteers (docs/SPEC.md section 4, draws): the
refusals of `draw`, `volunteer` and `certify` in the box (nothing written),
their replay by the verifier on tampered logs, and rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import verify_cli
from ballots import errors as E
from ballots.statements import Malformed
from tests.test_box_rules import refused
from tests.verifier_logs import checkpoint_note, entries, new_entry, rechain, write_log
from tests.world import World, at


def draw(w: World, id: str = "d1", *, opens: float = 60, closes: float = 3600, seats: int = 2, certified: bool = False):
    return w.org(
        "draw",
        id=id,
        title=f"Draw {id}",
        seats=seats,
        opens=at(w.clock, seconds=opens),
        closes=at(w.clock, seconds=closes),
        certified=certified,
    )


def volunteer(w: World, who: int, standing: bool = True, d: str = "d1") -> dict[str, Any]:
    return w.members[who].sign("volunteer", w.assembly, draw=d, standing=standing)


def certify(w: World, who: int, d: str = "d1") -> dict[str, Any]:
    return w.org("certify", draw=d, member=w.members[who].public)


@pytest.fixture
async def w(world: World) -> World:
    """Four members; draw d1 opens in a minute and closes in an hour."""
    await world.enroll(4)
    await world.box.append(draw(world, certified=True))
    return world


async def test_certify_before_opens_volunteer_while_open(w: World) -> None:
    await w.box.append(certify(w, 0))
    await w.box.append(certify(w, 1))
    w.clock.advance(seconds=61)
    await w.box.append(volunteer(w, 0))
    await w.box.append(volunteer(w, 2))
    await w.box.append(volunteer(w, 2, standing=False))
    d = w.box.state.draws["d1"]
    assert d.standing == {w.members[0].public: True, w.members[2].public: False}
    assert d.certifications == {w.members[0].public, w.members[1].public}
    before = w.box.state.draws["d1"]
    await w.box.rebuild()
    assert w.box.state.draws["d1"] == before


async def test_duplicate_draw_and_bad_window_are_refused(w: World) -> None:
    await refused(w, draw(w), E.DuplicateDraw)
    await refused(w, draw(w, "d2", opens=100, closes=100), E.BadWindow)


async def test_draw_and_certify_by_a_member_are_refused(w: World) -> None:
    signed = w.members[0].sign(
        "draw",
        w.assembly,
        id="d9",
        title="T",
        seats=1,
        opens=at(w.clock),
        closes=at(w.clock, seconds=9),
        certified=False,
    )
    await refused(w, signed, E.NotOrganizer)
    await refused(w, w.members[0].sign("certify", w.assembly, draw="d1", member=w.members[1].public), E.NotOrganizer)


async def test_seats_must_be_positive(w: World) -> None:
    await refused(w, draw(w, "d3", seats=0), Malformed, "seats")


async def test_volunteer_before_opens_is_refused(w: World) -> None:
    await refused(w, volunteer(w, 0), E.DrawNotOpen)


async def test_volunteer_after_closes_is_refused(w: World) -> None:
    w.clock.advance(seconds=3601)
    await w.box.close_due()  # close first: the draw is drawn before anything later is judged
    await refused(w, volunteer(w, 0), E.DrawClosed)


async def test_volunteer_to_an_unknown_draw_is_refused(w: World) -> None:
    w.clock.advance(seconds=61)
    await refused(w, volunteer(w, 0, d="nope"), E.UnknownDraw)


async def test_volunteer_by_an_expelled_member_is_refused(w: World) -> None:
    await w.box.append(w.org("expel", member=w.members[3].public, reason="test"))
    w.clock.advance(seconds=61)
    await refused(w, volunteer(w, 3), E.NotMember)


async def test_certify_after_opens_is_refused(w: World) -> None:
    w.clock.advance(seconds=60)
    await refused(w, certify(w, 0), E.DrawOpened)


async def test_certify_an_unknown_member_is_refused(w: World) -> None:
    await refused(w, w.org("certify", draw="d1", member="ab" * 32), E.UnknownMember)
    await refused(w, certify(w, 0, d="nope"), E.UnknownDraw)


# -- the verifier replays the same rules ---------------------------------------------


def verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], w: World, lines: list[bytes]) -> tuple[int, Any]:
    log = write_log(tmp_path / "log.jsonl", lines)
    (tmp_path / "cp.txt").write_text(checkpoint_note(lines, w.server_key, w.assembly), encoding="utf-8")
    code = verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--json", "--quiet", "--jobs", "1"])
    return code, json.loads(capsys.readouterr().out)


def appended(w: World, lines: list[bytes], who: Any, kind: str, received: str, **fields: Any) -> list[bytes]:
    es = entries(lines)
    who.seq += 1
    st = {"v": 1, "assembly": w.assembly, "kind": kind, "author": who.public, "seq": who.seq, **fields}
    es.append(new_entry(st, who.key, max(received, es[-1]["received"])))
    return rechain(es)


async def test_verifier_accepts_a_valid_draw_log(tmp_path, capsys, w: World) -> None:
    await w.box.append(certify(w, 0))
    w.clock.advance(seconds=61)
    await w.box.append(volunteer(w, 0))
    code, rep = verify(tmp_path, capsys, w, list(await w.box.export()))
    assert rep["failures"] == [] and code in (0, 3)


@pytest.mark.parametrize(
    "who, kind, offset, fields, want",
    [
        ("m0", "volunteer", 0, {"draw": "d1", "standing": True}, "draw_not_open"),
        ("m0", "volunteer", 4000, {"draw": "d1", "standing": True}, "draw_closed"),
        ("m0", "volunteer", 61, {"draw": "zz", "standing": True}, "unknown_draw"),
        ("org", "certify", 61, {"draw": "d1", "member": "m1"}, "draw_opened"),
        ("org", "certify", 0, {"draw": "d1", "member": "ab" * 32}, "unknown_member"),
        ("m0", "certify", 0, {"draw": "d1", "member": "m1"}, "not_organizer"),
        (
            "org",
            "draw",
            0,
            {"id": "d1", "title": "T", "seats": 1, "opens": "O", "closes": "C", "certified": False},
            "duplicate_draw",
        ),  # fmt: skip
        (
            "org",
            "draw",
            0,
            {"id": "d2", "title": "T", "seats": 1, "opens": "C", "closes": "O", "certified": False},
            "bad_window",
        ),  # fmt: skip
    ],
)
async def test_verifier_refuses_what_the_box_refuses(tmp_path, capsys, w: World, who, kind, offset, fields, want):
    author = w.founder if who == "org" else w.members[int(who[1:])]
    fields = {
        k: (w.members[int(v[1:])].public if isinstance(v, str) and v[:1] == "m" and v[1:].isdigit() else v)
        for k, v in fields.items()
    }
    fields = {k: {"O": at(w.clock, seconds=10), "C": at(w.clock, seconds=20)}.get(v, v) for k, v in fields.items()}
    lines = appended(w, list(await w.box.export()), author, kind, at(w.clock, seconds=offset), **fields)
    code, rep = verify(tmp_path, capsys, w, lines)
    codes = {(f["code"], f["index"]) for f in rep["failures"]}
    assert code == 1 and (want, len(lines) - 1) in codes, rep["failures"]


async def test_pool_is_standing_active_and_certified_when_required(w: World) -> None:
    from ballots import sortition

    await w.box.append(certify(w, 0))
    await w.box.append(certify(w, 1))
    await w.box.append(certify(w, 3))
    w.clock.advance(seconds=61)
    for who in (0, 1, 2, 3):
        await w.box.append(volunteer(w, who))
    await w.box.append(volunteer(w, 1, standing=False))  # withdrawn
    await w.box.append(w.org("expel", member=w.members[3].public, reason="left"))
    state = w.box.state
    m = [x.public for x in w.members]
    assert sortition.pool(state, state.draws["d1"]) == [m[0]]  # 1 withdrew, 2 not certified, 3 expelled
    detail = sortition.draw_detail(state, "d1", w.clock())
    assert detail is not None and detail["draw"]["state"] == "open" and detail["draw"]["pool"] == 1
    people = {p["key"]: p for p in detail["people"]}
    assert (people[m[2]]["standing"], people[m[2]]["certified"], people[m[2]]["in_pool"]) == (True, False, False)
    assert sortition.draw_detail(state, "nope", w.clock()) is None


# -- the drawing: drawn, its seed and its order ------------------------------------

import hashlib  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

from ballots import sortition  # noqa: E402
from tally import lottery_secret  # noqa: E402


def naive_draw(r: bytes, pool: list[str], seats: int) -> tuple[str, list[str]]:
    """The draw of docs/SPEC.md section 13, written again from its text."""
    items = sorted(hashlib.sha256(bytes.fromhex(k)).digest() for k in pool)
    d = hashlib.sha256(b"".join(items)).digest()
    seed = hashlib.sha256(b"liquid-mandate/v1/lottery\n" + r + d).digest()
    ranked = sorted(pool, key=lambda k: int.from_bytes(hashlib.sha256(seed + bytes.fromhex(k)).digest(), "big"))
    return seed.hex(), ranked[:seats]


@settings(max_examples=60, deadline=None)
@given(
    keys=hs.sets(hs.binary(min_size=32, max_size=32).map(bytes.hex), max_size=30),
    r=hs.binary(min_size=32, max_size=32),
    seats=hs.integers(1, 10),
)
def test_draw_order_against_a_naive_reference(keys: set[str], r: bytes, seats: int) -> None:
    pool = sorted(keys)
    seed = hashlib.sha256(
        b"liquid-mandate/v1/lottery\n"
        + r
        + hashlib.sha256(b"".join(sorted(hashlib.sha256(bytes.fromhex(k)).digest() for k in pool))).digest()
    ).digest()
    want_seed, want = naive_draw(r, pool, seats)
    assert seed.hex() == want_seed
    assert sortition.draw_order(seed, pool)[:seats] == want


async def _drawn(w: World) -> dict[str, Any]:
    await w.box.append(certify(w, 0))
    await w.box.append(certify(w, 1))
    await w.box.append(certify(w, 2))
    w.clock.advance(seconds=61)
    for who in (0, 1, 2, 3):
        await w.box.append(volunteer(w, who))
    w.clock.advance(seconds=3600)
    await w.box.close_due()
    d = w.box.state.draws["d1"]
    assert d.drawn is not None and d.drawn_index is not None
    return d.drawn


async def test_the_server_draws_at_closes_with_its_committed_secret(w: World) -> None:
    got = await _drawn(w)
    es = [json.loads(x) for x in await w.box.export()]
    commit = next(e for e in es if e["statement"]["kind"] == "commit" and e["statement"]["lottery"] == "draw:d1")
    assert es[commit["index"] - 1]["statement"]["kind"] == "draw"  # right after its draw
    r = lottery_secret(w.server_key.seed, w.assembly, "draw:d1")
    assert hashlib.sha256(r).hexdigest() == commit["statement"]["hash"] and got["reveal"] == r.hex()
    pool = sorted(m.public for m in w.members[:3])  # the fourth is not certified
    seed, chosen = naive_draw(r, pool, 2)
    assert (got["seed"], got["pool"], got["chosen"]) == (seed, 3, chosen)
    w.clock.advance(seconds=1)
    await refused(w, volunteer(w, 0), E.DrawClosed)
    await w.box.rebuild()
    assert w.box.state.draws["d1"].drawn == got


async def test_a_draw_with_a_small_pool_chooses_all_of_it(w: World) -> None:
    await w.box.append(certify(w, 0))
    w.clock.advance(seconds=61)
    await w.box.append(volunteer(w, 0))
    w.clock.advance(seconds=3600)
    await w.box.close_due()
    assert w.box.state.draws["d1"].drawn["chosen"] == [w.members[0].public]


async def test_draws_close_before_motions_due_together(w: World) -> None:
    await w.topic("t")
    await w.box.append(draw(w, "d2", opens=0, closes=100))
    await w.motion("a-motion", "t", closes=100)
    w.clock.advance(seconds=200)
    await w.box.close_due()
    kinds = [json.loads(x)["statement"]["kind"] for x in await w.box.export()]
    assert kinds[-3:] == ["drawn", "close", "result"]


async def test_a_forged_drawn_is_refused_by_the_box(w: World) -> None:
    got = await _drawn(w)
    server = type("S", (), {})()
    del server
    from client.author import Author

    s = Author(w.server_key)
    s.seq = w.box.state.seqs[w.server_key.public_hex]
    await refused(w, s.sign("drawn", w.assembly, **got), E.DrawClosed)


async def test_verifier_redoes_the_draw(tmp_path, capsys, w: World) -> None:
    await _drawn(w)
    lines = list(await w.box.export())
    code, rep = verify(tmp_path, capsys, w, lines)
    assert rep["failures"] == [], rep["failures"]
    es = entries(lines)
    i = next(e["index"] for e in es if e["statement"]["kind"] == "drawn")
    for change, want in (
        (lambda st: st.__setitem__("chosen", list(reversed(st["chosen"]))), "bad_drawn"),
        (lambda st: st.__setitem__("pool", st["pool"] + 1), "bad_drawn"),
        (lambda st: st.__setitem__("reveal", "00" * 32), "bad_reveal"),
    ):
        tampered = entries(lines)
        change(tampered[i]["statement"])
        tampered[i]["signature"] = __import__("crypto.signing", fromlist=["x"]).sign_statement(
            w.server_key, tampered[i]["statement"]
        )["signature"]
        bad = rechain(tampered)
        code, rep = verify(tmp_path, capsys, w, bad)
        assert code == 1 and (want, i) in {(f["code"], f["index"]) for f in rep["failures"]}, rep["failures"]


async def test_verifier_sees_a_late_drawn(tmp_path, capsys, w: World) -> None:
    """Close first holds for draws: an entry received after `closes` before
    the draw's drawn entry is late_close."""
    await w.box.append(certify(w, 0))
    lines = list(await w.box.export())
    late = appended(
        w, lines, w.founder, "topic", at(w.clock, seconds=4000), id="late", title="L", description="", parent=None
    )
    code, rep = verify(tmp_path, capsys, w, late)
    assert code == 1 and ("late_close", len(late) - 1) in {(f["code"], f["index"]) for f in rep["failures"]}


async def test_a_drawn_that_differs_from_the_recomputation_is_refused(w: World) -> None:
    """The rule itself (ballots.rules.check), on the state just before the
    server would draw: a drawn whose chosen or pool differ is bad_drawn."""
    import copy

    from ballots.rules import check
    from ballots.statements import parse_statement
    from tally import lottery_secret

    await w.box.append(certify(w, 0))
    await w.box.append(certify(w, 1))
    w.clock.advance(seconds=61)
    await w.box.append(volunteer(w, 0))
    await w.box.append(volunteer(w, 1))
    state = copy.deepcopy(w.box.state)
    when = w.clock() + __import__("datetime").timedelta(seconds=3600)
    r = lottery_secret(w.server_key.seed, w.assembly, "draw:d1")
    good = sortition.drawn_fields(state, state.draws["d1"], r)
    header = {"v": 1, "assembly": w.assembly, "kind": "drawn", "author": w.server_key.public_hex, "seq": 10**6}
    check(state, parse_statement({**header, **good}), when, server_key=w.server_key.public_hex)  # the right one passes
    for bad in ({"chosen": list(reversed(good["chosen"]))}, {"pool": 1}, {"seed": "00" * 32}):
        with pytest.raises(E.BadDrawn):
            check(state, parse_statement({**header, **good, **bad}), when, server_key=w.server_key.public_hex)
