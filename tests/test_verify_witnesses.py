"""The verifier and witnesses (docs/SPEC.md section 13): every cosignature it
is given is checked, each close is judged by the time rule, forks between
checkpoints are found, and a policy whose quorum is not a majority is refused.
Each check is broken by a tampered log or note and must be reported at its
index; the cosignatures are made by the witness package's own code."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
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
    closes_floor,
    cosigned_note,
    entries,
    index_of,
    insert_statement,
    policy_fields,
    with_policy,
    write_log,
)

GRACE = 10


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


@dataclass
class Witnessed:
    """The scenario's log under a policy of three witnesses, quorum 2."""

    sc: Scenario
    lines: list[bytes]
    ws: list[tuple[str, KeyPair]]
    policy: int  # index of the `witnesses` entry
    hc: int  # housing-bill's close index
    cc: int  # culture-bill's close index
    fh: int  # floor(closes) of housing-bill
    fc: int

    def note(self, size: int, *cosigs: tuple[int, int]) -> str:
        """A server-signed note of ``size`` cosigned by witness k at ts, per (k, ts)."""
        return cosigned_note(
            self.lines, self.sc.server_key, self.sc.assembly, [(*self.ws[k], ts) for k, ts in cosigs], size
        )

    def good_notes(self) -> list[str]:
        # Right after each close (its result included), cosigned within the grace.
        return [
            self.note(self.hc + 2, (0, self.fh + 1), (1, self.fh + 2)),
            self.note(len(self.lines), (0, self.fc + 1), (1, self.fc + 3), (2, self.fc + GRACE)),
        ]


@pytest.fixture(scope="module")
def wl(sc: Scenario) -> Witnessed:
    ws = [(f"witness.example/w{k}", KeyPair(bytes([k + 1]) * 32)) for k in range(3)]
    lines = with_policy(sc, ws, quorum=2, grace=GRACE)
    es = entries(lines)
    return Witnessed(
        sc,
        lines,
        ws,
        index_of(es, "witnesses"),
        index_of(es, "close", motion="housing-bill"),
        index_of(es, "close", motion="culture-bill"),
        closes_floor(lines, "housing-bill"),
        closes_floor(lines, "culture-bill"),
    )


def verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[bytes], notes: list[str], *extra: str):
    log = write_log(tmp_path / "log.jsonl", lines)
    args = [str(log), "--jobs", "1", "--json", "--quiet", *extra]
    if notes:
        (tmp_path / "notes.txt").write_text("\n".join(notes), encoding="utf-8")
        args += ["--checkpoint", str(tmp_path / "notes.txt")]
    code = verify_cli.main(args)
    return code, json.loads(capsys.readouterr().out)


def failed(rep: dict[str, Any]) -> set[tuple[str, int | None, str]]:
    return {(f["check"], f["index"], f["code"]) for f in rep["failures"]}


def not_passed(rep: dict[str, Any]) -> dict[str, str]:
    return {c: s for c, s in rep["checks"].items() if s != "passed"}


def closes(rep: dict[str, Any]) -> dict[int, str]:
    return {c["index"]: c["status"] for c in rep["witnesses"]["closes"]}


def _flip_in_line(note: str, name: str, at: int) -> str:
    """Flip one bit of byte ``at`` of the decoded signature of ``name``'s line."""
    out = []
    for line in note.split("\n"):
        if line.startswith(f"\u2014 {name} "):
            raw = bytearray(base64.b64decode(line.rsplit(" ", 1)[1]))
            raw[at] ^= 1
            line = f"\u2014 {name} " + base64.b64encode(bytes(raw)).decode()
        out.append(line)
    return "\n".join(out)


# -- the exit-0 path: a policy, and cosignatures within the grace ----------------------


def test_witnessed_log_passes(tmp_path, capsys, wl):
    code, rep = verify(tmp_path, capsys, wl.lines, wl.good_notes())
    assert code == 0, (rep["failures"], rep["skipped"])
    assert set(rep["checks"].values()) == {"passed"}
    assert closes(rep) == {wl.hc: "witnessed", wl.cc: "witnessed"}
    assert rep["witnesses"]["cosignatures"] == {"checked": 5, "valid": 5, "ignored_unknown": []}
    assert rep["kinds"]["witnesses"] == 1


