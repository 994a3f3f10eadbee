"""``verify_cli.py --follow`` (docs/SPEC.md 14.6): a monitor of a real server
process that keeps its state between rounds, downloads only what is new, and
stops with the evidence saved once the server it watches is replaced by a
fork of its log."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import verify_cli
from client.author import Author, code_hash, genesis, new_code
from tests.processes import ROOT, free_port, start_server, stop_server
from tests.test_crash import post
from tests.verifier_logs import build_scenario, checkpoint_note


def _server_key(base: str) -> str:
    with urllib.request.urlopen(base + "/api/server", timeout=5) as r:
        return str(json.load(r)["server_key"])


def _ok(base: str, signed: dict[str, Any]) -> dict[str, Any]:
    status, body = post(base, signed)
    assert status == 201, body
    return body


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_follow_a_server_then_its_fork(tmp_path: Path):
    port = free_port()
    a_dir, b_dir, state = tmp_path / "a", tmp_path / "b", tmp_path / "state"
    base, proc = start_server(a_dir, port=port)
    founder = Author()
    try:
        _ok(base, genesis(founder, server=_server_key(base)))
        assembly = json.load(urllib.request.urlopen(base + "/api/server", timeout=5))["assembly"]
        code = new_code()
        _ok(base, founder.sign("invite", assembly, code_hash=code_hash(code), note=""))
        _ok(base, Author().sign("enroll", assembly, code=code, name="m0"))
    finally:
        stop_server(proc)
    shutil.copytree(a_dir, b_dir)  # the same history so far, the same server key
    seq = founder.seq
    base, proc = start_server(a_dir, port=port)
    watcher = None
    try:
        _ok(base, founder.sign("topic", assembly, id="a-side", title="A", description="", parent=None))
        watcher = subprocess.Popen(
            [sys.executable, str(ROOT / "verify_cli.py"), base, "--follow", "--state", str(state)]
            + ["--interval", "0.2", "--jobs", "1"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        saved = state / "checkpoint"
        _wait(lambda: saved.exists() and saved.read_text().split("\n")[1] == "4", 120, "the first verified checkpoint")
        # The log grows: the next rounds fetch only the new entry.
        _ok(base, founder.sign("topic", assembly, id="a-more", title="A2", description="", parent=None))
        _wait(lambda: saved.read_text().split("\n")[1] == "5", 120, "the second checkpoint")
        assert len((state / "log.jsonl").read_bytes().splitlines()) == 5
        assert watcher.poll() is None
        a_note = saved.read_text()
    finally:
        stop_server(proc)
    # The same address now serves a fork: another history of the same size.
    # It takes its two statements elsewhere first, so the monitor only ever
    # sees it at size 5.
    founder.seq = seq
    other, proc = start_server(b_dir)
    try:
        _ok(other, founder.sign("topic", assembly, id="b-side", title="B", description="", parent=None))
        _ok(other, founder.sign("topic", assembly, id="b-more", title="B2", description="", parent=None))
    finally:
        stop_server(proc)
    base, proc = start_server(b_dir, port=port)
    try:
        out, err = watcher.communicate(timeout=180)
    finally:
        stop_server(proc)
        if watcher and watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 1, err.decode()
    assert b"FAILURE, evidence saved in" in err
    (evidence,) = state.glob("evidence-*")
    report = json.loads((evidence / "report.json").read_text())
    checks = {f["check"] for f in report["failures"]}
    assert "forks" in checks and "checkpoint" in checks, report["failures"]
    (fork,) = report["witnesses"]["forks"]
    assert a_note in (fork["a"]["note"], fork["b"]["note"])  # the note verified before, and the fork's
    notes = [p.read_text() for p in evidence.glob("note-*.txt")]
    assert a_note in notes and any(n != a_note and n.split("\n")[1] == "5" for n in notes)
    assert (state / "checkpoint").read_text() == a_note  # the state still holds the last verified one
    assert b"VERDICT: INVALID" in out


class _Counting(BaseHTTPRequestHandler):
    lines: list[bytes] = []
    note = ""
    key = ""
    froms: list[int] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        u = urlparse(self.path)
        q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
        if u.path == "/api/log":
            self.froms.append(q["from"])
            body = b"".join(x + b"\n" for x in self.lines[q["from"] : q["from"] + q["limit"]])
        elif u.path == "/api/checkpoint":
            body = self.note.encode()
        elif u.path == "/api/server":
            body = json.dumps({"server_key": self.key}).encode()
        elif u.path == "/api/proof/consistency":
            from crypto import merkle

            leaves = [merkle.leaf_hash(x) for x in self.lines]
            body = json.dumps(
                {"proof": [p.hex() for p in merkle.consistency_proof(q["from"], q["to"], leaves)]}
            ).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_follow_resumes_from_its_state_without_downloading_again(tmp_path: Path, capsys: Any):
    sc = build_scenario(tmp_path)
    half = 20
    h = type("H", (_Counting,), {"froms": [], "key": sc.server_key.public_hex})
    h.lines, h.note = sc.lines[:half], checkpoint_note(sc.lines[:half], sc.server_key, sc.assembly)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), h)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    state = tmp_path / "state"
    args = [url, "--follow", "--state", str(state), "--rounds", "1", "--jobs", "1", "--quiet"]
    try:
        assert verify_cli.main(args) == 0
        assert h.froms[0] == 0
        h.lines, h.note = sc.lines, sc.checkpoint  # the log grew (two closes, no witness policy)
        h.froms.clear()
        assert verify_cli.main(args) == 3  # resumed: its closes are not judged, nothing failed
        assert h.froms[0] == half  # only the entries after those held
        assert len((state / "log.jsonl").read_bytes().splitlines()) == len(sc.lines)
        assert (state / "checkpoint").read_text() == sc.checkpoint
        err = capsys.readouterr().err
        assert f"{len(sc.lines)} entries ({len(sc.lines) - half} new)" in err
        # --follow needs a URL and a state folder, and takes no offline notes.
        assert verify_cli.main([str(tmp_path / "x.jsonl"), "--follow", "--state", str(state)]) == 2
        assert verify_cli.main([url, "--follow"]) == 2
    finally:
        httpd.shutdown()
        httpd.server_close()
