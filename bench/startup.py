"""A real server.py's start-up on a prebuilt database (issue 16): when it
first answers ``/healthz``, how long ``/healthz`` takes while the box loads
(the event loop kept free: docs/SPEC.md section 9, "Start-up"), when it is
ready, its CPU and memory then, and the phases its log line reports.

    .venv/bin/python bench/startup.py DATA_DIR [--repeat 3] [--server OTHER_TREE/server.py] [--snapshot]

DATA_DIR holds ``liquid-mandate.db`` and ``server.key`` (e.g. the 10^5 one
that bench/scale.py or bench/web_pages.py built, at the current schema
version, or the start-up measures a schema upgrade); each run copies it,
so the original is never written. ``--server``: another tree's server.py
(the baseline of a before/after, same run). ``--snapshot``: start and stop
the server once first, so that every run starts from the state snapshot
that stop wrote (ballots/snapshot.py); the runs then also report when the
checks the snapshot put off passed (``checked_s``) and how long the stop
took (``stop_s``, the snapshot written again). Prints one line per run and then the
medians: `first_answer_s=X ready_s=Y cpu_s=C rss_mib=M healthz_p50_ms=A healthz_max_ms=B`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import cpu_s, rss_mib  # noqa: E402
from tests.processes import free_port  # noqa: E402

LOADED = re.compile(r"loaded \d+ entries in .*")
CHECKED = "the checks put off by the start from the snapshot passed"
FILES = ("liquid-mandate.db", "server.key", "state.snapshot")


async def one_run(source: Path, server: Path, *, in_place: bool = False) -> dict[str, Any]:
    work = source if in_place else Path(tempfile.mkdtemp(prefix="lm-startup-"))
    try:
        if not in_place:
            for name in FILES:
                if (source / name).exists():
                    shutil.copy(source / name, work / name)
            (work / "server.key").chmod(0o600)
            os.sync()  # the copy's dirty pages written back now, not during the timed start
        port = free_port()
        out = work / "server.log"
        t0 = time.perf_counter()
        with open(out, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, str(server), "--port", str(port), "--data-dir", str(work)],
                cwd=server.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        first: float | None = None
        during: list[float] = []
        slowest = None  # the phase /healthz named when it answered slowest
        phases: dict[str, int] = {}
        try:
            async with aiohttp.ClientSession() as session:
                while proc.poll() is None:
                    t = time.perf_counter()
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                            body = await r.json()
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
                        continue
                    answered = time.perf_counter()
                    first = answered - t0 if first is None else first
                    if body["status"] == "ok":
                        break
                    during.append(answered - t)
                    if answered - t >= max(during):
                        slowest = body["phase"]
                    phases[body["phase"]] = phases.get(body["phase"], 0) + 1
                    await asyncio.sleep(0.05)
            ready = time.perf_counter() - t0
            if proc.poll() is not None:
                raise RuntimeError("server.py exited:\n" + out.read_text(errors="replace")[-2000:])
            cpu, rss = cpu_s(proc.pid), rss_mib(proc.pid)
            checked = None
            if (work / "state.snapshot").exists():
                while proc.poll() is None and time.perf_counter() - t0 < ready + 300:
                    if CHECKED in out.read_text(errors="replace"):
                        checked = time.perf_counter() - t0
                        break
                    await asyncio.sleep(0.1)
        finally:
            stop = time.perf_counter()
            proc.terminate()
            proc.wait()
            stop = time.perf_counter() - stop
        found = LOADED.search(out.read_text(errors="replace"))
        return {
            "first_answer_s": round(first or ready, 2),
            "ready_s": round(ready, 2),
            "cpu_s": round(cpu, 2),
            "rss_mib": rss,
            "checked_s": None if checked is None else round(checked, 2),
            "stop_s": round(stop, 2),
            "healthz_during_load": len(during),
            "healthz_p50_ms": round(statistics.median(during) * 1000, 1) if during else None,
            "healthz_max_ms": round(max(during) * 1000, 1) if during else None,
            "healthz_max_phase": slowest,
            "polls_by_phase": phases,
            "log": found.group(0) if found else None,
        }
    finally:
        if not in_place:
            shutil.rmtree(work, ignore_errors=True)


async def main_async(a: argparse.Namespace) -> None:
    runs = []
    source = a.data_dir
    prepared = None
    if a.snapshot:  # one start and stop, to have the snapshot it leaves
        prepared = Path(tempfile.mkdtemp(prefix="lm-startup-snapshot-"))
        for name in FILES[:2]:
            shutil.copy(source / name, prepared / name)
        (prepared / "server.key").chmod(0o600)
        await one_run(prepared, a.server.resolve(), in_place=True)
        if not (prepared / "state.snapshot").exists():
            raise SystemExit("the first stop wrote no state snapshot")
        source = prepared
    for _ in range(a.repeat):
        r = await one_run(source, a.server.resolve())
        print(json.dumps(r), flush=True)
        runs.append(r)

    def med(key: str) -> float:
        xs = [r[key] for r in runs if r[key] is not None]
        return statistics.median(xs) if xs else float("nan")

    if prepared is not None:
        shutil.rmtree(prepared, ignore_errors=True)
    print(
        f"first_answer_s={med('first_answer_s'):.2f} ready_s={med('ready_s'):.2f} cpu_s={med('cpu_s'):.2f} "
        f"rss_mib={med('rss_mib'):.0f} healthz_p50_ms={med('healthz_p50_ms'):.1f} "
        f"healthz_max_ms={med('healthz_max_ms'):.1f} checked_s={med('checked_s'):.2f} stop_s={med('stop_s'):.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--server", type=Path, default=ROOT / "server.py")
    p.add_argument("--snapshot", action="store_true", help="start from the state snapshot a first stop writes")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
