"""Durable ballots per second through a real server process over loopback.

Starts `python server.py` on SQLite in a temporary directory, founds an
assembly, enrolls members, then has C concurrent clients post pre-signed
ballots; each 201 is a durable receipt. Beside it, the same clients hit a
trivial aiohttp endpoint in another process: the ceiling of this machine's
HTTP stack. Prints medians and ends with one line
`ballots_per_s=X p50_ms=Y p99_ms=Z ceiling_per_s=W`.

    python bench/ingest.py [--clients 64] [--members 640] [--ballots 12800] [--runs 3]

With ``--verify-processes N`` every run is done twice, back to back, on a
server checking signatures inline and on one with N worker processes; the
last line then also has the second server's rate and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
# The HTTP edge's per-address limits off (docs/SECURITY.md "HTTP edge"): every
# benchmark client posts from the same loopback address, faster than any member.
NO_EDGE_LIMITS = ("--post-rate", "0", "--max-connections", "0")
sys.path.insert(0, str(ROOT))

from ballots.statements import format_time  # noqa: E402
from client.author import Author, code_hash, genesis, new_code  # noqa: E402

TRIVIAL = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.json_response({"ok": True}, status=201)
app = web.Application()
app.router.add_post("/api/statements", ok)
app.router.add_get("/healthz", ok)
app.router.add_get("/readyz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(200):
        try:
            async with session.get(base + "/readyz") as r:  # server.py: the box loaded
                if r.status in (200, 201):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not come up")


async def post(session: aiohttp.ClientSession, base: str, signed: dict) -> dict:
    async with session.post(
        base + "/api/statements", data=json.dumps(signed), headers={"Content-Type": "application/json"}
    ) as r:
        body = await r.json(content_type=None)
        if r.status != 201:
            raise RuntimeError(body)
        return body


async def setup(
    session: aiohttp.ClientSession, base: str, members: int, founder: Author | None = None
) -> tuple[str, list[Author]]:
    async with session.get(base + "/api/server") as r:
        server_key = (await r.json())["server_key"]
    founder = founder or Author()
    await post(session, base, genesis(founder, server=server_key))
    async with session.get(base + "/api/server") as r:
        assembly = (await r.json())["assembly"]
    now = datetime.now(UTC)
    await post(session, base, founder.sign("topic", assembly, id="t", title="T", description="", parent=None))
    await post(
        session,
        base,
        founder.sign(
            "motion",
            assembly,
            id="m",
            topic="t",
            title="M",
            summary="S",
            url="",
            opens=format_time(now - timedelta(minutes=1)),
            closes=format_time(now + timedelta(hours=2)),
            quorum=None,
        ),
    )
    authors = []
    codes = [new_code() for _ in range(members)]
    for code in codes:
        await post(session, base, founder.sign("invite", assembly, code_hash=code_hash(code), note=""))

    async def enroll(code: str) -> Author:
        a = Author()
        await post(session, base, a.sign("enroll", assembly, code=code, name=""))
        return a

    for i in range(0, members, 64):
        authors += await asyncio.gather(*(enroll(c) for c in codes[i : i + 64]))
    return assembly, authors


async def load(base: str, batches: list[list[dict]], session: aiohttp.ClientSession) -> tuple[float, list[float]]:
    """Each client posts its own statements in order; returns (seconds, latencies)."""
    latencies: list[float] = []

    async def client(mine: list[dict]) -> None:
        for signed in mine:
            t = time.perf_counter()
            await post(session, base, signed)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(client(b) for b in batches))
    return time.perf_counter() - start, latencies


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


WRITER = re.compile(rb"^liquid_mandate_write_(batches|lock_seconds)_total ([0-9.e+-]+)$", re.M)


async def writer_figures(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """The server's committed batches and seconds it held the write lock (/metrics)."""
    async with session.get(base + "/metrics") as r:
        return {k.decode(): float(v) for k, v in WRITER.findall(await r.read())}


async def one_run(session: aiohttp.ClientSession, a: argparse.Namespace, verify: int) -> tuple[float, float, float]:
    """A fresh server and assembly; (ballots/s, p50 ms, p99 ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        srv = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--data-dir", tmp, *NO_EDGE_LIMITS]
            + ["--verify-processes", str(verify)],
            stdout=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_up(session, base)
            assembly, authors = await setup(session, base, a.members)
            choices = ["yes", "no", "abstain"]
            per_member = a.ballots // len(authors)
            signed = [
                [
                    m.sign("ballot", assembly, motion="m", choice=choices[(i + k) % 3])
                    for i, m in enumerate(authors[c :: a.clients])
                    for k in range(per_member)
                ]
                for c in range(a.clients)
            ]
            # A member's ballots must arrive in seq order: a client owns its members.
            for mine in signed:
                mine.sort(key=lambda s: s["statement"]["seq"])
            total = sum(len(x) for x in signed)
            before = (await writer_figures(session, base))["batches"]
            secs, lat = await load(base, signed, session)
            per_batch = total / ((await writer_figures(session, base))["batches"] - before)
            print(f"  {per_batch:.1f} ballots a group commit", file=sys.stderr)
            return total / secs, pct(lat, 0.50) * 1000, pct(lat, 0.99) * 1000
        finally:
            srv.terminate()
            srv.wait()


async def main_async(a: argparse.Namespace) -> None:
    conn = aiohttp.TCPConnector(limit=a.clients)
    async with aiohttp.ClientSession(connector=conn) as session:
        # The ceiling: a trivial endpoint, same clients, same payloads.
        port = free_port()
        trivial = subprocess.Popen([sys.executable, "-c", TRIVIAL, str(port)])
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_up(session, base)
            payload = Author().sign("ballot", "ab" * 32, motion="m", choice="yes")
            ceilings = []
            for _ in range(a.runs):
                per_client = [[payload] * (a.ballots // a.clients) for _ in range(a.clients)]
                secs, _ = await load(base, per_client, session)
                ceilings.append(a.clients * (a.ballots // a.clients) / secs)
        finally:
            trivial.terminate()
            trivial.wait()

        variants = [0] if not a.verify_processes else [0, a.verify_processes]
        rates: dict[int, list[float]] = {v: [] for v in variants}
        p50s: dict[int, list[float]] = {v: [] for v in variants}
        p99s: dict[int, list[float]] = {v: [] for v in variants}
        for run in range(a.runs):
            for v in variants:
                rate, p50, p99 = await one_run(session, a, v)
                rates[v].append(rate)
                p50s[v].append(p50)
                p99s[v].append(p99)
                print(
                    f"run {run + 1}, verify processes {v}: {rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                    file=sys.stderr,
                )
    ceiling = statistics.median(ceilings)
    rate = statistics.median(rates[0])
    print(f"clients={a.clients} members={a.members} ballots_per_run={a.ballots} runs={a.runs}")
    print(
        f"durable ballots/s (median): {rate:.0f}; trivial endpoint ceiling: {ceiling:.0f}/s; ratio {rate / ceiling:.2f}"
    )
    line = (
        f"ballots_per_s={rate:.0f} p50_ms={statistics.median(p50s[0]):.1f} p99_ms={statistics.median(p99s[0]):.1f} "
        f"ceiling_per_s={ceiling:.0f}"
    )
    if a.verify_processes:
        other = statistics.median(rates[a.verify_processes])
        line += f" verify_processes_per_s={other:.0f} verify_processes_ratio={other / rate:.2f}"
    print(line)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--members", type=int, default=640)
    p.add_argument("--ballots", type=int, default=12800)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--verify-processes", type=int, default=0, help="also run servers with N signature workers")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
