"""The verifier on deliberation (docs/SPEC.md section 15): a log built by the
real ballot box passes with and without its texts; every rule of section 15
tampered with (an entry the box would have refused, appended and re-chained)
is reported at that entry with its code; every way of serving texts wrongly
is reported; and, as a property, a redaction never breaks an earlier
checkpoint nor changes the verdict."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verify_cli
from ballots.box import BallotBox
from ballots.errors import Refused
from ballots.texts import RatePolicy, text_hash
from client.author import Author, comment
from crypto import merkle
from crypto.canonical import canonical_bytes
from crypto.checkpoint import parse_note
from crypto.signing import KeyPair
from tests.verifier_logs import SERVER_SEED, Builder, checkpoint_note, entries, new_entry, rechain, write_log
from tests.world import Clock, at


@dataclass
class Debate:
    lines: list[bytes]
    texts: list[dict[str, Any]]
    b: Builder
    idx: dict[str, int]
    said: dict[int, tuple[str, str]]  # comment index -> (text, salt) as posted

    @property
    def assembly(self) -> str:
        return self.b.assembly


async def _debate(db: Path) -> Debate:
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock, comment_rate=None)
    try:
        b = Builder(box, clock, key)
        await b.found()
        await b.enroll(10)
        await b.topic("housing")
        await b.motion("bill-1", "housing", closes=600)
        await b.motion("bill-2", "housing", closes=60)
        idx: dict[str, int] = {}
        said: dict[int, tuple[str, str]] = {}

        async def say(name: str, who: int, text: str, **kw: Any) -> int:
            signed = comment(b.members[who], b.assembly, text, **kw)
            r = await box.append(signed)
            idx[name], said[r.index] = r.index, (text, signed["salt"])
            return r.index

        c1 = await say("c1", 0, "Rents are too high.", motion="bill-1", stance="for")
        c2 = await say("c2", 1, "Pas d'accord : l'offre manque.", motion="bill-1", stance="against", reply_to=c1)
        await say("c3", 2, "Neutral remark, with emoji 😀.", motion="bill-2")
        await say("c4", 3, "And a reply to the reply.", motion="bill-1", stance="for", reply_to=c2)
        await box.append(b.members[1].sign("redact", b.assembly, entry=c2, reason="I posted it twice"))
        await b.org("redact", entry=idx["c3"], reason="off-topic, rule 2")
        await box.append(
            b.members[0].sign(
                "proposal",
                b.assembly,
                id="bike-lanes",
                topic="housing",
                title="Bike lanes",
                summary="Paint them.",
                url="https://example.org/bikes",
                amends=None,
            )
        )
        idx["proposal"] = box.size - 1
        for who, on in ((0, True), (1, True), (1, False), (1, True)):
            await box.append(b.members[who].sign("support", b.assembly, proposal="bike-lanes", on=on))
        await say("c5", 3, "Yes, on the ring road first.", proposal="bike-lanes", stance="for")
        await b.org(
            "motion",
            id="bike-lanes",
            topic="housing",
            title="Bike lanes",
            summary="Paint them.",
            url="proposal:bike-lanes",
            opens=at(clock),
            closes=at(clock, seconds=900),
            quorum=None,
        )
        await box.append(
            b.members[4].sign(
                "proposal",
                b.assembly,
                id="bill-1-lower-rents",
                topic="housing",
                title="Lower the cap",
                summary="Cap at 10 %.",
                url="",
                amends="bill-1",
            )
        )
        clock.advance(seconds=61)
        await box.close_due()
        return Debate(await box.export(), await box.texts(0), b, idx, said)
    finally:
        await box.aclose()


@pytest.fixture(scope="module")
def debate(tmp_path_factory: pytest.TempPathFactory) -> Debate:
    return asyncio.run(_debate(tmp_path_factory.mktemp("debate") / "debate.db"))


def verify(
    tmp: Path, capsys: pytest.CaptureFixture[str], lines: list[bytes], assembly: str, texts: list[Any] | None = None
) -> tuple[int, dict[str, Any]]:
    log = write_log(tmp / "log.jsonl", lines)
    (tmp / "cp.txt").write_text(checkpoint_note(lines, KeyPair(SERVER_SEED), assembly), encoding="utf-8")
    args = [str(log), "--checkpoint", str(tmp / "cp.txt"), "--jobs", "1", "--json", "--quiet"]
    args += ["--server-key", KeyPair(SERVER_SEED).public_hex]
    if texts is not None:
        (tmp / "texts.jsonl").write_bytes(
            b"".join((x if isinstance(x, bytes) else canonical_bytes(x)) + b"\n" for x in texts)
        )
        args += ["--texts", str(tmp / "texts.jsonl")]
    code = verify_cli.main(args)
    return code, json.loads(capsys.readouterr().out)


def failures(rep: dict[str, Any]) -> set[tuple[str, int | None, str]]:
    return {(f["check"], f["index"], f["code"]) for f in rep["failures"]}


# -- the honest log ---------------------------------------------------------------


def test_debate_log_is_valid_with_and_without_its_texts(tmp_path, capsys, debate) -> None:
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly)
    # No witness policy: the close of bill-2 cannot be judged (exit 3, SPEC 14.3), with or without texts.
    assert code == 3 and rep["failures"] == [] and set(rep["skipped"]) == {"witnessed_closes"}, rep
    assert "texts" not in rep["checks"] and rep["texts"]["checked"] is None
    code2, rep2 = verify(tmp_path, capsys, debate.lines, debate.assembly, debate.texts)
    assert code2 == code and rep2["failures"] == [] and rep2["skipped"] == rep["skipped"], rep2
    assert rep2["checks"]["texts"] == "passed" and rep2["texts"]["checked"] == 3  # c1, c4, c5
    assert rep["verdict"] == rep2["verdict"] == "incomplete"
    redacted = [(r["index"], r["reason"]) for r in rep2["texts"]["redacted"]]
    assert redacted == [(debate.idx["c2"], "I posted it twice"), (debate.idx["c3"], "off-topic, rule 2")]
    assert rep["texts"]["redacted"] == rep2["texts"]["redacted"]
    assert rep2["kinds"]["comment"] == 5 and rep2["kinds"]["support"] == 4


def test_text_report_names_redactions(tmp_path, capsys, debate) -> None:
    log = write_log(tmp_path / "log.jsonl", debate.lines)
    assert verify_cli.main([str(log), "--jobs", "1", "--quiet", "--no-fast"]) == 3  # no checkpoint: skipped
    out = capsys.readouterr().out
    assert "comments: 5 (texts not given); 2 redacted" in out
    assert f"entry {debate.idx['c2']}: text erased by redact entry {debate.idx['c2'] + 3}: I posted it twice" in out


# -- a rule of section 15 broken: an entry the box refuses, appended ---------------


def _forge(debate: Debate, who: Author, kind: str, **fields: Any) -> list[bytes]:
    es = entries(debate.lines)
    statement = {
        "v": 1,
        "assembly": debate.assembly,
        "kind": kind,
        "author": who.public,
        "seq": who.seq + 1000,
        **fields,
    }
    es.append(new_entry(statement, who.key, es[-1]["received"]))
    return rechain(es)


def _said(text: str = "forged") -> dict[str, Any]:
    return {"text_hash": text_hash(b"\x00" * 16, text)}


def _motion(url: str, id: str = "again") -> dict[str, Any]:
    return {
        "id": id,
        "topic": "housing",
        "title": "T",
        "summary": "S",
        "url": url,
        "opens": "2026-11-23T10:00:00Z",
        "closes": "2026-11-23T11:00:00Z",
        "quorum": None,
    }


def _proposal(**kw: Any) -> dict[str, Any]:
    return {"id": "new-p", "topic": "housing", "title": "T", "summary": "S", "url": "", "amends": None, **kw}


C = {"motion": "bill-1", "proposal": None, "stance": "for", "reply_to": None}

TAMPERS: dict[str, tuple[str, str, Any]] = {
    # name: (who signs: "m<i>" | "org" | "stranger", expected code, kind and fields (a function of the debate))
    "comment-not-member": ("stranger", "not_member", lambda d: ("comment", {**C, **_said()})),
    "comment-unknown-motion": ("m5", "unknown_motion", lambda d: ("comment", {**C, "motion": "nope", **_said()})),
    "comment-closed-bill": ("m5", "motion_closed", lambda d: ("comment", {**C, "motion": "bill-2", **_said()})),
    "comment-unknown-proposal": (
        "m5",
        "unknown_proposal",
        lambda d: ("comment", {**C, "motion": None, "proposal": "nope", **_said()}),
    ),
    "comment-reply-to-non-comment": ("m5", "bad_reply", lambda d: ("comment", {**C, "reply_to": 0, **_said()})),
    "comment-reply-elsewhere": (
        "m5",
        "bad_reply",
        lambda d: ("comment", {**C, "motion": "bike-lanes", "reply_to": d.idx["c1"], **_said()}),
    ),
    "comment-two-targets": ("m5", "malformed", lambda d: ("comment", {**C, "proposal": "bike-lanes", **_said()})),
    "redact-not-a-comment": ("org", "unknown_comment", lambda d: ("redact", {"entry": 1, "reason": "x"})),
    "redact-by-another-member": ("m5", "not_redactor", lambda d: ("redact", {"entry": d.idx["c1"], "reason": "x"})),
    "redact-twice": ("org", "already_redacted", lambda d: ("redact", {"entry": d.idx["c2"], "reason": "x"})),
    "proposal-not-member": ("stranger", "not_member", lambda d: ("proposal", _proposal())),
    "proposal-id-of-a-motion": ("m5", "duplicate_proposal", lambda d: ("proposal", _proposal(id="bill-1"))),
    "proposal-id-taken": ("m5", "duplicate_proposal", lambda d: ("proposal", _proposal(id="bill-1-lower-rents"))),
    "proposal-unknown-topic": ("m5", "unknown_topic", lambda d: ("proposal", _proposal(topic="nope"))),
    "amend-unknown-motion": ("m5", "unknown_motion", lambda d: ("proposal", _proposal(amends="nope"))),
    "amend-closed-motion": ("m5", "motion_closed", lambda d: ("proposal", _proposal(amends="bill-2"))),
    "proposal-bad-url": ("m5", "malformed", lambda d: ("proposal", _proposal(url="javascript:alert(1)"))),
    "support-not-member": ("stranger", "not_member", lambda d: ("support", {"proposal": "bike-lanes", "on": True})),
    "support-unknown": ("m5", "unknown_proposal", lambda d: ("support", {"proposal": "nope", "on": True})),
    "support-adopted": ("m5", "proposal_adopted", lambda d: ("support", {"proposal": "bike-lanes", "on": True})),
    "motion-unknown-proposal": ("org", "unknown_proposal", lambda d: ("motion", _motion("proposal:nope"))),
    "motion-proposal-twice": ("org", "proposal_adopted", lambda d: ("motion", _motion("proposal:bike-lanes"))),
    "motion-proposal-not-ready": (
        "org",
        "proposal_not_ready",
        lambda d: ("motion", _motion("proposal:bill-1-lower-rents")),
    ),
    "motion-bad-url": ("org", "malformed", lambda d: ("motion", _motion("ftp://example.org"))),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_each_rule_tampered_is_reported_at_its_entry(tmp_path, capsys, debate, name) -> None:
    signer, code, make = TAMPERS[name]
    who = {"org": debate.b.founder, "stranger": Author()}.get(signer) or debate.b.members[int(signer[1:])]
    kind, fields = make(debate)
    lines = _forge(debate, who, kind, **fields)
    status, rep = verify(tmp_path, capsys, lines, debate.assembly)
    assert status == 1
    assert failures(rep) == {("rules", len(lines) - 1, code)}, rep["failures"]


# -- texts served wrongly -----------------------------------------------------------


def _texts(debate: Debate, index: int, new: Any) -> list[Any]:
    out = []
    for rec in debate.texts:
        if rec["index"] != index:
            out.append(rec)
        elif new is not None:
            out.append(new)
    return out


def test_a_changed_text_is_reported(tmp_path, capsys, debate) -> None:
    c1 = debate.idx["c1"]
    salt = debate.said[c1][1]
    texts = _texts(debate, c1, {"index": c1, "text": "Rents are too low.", "salt": salt})
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, texts)
    assert code == 1 and failures(rep) == {("texts", c1, "text_hash_mismatch")}
    assert {c for c, s in rep["checks"].items() if s != "passed"} == {"texts", "witnessed_closes"}


def test_a_withheld_text_is_reported(tmp_path, capsys, debate) -> None:
    c1 = debate.idx["c1"]
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, _texts(debate, c1, None))
    assert code == 1 and failures(rep) == {("texts", c1, "missing_text")}
    fake = {"index": c1, "redacted": True, "reason": "x", "redact": debate.idx["proposal"]}
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, _texts(debate, c1, fake))
    assert code == 1 and failures(rep) == {("texts", c1, "not_redacted")}


def test_a_text_served_after_its_redaction_is_reported(tmp_path, capsys, debate) -> None:
    c2 = debate.idx["c2"]
    text, salt = debate.said[c2]
    code, rep = verify(
        tmp_path, capsys, debate.lines, debate.assembly, _texts(debate, c2, {"index": c2, "text": text, "salt": salt})
    )
    assert code == 1 and failures(rep) == {("texts", c2, "text_not_erased")}


def test_a_redaction_with_another_reason_is_reported(tmp_path, capsys, debate) -> None:
    c2 = debate.idx["c2"]
    rec = next(r for r in debate.texts if r["index"] == c2)
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, _texts(debate, c2, {**rec, "reason": "other"}))
    assert code == 1 and failures(rep) == {("texts", c2, "not_redacted")}


def test_bad_text_records_are_reported(tmp_path, capsys, debate) -> None:
    c1 = debate.idx["c1"]
    extra = [
        b"{not json",
        {"index": c1, "text": "x"},  # no salt
        {"index": 1, "text": "x", "salt": "00" * 16},  # entry 1 is not a comment
        {"index": 10**9, "text": "beyond the log read", "salt": "00" * 16},  # not judged
    ]
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, [*debate.texts, *extra])
    assert code == 1
    assert failures(rep) == {("texts", None, "bad_text_record"), ("texts", 1, "bad_text_record")}
    dup = [*debate.texts, debate.texts[0]]
    code, rep = verify(tmp_path, capsys, debate.lines, debate.assembly, dup)
    assert failures(rep) == {("texts", debate.texts[0]["index"], "bad_text_record")}


def test_a_text_too_long_is_reported(tmp_path, capsys, debate) -> None:
    long = "x" * 4001
    lines = _forge(debate, debate.b.members[6], "comment", **{**C, "text_hash": text_hash(b"\x00" * 16, long)})
    texts = [*debate.texts, {"index": len(lines) - 1, "text": long, "salt": "00" * 16}]
    code, rep = verify(tmp_path, capsys, lines, debate.assembly, texts)
    assert code == 1 and failures(rep) == {("texts", len(lines) - 1, "bad_text_length")}
    code, rep = verify(tmp_path, capsys, lines, debate.assembly)  # the log itself is fine
    assert code == 3 and rep["failures"] == [], rep["failures"]


# -- the property: redactions never break a checkpoint, texts never change the verdict


async def _random_debate(db: Path, rnd: random.Random) -> tuple[list[bytes], list[dict[str, Any]], list[str], int]:
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock, comment_rate=RatePolicy(3, 5))
    notes: list[str] = []
    redactions = 0
    try:
        b = Builder(box, clock, key)
        await b.found()
        await b.enroll(rnd.randint(1, 4))
        await b.topic("t")
        await b.motion("m", "t", closes=rnd.randint(5, 40))
        for _ in range(rnd.randint(1, 25)):
            clock.advance(seconds=rnd.choice([0, 0, 1, 3]))
            await box.close_due()
            comments = list(box.state.comments)
            who = rnd.randrange(len(b.members))
            try:
                if comments and rnd.random() < 0.3:
                    target = rnd.choice(comments)
                    signer = rnd.choice([b.founder, b.members[who]])
                    await box.append(signer.sign("redact", b.assembly, entry=target, reason=f"r{target}"))
                    redactions += 1
                else:
                    reply = rnd.choice([None, *comments]) if comments else None
                    text = rnd.choice(["oui", "non", "peut-être", "x" * rnd.randint(1, 50), "😀 ok"])
                    stance = rnd.choice(["for", "against", "neutral"])
                    await box.append(
                        comment(b.members[who], b.assembly, text, motion="m", stance=stance, reply_to=reply)
                    )
            except Refused:
                pass
            notes.append(box.checkpoint_text)
        clock.advance(seconds=60)
        await box.close_due()
        notes.append(box.checkpoint_text)
        return await box.export(), await box.texts(0), notes, redactions
    finally:
        await box.aclose()


@settings(max_examples=12)
@given(seed=st.integers(0, 2**32 - 1))
def test_redactions_keep_every_checkpoint_and_the_verdict(tmp_path_factory, seed) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    lines, texts, notes, _ = asyncio.run(_random_debate(tmp / "d.db", random.Random(seed)))
    leaves = [merkle.leaf_hash(x) for x in lines]
    sizes = []
    for note in notes:  # every checkpoint ever signed is consistent with every later one
        text, _sigs = parse_note(note)
        _, size, root = text.split("\n")[:3]
        sizes.append((int(size), root))
    for a, (s1, r1) in enumerate(sizes):
        assert merkle.root(leaves[:s1]) == base64.b64decode(r1)
        for s2, r2 in sizes[a:]:
            if s1 <= s2:
                proof = merkle.consistency_proof(s1, s2, leaves)
                merkle.verify_consistency(s1, s2, proof, base64.b64decode(r1), base64.b64decode(r2))
    log = write_log(tmp / "log.jsonl", lines)
    (tmp / "texts.jsonl").write_bytes(b"".join(canonical_bytes(t) + b"\n" for t in texts))
    args = [str(log), "--jobs", "1", "--json", "--quiet"]
    for i, note in enumerate(notes):  # every earlier checkpoint, given to the verifier, still holds
        (tmp / f"cp{i}.txt").write_text(note, encoding="utf-8")
        args += ["--checkpoint", str(tmp / f"cp{i}.txt")]
    out1, out2 = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out1):
        without = verify_cli.main(args)
    with contextlib.redirect_stdout(out2):
        with_texts = verify_cli.main([*args, "--texts", str(tmp / "texts.jsonl")])
    r1, r2 = json.loads(out1.getvalue()), json.loads(out2.getvalue())
    # Its closes have no witness policy (SPEC 14.3): exit 3, incomplete, the same with the texts.
    assert without == with_texts == 3 and r1["failures"] == r2["failures"] == [], (r1["failures"], r2["failures"])
    assert r1["verdict"] == r2["verdict"] == "incomplete" and r1["skipped"] == r2["skipped"]
    assert r1["texts"]["redacted"] == r2["texts"]["redacted"]
    assert r2["texts"]["checked"] + len(r2["texts"]["redacted"]) == r2["texts"]["comments"]
