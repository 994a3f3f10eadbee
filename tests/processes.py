"""Real `python server.py` processes for the tests that need one: a free
port, start and wait for /healthz, stop politely then firmly."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path, *extra: str, port: int | None = None, log: Path | None = None, timeout: float = 20
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start the server on ``data_dir`` (its output appended to ``log``,
    default ``data_dir/../server.log``) and return (base URL, process) once
    /healthz answers. Raises RuntimeError with the log's tail otherwise."""
    port = free_port() if port is None else port
    log = log or data_dir.parent / "server.log"
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
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
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