def test_no_policy_is_skipped_not_passed(tmp_path, capsys, sc):
    """A log without a witness policy: every close is reported not judged,
    exit 3, and nothing else is amiss."""
    code, rep = verify(tmp_path, capsys, sc.lines, [sc.checkpoint])
    assert code == 3 and rep["failures"] == []
    assert not_passed(rep) == {"witnessed_closes": "skipped"}
    assert rep["skipped"]["witnessed_closes"].startswith("no witness policy")
    assert set(closes(rep).values()) == {"not judged"}


def test_a_log_without_closes_has_nothing_to_judge(tmp_path, capsys, sc):
    first_close = index_of(sc.entries(), "close")
    lines = sc.lines[:first_close]
    code, rep = verify(tmp_path, capsys, lines, [checkpoint_note(lines, sc.server_key, sc.assembly)])
    assert code == 0 and rep["witnesses"]["closes"] == []


def test_text_report_names_the_witnesses(tmp_path, capsys, wl):
    log = write_log(tmp_path / "log.jsonl", wl.lines)
    (tmp_path / "n.txt").write_text("\n".join(wl.good_notes()))
    assert verify_cli.main([str(log), "--checkpoint", str(tmp_path / "n.txt"), "--jobs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"entry {wl.hc} close motion:housing-bill: witnessed" in out
    assert "5 cosignature lines checked, 5 valid" in out


# -- cosignatures ------------------------------------------------------------------------


@pytest.mark.parametrize("at", [5, 12 + 10], ids=["timestamp", "signature"])
def test_an_altered_cosignature_line_fails(tmp_path, capsys, wl, at):
    notes = wl.good_notes()
    notes[1] = _flip_in_line(notes[1], wl.ws[2][0], at)
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 1 and failed(rep) == {("cosignatures", None, "bad_cosignature")}
    assert wl.ws[2][0] in rep["failures"][0]["reason"]
    # The two other lines still witness the close.
    assert closes(rep) == {wl.hc: "witnessed", wl.cc: "witnessed"}


def test_a_line_with_another_key_id_is_ignored_as_unknown(tmp_path, capsys, wl):
    notes = wl.good_notes()
    notes[1] = _flip_in_line(notes[1], wl.ws[2][0], 0)  # the key id: not this witness's key any more
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 0, rep["failures"]
    assert rep["witnesses"]["cosignatures"]["ignored_unknown"] == [f"{wl.ws[2][0]}+" + _kid_flipped(wl, 2)]


def _kid_flipped(wl: Witnessed, k: int) -> str:
    kid = bytearray(verify_cli.cosigner_key_id(wl.ws[k][0], wl.ws[k][1].public_bytes))
    kid[0] ^= 1
    return kid.hex()


def test_witness_keys_from_the_command_line(tmp_path, capsys, sc):
    """No policy in the log: --witness keys are still checked, unknown names
    are reported as ignored."""
    w, other = KeyPair(b"\x07" * 32), KeyPair(b"\x08" * 32)
    note = cosigned_note(sc.lines, sc.server_key, sc.assembly, [("w.example", w, 1), ("stranger.example", other, 1)])
    arg = f"w.example={w.public_hex}"
    code, rep = verify(tmp_path, capsys, sc.lines, [note], "--witness", arg)
    assert code == 3 and rep["failures"] == [] and rep["checks"]["cosignatures"] == "passed"
    assert rep["witnesses"]["cosignatures"] == {"checked": 1, "valid": 1, "ignored_unknown": ["stranger.example"]}
    bad = _flip_in_line(note, "w.example", 40)
    code, rep = verify(tmp_path, capsys, sc.lines, [bad], "--witness", arg)
    assert code == 1 and failed(rep) == {("cosignatures", None, "bad_cosignature")}
    assert verify_cli.main([str(tmp_path / "log.jsonl"), "--witness", "no-key-here"]) == 2


def test_cosignature_check_matches_the_c2sp_text():
    """The verifier's own cosignature/v1 code against the witness package's lines."""
    from witness.cosignature import cosign, key_id

    k = KeyPair(b"\x09" * 32)
    body = "origin\n5\n" + base64.b64encode(bytes(32)).decode() + "\n"
    line = cosign(body, k, "n.example", 1_700_000_000)
    raw = base64.b64decode(line.split(" ")[2])
    assert verify_cli.cosigner_key_id("n.example", k.public_bytes) == key_id("n.example", k.public_bytes) == raw[:4]
    assert verify_cli.check_cosignature(raw, body, k.public_bytes) == 1_700_000_000
    with pytest.raises(ValueError):
        verify_cli.check_cosignature(raw, body.replace("5", "6"), k.public_bytes)


# -- the time rule -------------------------------------------------------------------------


def test_cosigned_too_late_is_not_judged(tmp_path, capsys, wl):
    notes = wl.good_notes()
    notes[0] = wl.note(wl.hc + 2, (0, wl.fh + 1), (1, wl.fh + GRACE + 1))  # one in time, one late
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 3 and rep["failures"] == []
    assert closes(rep) == {wl.hc: "not judged", wl.cc: "witnessed"}
    assert f"entry {wl.hc}" in rep["skipped"]["witnessed_closes"]
    assert "only 1 of the 2" in rep["skipped"]["witnessed_closes"]


def test_no_checkpoint_above_the_close_is_not_judged(tmp_path, capsys, wl):
    notes = [wl.note(wl.hc, (0, wl.fh + 1), (1, wl.fh + 1)), wl.good_notes()[1]]  # size hc: not above hc
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    # The later note covers the housing close too, but its cosignatures are
    # more than the grace after housing-bill's closes.
    assert code == 3 and closes(rep) == {wl.hc: "not judged", wl.cc: "witnessed"}


def test_early_close_fails_at_the_close(tmp_path, capsys, wl):
    notes = wl.good_notes()
    notes[0] = wl.note(wl.hc + 2, (0, wl.fh + 1), (1, wl.fh + 1), (2, wl.fh - 1))
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 1 and failed(rep) == {("witnessed_closes", wl.hc, "early_close")}
    assert rep["failures"][0]["section"] == "14.3"
    assert closes(rep)[wl.hc] == "closed early"


def test_a_cosignature_on_a_checkpoint_before_the_close_is_not_early(tmp_path, capsys, wl):
    notes = [*wl.good_notes(), wl.note(wl.hc, (2, wl.fh - 30))]  # size hc does not hold the close
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 0, rep["failures"]


def test_the_policy_that_governs_is_the_last_before_the_motion(tmp_path, capsys, wl):
    """A policy set after housing-bill's motion does not govern its close."""
    es = entries(wl.sc.lines)
    at = index_of(es, "motion", id="culture-bill")
    lines = insert_statement(
        es, at, wl.sc.founder, {"kind": "witnesses", **policy_fields(wl.ws, 2, GRACE)}, wl.sc.server_key
    )
    hc, cc = (
        index_of(entries(lines), "close", motion="housing-bill"),
        index_of(entries(lines), "close", motion="culture-bill"),
    )
    notes = [
        cosigned_note(
            lines, wl.sc.server_key, wl.sc.assembly, [(*wl.ws[0], wl.fh + 1), (*wl.ws[1], wl.fh + 1)], hc + 2
        ),
        cosigned_note(lines, wl.sc.server_key, wl.sc.assembly, [(*wl.ws[0], wl.fc + 1), (*wl.ws[1], wl.fc + 1)]),
    ]
    code, rep = verify(tmp_path, capsys, lines, notes)
    assert code == 3 and rep["failures"] == []
    assert closes(rep) == {hc: "not judged", cc: "witnessed"}
    assert rep["skipped"]["witnessed_closes"] == f"no witness policy: 1 close cannot be judged (entry {hc})"
    assert next(c for c in rep["witnesses"]["closes"] if c["index"] == hc)["detail"] == "no witness policy governs it"


def test_cosignatures_of_a_non_policy_witness_do_not_count(tmp_path, capsys, wl):
    stranger = ("stranger.example", KeyPair(b"\x0a" * 32))
    notes = wl.good_notes()
    notes[0] = cosigned_note(
        wl.lines, wl.sc.server_key, wl.sc.assembly, [(*wl.ws[0], wl.fh + 1), (*stranger, wl.fh + 1)], wl.hc + 2
    )
    code, rep = verify(tmp_path, capsys, wl.lines, notes, "--witness", f"{stranger[0]}={stranger[1].public_hex}")
    assert code == 3 and closes(rep)[wl.hc] == "not judged"


def test_a_drawn_entry_goes_through_the_same_rule():
    """DESIGN 10's `drawn` is judged by the same code as `close`: only its
    kind (and Replay.draws) is missing."""
    r = verify_cli.Replay()
    r.policy = verify_cli.Policy(
        3, {"cosigners": [{"name": "a", "key": "11" * 32, "url": "http://a"}], "quorum": 1, "grace": 5}
    )

    class Draw:
        closes = "2026-11-23T10:00:00.500000Z"

    r.draws = {"d1": Draw()}  # type: ignore[attr-defined]
    r.note_lottery(4, {"kind": "draw", "id": "d1"})
    r.note_lottery(9, {"kind": "drawn", "draw": "d1"})
    (c,) = r.closings
    assert (c.kind, c.index, c.lottery, c.policy) == ("drawn", 9, "draw:d1", r.policy)
    floor = verify_cli.floor_seconds(c.closes)
    ok = verify_cli.Cosig("a", bytes.fromhex("11" * 32), floor + 5, 10, "n")
    assert verify_cli.judge_closing(c, [ok])[0] == "witnessed"
    early = verify_cli.Cosig("a", bytes.fromhex("11" * 32), floor - 1, 10, "n")
    assert verify_cli.judge_closing(c, [early])[2][0].code == "early_close"


# -- forks ---------------------------------------------------------------------------------


def test_two_notes_of_one_size_with_different_roots_are_a_fork(tmp_path, capsys, wl):
    size = wl.hc + 2
    other = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly, size, root=b"\x55" * 32)
    notes = [*wl.good_notes(), other]
    code, rep = verify(tmp_path, capsys, wl.lines, notes)
    assert code == 1
    assert ("forks", None, "fork") in failed(rep)
    (fork,) = rep["witnesses"]["forks"]
    assert "same size" in fork["why"]
    assert {fork["a"]["note"], fork["b"]["note"]} == {notes[0], other}


def test_inconsistent_checkpoints_are_a_fork(tmp_path, capsys, wl):
    """A note of the log as it was before the policy was inserted: a smaller
    size, and a root that no consistency proof leads from."""
    size = wl.policy + 3
    old = checkpoint_note(wl.sc.lines, wl.sc.server_key, wl.sc.assembly, size)
    code, rep = verify(tmp_path, capsys, wl.lines, [*wl.good_notes(), old])
    assert code == 1 and ("forks", None, "fork") in failed(rep)
    assert ("checkpoint", None, "bad_checkpoint") in failed(rep)  # it also disagrees with the log read
    (fork,) = rep["witnesses"]["forks"]
    assert "not consistent" in fork["why"] and old in (fork["a"]["note"], fork["b"]["note"])


def test_a_fork_vouched_only_by_witnesses_is_found(tmp_path, capsys, wl):
    """A note whose server signature is wrong but that a witness cosigned
    still shows a view of the log."""
    size = wl.hc + 2
    forged = cosigned_note(wl.lines, KeyPair(b"\x0b" * 32), wl.sc.assembly, [(*wl.ws[2], wl.fh + 1)], size)
    forged = forged.replace(
        forged.split("\n")[2], base64.b64encode(b"\x66" * 32).decode()
    )  # another root: re-cosign it
    body = forged.split("\n\n")[0] + "\n"
    from witness.cosignature import cosign

    forged = body + "\n" + cosign(body, wl.ws[2][1], wl.ws[2][0], wl.fh + 1)
    code, rep = verify(tmp_path, capsys, wl.lines, [*wl.good_notes(), forged])
    assert code == 1 and ("forks", None, "fork") in failed(rep)


# -- the policy's own rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quorum", "n", "code"),
    [
        (1, 3, "quorum_not_majority"),
        (2, 4, "quorum_not_majority"),
        (4, 3, "quorum_not_majority"),
        (0, 1, "quorum_not_majority"),
    ],
)
def test_a_quorum_that_is_not_a_majority_is_refused(tmp_path, capsys, sc, quorum, n, code):
    ws = [(f"w{k}.example", KeyPair(bytes([k + 20]) * 32)) for k in range(n)]
    lines = with_policy(sc, ws, quorum=quorum)
    at = index_of(entries(lines), "witnesses")
    code_, rep = verify(tmp_path, capsys, lines, [checkpoint_note(lines, sc.server_key, sc.assembly)])
    assert code_ == 1 and failed(rep) == {("rules", at, code)}


