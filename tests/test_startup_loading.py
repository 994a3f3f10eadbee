"""Issue 16, "nothing heavy on the event loop; /healthz answers during it":
a real server.py listens before its ballot box loads, answers /healthz
(`loading`, with the phase) while it does, and every other route 503
`loading` with Retry-After; a projection digest mismatch still refuses to
start, with exit code 1 and the same message, after listening began.

The loading state is held open by the test-only hold of serving/startup.py
(``LIQUID_MANDATE_TEST_HOLD_LOAD``: the load waits for a file), so that no
assertion races the load (docs/SPEC.md section 9, "Start-up")."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import server
from ballots.box import BallotBox
from serving.keyfile import load_server_key
from serving.startup import HOLD_ENV
from tests.processes import ROOT, free_port, start_server, stop_server
from tests.world import Clock, World


def _build(data_dir: Path) -> None:
    """A small assembly through the real box: a founder, three members, a topic."""

    async def build() -> None:
        key = load_server_key(data_dir)
        box = await BallotBox.open(f"sqlite+aiosqlite:///{data_dir / 'liquid-mandate.db'}", key, clock=Clock())
        w = World(box, Clock(), key)
        await w.found()
        await w.enroll(3)
        await w.topic("t")
        await box.aclose()

    asyncio.run(build())


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _assert_loading_503(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, (status, body)
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    assert headers["Retry-After"] == "1"
    problem = json.loads(body)
    assert problem["type"] == "https://liquid-mandate.org/problems/loading" and problem["status"] == 503
    assert "loading its state" in problem["detail"]


def _wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _get(url + "/readyz")[0] != 200:
        assert time.monotonic() < deadline, "the server never became ready"
        time.sleep(0.05)


def test_the_server_listens_first_and_answers_503_loading_until_the_box_is_ready(tmp_path: Path) -> None:
    data_dir, hold = tmp_path / "data", tmp_path / "go"
    _build(data_dir)
    url, proc = start_server(data_dir, ready=False, env={HOLD_ENV: str(hold)})
    try:
        status, _, body = _get(url + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "loading" and health["phase"] == "starting"
        assert set(health) == {"status", "phase", "done", "total", "seconds"}
        for path in ("/readyz", "/api/server", "/api/log", "/api/members", "/metrics", "/openapi.json", "/", "/nope"):
            _assert_loading_503(*_get(url + path))
        _assert_loading_503(*_post(url + "/api/statements", {"statement": {}, "signature": "00"}))
        hold.touch()
        _wait_ready(url)
        status, _, body = _get(url + "/healthz")
        assert status == 200 and json.loads(body) == {
            "status": "ok",
            "size": 8,
            "assembly": json.loads(_get(url + "/api/server")[2])["assembly"],
        }
        assert json.loads(_get(url + "/readyz")[2]) == {"status": "ok", "size": 8}
        assert _get(url + "/api/members")[0] == 200
    finally:
        stop_server(proc)
    log = (tmp_path / "server.log").read_text()
    # The start-up log line measures the digest apart from the load.
    assert "loaded 8 entries in" in log and "their keyed digest" in log and "s CPU" in log and "ready in" in log


def test_a_small_state_is_ready_when_the_port_opens(tmp_path: Path) -> None:
    """A client that waits for the port and then calls the API (as the
    independent clients of DESIGN section 8 may) never sees `loading` on an
    assembly that loads within a moment (server.READY_BEFORE_LISTENING)."""
    data_dir = tmp_path / "data"
    _build(data_dir)
    url, proc = start_server(data_dir, ready=False)  # returns at /healthz's first answer
    try:
        status, _, body = _get(url + "/api/server")
        assert status == 200 and json.loads(body)["assembly"], (status, body)
        assert json.loads(_get(url + "/healthz")[2])["status"] == "ok"
    finally:
        stop_server(proc)


def test_a_digest_mismatch_refuses_to_start_with_exit_1_after_listening(tmp_path: Path) -> None:
    data_dir, hold = tmp_path / "data", tmp_path / "go"
    _build(data_dir)
    con = sqlite3.connect(data_dir / "liquid-mandate.db")
    with con:
        con.execute("UPDATE members SET name = 'edited by hand'")
    con.close()
    url, proc = start_server(data_dir, ready=False, env={HOLD_ENV: str(hold)})
    try:
        assert json.loads(_get(url + "/healthz")[2])["status"] == "loading"  # it listened
        _assert_loading_503(*_get(url + "/api/server"))
        hold.touch()
        assert proc.wait(timeout=30) == 1
    finally:
        stop_server(proc)
    log = (tmp_path / "server.log").read_text()
    assert "error: the stored log is corrupted, refusing to serve it: the projection tables differ" in log
    assert "Traceback" not in log


def test_a_restart_loads_the_snapshot_the_stop_left_and_still_refuses_an_edited_projection(tmp_path: Path) -> None:
    """server.py's own stop (SIGTERM) writes the state snapshot; the next
    start loads it (its log says so) and serves the same state; a projection
    edited by hand in between is found by the checks the snapshot put off:
    exit 1 with the usual message, the snapshot removed, and the start after
    refuses before it serves."""
    data_dir = tmp_path / "data"
    _build(data_dir)
    url, proc = start_server(data_dir)
    first = json.loads(_get(url + "/api/members?limit=10")[2])
    stop_server(proc)
    assert proc.returncode == 0 and (data_dir / server.SNAPSHOT).exists()
    url, proc = start_server(data_dir)
    try:
        assert json.loads(_get(url + "/api/members?limit=10")[2]) == first
    finally:
        stop_server(proc)
    assert "from the state snapshot" in (tmp_path / "server.log").read_text()
    con = sqlite3.connect(data_dir / "liquid-mandate.db")
    with con:
        con.execute("UPDATE members SET name = 'edited by hand'")
    con.close()
    refused = _run_to_exit(data_dir)  # ready from the snapshot, then stopped by the put-off check
    assert refused.returncode == 1, refused.stdout
    assert "error: the stored log is corrupted, refusing to serve it: the projection tables differ" in refused.stdout
    assert "from the state snapshot" in refused.stdout and "Traceback" not in refused.stdout
    assert not (data_dir / server.SNAPSHOT).exists()
    again = _run_to_exit(data_dir)  # no snapshot now: refused before it serves
    assert again.returncode == 1 and "projection tables differ" in again.stdout
    assert "from the state snapshot" not in again.stdout


def _run_to_exit(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """server.py on ``data_dir`` until it exits by itself (within a minute)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "--port", str(free_port()), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )


