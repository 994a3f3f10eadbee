"""`make run` (python -m demo.run): the demo server with two witnesses of its
own, as separate processes with separate data directories; a newcomer sees
cosigned checkpoints at once, and Ctrl-C (SIGINT to the process group, as a
terminal sends it) stops all three. A second run resumes without a second
policy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.processes import ROOT, free_port
from tests.test_witness_support import independent_verify


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read()
        return json.loads(body) if "json" in r.headers.get("Content-Type", "") else body.decode()


def start(tmp: Path, port: int, wports: list[int]) -> subprocess.Popen[bytes]:
    with open(tmp / "run.log", "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo.run",
                "--port",
                str(port),
                "--data-dir",
                str(tmp / "data"),
                "--witness-ports",
                ",".join(map(str, wports)),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_cosigned(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> tuple[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            note, st = get(base + "/api/checkpoint"), get(base + "/api/witnesses")
            if len(note.split("\n\n", 1)[1].splitlines()) >= 3:
                return note, st
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def ctrl_c(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def children_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_run_starts_two_witnesses_and_stops_all_three(tmp_path: Path) -> None:
    port, wports = free_port(), [free_port(), free_port()]
    base = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port, wports)
    try:
        note, st = wait_cosigned(base, proc, tmp_path / "run.log")
        assert st["policy"]["quorum"] == 2 and len(st["policy"]["cosigners"]) == 2
        assert st["allowed_hosts"] == ["127.0.0.1"]
        text, sigs = note.split("\n\n", 1)
        keys = {c["name"]: bytes.fromhex(c["key"]) for c in st["policy"]["cosigners"]}
        for line in sigs.splitlines(keepends=True)[1:]:
            name = line.split(" ")[1]
            independent_verify(line, text + "\n", name, keys[name])
        covering = get(base + "/api/checkpoints?covering=0")
        assert len(covering.split("\n\n", 1)[1].splitlines()) == 3
        for i in (1, 2):
            assert (tmp_path / "data" / f"witness-{i}" / "witness.db").exists()
        assert "cosigned checkpoint" in (tmp_path / "run.log").read_text()
    finally:
        ctrl_c(proc)
    assert proc.returncode == 0
    deadline = time.monotonic() + 15
    while not children_gone(proc.pid):
        assert time.monotonic() < deadline, "a child of make run is still running"
        time.sleep(0.1)

    # Again on the same data: the same witnesses, the same policy, cosigning on.
    proc = start(tmp_path, port, wports)
    try:
        _, st2 = wait_cosigned(base, proc, tmp_path / "run.log")
        assert st2["policy"]["index"] == st["policy"]["index"]
    finally:
        ctrl_c(proc)
