"""Benchmark of the witness (witness/, docs/SPEC.md section 14).

- cosign: cosignatures per second a real ``python -m witness`` process
  returns over loopback (aiohttp client, keep-alive). Each request grows a log
  by one leaf and carries its consistency proof, so every one is a full
  add-checkpoint: parse, log signature check, RFC 9162 proof, one durable
  SQLite transaction (WAL, synchronous=FULL: an fsync each), the
  cosignature. Run one origin at a time (``--origins 1``: requests in
  sequence, the latency-bound case a log sees) and several origins at once
  (their requests in parallel). Bodies are prepared before the clock starts.
- commit: the baseline of cosign, durable one-row SQLite transactions per
  second with the witness's settings on the same disk, measured just before.
- verify: ``witness.cosignature.verify_line`` of cosignature lines (parse,
  key id, Ed25519) beside the raw PyNaCl verify of the same messages, in
  alternating slices, so the ratio holds on a loaded machine.

Figures are medians over ``--repeat`` repetitions.

    nice .venv/bin/python bench/witness.py --repeat 5 --requests 400 --origins 1 8

The last line is ``cosign_per_s[1]=.. cosign_per_s[8]=.. commit_per_s=..
verify_line_per_s=.. raw_verify_per_s=..``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import nacl.signing  # noqa: E402

from crypto.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from crypto.merkle import CompactRange, consistency_proof, leaf_hash  # noqa: E402
from crypto.signing import KeyPair  # noqa: E402
from witness.cosignature import cosign, signed_message, verify_line  # noqa: E402

LOG_KEY = KeyPair(bytes([7]) * 32)
NAME = "bench.example/witness"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bodies(origin: str, n: int, leaves0: int = 1000) -> list[bytes]:
    """Bodies growing ``origin`` from 0 to ``leaves0`` then one leaf at a time."""
    leaves = [leaf_hash(b"%d" % i) for i in range(leaves0 + n)]
    cr = CompactRange()
    roots = []
    for h in leaves:
        cr.append(h)
        roots.append(cr.root())
    out, old = [], 0
    for size in [leaves0] + list(range(leaves0 + 1, leaves0 + n)):
        note = sign_checkpoint(Checkpoint(origin, size, roots[size - 1]), LOG_KEY)
        proof = consistency_proof(old, size, leaves[:size]) if old else []
        lines = "".join(base64.b64encode(p).decode() + "\n" for p in proof)
        out.append(f"old {old}\n{lines}\n{note}".encode())
        old = size
    return out


async def _run_origins(url: str, per_origin: list[list[bytes]]) -> float:
    async with aiohttp.ClientSession() as http:

        async def one(bodies: list[bytes]) -> None:
            for b in bodies:
                async with http.post(url + "/add-checkpoint", data=b) as r:
                    if r.status != 200:
                        raise RuntimeError(f"witness answered {r.status}: {await r.text()}")
                    await r.read()

        # The first body (from size 0) warms each origin up outside the clock.
        await asyncio.gather(*(one(bodies[:1]) for bodies in per_origin))
        t0 = time.perf_counter()
        await asyncio.gather(*(one(bodies[1:]) for bodies in per_origin))
        return time.perf_counter() - t0


def bench_cosign(origins: int, requests: int, repeat: int) -> list[float]:
    rates = []
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "w"
            port = _free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "witness", "--data-dir", str(data), "--port", str(port), "--name", NAME],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 20
                while True:
                    try:
                        urllib.request.urlopen(url + "/", timeout=1).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise RuntimeError("witness did not start") from None
                        time.sleep(0.05)
                names = [f"bench.example/log{r}-{i}" for i in range(origins)]
                for o in names:
                    subprocess.run(
                        [sys.executable, "-m", "witness", "add-log", "--data-dir", str(data), o, LOG_KEY.public_hex],
                        cwd=ROOT,
                        check=True,
                        capture_output=True,
                    )
                per = max(1, requests // origins)
                bodies = [_bodies(o, per + 1) for o in names]
                dt = asyncio.run(_run_origins(url, bodies))
                rates.append(per * origins / dt)
            finally:
                proc.terminate()
                proc.wait()
    return rates


def bench_commit(seconds: float, repeat: int) -> list[float]:
    """Baseline: durable one-row SQLite transactions per second on the same
    disk and settings (WAL, synchronous=FULL, BEGIN IMMEDIATE), the floor of
    each cosignature's cost."""
    import sqlite3

    rates = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(Path(tmp) / "c.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)")
            conn.execute("INSERT INTO t VALUES (1, 0)")
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE t SET v = v + 1 WHERE k = 1")
                conn.execute("COMMIT")
                n += 1
            rates.append(n / (time.perf_counter() - t0))
            conn.close()
    return rates


