"""``make run``: the demo server with two witnesses of its own (docs/SPEC.md section 14),
so that a newcomer sees cosigned checkpoints at once.

    python -m demo.run [--host H] [--port P] [--data-dir D] [--witness-ports P1,P2]

Three processes: two ``python -m witness`` (data in ``D/witness-1`` and
``D/witness-2``, names ``witness-N.demo.localhost``) and ``python server.py
--demo-if-empty`` (data in ``D``, only allowed to post to the witnesses'
host). Once the demo assembly exists, each witness is told to accept its log
(``python -m witness add-log``) and, if the log holds no witness policy yet,
the demo's organizer posts a ``witnesses`` statement naming both (quorum 2,
grace 10 s) through the public API, as any organizer would. Ctrl-C (or
SIGTERM) stops all three; a second ``make run`` resumes everything.

Nothing here is needed in production: there, the witnesses are other
people's (README, "Witnesses").
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from client.author import Author
from client.cli import read_key_file

ROOT = Path(__file__).resolve().parents[1]
QUORUM, GRACE = 2, 10


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read()
        return json.loads(body) if "json" in (r.headers.get("Content-Type") or "") else body.decode()


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _wait(what: str, fn: Any, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = fn()
            if got:
                return got
        except (OSError, ValueError):
            pass
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a process stopped while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _witness_key(data_dir: Path) -> tuple[str, str]:
    """(name, key hex) from ``python -m witness key``."""
    out = subprocess.run(
        [sys.executable, "-m", "witness", "key", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    name, key = out.splitlines()[0].split()
    return name, key


def post_policy(url: str, organizer_key: Path, cosigners: list[dict[str, str]]) -> int:
    """Post the demo's `witnesses` statement unless the log has a policy;
    returns its index (or the index of the policy in force)."""
    current = _get(url + "/api/witnesses")["policy"]
    if current is not None:
        return int(current["index"])
    assembly = _get(url + "/api/server")["assembly"]
    key = read_key_file(organizer_key)
    for _ in range(5):  # the demo voter may post as the organizer meanwhile: retry a replayed seq
        seq = _get(f"{url}/api/seq/{key.public_hex}")["seq"]
        signed = Author(key, seq).sign("witnesses", assembly, cosigners=cosigners, quorum=QUORUM, grace=GRACE)
        status, body = _post(url + "/api/statements", signed)
        if status == 201:
            return int(body["index"])
        if not str(body.get("type", "")).endswith("/replayed_seq"):
            raise RuntimeError(f"the witnesses statement was refused: {body}")
    raise RuntimeError("the witnesses statement kept being replayed")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--witness-ports", default="7381,7382", help="two ports, comma-separated")
    a = p.parse_args(argv)
    ports = [int(x) for x in a.witness_ports.split(",")]
    a.data_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        witnesses = []
        for i, port in enumerate(ports, start=1):
            wdir = a.data_dir / f"witness-{i}"
            name = f"witness-{i}.demo.localhost"
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "witness", "--data-dir", str(wdir), "--port", str(port), "--name", name],
                    cwd=ROOT,
                )
            )
            witnesses.append((wdir, f"http://127.0.0.1:{port}"))
        for _wdir, wurl in witnesses:
            _wait(f"the witness at {wurl}", lambda wurl=wurl: _get(wurl + "/"), procs)
        url = f"http://{a.host}:{a.port}"
        server_cmd = [
            sys.executable,
            str(ROOT / "server.py"),
            "--host",
            a.host,
            "--port",
            str(a.port),
            "--data-dir",
            str(a.data_dir),
            "--demo-if-empty",
            "--witness-hosts",
            "127.0.0.1",
        ]
        procs.append(subprocess.Popen(server_cmd, cwd=ROOT))
        info = _wait("the demo assembly", lambda: (s := _get(url + "/api/server"))["assembly"] and s, procs)
        origin = f"liquid-mandate/{info['assembly']}"
        cosigners = []
        for wdir, wurl in witnesses:
            subprocess.run(
                [sys.executable, "-m", "witness", "add-log", "--data-dir", str(wdir), origin, info["server_key"]],
                cwd=ROOT,
                check=True,
                capture_output=True,
                timeout=30,
            )
            name, key = _witness_key(wdir)
            cosigners.append({"name": name, "key": key, "url": wurl})
        index = post_policy(url, a.data_dir / "demo-keys" / "organizer.key", cosigners)
        print(
            f"Witnesses: {', '.join(c['name'] + ' at ' + c['url'] for c in cosigners)}; "
            f"policy at entry {index} (quorum {QUORUM}, grace {GRACE} s).\n"
            f"  cosigned checkpoint: {url}/api/checkpoint\n"
            f"  witness state:       {url}/api/witnesses (organizer page: {url}/#/witnesses)\n"
            "Ctrl-C stops the server and both witnesses.",
            flush=True,
        )
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("a process stopped; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if not stopping else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
