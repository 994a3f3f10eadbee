"""What two witnesses cost the log (docs/SPEC.md section 14): appends/s and ingest/s with
two real ``python -m witness`` processes on loopback against none, in the
same run, runs alternating (plain, witnessed, plain, ...) so that the
machine's load falls on both alike.

- appends: ``BallotBox.append`` in this process (bench/ballot_box.py's
  concurrent callers), with ``serving.witnessing.Witnessing`` attached and a
  `witnesses` policy of the two witnesses (quorum 2), submitting at most once
  a second per witness, as the server does;
- ingest: a real ``python server.py`` over HTTP (bench/ingest.py's clients),
  with the policy posted before the load, against a server without one.

Each witnessed run also checks that the witnesses cosigned the final size
(so the cost measured is of real work). Beside each rate, the CPU time per
append of the processes doing the log's work (appends: this process and the
two witnesses; ingest: the server and the two witnesses; read from /proc),
which the load of a shared machine disturbs far less than a wall-clock rate.
Then the verifier's cosignature
check rate, on the lines the witnesses really returned: every cosigned
checkpoint of the witnessed ingest runs (``GET /api/checkpoints``, the
export's part) is read as ``verify_cli.py`` reads a note, and each line is
checked as it checks one (find the witness by name and key id,
``check_cosignature``), in slices alternating with PyNaCl's raw Ed25519
verify of the same messages (the floor). Prints medians and ends with
`appends_ratio=.. appends_paired=.. appends_cpu_paired=.. ingest_ratio=..
ingest_paired=.. ingest_cpu_paired=.. cosig_check_per_s=.. raw_verify_per_s=..`
(ratios witnessed / plain: rates above 0.90, CPU per append below 1.10 is
the target; "paired": the median of each round's back-to-back ratio).

    nice .venv/bin/python bench/witnessed.py [--runs 3] [--appends 10000] [--ballots 6400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import nacl.bindings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ballot_box  # noqa: E402
import ingest  # noqa: E402

import verify_cli  # noqa: E402
from ballots.box import BallotBox  # noqa: E402
from client.author import Author  # noqa: E402
from crypto.checkpoint import split_notes  # noqa: E402
from crypto.signing import KeyPair  # noqa: E402
from serving.witnessing import Witnessing  # noqa: E402
from tests.processes import stop_server  # noqa: E402


def start_witness(data_dir: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = ingest.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "witness", "--data-dir", str(data_dir), "--port", str(port), "--name", name],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(url + "/", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("witness did not start")


def witness_cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "witness", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout


class Witnesses:
    """Two witness processes in ``tmp``; ``policy()`` once they accept a log."""

    def __init__(self, tmp: Path, stack: ExitStack) -> None:
        self.dirs, self.urls, self.pids = [], [], []
        for i in (1, 2):
            d = tmp / f"witness-{i}"
            proc, url = start_witness(d, f"w{i}.bench.localhost")
            stack.callback(stop_server, proc)
            self.dirs.append(d)
            self.urls.append(url)
            self.pids.append(proc.pid)

    def accept(self, assembly: str, server_key: str) -> dict[str, Any]:
        cosigners = []
        for d, url in zip(self.dirs, self.urls):
            witness_cli("add-log", "--data-dir", str(d), f"liquid-mandate/{assembly}", server_key)
            name, key = witness_cli("key", "--data-dir", str(d)).splitlines()[0].split()
            cosigners.append({"name": name, "key": key, "url": url})
        return {"cosigners": cosigners, "quorum": 2, "grace": 10}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One run: appends (or ballots) per second, and CPU microseconds per
    append spent by everything that does the log's work (this process or
    the server, plus the witnesses), which load on a shared machine
    disturbs far less than wall-clock rates."""

    rate: float
    cpu_us: float
    witnesses_us: float = 0.0  # the two witness processes' part of cpu_us


async def appends_run(witnessed: bool, a: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-witnessed-") as tmp, ExitStack() as stack:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{Path(tmp) / 'box.db'}", KeyPair.generate())
        witnessing = None
        pids: list[int] = []
        try:
            asm = ballot_box.Assembly(box, a.callers)
            await asm.found()
            if witnessed:
                ws = Witnesses(Path(tmp), stack)
                pids = ws.pids
                policy = ws.accept(asm.assembly, box.server_hex)
                await box.append(asm.founder.sign("witnesses", asm.assembly, **policy))
                witnessing = Witnessing(box)
                await witnessing.start()
                assert witnessing.submitter and await witnessing.submitter.wait_cosigned(box.size, 2, 30)
            lanes = asm.sign_ballots(a.appends)
            c0, w0 = time.process_time(), cpu_seconds(pids)
            n, dt = await ballot_box.run_appends(box, lanes)
            wcpu = cpu_seconds(pids) - w0
            cpu = time.process_time() - c0 + wcpu
            if witnessing is not None:
                assert witnessing.submitter and await witnessing.submitter.wait_cosigned(box.size, 2, 30)
            return Run(n / dt, 1e6 * cpu / n, 1e6 * wcpu / n)
        finally:
            if witnessing is not None:
                await witnessing.aclose()
            await box.aclose()