async def test_in_process_the_gate_holds_until_the_load_is_done(tmp_path: Path, aiohttp_client: Any) -> None:
    """The same contract through create_app(load_in_background=True), as
    server.py builds it, with the hold an event."""
    data_dir, go = tmp_path / "data", asyncio.Event()
    app = server.create_app(server.Settings(data_dir=data_dir), load_in_background=True, before_load=go.wait)
    api = await aiohttp_client(app)
    resp = await api.get("/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "loading"
    resp = await api.get("/api/server")
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"
    assert resp.content_type == "application/problem+json" and (await resp.json())["title"] == "Loading."
    go.set()
    task = app[server.LOADING].task
    assert task is not None
    await task
    assert (await api.get("/readyz")).status == 200
    assert (await (await api.get("/api/server")).json())["assembly"] is None


async def test_the_box_reports_each_phase_of_its_load_in_order(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await asyncio.to_thread(_build, data_dir)
    seen: list[tuple[str, int, int | None]] = []
    box = await BallotBox.open(
        f"sqlite+aiosqlite:///{data_dir / 'liquid-mandate.db'}",
        load_server_key(data_dir),
        clock=Clock(),
        progress=lambda p, done, total: seen.append((p, done, total)),
    )
    await box.aclose()
    phases = [p for i, (p, _, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != p]
    assert phases == ["schema", "log", "projections", "state", "live tallies"]
    assert ("log", 8, 8) in seen  # every leaf checked, of the head's size
    rows = [done for p, done, _ in seen if p == "projections"]
    assert rows == sorted(rows) and rows[-1] > 8  # rows read so far, growing
