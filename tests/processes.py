"""Real `python server.py` processes for the tests that need one: a free
port, start and wait for /readyz (the box loaded: /healthz answers as soon
as the server listens, docs/SPEC.md section 9), stop politely then firmly."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


_PORT_SPAN = 2000
_handed_out: set[int] = set()


def free_port() -> int:
    """A port that is free now and that no other test will be handed.

    Not the kernel's port 0: that comes from the ephemeral range, where every
    outgoing connection of every xdist worker also takes its local port, so a
    port free at this call could be taken before the child process binds it
    (CI saw `address already in use`). Instead each worker draws from its own
    slice of 20000-31999, below the ephemeral range (32768-60999), and never
    hands out a port twice."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdecimal() and worker.isascii() else 0
    low = 20000 + (index % 6) * _PORT_SPAN
    for _ in range(500):
        port = low + random.randrange(_PORT_SPAN)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{low + _PORT_SPAN - 1}")


def start_server(
    data_dir: Path,
    *extra: str,
    port: int | None = None,
    log: Path | None = None,
    timeout: float = 60,
    ready: bool = True,
    env: dict[str, str] | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start the server on ``data_dir`` (its output appended to ``log``,
    default ``data_dir/../server.log``) and return (base URL, process) once
    /readyz answers 200 (``ready=False``: once /healthz answers at all, the
    box perhaps still loading). ``env``: added to this process's environment.
    Raises RuntimeError with the log's tail otherwise."""
    port = free_port() if port is None else port
    log = log or data_dir.parent / "server.log"
    path = "/readyz" if ready else "/healthz"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "server.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + path, timeout=1) as r:
                if r.status == 200:
                    return url, proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError("the server did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.05)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_server(data_dir: Path, *extra: str, log: Path | None = None) -> Iterator[str]:
    """A server for the duration of the block; yields its base URL."""
    url, proc = start_server(data_dir, *extra, log=log)
    try:
        yield url
    finally:
        stop_server(proc)