@pytest.mark.parametrize("bad", ["space in name", "plus+name", "dup names", "dup keys", "ftp url", "none"])
def test_bad_cosigners_are_refused(tmp_path, capsys, sc, bad):
    ws = [
        ("a.example", KeyPair(b"\x31" * 32)),
        ("b.example", KeyPair(b"\x32" * 32)),
        ("c.example", KeyPair(b"\x33" * 32)),
    ]
    fields = policy_fields(ws, 2, GRACE)
    cos = fields["cosigners"]
    if bad == "space in name":
        cos[0]["name"] = "a example"
    elif bad == "plus+name":
        cos[0]["name"] = "a+example"
    elif bad == "dup names":
        cos[1]["name"] = cos[0]["name"]
    elif bad == "dup keys":
        cos[1]["key"] = cos[0]["key"]
    elif bad == "ftp url":
        cos[2]["url"] = "ftp://c.example/"  # not http(s)
    else:
        fields["cosigners"], fields["quorum"] = [], 1
    es = sc.entries()
    lines = insert_statement(es, index_of(es, "motion"), sc.founder, {"kind": "witnesses", **fields}, sc.server_key)
    at = index_of(entries(lines), "witnesses")
    code, rep = verify(tmp_path, capsys, lines, [checkpoint_note(lines, sc.server_key, sc.assembly)])
    assert code == 1 and failed(rep) == {("rules", at, "bad_witnesses")}


