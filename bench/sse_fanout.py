"""What the SSE fan-out itself costs the server (serving/events.py, issue 16),
apart from ingestion's noise: a child process serves only ``EventHub``
streams; this process opens ``--listeners`` of them over HTTP and has the
child feed the hub batches of ``--batch`` entries every ``--interval``
seconds for ``--seconds``, as the box's writer does after each commit.
Reported: the child's CPU per batch (user + system, ``getrusage``), and the
bytes every listener got (all must get every event).

    .venv/bin/python bench/sse_fanout.py [--tree OTHER_TREE] [--listeners 100] [--batch 64]
                                         [--interval 0.02] [--seconds 8] [--repeat 3]

``--tree``: import ``serving.events`` from another checkout (the baseline
of a before/after in the same session). The last line:
`listeners=L batch=B interval_ms=I cpu_ms_per_batch=X` (median of the repeats).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import free_port  # noqa: E402

CHILD = r"""
import asyncio, resource, sys
sys.path.insert(0, sys.argv[1])
from aiohttp import web
from ballots.state import AssemblyState
from serving.events import EventHub

hub = EventHub(AssemblyState)  # no motion: entry events only, no tally

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

async def events(request):
    return await hub.stream(request)

async def go(request):
    q = request.query
    batch, interval, seconds = int(q["batch"]), float(q["interval"]), float(q["seconds"])
    loop = asyncio.get_running_loop()
    c0, t0, index, batches = cpu(), loop.time(), 0, 0
    while loop.time() - t0 < seconds:
        hub.on_entries([{"index": index + i, "statement": {"kind": "ballot", "motion": "m"}} for i in range(batch)])
        index, batches = index + batch, batches + 1
        await asyncio.sleep(interval)
    await asyncio.sleep(0.3)  # the last hand-over and writes
    return web.json_response({"cpu_s": cpu() - c0, "batches": batches, "entries": index, "listeners": len(hub.queues)})

app = web.Application()
app.router.add_get("/api/events", events)
app.router.add_post("/go", go)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None, handle_signals=True)
"""


async def one_run(tree: Path, listeners: int, batch: int, interval: float, seconds: float) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tree), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for _ in range(200):
                try:
                    async with session.post(base + "/go?batch=0&interval=0&seconds=0"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            got = [0] * listeners
            ready = asyncio.Event()
            opened = [0]

            async def listen(i: int) -> None:
                async with session.get(base + "/api/events", timeout=aiohttp.ClientTimeout(total=None)) as r:
                    opened[0] += 1
                    if opened[0] == listeners:
                        ready.set()
                    async for chunk in r.content.iter_any():
                        got[i] += chunk.count(b"event: entry\n")

            tasks = [asyncio.create_task(listen(i)) for i in range(listeners)]
            await ready.wait()
            await asyncio.sleep(0.2)
            q = f"batch={batch}&interval={interval}&seconds={seconds}"
            async with session.post(f"{base}/go?{q}", timeout=aiohttp.ClientTimeout(total=None)) as r:
                done = await r.json()
            await asyncio.sleep(0.2)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        proc.terminate()
        proc.wait()
    if any(g != done["entries"] for g in got):
        raise RuntimeError(f"a listener missed events: got {min(got)}..{max(got)} of {done['entries']}")
    return {"cpu_ms_per_batch": done["cpu_s"] * 1000 / done["batches"], "batches": done["batches"]}


async def main_async(a: argparse.Namespace) -> None:
    runs = []
    for _ in range(a.repeat):
        r = await one_run(a.tree.resolve(), a.listeners, a.batch, a.interval, a.seconds)
        print(json.dumps({k: round(v, 3) for k, v in r.items()}), flush=True)
        runs.append(r["cpu_ms_per_batch"])
        time.sleep(0.2)
    print(
        f"listeners={a.listeners} batch={a.batch} interval_ms={a.interval * 1000:.0f} "
        f"cpu_ms_per_batch={statistics.median(runs):.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", type=Path, default=ROOT)
    p.add_argument("--listeners", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--repeat", type=int, default=3)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
