"""The verifier with real witnesses (docs/SPEC.md 13): two ``python -m
witness`` processes cosign the checkpoints of a log whose motion has just
closed, over C2SP tlog-witness HTTP, and the verifier, given the cosigned
notes, passes it with exit 0; the same log judged before its closing time by
the witnesses' clocks is an early close."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import verify_cli
from ballots.box import BallotBox
from crypto.signing import KeyPair
from serving.cosigning import request_body
from tests.test_witness_support import post, running_witness, witness_cli
from tests.verifier_logs import (
    SERVER_SEED,
    Builder,
    checkpoint_note,
    entries,
    index_of,
    insert_statement,
    policy_fields,
    write_log,
)
from tests.world import Clock


async def _log(db: Path, closes_at: datetime) -> tuple[list[bytes], Builder]:
    """A small assembly whose motion closes at ``closes_at`` (just before now)."""
    start = closes_at - timedelta(seconds=30)
    clock, key = Clock(start), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    try:
        b = Builder(box, clock, key)
        await b.found()
        await b.enroll(3)
        await b.topic("city")
        await b.motion("bill", "city", closes=30)
        await b.org("deputies", roster=[m.public for m in b.members])
        await b.vote(0, "bill", "yes")
        await b.vote(1, "bill", "no")
        await b.delegate(2, "*", 0)
        clock.t = closes_at + timedelta(microseconds=1)
        await box.close_due()
        return await b.lines(), b
    finally:
        await box.aclose()


def _key(data_dir: Path) -> tuple[str, KeyPair | None, str]:
    r = witness_cli("key", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    name, key_hex = r.stdout.splitlines()[0].split(" ")
    return name, None, key_hex


def _cosign(url: str, note: str) -> str:
    status, _, text = post(url, request_body(0, [], note))
    assert status == 200, (status, text)
    return text


def test_two_witness_processes_witness_a_close(tmp_path: Path, capsys: Any):
    server_key = KeyPair(SERVER_SEED)
    with (
        running_witness(tmp_path / "w1", "witness.example/one") as (url1, _p1),
        running_witness(tmp_path / "w2", "witness.example/two") as (url2, _p2),
    ):
        # The motion closes now, by the witnesses' clocks too; they cosign
        # within the grace (60 s, the most a policy allows) of it.
        now = datetime.now(UTC).replace(microsecond=0)
        lines, b = asyncio.run(_log(tmp_path / "box.db", now))
        ws = []
        for d in (tmp_path / "w1", tmp_path / "w2"):
            name, _, key_hex = _key(d)
            ws.append((name, key_hex))
        # The policy names the two witnesses; it comes before the motion.
        es = entries(lines)
        fields = policy_fields([(n, KeyPair.generate()) for n, _ in ws], 2, 60)
        for c, (_, key_hex) in zip(fields["cosigners"], ws):
            c["key"] = key_hex
        fields["cosigners"][0]["url"], fields["cosigners"][1]["url"] = url1, url2
        lines = insert_statement(es, index_of(es, "motion"), b.founder, {"kind": "witnesses", **fields}, server_key)
        origin = f"liquid-mandate/{b.assembly}"
        for d in (tmp_path / "w1", tmp_path / "w2"):
            assert witness_cli("add-log", "--data-dir", str(d), origin, server_key.public_hex).returncode == 0
        note = checkpoint_note(lines, server_key, b.assembly)
        cosigned = note + _cosign(url1, note) + _cosign(url2, note)
        assert time.time() < now.timestamp() + 55, "the machine was too slow to stay within the grace"
    log = write_log(tmp_path / "log.jsonl", lines)
    (tmp_path / "cp.txt").write_text(cosigned, encoding="utf-8")
    code = verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--json", "--quiet", "--jobs", "1"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0, (rep["failures"], rep["skipped"])
    close = index_of(entries(lines), "close")
    assert rep["witnesses"]["closes"] == [
        {
            "index": close,
            "kind": "close",
            "lottery": "motion:bill",
            "status": "witnessed",
            "detail": "by witness.example/one, witness.example/two within 60 s of closes",
        }
    ]
    assert rep["witnesses"]["cosignatures"] == {"checked": 2, "valid": 2, "ignored_unknown": []}


def test_witness_clocks_catch_an_early_close(tmp_path: Path, capsys: Any):
    """The server's clock ran ahead: its log closed the motion (by its own
    `received`) two minutes before the witnesses' clocks reached closes."""
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    lines, b = asyncio.run(_log(tmp_path / "box.db", future))
    server_key = KeyPair(SERVER_SEED)
    with running_witness(tmp_path / "w1", "witness.example/one") as (url1, _p1):
        name, _, key_hex = _key(tmp_path / "w1")
        es = entries(lines)
        fields = policy_fields([(name, KeyPair.generate())], 1, 10)
        fields["cosigners"][0]["key"] = key_hex
        lines = insert_statement(es, index_of(es, "motion"), b.founder, {"kind": "witnesses", **fields}, server_key)
        assert (
            witness_cli(
                "add-log", "--data-dir", str(tmp_path / "w1"), f"liquid-mandate/{b.assembly}", server_key.public_hex
            ).returncode
            == 0
        )
        note = checkpoint_note(lines, server_key, b.assembly)
        cosigned = note + _cosign(url1, note)
    log = write_log(tmp_path / "log.jsonl", lines)
    (tmp_path / "cp.txt").write_text(cosigned, encoding="utf-8")
    code = verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--json", "--quiet", "--jobs", "1"])
    rep = json.loads(capsys.readouterr().out)
    close = index_of(entries(lines), "close")
    assert code == 1 and {(f["check"], f["index"], f["code"]) for f in rep["failures"]} == {
        ("witnessed_closes", close, "early_close")
    }