def test_a_policy_signed_by_a_member_is_refused(tmp_path, capsys, sc):
    ws = [("a.example", KeyPair(b"\x31" * 32))]
    es = sc.entries()
    member = sc.members[0]
    lines = insert_statement(
        es, index_of(es, "motion"), member, {"kind": "witnesses", **policy_fields(ws, 1, 5)}, sc.server_key
    )
    at = index_of(entries(lines), "witnesses")
    code, rep = verify(tmp_path, capsys, lines, [checkpoint_note(lines, sc.server_key, sc.assembly)])
    assert code == 1 and failed(rep) == {("rules", at, "not_organizer")}


# -- a server: ?covering=, ?size=, receipts ----------------------------------------------------


class _Served(BaseHTTPRequestHandler):
    lines: list[bytes] = []
    notes: list[str] = []  # cosigned notes the server holds
    latest = ""
    server_key = ""
    size_override: dict[int, str] = {}
    refuse_checkpoints = False  # answer /api/checkpoints with 400, as a server may for a size it lacks

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        u = urlparse(self.path)
        q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
        body: bytes | None = None
        if u.path == "/api/log":
            body = b"".join(x + b"\n" for x in self.lines[q["from"] : q["from"] + q.get("limit", 1000)])
        elif u.path == "/api/checkpoint":
            body = self.latest.encode()
        elif u.path == "/api/server":
            body = json.dumps({"server_key": self.server_key, "assembly": None}).encode()
        elif u.path == "/api/proof/consistency":
            leaves = [merkle.leaf_hash(x) for x in self.lines]
            body = json.dumps(
                {"proof": [p.hex() for p in merkle.consistency_proof(q["from"], q["to"], leaves)]}
            ).encode()
        elif u.path == "/api/checkpoints" and self.refuse_checkpoints:
            self.send_error(400)
            return
        elif u.path == "/api/checkpoints" and "size" in q:
            if q["size"] in self.size_override:
                body = self.size_override[q["size"]].encode()
            else:
                body = next((n.encode() for n in self.notes if int(n.split("\n")[1]) == q["size"]), None)
        elif u.path == "/api/checkpoints" and "covering" in q:
            above = sorted((int(n.split("\n")[1]), n) for n in self.notes if int(n.split("\n")[1]) > q["covering"])
            body = above[0][1].encode() if above else None
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers = []

    def start(**attrs: Any) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Served,), attrs))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for h in servers:
        h.shutdown()
        h.server_close()


