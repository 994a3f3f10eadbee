"""Issue 11, the verifier's half: checkpoint notes read by one strict rule in
both programs, the close order checked, `wrong_server` on exported logs, and
no traceback or endless download from a misbehaving server. Each test is
named after its bullet and failed on main before the fix."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import verify_cli
from ballots.box import BallotBox
from crypto.checkpoint import CheckpointError, open_checkpoint
from crypto.signing import KeyPair
from tests.test_verify import check_log, failed, run, sc  # noqa: F401  (sc: the session scenario fixture)
from tests.verifier_logs import (
    SERVER_SEED,
    Scenario,
    checkpoint_note,
    entries,
    reseal,
    resign,
    unwitnessed_only,
    write_log,
)
from tests.world import Clock, World

# -- checkpoint notes: one strict rule in both programs -----------------------------


def _second_bad_line(sc: Scenario) -> str:
    """The server's own note plus a second line of the server's key id and a bad signature."""
    note = sc.checkpoint
    line = note.rstrip("\n").split("\n")[-1]
    dash, name, blob = line.split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    return note + f"{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"


def _non_canonical_root(sc: Scenario) -> str:
    text, _, sigs = sc.checkpoint.partition("\n\n")
    origin, size, root = text.split("\n")
    # The last base64 character of 32 bytes carries 4 unused bits: set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = root[-2]
    bent = root[:-2] + alphabet[alphabet.index(last) | 1] + root[-1]
    if bent == root:
        bent = root[:-2] + alphabet[alphabet.index(last) ^ 1] + root[-1]
    assert base64.b64decode(bent) == base64.b64decode(root) and bent != root
    # Re-sign the bent text with the server key, so that only the encoding is wrong.
    from crypto.checkpoint import sign_note

    return sign_note(f"{origin}\n{size}\n{bent}\n", sc.server_key, origin)


def _too_many_lines(sc: Scenario) -> str:
    other = KeyPair.generate()
    from crypto.checkpoint import sign_note

    text = sc.checkpoint.partition("\n\n")[0] + "\n"
    extra = "".join(sign_note(text, other, f"witness{i}").split("\n\n", 1)[1] for i in range(100))
    return sc.checkpoint + extra


BAD_NOTES = {
    "second_line_bad_signature": _second_bad_line,
    "non_canonical_base64_root": _non_canonical_root,
    "more_than_100_signature_lines": _too_many_lines,
}


@pytest.mark.parametrize("bad", sorted(BAD_NOTES))
def test_checkpoint_notes_refused_by_both_programs(tmp_path, capsys, sc, bad: str) -> None:  # noqa: F811
    note = BAD_NOTES[bad](sc)
    origin = note.split("\n", 1)[0]
    with pytest.raises(CheckpointError):
        open_checkpoint(note, public_key=sc.server_key.public_bytes, name=origin)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=note)
    assert code == 1 and failed(rep) == {("checkpoint", None)}, rep["failures"]


def test_the_servers_own_note_passes_both(tmp_path, capsys, sc) -> None:  # noqa: F811
    origin = sc.checkpoint.split("\n", 1)[0]
    open_checkpoint(sc.checkpoint, public_key=sc.server_key.public_bytes, name=origin)
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, checkpoint=sc.checkpoint)
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])


# -- several motions falling due together --------------------------------------------


async def _due_together(tmp_path: Path) -> tuple[list[bytes], KeyPair, str]:
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp_path / 'due.db'}", key, clock=clock)
    try:
        w = World(box, clock, key)
        await w.found()
        await w.topic("t")
        # b and a close at the same instant, c earlier: the order is c, a, b.
        await w.motion("b", "t", closes=60)
        await w.motion("a", "t", closes=60)
        await w.motion("c", "t", closes=30)
        clock.advance(seconds=61)
        await box.close_due()
        return await box.export(), key, w.assembly
    finally:
        await box.aclose()


def _closes(lines: list[bytes]) -> list[str]:
    return [e["statement"]["motion"] for e in entries(lines) if e["statement"]["kind"] == "close"]


async def test_motions_falling_due_together_close_in_order_closes_then_id(tmp_path) -> None:
    lines, _, _ = await _due_together(tmp_path)
    assert _closes(lines) == ["c", "a", "b"]


async def test_verifier_checks_the_close_order(tmp_path, capsys) -> None:
    lines, key, assembly = await _due_together(tmp_path)
    es = entries(lines)
    first = next(i for i, e in enumerate(es) if e["statement"]["kind"] == "close")
    # Swap the (close, result) pairs of c and a, renumber the server's seqs, re-sign, re-seal.
    es[first : first + 4] = es[first + 2 : first + 4] + es[first : first + 2]
    seq = 0
    for e in es:
        st = e["statement"]
        if st["author"] == key.public_hex:
            seq += 1
            st["seq"] = seq
            resign(e, key)
    bad = reseal(es, key)
    assert _closes(bad) == ["a", "c", "b"]
    log = write_log(tmp_path / "log.jsonl", bad)
    (tmp_path / "cp.txt").write_text(checkpoint_note(bad, key, assembly))
    code, rep = run(capsys, str(log), "--jobs", "1", "--checkpoint", str(tmp_path / "cp.txt"))
    assert code == 1
    # The first failure is the order; the entries refused after it (not replayed) follow from it.
    assert (rep["failures"][0]["code"], rep["failures"][0]["index"]) == ("close_order", first), rep["failures"]
    assert {f["code"] for f in rep["failures"]} <= {"close_order", "bad_result"}
    # The honest order passes.
    log = write_log(tmp_path / "ok.jsonl", lines)
    (tmp_path / "cp2.txt").write_text(checkpoint_note(lines, key, assembly))
    code, rep = run(capsys, str(log), "--jobs", "1", "--checkpoint", str(tmp_path / "cp2.txt"))
    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])


# -- wrong_server on an exported log -------------------------------------------------


def test_wrong_server_checked_on_an_exported_log_or_reported_skipped(tmp_path, capsys, sc) -> None:  # noqa: F811
    code, rep = check_log(tmp_path, capsys, sc, sc.lines)
    # no witness policy: witnessed_closes is skipped too (SPEC 14.3), so exit 3
    assert code == 3 and rep["failures"] == [] and "wrong_server" in rep["skipped"]
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, "--server-key", sc.server_key.public_hex)
    assert unwitnessed_only(code, rep) and "wrong_server" not in rep["skipped"]
    code, rep = check_log(tmp_path, capsys, sc, sc.lines, "--server-key", KeyPair.generate().public_hex)
    assert code == 1 and [f["code"] for f in rep["failures"]] == ["wrong_server"]


# -- a server that misbehaves mid-download -------------------------------------------


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """Serves the scenario, broken in the way ``mode`` says."""

    protocol_version = "HTTP/1.1"
    lines: list[bytes] = []
    checkpoint = ""
    server_key = ""
    mode = ""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: bytes, *, length: int | None = None, chunked: bool = False) -> None:
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if chunked:
            half = body[: len(body) // 2]
            self.wfile.write(f"{len(body):x}\r\n".encode() + half)  # the chunk is cut, no terminator
        else:
            self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:
        u = urlparse(self.path)
        q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
        if u.path == "/api/server":
            return self._send(json.dumps({"server_key": self.server_key, "assembly": None}).encode())
        if u.path == "/api/checkpoint":
            return self._send(self.checkpoint.encode())
        if u.path != "/api/log":
            self.send_error(404)
            return
        start = q.get("from", 0)
        if self.mode == "ignores_from":
            start = 0
        if self.mode == "off_by_one" and start:
            start -= 1
        body = b"".join(x + b"\n" for x in self.lines[start : start + q.get("limit", 1000)])
        if self.mode == "incomplete":
            self._send(body[: len(body) // 2], length=len(body))
            self.close_connection = True
        elif self.mode == "chunked_cut":
            self._send(body, chunked=True)
            self.close_connection = True
        elif self.mode == "reset":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:100])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
        else:
            self._send(body)


@pytest.fixture
def misbehaving(sc: Scenario) -> Iterator[Any]:  # noqa: F811
    servers = []

    def make(mode: str) -> str:
        handler = type(
            "H",
            (_Misbehaving,),
            {"lines": sc.lines, "checkpoint": sc.checkpoint, "server_key": sc.server_key.public_hex, "mode": mode},
        )
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("mode", ["incomplete", "chunked_cut", "reset"])
def test_server_dying_mid_download_exits_2_with_one_clear_line(capsys, misbehaving, mode: str) -> None:
    url = misbehaving(mode)
    code = verify_cli.main([url, "--jobs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "could not run" in err
    code = verify_cli.main([url, "--jobs", "1", "--quiet", "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 2 and report["verdict"] == "error" and report["exit"] == 2 and report["reason"]


@pytest.mark.parametrize("mode, why", [("ignores_from", "ignores from"), ("off_by_one", "answered from")])
def test_server_ignoring_from_or_paging_wrong_stops_and_says_why(capsys, misbehaving, monkeypatch, mode, why) -> None:
    monkeypatch.setattr(verify_cli, "PAGE", 7)
    url = misbehaving(mode)
    code = verify_cli.main([url, "--jobs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code in (1, 2) and why in err and "Traceback" not in err


def test_max_entries_stops_a_long_log(tmp_path, capsys, sc, misbehaving, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(verify_cli, "PAGE", 7)
    code = verify_cli.main([misbehaving("fine"), "--jobs", "1", "--quiet", "--max-entries", "10"])
    err = capsys.readouterr().err
    assert code == 2 and "--max-entries" in err
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    code = verify_cli.main([str(log), "--jobs", "1", "--quiet", "--max-entries", "10"])
    assert code == 2 and "--max-entries" in capsys.readouterr().err
    code = verify_cli.main([misbehaving("fine"), "--jobs", "1", "--quiet", "--max-entries", str(len(sc.lines))])
    assert code == 3, capsys.readouterr()  # passed but for witnessed_closes (no witness policy)
    assert verify_cli.MAX_ENTRIES >= 10_000_000  # generous by default