def bench_verify(seconds: float, repeat: int) -> tuple[list[float], list[float]]:
    key = KeyPair(bytes([9]) * 32)
    bodies = [
        sign_checkpoint(Checkpoint("bench.example/log", 1000 + i, bytes([i % 256]) * 32), LOG_KEY).split("\n\n")[0]
        + "\n"
        for i in range(256)
    ]
    lines = [cosign(b, key, NAME, 1_800_000_000 + i) for i, b in enumerate(bodies)]
    raw = [
        (signed_message(b, 1_800_000_000 + i), base64.b64decode(line.split(" ")[2])[12:])
        for i, (b, line) in enumerate(zip(bodies, lines))
    ]
    vk = nacl.signing.VerifyKey(key.public_bytes)
    pub = key.public_bytes

    def lines_op(n: int) -> None:
        for i in range(n):
            j = i & 255
            verify_line(lines[j], bodies[j], name=NAME, public_key=pub)

    def raw_op(n: int) -> None:
        for i in range(n):
            m, s = raw[i & 255]
            vk.verify(m, s)

    line_rates, raw_rates = [], []
    for _ in range(repeat):
        ln = lt = rn = rt = 0.0
        for _slice in range(5):
            for op, acc in ((lines_op, "l"), (raw_op, "r")):
                n = 2000
                t0 = time.perf_counter()
                op(n)
                while time.perf_counter() - t0 < seconds / 5:
                    op(n)
                    n += 2000
                dt = time.perf_counter() - t0
                if acc == "l":
                    ln, lt = ln + n, lt + dt
                else:
                    rn, rt = rn + n, rt + dt
        line_rates.append(ln / lt)
        raw_rates.append(rn / rt)
    return line_rates, raw_rates


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="timed cosignatures per repetition")
    p.add_argument("--origins", type=int, nargs="+", default=[1, 8])
    p.add_argument("--seconds", type=float, default=1.0, help="per verify measurement")
    args = p.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    parts = []
    for o in args.origins:
        commits = bench_commit(args.seconds, args.repeat)
        rates = bench_cosign(o, args.requests, args.repeat)
        print(
            f"origins={o} cosign/s runs: {', '.join(f'{x:.0f}' for x in rates)} median {statistics.median(rates):.0f}; "
            f"durable commits/s median {statistics.median(commits):.0f}; "
            f"ratio {statistics.median(rates) / statistics.median(commits):.2f}"
        )
        parts.append(f"cosign_per_s[{o}]={statistics.median(rates):.0f}")
    parts.append(f"commit_per_s={statistics.median(commits):.0f}")
    lr, rr = bench_verify(args.seconds, args.repeat)
    ratios = [a / b for a, b in zip(lr, rr)]
    print(
        f"verify_line/s median {statistics.median(lr):.0f}; raw verify/s median {statistics.median(rr):.0f}; "
        f"ratio median {statistics.median(ratios):.3f}"
    )
    parts += [f"verify_line_per_s={statistics.median(lr):.0f}", f"raw_verify_per_s={statistics.median(rr):.0f}"]
    print(f"load={os.getloadavg()[0]:.2f}")
    print(" ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
