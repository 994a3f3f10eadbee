"""The standalone verifier against logs built by the real ballot box, and
against the same logs tampered with: every check must fail, naming its index."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import verify_cli
from crypto import merkle
from crypto.signing import KeyPair
from tests.verifier_logs import (
    Scenario,
    build_scenario,
    checkpoint_note,
    entries,
    new_entry,
    rechain,
    reseal,
    resign,
    unwitnessed_only,
    write_log,
)


@pytest.fixture(scope="session")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = verify_cli.main([*argv, "--json", "--quiet"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def check_log(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sc: Scenario,
    lines: list[bytes],
    *extra: str,
    checkpoint: str | None = "fresh",
    jobs: int = 1,
) -> tuple[int, dict[str, Any]]:
    """Write ``lines`` and verify them, by default with a fresh checkpoint of
    exactly these lines signed by the server key."""
    log = write_log(tmp_path / "log.jsonl", lines)
    args = [str(log), "--jobs", str(jobs), *extra]
    if checkpoint is not None:
        note = checkpoint_note(lines, sc.server_key, sc.assembly) if checkpoint == "fresh" else checkpoint
        (tmp_path / "cp.txt").write_text(note, encoding="utf-8")
        args += ["--checkpoint", str(tmp_path / "cp.txt")]
    return run(capsys, *args)


def failed(report: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(f["check"], f["index"]) for f in report["failures"]}


def only_failed(report: dict[str, Any], check: str) -> None:
    """Only ``check`` failed; besides it, at most the closes are not judged
    because the log has no witness policy (SPEC 14.3)."""
    not_passed = {c: s for c, s in report["checks"].items() if s != "passed"}
    if not_passed.get("witnessed_closes") == "skipped":
        assert report["skipped"]["witnessed_closes"].startswith("no witness policy")
        del not_passed["witnessed_closes"]
    assert set(not_passed) == {check}, report["failures"]


def last_received(sc: Scenario) -> str:
    return entries(sc.lines)[-1]["received"]


# -- a valid log ----------------------------------------------------------------


def test_valid_log_passes_and_results_agree_with_the_server(tmp_path, capsys, sc):
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=sc.checkpoint)
    # No witness policy in this log: its closes cannot be judged (exit 3);
    # the exit-0 path is tests/test_verify_witnesses.py.
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])
    assert rep["verdict"] == "incomplete"
    assert set(rep["checks"]) == {
        "canonical",
        "chain",
        "signatures",
        "rules",
        "checkpoint",
        "results",
        "cosignatures",
        "forks",
        "witnessed_closes",
    }
    assert rep["entries"] == len(sc.lines)
    es = entries(sc.lines)
    for mid in ("housing-bill", "culture-bill"):
        m = rep["motions"][mid]
        server = es[m["result_index"]]["statement"]
        assert m["recomputed"] == {k: server[k] for k in m["recomputed"]}
        assert m["matches"] is True
    housing = rep["motions"]["housing-bill"]["recomputed"]
    # m0 yes carrying m2 and m3; m1 no; m4 <-> m5 a cycle; m6 -> expelled m7 a dead end
    assert (housing["yes"], housing["no"], housing["cycle"], housing["dead_end"], housing["members"]) == (3, 1, 2, 1, 7)
    assert rep["motions"]["open-bill"]["state"] == "not closed"


def test_text_report(tmp_path, capsys, sc):
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    (tmp_path / "cp.txt").write_text(sc.checkpoint)
    assert verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--jobs", "1"]) == 3
    out = capsys.readouterr().out
    assert (
        "VERDICT: incomplete" in out
        and "witnessed_closes skipped (no witness policy" in out
        and "housing-bill: members 7, yes 3, no 1" in out
    )
    assert "enroll 8" in out


def test_two_jobs_find_a_forged_signature_in_a_worker(tmp_path, capsys, sc, monkeypatch):
    monkeypatch.setattr(verify_cli.SignatureChecker, "BATCH", 4)
    lines = _forged(sc)
    code, rep = check_log(tmp_path, capsys, sc, lines, jobs=2)
    assert code == 1 and failed(rep) == {("signatures", len(lines) - 1)}


@pytest.mark.parametrize("direct", [True, False], ids=["libsodium-call", "public-binding"])
def test_signatures_with_either_binding(tmp_path, capsys, sc, monkeypatch, direct):
    # The workers call libsodium's crypto_sign_open with no output buffer; the
    # public PyNaCl binding is the fallback. Both must find the same failures.
    if not direct:
        monkeypatch.setattr(verify_cli, "_SIGN_OPEN", None)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=sc.checkpoint)
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])
    lines = _forged(sc)
    code, rep = check_log(tmp_path, capsys, sc, lines, jobs=1)
    assert code == 1 and failed(rep) == {("signatures", len(lines) - 1)}
    # (key, message, signature) triples of any shape: a failure, never a crash.
    assert verify_cli.verify_batch(
        ([], b"", [7, 8, 9], [b"short", bytes(32), bytes(32)], [b"m", b"m", b""], [bytes(64), bytes(64), b""])
    ) == [7, 8, 9]


def test_progress_on_stderr(tmp_path, capsys, sc, monkeypatch):
    monkeypatch.setattr(verify_cli, "PROGRESS_EVERY", 10)
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    verify_cli.main([str(log), "--jobs", "1", "--json"])
    assert "verify_cli: 10 entries read" in capsys.readouterr().err


# -- one tampering per check ------------------------------------------------------


def test_non_canonical_line(tmp_path, capsys, sc):
    lines = list(sc.lines)
    lines[5] = json.dumps(json.loads(lines[5]), sort_keys=True).encode()  # ", " and ": " separators
    code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=sc.checkpoint)
    assert code == 1 and failed(rep) == {("canonical", 5)}
    only_failed(rep, "canonical")


@pytest.mark.parametrize(
    "bad",
    [
        b'{"index":1.0}',
        b'{"a":1,"a":1}',
        b'{"n":9007199254740992}',
        b'{"s":"\\ud800"}',
        b'{"a":1} x',
        b"\xff",
        b"[1e3]",
        b"NaN",
    ],
)
def test_canonical_refusals(tmp_path, capsys, sc, bad):
    lines = [*sc.lines, bad]
    code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=None)
    assert code == 1 and ("canonical", len(sc.lines)) in failed(rep)


def test_flipped_byte(tmp_path, capsys, sc):
    lines = list(sc.lines)
    i = sc.index("enroll", name="m3")
    lines[i] = lines[i].replace(b'"name":"m3"', b'"name":"m2"')  # one bit: 0x33 -> 0x32
    code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=sc.checkpoint)
    assert code == 1
    assert {("signatures", i), ("chain", i + 1), ("checkpoint", None)} <= failed(rep)


def test_reordered_entries(tmp_path, capsys, sc):
    lines = list(sc.lines)
    i = sc.index("ballot", motion="housing-bill", choice="no")
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and {("chain", i), ("chain", i + 1)} <= failed(rep)


def test_dropped_entry(tmp_path, capsys, sc):
    i = sc.index("ballot", motion="culture-bill", choice="yes")
    lines = sc.lines[:i] + sc.lines[i + 1 :]
    code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=sc.checkpoint)
    assert code == 1 and ("chain", i) in failed(rep)
    assert rep["checks"]["checkpoint"] == "failed"


def _forged(sc: Scenario) -> list[bytes]:
    """A ballot that claims member 2 as author, signed by someone else."""
    es = entries(sc.lines)
    st = {
        "v": 1,
        "assembly": sc.assembly,
        "kind": "ballot",
        "author": sc.members[2].public,
        "seq": 77,
        "motion": "open-bill",
        "choice": "yes",
    }
    es.append(new_entry(st, sc.members[3].key, last_received(sc)))
    return rechain(es)


def test_forged_signature(tmp_path, capsys, sc):
    lines = _forged(sc)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("signatures", len(lines) - 1)}
    assert "does not verify" in rep["failures"][0]["reason"]


def test_changed_vote_breaks_its_signature(tmp_path, capsys, sc):
    es = entries(sc.lines)
    i = sc.index("ballot", motion="open-bill")
    es[i]["statement"]["choice"] = "yes"  # the member voted no; the signature stays
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key))
    assert code == 1 and failed(rep) == {("signatures", i)}


def test_misattributed_signature(tmp_path, capsys, sc):
    es = entries(sc.lines)
    m = sc.members[1]
    st = {
        "v": 1,
        "assembly": sc.assembly,
        "kind": "topic",
        "author": m.public,
        "seq": 50,
        "id": "rogue",
        "title": "Rogue",
        "description": "",
        "parent": None,
    }
    es.append(new_entry(st, m.key, last_received(sc)))
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    # A rule of SPEC 4 (who may sign which kind), not a signature problem:
    # the signature itself verifies.
    assert code == 1 and failed(rep) == {("rules", len(es) - 1)}
    f = rep["failures"][0]
    assert f["reason"].startswith("not_organizer") and (f["section"], f["code"]) == ("4", "not_organizer")


def test_member_signing_a_result_is_misattributed(tmp_path, capsys, sc):
    es = entries(sc.lines)
    i = sc.index("result", motion="housing-bill")
    m = sc.members[0]
    es[i]["statement"]["author"] = m.public
    resign(es[i], m.key)
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and ("rules", i) in failed(rep) and rep["checks"]["signatures"] == "passed"
    assert any(f["code"] == "not_server" and f["section"] == "4" for f in rep["failures"])


def _append_member_statement(sc: Scenario, who: int, seq: int, kind: str, **fields: Any) -> list[bytes]:
    es = entries(sc.lines)
    m = sc.members[who]
    st = {"v": 1, "assembly": sc.assembly, "kind": kind, "author": m.public, "seq": seq, **fields}
    es.append(new_entry(st, m.key, last_received(sc)))
    return rechain(es)


def test_replayed_seq(tmp_path, capsys, sc):
    lines = _append_member_statement(sc, 2, sc.members[2].seq, "ballot", motion="open-bill", choice="yes")
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("rules", len(lines) - 1)}
    assert rep["failures"][0]["reason"].startswith("replayed_seq")
    only_failed(rep, "rules")


def test_ballot_after_close(tmp_path, capsys, sc):
    lines = _append_member_statement(sc, 3, 99, "ballot", motion="housing-bill", choice="no")
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("rules", len(lines) - 1)}
    assert rep["failures"][0]["reason"].startswith("motion_closed")


def test_ballot_before_opens_is_refused(tmp_path, capsys, sc):
    es = entries(sc.lines)
    i = sc.index("ballot", motion="housing-bill", choice="yes")
    es[i]["received"] = "2026-11-23T09:59:59.000000Z"
    lines = rechain(es)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and ("rules", i) in failed(rep) and ("chain", i) in failed(rep)  # also goes back in time


def test_reused_invitation(tmp_path, capsys, sc):
    es = entries(sc.lines)
    newcomer = KeyPair.generate()
    st = {
        "v": 1,
        "assembly": sc.assembly,
        "kind": "enroll",
        "author": newcomer.public_hex,
        "seq": 1,
        "code": sc.codes[0],
        "name": "intruder",
    }
    es.append(new_entry(st, newcomer, last_received(sc)))
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and failed(rep) == {("rules", len(es) - 1)}
    assert rep["failures"][0]["reason"].startswith("invite_used")


def _tampered_result(sc: Scenario, change: Any) -> tuple[list[bytes], int]:
    es = entries(sc.lines)
    i = sc.index("result", motion="housing-bill")
    change(es[i]["statement"])
    resign(es[i], sc.server_key)
    return reseal(es, sc.server_key, keep=frozenset({i})), i


def _vote_moved(st: dict[str, Any]) -> None:
    st["yes"] -= 1
    st["no"] += 1


def _seat_moved(st: dict[str, Any]) -> None:
    st["seats"]["yes"] -= 1
    st["seats"]["abstain"] += 1


def _deputies_reordered(st: dict[str, Any]) -> None:
    st["instructions"].reverse()


@pytest.mark.parametrize(
    "change, fields",
    [
        (_vote_moved, ["'yes'", "'no'"]),
        (_seat_moved, ["'seats.yes'", "'seats.abstain'"]),
        (_deputies_reordered, ["'instructions[0]'"]),
    ],
)
def test_result_tampered_field_by_field(tmp_path, capsys, sc, change, fields):
    lines, i = _tampered_result(sc, change)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("results", i)}
    reasons = " ".join(f["reason"] for f in rep["failures"])
    for f in fields:
        assert f in reasons
    only_failed(rep, "results")
    assert rep["motions"]["housing-bill"]["matches"] is False


def test_close_without_its_result(tmp_path, capsys, sc):
    es = entries(sc.lines)
    i = sc.index("result", motion="housing-bill")
    del es[i]
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and ("results", i) in failed(rep)


def test_log_ending_at_a_close_without_its_result_is_invalid(tmp_path, capsys, sc):
    # SPEC 4: the server writes a close and its result in one transaction.
    es = entries(sc.lines)
    assert es[-1]["statement"]["kind"] == "result" and es[-2]["statement"]["kind"] == "close"
    lines = rechain(es[:-1])
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("results", len(lines) - 1)}
    only_failed(rep, "results")
    assert "without its result" in rep["failures"][0]["reason"]


def test_late_close(tmp_path, capsys, sc):
    """SPEC 4, close first: a ballot on another motion, received after
    housing-bill's closing time, is written before housing-bill's close."""
    es = entries(sc.lines)
    c = sc.index("close", motion="housing-bill")
    assert es[c + 1]["statement"]["kind"] == "result"
    ballot = es[c + 2]
    assert ballot["statement"]["kind"] == "ballot" and ballot["statement"]["motion"] == "culture-bill"
    assert ballot["received"] >= es[sc.index("motion", id="housing-bill")]["statement"]["closes"]
    es[c : c + 3] = [ballot, es[c], es[c + 1]]  # the ballot slips in before the close and its result
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key))
    assert code == 1 and failed(rep) == {("rules", c)}, rep["failures"]
    only_failed(rep, "rules")
    assert rep["failures"][0]["reason"].startswith("late_close")
    assert "housing-bill" in rep["failures"][0]["reason"]


def test_late_close_is_reported_once_even_if_the_motion_never_closes(tmp_path, capsys, sc):
    es = entries(sc.lines)
    c = sc.index("close", motion="housing-bill")
    del es[c : c + 2]  # housing-bill's close and result are gone; entries after its closing time stay
    lines = reseal(es, sc.server_key)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and failed(rep) == {("rules", c)}, rep["failures"]
    assert [f["reason"][:10] for f in rep["failures"]] == ["late_close"]


def test_checkpoint_with_a_wrong_root(tmp_path, capsys, sc):
    note = checkpoint_note(sc.lines, sc.server_key, sc.assembly, root=bytes(32))
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=note)
    assert code == 1 and failed(rep) == {("checkpoint", None)}
    assert "root differs" in rep["failures"][0]["reason"]


def test_checkpoint_with_a_wrong_signature(tmp_path, capsys, sc):
    text, _, sig = sc.checkpoint.partition("\n\n")
    dash, name, blob = sig.split()
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    note = f"{text}\n\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=note)
    assert code == 1 and failed(rep) == {("checkpoint", None)}
    assert "does not verify" in rep["failures"][0]["reason"]


def test_checkpoint_signed_by_another_key(tmp_path, capsys, sc):
    note = checkpoint_note(sc.lines, KeyPair.generate(), sc.assembly)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=note)
    assert code == 1 and "no signature by the server key" in rep["failures"][0]["reason"]


def test_checkpoint_larger_than_the_log(tmp_path, capsys, sc):
    code, rep = check_log(tmp_path, capsys, sc, sc.lines[:-3], checkpoint=sc.checkpoint)
    assert code == 1 and "larger than the log" in rep["failures"][-1]["reason"]


def test_since_accepts_an_extension(tmp_path, capsys, sc):
    (tmp_path / "old.txt").write_text(sc.since)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, "--since", str(tmp_path / "old.txt"))
    assert unwitnessed_only(code, rep) and rep["checks"]["since"] == "passed"


def test_rewritten_history_under_since(tmp_path, capsys, sc):
    (tmp_path / "old.txt").write_text(sc.since)
    old_size = int(sc.since.split("\n")[1])
    es = entries(sc.lines)
    i = sc.index("enroll", name="m5")
    assert i < old_size
    es[i]["statement"]["name"] = "someone-else"
    resign(es[i], sc.members[5].key)
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key), "--since", str(tmp_path / "old.txt"))
    # The old note and the fresh one of the rewritten log are two server-signed
    # checkpoints that are not consistent: a fork too (SPEC 14.4).
    assert code == 1 and failed(rep) == {("since", old_size - 1), ("forks", None)}
    assert any("history rewritten" in f["reason"] for f in rep["failures"] if f["check"] == "since")
    assert rep["witnesses"]["forks"][0]["a"]["note"] == sc.since


# -- could not run / could not check ------------------------------------------------


def test_missing_file_exits_2(tmp_path, capsys):
    assert verify_cli.main([str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not run" in err


def test_unreachable_url_exits_2(capsys):
    assert verify_cli.main(["http://127.0.0.1:9", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["verdict"] == "error"


def test_missing_checkpoint_file_exits_2(tmp_path, capsys, sc):
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    assert verify_cli.main([str(log), "--checkpoint", str(tmp_path / "none.txt")]) == 2


def test_no_checkpoint_exits_3(tmp_path, capsys, sc):
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=None)
    assert code == 3 and rep["verdict"] == "incomplete"
    assert rep["checks"]["checkpoint"] == "skipped" and rep["failures"] == []


def test_failure_beats_skipped(tmp_path, capsys, sc):
    lines = list(sc.lines)
    lines[3] = lines[3] + b" "
    code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=None)
    assert code == 1 and rep["checks"]["checkpoint"] == "skipped"


def test_empty_log_is_not_a_pass(tmp_path, capsys, sc):
    code, rep = check_log(tmp_path, capsys, sc, [], checkpoint=None)
    assert code == 3 and set(rep["checks"].values()) == {"skipped"}


def test_json_shape(tmp_path, capsys, sc):
    lines, i = _tampered_result(sc, _vote_moved)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert {"verdict", "checks", "failures", "motions"} <= rep.keys()
    assert all(s in ("passed", "failed", "skipped") for s in rep["checks"].values())
    for f in rep["failures"]:
        assert set(f) == {"check", "index", "reason", "section", "code"}
        assert f["section"] in ("1", "2", "3", "4", "5", "6", "8") and f["code"]
    assert set(rep["motions"]["housing-bill"]) >= {"state", "recomputed", "result_index", "matches"}


# -- receipts ------------------------------------------------------------------------


def _write_receipts(tmp_path: Path, receipts: dict[str, dict[str, Any]]) -> Path:
    d = tmp_path / "receipts"
    d.mkdir(exist_ok=True)
    for name, r in receipts.items():
        (d / f"{name}.json").write_text(json.dumps(r))
    return d


def test_receipts_show_how_a_statement_counted(tmp_path, capsys, sc):
    d = _write_receipts(tmp_path, sc.receipts)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, "--receipt", str(d), checkpoint=sc.checkpoint)
    assert unwitnessed_only(code, rep) and rep["checks"]["receipts"] == "passed"
    by = {Path(r["file"]).stem: r for r in rep["receipts"]}
    assert by["ballot"]["counted"] == {
        "outcome": "direct",
        "choice": "yes",
        "weight": 3,
        "ballot_index": sc.receipts["ballot"]["index"],
    }
    carried = by["delegate"]["counted"]["housing-bill"]
    assert carried == {"outcome": "delegated", "carried_by": sc.members[0].public, "choice": "yes"}
    assert by["open"]["counted"] == "motion not closed yet"


def test_receipt_for_an_entry_not_in_the_log(tmp_path, capsys, sc):
    r = copy.deepcopy(sc.receipts["ballot"])
    es = entries(sc.lines)
    i = r["index"]
    es[i]["statement"]["choice"] = "no"
    resign(es[i], sc.members[0].key)
    lines = rechain(es)  # a log where the member's ballot was swapped
    (tmp_path / "r.json").write_text(json.dumps(r))
    code, rep = check_log(tmp_path, capsys, sc, lines, "--receipt", str(tmp_path / "r.json"))
    assert code == 1 and ("receipts", i) in failed(rep)
    assert "another entry" in " ".join(f["reason"] for f in rep["failures"])


def test_receipt_with_a_bad_proof(tmp_path, capsys, sc):
    r = copy.deepcopy(sc.receipts["delegate"])
    r["proof"][0] = "00" * 32
    (tmp_path / "r.json").write_text(json.dumps(r))
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, "--receipt", str(tmp_path / "r.json"))
    assert code == 1 and failed(rep) == {("receipts", r["index"])}
    assert "inclusion proof" in rep["failures"][0]["reason"]


# -- a server URL ------------------------------------------------------------------------


class _FakeServer(BaseHTTPRequestHandler):
    lines: list[bytes] = []
    checkpoint = ""
    server_key = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        u = urlparse(self.path)
        q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
        if u.path == "/api/log":
            body = b"".join(x + b"\n" for x in self.lines[q["from"] : q["from"] + q.get("limit", 1000)])
        elif u.path == "/api/checkpoint":
            body = self.checkpoint.encode()
        elif u.path == "/api/server":
            body = json.dumps({"server_key": self.server_key, "assembly": None}).encode()
        elif u.path == "/api/proof/consistency":
            leaves = [merkle.leaf_hash(x) for x in self.lines]
            proof = merkle.consistency_proof(q["from"], q["to"], leaves)
            body = json.dumps({"proof": [p.hex() for p in proof]}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def served(sc: Scenario) -> Iterator[str]:
    handler = type(
        "H", (_FakeServer,), {"lines": sc.lines, "checkpoint": sc.checkpoint, "server_key": sc.server_key.public_hex}
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_source_pages_checks_since_and_saves_the_checkpoint(tmp_path, capsys, sc, served, monkeypatch):
    monkeypatch.setattr(verify_cli, "PAGE", 7)
    (tmp_path / "old.txt").write_text(sc.since)
    save = tmp_path / "latest.txt"
    code, rep = run(capsys, served, "--jobs", "1", "--since", str(tmp_path / "old.txt"), "--save-checkpoint", str(save))
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])
    assert rep["entries"] == len(sc.lines) and rep["checks"]["checkpoint"] == "passed"
    assert save.read_text() == sc.checkpoint


# -- the demo assembly ------------------------------------------------------------------


def test_demo_log_verifies(tmp_path, capsys):
    """The demo assembly (demo/, through the real box) is a valid log,
    close-first and close-with-result included."""
    import asyncio

    from ballots.box import BallotBox
    from demo import seed_demo
    from tests.world import T0, Clock

    async def seed() -> tuple[list[bytes], str]:
        box = await BallotBox.open(
            f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", KeyPair(bytes(range(32))), clock=Clock(T0)
        )
        try:
            await seed_demo(box, clock_now=T0, keys_dir=tmp_path / "keys")
            return await box.export(), box.checkpoint_text
        finally:
            await box.aclose()

    lines, note = asyncio.run(seed())
    assert any(b'"kind":"close"' in x for x in lines)
    log = write_log(tmp_path / "demo.jsonl", lines)
    (tmp_path / "cp.txt").write_text(note)
    code, rep = run(capsys, str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--jobs", "2")
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])


# -- the ballot fast path decides exactly as the general path ------------------------------


def _upper_one(hex_: str) -> str:
    k = next(k for k, c in enumerate(hex_) if c in "abcdef")
    return hex_[:k] + hex_[k].upper() + hex_[k + 1 :]


def _ballot_tamperings(sc: Scenario) -> list[tuple[str, list[bytes]]]:
    i = sc.index("ballot", motion="culture-bill", choice="abstain")
    line = sc.lines[i].decode()
    e = json.loads(line)
    st = e["statement"]
    cases = {
        "untouched": line,
        "uppercase author": line.replace(st["author"], _upper_one(st["author"])),
        "uppercase signature": line.replace(e["signature"], _upper_one(e["signature"])),
        "seq above 2^53-1": line.replace(f'"seq":{st["seq"]}', '"seq":9007199254740992'),
        "seq leading zero": line.replace(f'"seq":{st["seq"]}', f'"seq":0{st["seq"]}'),
        "hour 24": line.replace(e["received"], e["received"][:11] + "24" + e["received"][13:]),
        "February 30": line.replace(e["received"], "2026-02-30" + e["received"][10:]),
        "index off by one": line.replace(f'"index":{i}', f'"index":{i + 1}'),
        "wrong prev": line.replace(e["prev"], "ab" * 32),
        "unknown motion": line.replace('"motion":"culture-bill"', '"motion":"no-such-bill"'),
        "withdrawn": line.replace('"choice":"abstain"', '"choice":null'),
        "other assembly": line.replace(sc.assembly, "cd" * 32),
        "space": line.replace('"v":1', '"v": 1'),
    }
    out = []
    for name, text in cases.items():
        lines = list(sc.lines)
        lines[i] = text.encode()
        out.append((name, lines))
    return out


def test_ballot_fast_path_agrees_with_the_general_path(tmp_path, capsys, sc, monkeypatch):
    for name, lines in _ballot_tamperings(sc):
        reports = []
        for fast in (True, False):
            if not fast:
                monkeypatch.setattr(verify_cli, "_BALLOT_LINE", verify_cli.re.compile(rb"(?!)"))
            code, rep = check_log(tmp_path, capsys, sc, lines, checkpoint=sc.checkpoint)
            reports.append((code, rep["failures"], rep["motions"], rep["kinds"]))
            monkeypatch.undo()
        assert reports[0] == reports[1], name
        assert (reports[0][0] == 3 and not reports[0][1]) is (name == "untouched"), (name, reports[0][1])
