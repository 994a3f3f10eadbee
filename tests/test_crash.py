"""A crash loses nothing acknowledged (a 201 is a receipt, docs/SPEC.md
sections 6 and 9): a real server process takes signed ballots from
concurrent clients over HTTP, is killed with SIGKILL in the middle of the
stream, and restarts on the same data directory; every receipt it answered
201 for is still at its index, byte for byte, and the chain and Merkle root
recompute from the log."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from client.author import Author, code_hash, genesis, new_code
from crypto import merkle
from crypto.canonical import canonical_bytes, parse_canonical
from tests.processes import free_port, start_server

CLIENTS = 8


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """The server on ``data_dir`` and ``port`` (the same after a restart), once /readyz answers."""
    return start_server(data_dir, port=port)[1]


def post(base: str, signed: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{base}/api/statements",
        data=json.dumps(signed).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def get_log(base: str) -> list[bytes]:
    lines: list[bytes] = []
    while True:
        with urllib.request.urlopen(f"{base}/api/log?from={len(lines)}&limit=10000", timeout=10) as r:
            page = [x for x in r.read().split(b"\n") if x]
        if not page:
            return lines
        lines += page


def time_str(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_acknowledged_receipts_survive_sigkill(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(data_dir, port)
    try:
        with urllib.request.urlopen(f"{base}/api/server") as r:
            server_key = json.loads(r.read())["server_key"]
        founder = Author()
        status, _ = post(base, genesis(founder, server=server_key))
        assert status == 201
        with urllib.request.urlopen(f"{base}/api/server") as r:
            assembly = json.loads(r.read())["assembly"]
        members = [Author() for _ in range(CLIENTS)]
        for m in members:
            code = new_code()
            assert post(base, founder.sign("invite", assembly, code_hash=code_hash(code), note=""))[0] == 201
            assert post(base, m.sign("enroll", assembly, code=code, name=""))[0] == 201
        assert post(base, founder.sign("topic", assembly, id="t", title="T", description="", parent=None))[0] == 201
        now = datetime.now(UTC)
        assert (
            post(
                base,
                founder.sign(
                    "motion",
                    assembly,
                    id="m",
                    topic="t",
                    title="M",
                    summary="S",
                    url="",
                    opens=time_str(now - timedelta(hours=1)),
                    closes=time_str(now + timedelta(days=1)),
                    quorum=None,
                ),
            )[0]
            == 201
        )

        acked: list[dict[str, Any]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(m: Author) -> None:
            # Signed ahead; a statement that got no answer is never resent.
            while not stop.is_set():
                signed = m.sign("ballot", assembly, motion="m", choice="yes" if m.seq % 2 else "no")
                try:
                    status, body = post(base, signed)
                except OSError:
                    return  # the server is gone
                if status == 201:
                    with lock:
                        acked.append(body)

        threads = [threading.Thread(target=client, args=(m,)) for m in members]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
        with lock:
            receipts = list(acked)
        assert len(receipts) >= 50, f"only {len(receipts)} ballots acknowledged before the kill"

        server = start(data_dir, port)
        lines = get_log(base)
        for r in receipts:
            assert r["index"] < len(lines), f"acknowledged entry {r['index']} is gone"
            assert lines[r["index"]] == canonical_bytes(r["entry"])
            assert hashlib.sha256(lines[r["index"]]).hexdigest() == r["entry_hash"]
        prev = "0" * 64
        for i, line in enumerate(lines):
            entry = parse_canonical(line)
            assert entry["index"] == i and entry["prev"] == prev
            prev = hashlib.sha256(line).hexdigest()
        leaves = [merkle.leaf_hash(x) for x in lines]
        with urllib.request.urlopen(f"{base}/api/proof/consistency?from=1&to={len(lines)}") as r:
            cons = json.loads(r.read())
        assert bytes.fromhex(cons["root_to"]) == merkle.root(leaves)
        merkle.verify_consistency(
            1,
            len(lines),
            [bytes.fromhex(h) for h in cons["proof"]],
            bytes.fromhex(cons["root_from"]),
            bytes.fromhex(cons["root_to"]),
        )
        # The restarted server goes on appending after the surviving entries.
        status, body = post(base, members[0].sign("ballot", assembly, motion="m", choice="abstain"))
        assert status == 201 and body["index"] == len(lines)
    finally:
        server.kill()
        server.wait(10)