async def cosigned_notes(session: aiohttp.ClientSession, base: str) -> list[str]:
    """Every cosigned checkpoint the server holds, page after page (SPEC 13.1)."""
    notes: list[str] = []
    while True:
        start = int(notes[-1].split("\n", 2)[1]) + 1 if notes else 1
        async with session.get(base + "/api/checkpoints", params={"from": start, "limit": 1000}) as r:
            r.raise_for_status()
            page = split_notes(await r.text())
        if not page:
            return notes
        notes += page


async def ingest_run(
    witnessed: bool, a: argparse.Namespace, session: aiohttp.ClientSession, kept: list[tuple[list[str], dict[str, Any]]]
) -> Run:
    """Ballots/s; a witnessed run appends (its cosigned notes, its policy) to ``kept``."""
    with tempfile.TemporaryDirectory(prefix="bench-witnessed-") as tmp, ExitStack() as stack:
        port = ingest.free_port()
        srv = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "server.py"),
                "--port",
                str(port),
                "--data-dir",
                str(Path(tmp) / "server"),
                *ingest.NO_EDGE_LIMITS,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(stop_server, srv)
        base = f"http://127.0.0.1:{port}"
        await ingest.wait_up(session, base)
        founder = Author()
        assembly, authors = await ingest.setup(session, base, a.members, founder)
        policy: dict[str, Any] = {}
        pids = [srv.pid]
        if witnessed:
            ws = Witnesses(Path(tmp), stack)
            pids += ws.pids
            async with session.get(base + "/api/server") as r:
                server_key = (await r.json())["server_key"]
            policy = ws.accept(assembly, server_key)
            await ingest.post(session, base, founder.sign("witnesses", assembly, **policy))
        per_member = a.ballots // len(authors)
        choices = ["yes", "no", "abstain"]
        signed = [
            sorted(
                (
                    m.sign("ballot", assembly, motion="m", choice=choices[(i + k) % 3])
                    for i, m in enumerate(authors[c :: a.clients])
                    for k in range(per_member)
                ),
                key=lambda s: s["statement"]["seq"],
            )
            for c in range(a.clients)
        ]
        total = sum(len(x) for x in signed)
        c0, w0 = cpu_seconds(pids), cpu_seconds(pids[1:])
        secs, _ = await ingest.load(base, signed, session)
        cpu, wcpu = cpu_seconds(pids) - c0, cpu_seconds(pids[1:]) - w0
        if witnessed:
            deadline = time.monotonic() + 30
            while True:  # the witnesses caught up with the final size
                async with session.get(base + "/api/witnesses") as r:
                    st = await r.json()
                if all((w.get("cosigned_size") or 0) >= st["size"] for w in st["witnesses"]):
                    break
                assert time.monotonic() < deadline, st
                await asyncio.sleep(0.2)
            kept.append((await cosigned_notes(session, base), policy))
        return Run(total / secs, 1e6 * cpu / total, 1e6 * wcpu / total)


def cosignature_checks(
    kept: list[tuple[list[str], dict[str, Any]]], seconds: float, repeat: int
) -> tuple[float, float, int]:
    """The verifier's rate of checking the witnesses' real lines, and raw
    Ed25519 on the same messages, alternating in slices: (median lines/s,
    median raw verifies/s, distinct lines)."""
    parsed = []  # (note, its parsed form, the keys of its run's witnesses by name): each run has its own
    for notes, policy in kept:
        known = {c["name"]: bytes.fromhex(c["key"]) for c in policy["cosigners"]}
        parsed += [(n, verify_cli.Checkpoint(n, "bench"), known) for n in notes]
    raw = []
    for _note, cp, known in parsed:
        for name, _kid, rest in cp.signatures[1:]:
            ts = int.from_bytes(rest[:8], "big")
            raw.append((rest[8:] + verify_cli.cosignature_message(cp.text, ts), known[name]))
    assert raw, "no cosignature line to check"

    def line_op() -> int:  # what the verifier does per note it reads: parse it, check each known line
        done = 0
        for note, _, known in parsed:
            cp = verify_cli.Checkpoint(note, "bench")
            for name, kid, rest in cp.signatures:
                key = known.get(name)
                if key is not None and verify_cli.cosigner_key_id(name, key) == kid:
                    verify_cli.check_cosignature(kid + rest, cp.text, key)
                    done += 1
        return done

    def raw_op() -> int:
        for sm, pk in raw:
            nacl.bindings.crypto_sign_open(sm, pk)
        return len(raw)

    line_rates, raw_rates = [], []
    for _ in range(repeat):
        acc = {line_op: [0, 0.0], raw_op: [0, 0.0]}
        for _slice in range(5):
            for op in (line_op, raw_op):
                t0, n = time.perf_counter(), 0
                while time.perf_counter() - t0 < seconds / 5:
                    n += op()
                acc[op][0] += n
                acc[op][1] += time.perf_counter() - t0
        line_rates.append(acc[line_op][0] / acc[line_op][1])
        raw_rates.append(acc[raw_op][0] / acc[raw_op][1])
    print("cosignature lines checked/s", [round(x) for x in line_rates], "raw/s", [round(x) for x in raw_rates])
    return statistics.median(line_rates), statistics.median(raw_rates), len(raw)