def _receipt(lines: list[bytes], note: str, index: int) -> dict[str, Any]:
    import hashlib

    size = int(note.split("\n")[1])
    leaves = [merkle.leaf_hash(x) for x in lines[:size]]
    return {
        "index": index,
        "entry_hash": hashlib.sha256(lines[index]).hexdigest(),
        "entry": json.loads(lines[index]),
        "checkpoint": note,
        "proof": [p.hex() for p in merkle.inclusion_proof(index, size, leaves)],
    }


def test_a_server_gives_the_covering_checkpoints(tmp_path, capsys, wl, serve):
    notes = wl.good_notes()
    latest = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly)
    url = serve(lines=wl.lines, notes=notes, latest=latest, server_key=wl.sc.server_key.public_hex)
    code = verify_cli.main([url, "--jobs", "1", "--json", "--quiet"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0, (rep["failures"], rep["skipped"])
    assert closes(rep) == {wl.hc: "witnessed", wl.cc: "witnessed"}


def test_receipts_say_whether_they_are_witnessed_yet(tmp_path, capsys, wl, serve):
    notes = wl.good_notes()
    early_ballot = index_of(entries(wl.lines), "ballot")
    late_ballot = len(wl.lines) - 3  # after the housing close: only the last note covers it
    served_notes = [notes[0]]  # the server has no cosigned checkpoint above late_ballot yet
    latest = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly)
    url = serve(lines=wl.lines, notes=served_notes, latest=latest, server_key=wl.sc.server_key.public_hex)
    d = tmp_path / "receipts"
    d.mkdir()
    (d / "early.json").write_text(json.dumps(_receipt(wl.lines, latest, early_ballot)))
    (d / "late.json").write_text(json.dumps(_receipt(wl.lines, latest, late_ballot)))
    verify_cli.main([url, "--jobs", "1", "--json", "--quiet", "--receipt", str(d)])
    rep = json.loads(capsys.readouterr().out)
    assert rep["checks"]["receipts"] == "passed", rep["failures"]
    by = {Path(r["file"]).stem: r["witnessed"] for r in rep["receipts"]}
    assert by["early"]["status"] == "witnessed" and by["early"]["size"] == wl.hc + 2
    assert by["early"]["witnesses"] == [wl.ws[0][0], wl.ws[1][0]]
    assert by["late"]["status"] == "not yet" and "no checkpoint above index" in by["late"]["detail"]
    verify_cli.main([url, "--jobs", "1", "--quiet", "--receipt", str(d / "late.json")])
    assert "NOT witnessed yet" in capsys.readouterr().out


def test_a_server_showing_another_root_for_a_size_is_a_fork(tmp_path, capsys, wl, serve):
    """The note a member kept and the server's ?size= answer for that size disagree."""
    notes = wl.good_notes()
    kept = notes[0]
    size = wl.hc + 2
    lie = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly, size, root=b"\x77" * 32)
    latest = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly)
    url = serve(
        lines=wl.lines, notes=notes, latest=latest, server_key=wl.sc.server_key.public_hex, size_override={size: lie}
    )
    (tmp_path / "kept.txt").write_text(kept)
    code = verify_cli.main([url, "--jobs", "1", "--json", "--quiet", "--checkpoint", str(tmp_path / "kept.txt")])
    rep = json.loads(capsys.readouterr().out)
    assert code == 1 and ("forks", None, "fork") in failed(rep)
    assert any(lie in (f["a"]["note"], f["b"]["note"]) for f in rep["witnesses"]["forks"])


