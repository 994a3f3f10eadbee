"""The attacker of issue 12, played for real (docs/SPEC.md section 16,
DESIGN 9.2): a server that holds its own key and one member's key, and
rewrites an honest log in every way the rules allow, re-signing and
re-chaining it, to steer the deputies' instructions.

What it may vary: the `received` time of every entry (never decreasing,
ballots inside their window, the close within 2 ms after `closes`), the
seqs of its own statements and of the member's (gaps are allowed), the
member's signatures (Ed25519 is deterministic: a new seq, or a redundant
ballot that repeats a choice, gives new signed bytes), and the order of
the entries of different authors between a motion's commit and its close.
Every variant must pass the verifier (so it is within the rules), and
every one must give the honest instructions. The member's only levers are
their own final choice or not voting: at most four outcomes. A log whose
reveal does not open its commit is refused by the verifier, by the box when
it opens such a log (an import), and by `rebuild`.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

import verify_cli
from ballots import errors as E
from ballots import schema as T
from ballots.box import BallotBox
from ballots.statements import format_time, parse_time
from crypto.signing import KeyPair
from tests.verifier_logs import Builder, checkpoint_note, entries, import_log, reseal, resign, write_log
from tests.world import Clock

SERVER_SEED = bytes(range(32))
MOTION = "bill"
ATTACKER = 6  # the member whose key the server holds


async def _honest(db: Path) -> dict[str, Any]:
    """Eight members, five deputies, a motion with delegations and ballots;
    the attacker member votes yes."""
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    try:
        b = Builder(box, clock, key)
        await b.found(quorum=0)
        await b.enroll(8)
        await b.topic("city")
        await b.org("deputies", roster=[m.public for m in b.members[:5]])
        await b.motion(MOTION, "city", closes=60)
        await b.vote(0, MOTION, "yes")
        await b.vote(1, MOTION, "no")
        await b.delegate(2, "*", 0)
        await b.vote(3, MOTION, "abstain")
        await b.vote(4, MOTION, "no")
        await b.delegate(5, "topic:city", 1)
        await b.vote(ATTACKER, MOTION, "yes")
        await b.vote(7, MOTION, "yes")
        clock.advance(seconds=61)
        await box.close_due()
        return {"lines": await b.lines(), "members": b.members, "assembly": b.assembly, "key": key}
    finally:
        await box.aclose()


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(_honest(tmp_path_factory.mktemp("attacker") / "honest.db"))


def _result(es: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e["statement"] for e in es if e["statement"]["kind"] == "result")


def _kind_at(es: list[dict[str, Any]], kind: str) -> int:
    return next(i for i, e in enumerate(es) if e["statement"]["kind"] == kind)


def _verifies(tmp: Path, lines: list[bytes], h: dict[str, Any]) -> dict[str, Any]:
    log = write_log(tmp / "variant.jsonl", lines)
    (tmp / "cp.txt").write_text(checkpoint_note(lines, h["key"], h["assembly"]), encoding="utf-8")
    v = verify_cli.Verifier(
        verify_cli.Source(str(log)),
        checkpoint_files=[str(tmp / "cp.txt")],
        receipt_paths=[],
        since_file=None,
        jobs=1,
        progress=False,
        server_key=h["key"].public_hex,
    )
    v.run()
    return {
        "code": v.exit_code(),
        "failures": [(p.code, p.index, p.detail) for p in v.failures],
        "skipped": set(v.skipped),
    }


def _variant(h: dict[str, Any], data: st.DataObject, attacker_final: str | None) -> list[bytes]:
    """The honest log rewritten by the server within the rules; the attacker
    member ends with ``attacker_final`` (None: no counted ballot)."""
    es = entries(h["lines"])
    server, member = h["key"], h["members"][ATTACKER]
    commit, close = _kind_at(es, "commit"), _kind_at(es, "close")
    opens = parse_time(es[commit - 1]["statement"]["opens"])
    closes = parse_time(es[commit - 1]["statement"]["closes"])
    head, segment, tail = es[: commit + 1], es[commit + 1 : close], es[close:]
    mine = member.key.public_hex
    segment = [e for e in segment if e["statement"]["author"] != mine]
    # The attacker member's own ballots: maybe some detours, then the final
    # choice (None: a withdrawal), or no ballot at all ("never").
    seq = max(e["statement"]["seq"] for e in es if e["statement"]["author"] == mine)
    detours = data.draw(st.lists(st.sampled_from(["yes", "no", "abstain", None]), max_size=3), label="detours")
    choices = [] if attacker_final == "never" else [*detours, attacker_final]
    ballots = []
    for choice in choices:
        seq += data.draw(st.integers(1, 1000), label="member seq gap")
        s = {"v": 1, "assembly": h["assembly"], "kind": "ballot", "author": mine, "seq": seq}
        s.update(motion=MOTION, choice=choice)
        ballots.append({"index": 0, "prev": "", "received": "", "statement": s, "signature": ""})
        resign(ballots[-1], member.key)
    # A random interleaving of the others' entries and the member's, each author's order kept.
    queues = [segment, ballots]
    mixed = []
    while any(queues):
        q = data.draw(st.sampled_from([q for q in queues if q]), label="order")
        mixed.append(q.pop(0))
    # received: non-decreasing, ballots inside [opens, closes), close and result within 2 ms after closes.
    start = max(opens, parse_time(head[-1]["received"]))
    span = int((closes - start) / timedelta(microseconds=1)) - 1
    offsets = sorted(data.draw(st.lists(st.integers(0, span), min_size=len(mixed), max_size=len(mixed)), label="times"))
    for e, off in zip(mixed, offsets):
        e["received"] = format_time(start + timedelta(microseconds=off))
    at_close = format_time(closes + timedelta(microseconds=data.draw(st.integers(0, 2000), label="close time")))
    for e in tail:
        e["received"] = at_close
    # The server's own seqs: any increasing ones, re-signed.
    out = [*head, *mixed, *tail]
    sseq = 0
    for e in out:
        if e["statement"]["author"] == server.public_hex:
            sseq += data.draw(st.integers(1, 5), label="server seq gap")
            e["statement"]["seq"] = sseq
            resign(e, server)
    return reseal(out, server)


def _instructions(lines: list[bytes]) -> list[dict[str, str]]:
    return _result(entries(lines))["instructions"]


@settings(max_examples=40)
@given(data=st.data())
def test_the_server_and_its_member_cannot_steer_the_instructions(honest, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("variant")
    final = data.draw(st.sampled_from(["yes", "no", "abstain", None, "never"]), label="member's final choice")
    lines = _variant(honest, data, final)
    report = _verifies(tmp, lines, honest)
    # Within the rules: nothing fails; without a witness policy only the
    # closes' witnessing is left unjudged (SPEC 14, exit 3).
    assert report["code"] == 3 and report["failures"] == [] and report["skipped"] == {"witnessed_closes"}, report
    outcome = OUTCOMES[None if final == "never" else final]
    assert _instructions(lines) == outcome["instructions"]
    assert _result(entries(lines))["seed"] == outcome["seed"]


OUTCOMES: dict[str | None, dict[str, Any]] = {}


@pytest.fixture(scope="module", autouse=True)
def outcomes(honest: dict[str, Any]) -> None:
    """The member's levers, from the honest log: their ballot's choice
    replaced (re-signed with their key), or the ballot withdrawn."""
    mine = honest["members"][ATTACKER].key
    for choice in ("yes", "no", "abstain", None):
        es = entries(honest["lines"])
        i = next(
            i
            for i, e in enumerate(es)
            if e["statement"]["author"] == mine.public_hex and e["statement"]["kind"] == "ballot"
        )
        es[i]["statement"]["choice"] = choice
        resign(es[i], mine)
        OUTCOMES[choice] = _result(entries(reseal(es, honest["key"])))
    assert OUTCOMES["yes"]["instructions"] == _instructions(honest["lines"])


def test_the_member_has_at_most_four_levers():
    seeds = {o["seed"] for o in OUTCOMES.values()}
    assert len(OUTCOMES) == 4 and len(seeds) == 4  # each option fixes one seed; nothing else moves it


def _bad_reveal(h: dict[str, Any]) -> tuple[list[bytes], int]:
    es = entries(h["lines"])
    c = _kind_at(es, "close")
    es[c]["statement"]["reveal"] = "ab" * 32
    resign(es[c], h["key"])
    return reseal(es, h["key"], keep=frozenset({c + 1})), c


def test_a_reveal_that_does_not_open_its_commit_fails_the_verifier(honest, tmp_path):
    lines, c = _bad_reveal(honest)
    report = _verifies(tmp_path, lines, honest)
    assert report["code"] == 1 and ("bad_reveal", c) in {(code, i) for code, i, _ in report["failures"]}


async def test_the_box_refuses_to_open_an_imported_log_whose_reveal_does_not_match(honest, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'imported.db'}"
    await import_log(url, honest["lines"], honest["key"], honest["assembly"])
    box = await BallotBox.open(url, honest["key"])  # the honest import opens, and rebuilds
    await box.rebuild()
    await box.aclose()
    lines, c = _bad_reveal(honest)
    bad = f"sqlite+aiosqlite:///{tmp_path / 'bad.db'}"
    await import_log(bad, lines, honest["key"], honest["assembly"])
    # Refused from the (rebuilt) projections or from the close entry itself, whichever is read first.
    with pytest.raises(E.LogCorrupted, match=r"entry (\d+): the (lottery|close of) 'motion:bill'"):
        await BallotBox.open(bad, honest["key"])
    # Under another server key, even the honest log cannot be opened: that key could not reveal r
    # (and could not have keyed the projections' digest, ballots.integrity, which is checked first).
    with pytest.raises(E.LogCorrupted, match="not this server key's|does not match this server key's|keyed digest"):
        await BallotBox.open(url, KeyPair(bytes(32)))


async def test_rebuild_refuses_a_log_whose_reveal_does_not_match(honest, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"
    await import_log(url, honest["lines"], honest["key"], honest["assembly"])
    box = await BallotBox.open(url, honest["key"])
    try:
        await box.rebuild()
        lines, c = _bad_reveal(honest)
        async with box.engine.begin() as conn:  # the stored close changed under the running box
            await conn.execute(update(T.entries).where(T.entries.c.idx == c).values(data=lines[c]))
        before = copy.deepcopy(box.state)
        with pytest.raises(E.LogCorrupted, match=f"entry {c}: bad_reveal"):
            await box.rebuild()
        assert box.state == before
    finally:
        await box.aclose()
