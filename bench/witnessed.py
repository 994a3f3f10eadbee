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
(so the cost measured is of real work). Then the verifier's cosignature
check rate, on the lines the witnesses really returned: every cosigned
checkpoint of the witnessed ingest runs (``GET /api/checkpoints``, the
export's part) is read as ``verify_cli.py`` reads a note, and each line is
checked as it checks one (find the witness by name and key id,
``check_cosignature``), in slices alternating with PyNaCl's raw Ed25519
verify of the same messages (the floor). Prints medians and ends with
`appends_ratio=X ingest_ratio=Y cosig_check_per_s=Z raw_verify_per_s=W`
(ratios witnessed / plain; above 0.90 is the target).

    nice .venv/bin/python bench/witnessed.py [--runs 3] [--appends 10000] [--ballots 6400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
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
        self.dirs, self.urls = [], []
        for i in (1, 2):
            d = tmp / f"witness-{i}"
            proc, url = start_witness(d, f"w{i}.bench.localhost")
            stack.callback(_stop, proc)
            self.dirs.append(d)
            self.urls.append(url)

    def accept(self, assembly: str, server_key: str) -> dict[str, Any]:
        cosigners = []
        for d, url in zip(self.dirs, self.urls):
            witness_cli("add-log", "--data-dir", str(d), f"liquid-mandate/{assembly}", server_key)
            name, key = witness_cli("key", "--data-dir", str(d)).splitlines()[0].split()
            cosigners.append({"name": name, "key": key, "url": url})
        return {"cosigners": cosigners, "quorum": 2, "grace": 10}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def appends_run(witnessed: bool, a: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-witnessed-") as tmp, ExitStack() as stack:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{Path(tmp) / 'box.db'}", KeyPair.generate())
        witnessing = None
        try:
            asm = ballot_box.Assembly(box, a.callers)
            await asm.found()
            if witnessed:
                ws = Witnesses(Path(tmp), stack)
                policy = ws.accept(asm.assembly, box.server_hex)
                await box.append(asm.founder.sign("witnesses", asm.assembly, **policy))
                witnessing = Witnessing(box)
                await witnessing.start()
                assert witnessing.submitter and await witnessing.submitter.wait_cosigned(box.size, 2, 30)
            lanes = asm.sign_ballots(a.appends)
            n, dt = await ballot_box.run_appends(box, lanes)
            if witnessing is not None:
                assert witnessing.submitter and await witnessing.submitter.wait_cosigned(box.size, 2, 30)
            return n / dt
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
) -> float:
    """Ballots/s; a witnessed run appends (its cosigned notes, its policy) to ``kept``."""
    with tempfile.TemporaryDirectory(prefix="bench-witnessed-") as tmp, ExitStack() as stack:
        port = ingest.free_port()
        srv = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--data-dir", str(Path(tmp) / "server")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(_stop, srv)
        base = f"http://127.0.0.1:{port}"
        await ingest.wait_up(session, base)
        founder = Author()
        assembly, authors = await ingest.setup(session, base, a.members, founder)
        policy: dict[str, Any] = {}
        if witnessed:
            ws = Witnesses(Path(tmp), stack)
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
        secs, _ = await ingest.load(base, signed, session)
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
        return total / secs


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


async def main_async(a: argparse.Namespace) -> str:
    appends: dict[bool, list[float]] = {False: [], True: []}
    ingests: dict[bool, list[float]] = {False: [], True: []}
    for r in range(a.runs):
        for witnessed in (False, True) if r % 2 == 0 else (True, False):
            rate = await appends_run(witnessed, a)
            appends[witnessed].append(rate)
            print(f"appends run {r + 1} {'witnessed' if witnessed else 'plain    '}: {rate:,.0f}/s", flush=True)
    kept: list[tuple[list[str], dict[str, Any]]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=a.clients)) as session:
        for r in range(a.runs):
            for witnessed in (False, True) if r % 2 == 0 else (True, False):
                rate = await ingest_run(witnessed, a, session, kept)
                ingests[witnessed].append(rate)
                print(f"ingest run {r + 1} {'witnessed' if witnessed else 'plain    '}: {rate:,.0f}/s", flush=True)
    ap, aw = statistics.median(appends[False]), statistics.median(appends[True])
    ip, iw = statistics.median(ingests[False]), statistics.median(ingests[True])
    print(f"appends/s median: plain {ap:,.0f}, two witnesses {aw:,.0f}")
    print(f"ingest/s median:  plain {ip:,.0f}, two witnesses {iw:,.0f}")
    print("appends/s runs: plain", [round(x) for x in appends[False]], "witnessed", [round(x) for x in appends[True]])
    print("ingest/s runs:  plain", [round(x) for x in ingests[False]], "witnessed", [round(x) for x in ingests[True]])
    # Each round's two runs ran back to back: their ratio is the least noisy figure on a shared machine.
    pa = [w / p for p, w in zip(appends[False], appends[True])]
    pi = [w / p for p, w in zip(ingests[False], ingests[True])]
    print("appends paired ratios", [round(x, 2) for x in pa], f"median {statistics.median(pa):.3f}")
    print("ingest paired ratios ", [round(x, 2) for x in pi], f"median {statistics.median(pi):.3f}")
    cs, rs, n_lines = cosignature_checks(kept, a.seconds, a.runs)
    print(f"cosignature checks: {n_lines} lines of {sum(len(n) for n, _ in kept)} cosigned notes")
    return (
        f"appends_ratio={aw / ap:.3f} ingest_ratio={iw / ip:.3f} "
        f"appends_paired={statistics.median(pa):.3f} ingest_paired={statistics.median(pi):.3f} "
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