def test_spec_cosignature_example_is_what_both_implementations_compute():
    """docs/SPEC.md 14.1, recomputed from the document by the verifier's code
    and by the witness package's."""
    import hashlib
    import re

    from tests.conftest import ROOT
    from witness.cosignature import cosign, key_id, signed_message, vkey

    text = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^```example-cosignature\n(.*?)^```$", text, re.M | re.S)
    v = dict(line.split(": ", 1) for line in block.splitlines())
    (note,) = re.findall(r"^```example-note\n(.*?)^```$", text, re.M | re.S)
    body = note.split("\n\n")[0] + "\n"
    k = KeyPair(bytes.fromhex(v["witness_seed"]))
    ts, name = int(v["timestamp"]), v["witness_name"]
    assert k.public_hex == v["witness_key"]
    assert verify_cli.cosigner_key_id(name, k.public_bytes).hex() == key_id(name, k.public_bytes).hex() == v["key_id"]
    assert vkey(name, k.public_bytes) == v["vkey"]
    msg = verify_cli.cosignature_message(body, ts)
    assert msg == signed_message(body, ts) and hashlib.sha256(msg).hexdigest() == v["message_sha256"]
    assert cosign(body, k, name, ts) == v["line"] + "\n"
    blob = base64.b64decode(v["line"].rsplit(" ", 1)[1])
    assert verify_cli.check_cosignature(blob, body, k.public_bytes) == ts


def test_a_server_refusing_the_checkpoint_routes_leaves_the_closes_not_judged(tmp_path, capsys, wl, serve):
    latest = checkpoint_note(wl.lines, wl.sc.server_key, wl.sc.assembly)
    url = serve(
        lines=wl.lines, notes=[], latest=latest, server_key=wl.sc.server_key.public_hex, refuse_checkpoints=True
    )
    (tmp_path / "kept.txt").write_text(wl.good_notes()[0])
    code = verify_cli.main([url, "--jobs", "1", "--json", "--quiet", "--checkpoint", str(tmp_path / "kept.txt")])
    rep = json.loads(capsys.readouterr().out)
    assert code == 3 and rep["failures"] == []  # it ran: a 4xx is "no such checkpoint", not "could not run"
    assert closes(rep) == {wl.hc: "witnessed", wl.cc: "not judged"}