def summary(what: str, runs: dict[bool, list[Run]]) -> tuple[float, float, float]:
    """Print a measure's runs and medians; (ratio of median rates, median
    paired rate ratio, median paired CPU-per-item ratio), witnessed / plain."""
    plain, wit = runs[False], runs[True]
    rp, rw = statistics.median(r.rate for r in plain), statistics.median(r.rate for r in wit)
    cp, cw = statistics.median(r.cpu_us for r in plain), statistics.median(r.cpu_us for r in wit)
    # Each round's two runs ran back to back: their ratio is the least noisy figure on a shared machine.
    pr = [w.rate / p.rate for p, w in zip(plain, wit)]
    pc = [w.cpu_us / p.cpu_us for p, w in zip(plain, wit)]
    print(f"{what}/s runs: plain {[round(r.rate) for r in plain]} witnessed {[round(r.rate) for r in wit]}")
    print(f"{what} CPU us each: plain {[round(r.cpu_us) for r in plain]} witnessed {[round(r.cpu_us) for r in wit]}")
    print(f"{what} CPU us each in the witness processes: {[round(r.witnesses_us, 1) for r in wit]}")
    print(f"{what}/s median: plain {rp:,.0f}, two witnesses {rw:,.0f} (ratio {rw / rp:.3f})")
    print(f"{what} paired rate ratios {[round(x, 2) for x in pr]} median {statistics.median(pr):.3f}")
    print(
        f"{what} CPU us each median: plain {cp:.0f}, two witnesses {cw:.0f}; paired ratios "
        f"{[round(x, 2) for x in pc]} median {statistics.median(pc):.3f}"
    )
    return rw / rp, statistics.median(pr), statistics.median(pc)


async def main_async(a: argparse.Namespace) -> str:
    appends: dict[bool, list[Run]] = {False: [], True: []}
    ingests: dict[bool, list[Run]] = {False: [], True: []}
    for r in range(a.runs):
        for witnessed in (False, True) if r % 2 == 0 else (True, False):
            run = await appends_run(witnessed, a)
            appends[witnessed].append(run)
            label = "witnessed" if witnessed else "plain    "
            print(f"appends run {r + 1} {label}: {run.rate:,.0f}/s, {run.cpu_us:.0f} us CPU each", flush=True)
    kept: list[tuple[list[str], dict[str, Any]]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=a.clients)) as session:
        for r in range(a.runs):
            for witnessed in (False, True) if r % 2 == 0 else (True, False):
                run = await ingest_run(witnessed, a, session, kept)
                ingests[witnessed].append(run)
                label = "witnessed" if witnessed else "plain    "
                print(f"ingest run {r + 1} {label}: {run.rate:,.0f}/s, {run.cpu_us:.0f} us CPU each", flush=True)
    ar, ap, ac = summary("appends", appends)
    ir, ip, ic = summary("ingest", ingests)
    cs, rs, n_lines = cosignature_checks(kept, a.seconds, a.runs)
    print(f"cosignature checks: {n_lines} lines of {sum(len(n) for n, _ in kept)} cosigned notes")
    return (
        f"appends_ratio={ar:.3f} appends_paired={ap:.3f} appends_cpu_paired={ac:.3f} "
        f"ingest_ratio={ir:.3f} ingest_paired={ip:.3f} ingest_cpu_paired={ic:.3f} "
        f"cosig_check_per_s={cs:.0f} raw_verify_per_s={rs:.0f} check_ratio={cs / rs:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="runs of each (plain and witnessed), alternating")
    p.add_argument("--callers", type=int, default=64, help="concurrent appending members (appends)")
    p.add_argument("--appends", type=int, default=10_000, help="ballots per appends run")
    p.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients (ingest)")
    p.add_argument("--members", type=int, default=640, help="members (ingest)")
    p.add_argument("--ballots", type=int, default=6_400, help="ballots per ingest run")
    p.add_argument("--seconds", type=float, default=2.0, help="per repetition of the cosignature checks")
    print(asyncio.run(main_async(p.parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
