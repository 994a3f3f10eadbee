"""Benchmark of the standalone verifier: entries per second beside the raw
PyNaCl verify rate of the same run.

    nice .venv/bin/python bench/verify.py --sizes 100000 200000 1000000 --jobs 1 2

Builds (once, cached under bench/out/) a valid log of N entries: a genesis,
1,000 members (invite + enroll), a topic, a motion, and ballots for the rest;
every statement really signed (in worker processes), and a server-signed
checkpoint of the whole log. Then it runs the verifier on it --repeat times
(default 3) with each --jobs value, measuring right before each run the raw
rate of nacl.bindings.crypto_sign_open on the log's messages in one process,
and prints the medians, one line per (N, jobs), ending with

    entries=N jobs=J entries_per_s=X raw_verify_per_s=Y

for the largest run. Target: entries_per_s >= 0.85 * raw * jobs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.signing

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crypto.checkpoint import Checkpoint, origin_for, sign_checkpoint  # noqa: E402
from crypto.signing import KeyPair  # noqa: E402

OUT = ROOT / "bench" / "out"
MEMBERS = 1000
PREFIX = b"liquid-mandate/v1/statement\n"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _dumps(v: object) -> str:
    # Every value here is ASCII, for which sorted compact json.dumps is RFC 8785.
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _seed(i: int) -> bytes:
    return hashlib.sha256(b"bench-member-%d" % i).digest()


FOUNDER = KeyPair(hashlib.sha256(b"bench-founder").digest())
SERVER = KeyPair(hashlib.sha256(b"bench-server").digest())


def _sign_range(args: tuple[str, int, int]) -> list[tuple[str, str]]:
    """Sign ballots start..end-1: (statement JSON, signature hex)."""
    assembly, start, end = args
    keys = [nacl.signing.SigningKey(_seed(i)) for i in range(MEMBERS)]
    pubs = [bytes(k.verify_key).hex() for k in keys]
    out = []
    choices = ("yes", "no", "abstain")
    for i in range(start, end):
        j = i % MEMBERS
        st = _dumps(
            {
                "v": 1,
                "assembly": assembly,
                "kind": "ballot",
                "author": pubs[j],
                "seq": i // MEMBERS + 2,
                "motion": "bench-bill",
                "choice": choices[(i * 7) % 3],
            }
        )
        out.append((st, keys[j].sign(PREFIX + st.encode()).signature.hex()))
    return out


def build(n: int, path: Path, cp_path: Path) -> None:
    """Write a valid log of ``n`` entries and a checkpoint of it."""
    head: list[tuple[dict, KeyPair]] = []
    founder = FOUNDER.public_hex
    genesis = {
        "v": 1,
        "assembly": "",
        "kind": "assembly",
        "author": founder,
        "seq": 1,
        "name": "Bench",
        "organizers": [founder],
        "server": SERVER.public_hex,
        "rules": {"method": "largest_remainder", "quorum": 0, "no_quorum": "abstain"},
    }
    assembly = hashlib.sha256(_dumps(genesis).encode()).hexdigest()
    head.append((genesis, FOUNDER))
    seq = 1
    for i in range(MEMBERS):
        code = f"code-{i}"
        seq += 1
        head.append(
            (
                {
                    "v": 1,
                    "assembly": assembly,
                    "kind": "invite",
                    "author": founder,
                    "seq": seq,
                    "code_hash": hashlib.sha256(code.encode()).hexdigest(),
                    "note": "",
                },
                FOUNDER,
            )
        )
        kp = KeyPair(_seed(i))
        head.append(
            (
                {
                    "v": 1,
                    "assembly": assembly,
                    "kind": "enroll",
                    "author": kp.public_hex,
                    "seq": 1,
                    "code": code,
                    "name": f"m{i}",
                },
                kp,
            )
        )
    head.append(
        (
            {
                "v": 1,
                "assembly": assembly,
                "kind": "topic",
                "author": founder,
                "seq": seq + 1,
                "id": "bench",
                "title": "Bench",
                "description": "",
                "parent": None,
            },
            FOUNDER,
        )
    )
    head.append(
        (
            {
                "v": 1,
                "assembly": assembly,
                "kind": "motion",
                "author": founder,
                "seq": seq + 2,
                "id": "bench-bill",
                "topic": "bench",
                "title": "Bench bill",
                "summary": "A bill.",
                "url": "",
                "opens": "2026-01-01T00:00:00Z",
                "closes": "2027-01-01T00:00:00Z",
                "quorum": None,
            },
            FOUNDER,
        )
    )
    signed = [(_dumps(st), kp.sign(PREFIX + _dumps(st).encode()).hex()) for st, kp in head]
    ballots = n - len(signed)
    if ballots < 0:
        raise SystemExit(f"N must be at least {len(signed)}")
    step = 20_000
    chunks = [(assembly, s, min(s + step, ballots)) for s in range(0, ballots, step)]
    with multiprocessing.Pool(os.cpu_count()) as pool:
        for part in pool.imap(_sign_range, chunks):
            signed.extend(part)
    prev = "0" * 64
    tree = verify_cli.TreeBuilder()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for i, (st, sig) in enumerate(signed):
            received = (T0 + timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            line = (
                f'{{"index":{i},"prev":"{prev}","received":"{received}","signature":"{sig}","statement":{st}}}'
            ).encode()
            prev = hashlib.sha256(line).hexdigest()
            tree.push(hashlib.sha256(b"\x00" + line).digest())
            f.write(line + b"\n")
    os.replace(tmp, path)
    cp_path.write_text(sign_checkpoint(Checkpoint(origin_for(assembly), n, tree.root()), SERVER))


def raw_rate(path: Path, sample: int = 30_000) -> float:
    """crypto_sign_open per second, one process, on this log's messages."""
    items = []
    with open(path, "rb") as f:
        for k, line in enumerate(f):
            if k >= sample:
                break
            e = json.loads(line)
            pos = line.find(b',"statement":')
            items.append(
                (PREFIX + line[pos + 13 : -2], bytes.fromhex(e["signature"]), bytes.fromhex(e["statement"]["author"]))
            )
    op = nacl.bindings.crypto_sign_open
    t, c = time.perf_counter(), time.process_time()
    for msg, sig, pk in items:
        op(sig + msg, pk)
    global RAW_CPU_US
    RAW_CPU_US = (time.process_time() - c) / len(items) * 1e6
    return len(items) / (time.perf_counter() - t)


RAW_CPU_US = 0.0  # CPU µs per crypto_sign_open in the last raw_rate()


def run_verifier(path: Path, cp: Path, jobs: int) -> tuple[float, int, float, float]:
    """Wall seconds, entries, and CPU µs per entry of the reading process
    and of the signature workers (whatever else runs on the machine)."""
    t, t0 = time.perf_counter(), os.times()
    v = verify_cli.Verifier(
        verify_cli.Source(str(path)),
        checkpoint_files=[str(cp)],
        receipt_paths=[],
        since_file=None,
        jobs=jobs,
        progress=False,
    )
    v.run()
    dt, t1 = time.perf_counter() - t, os.times()
    if v.exit_code() != 0:
        raise SystemExit(f"the bench log did not verify: {v.failures[:3]} {v.skipped}")
    main = (t1.user - t0.user + t1.system - t0.system) / v.n * 1e6
    workers = (t1.children_user - t0.children_user + t1.children_system - t0.children_system) / v.n * 1e6
    return dt, v.n, main, workers


verify_cli: Any = None  # the module under test, loaded by main (see --verifier)


def _load_verifier(folder: Path) -> None:
    global verify_cli
    sys.path.insert(0, str(folder))
    import verify_cli as module  # the worker processes are forked, so they share it

    verify_cli = module
    print(f"verifier: {module.__file__}", file=sys.stderr)


def _check_nothing(batch: object) -> list[int]:
    return []


def _reader_only() -> None:
    """Workers check no signature (they are forked and find the function by
    its module and name): the reading process's cost alone, for A/B runs of
    a change that touches only the reader."""
    _check_nothing.__module__, _check_nothing.__qualname__ = "verify_cli", "verify_batch"
    verify_cli.verify_batch = _check_nothing


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--verifier",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the folder whose verify_cli.py is measured (default: this checkout), e.g. a "
        "baseline copy, for same-conditions comparisons",
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000])
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=3, help="runs per (N, jobs); medians are reported")
    p.add_argument(
        "--reader-only",
        action="store_true",
        help="workers check nothing (the ratios are then meaningless; read the reader CPU)",
    )
    args = p.parse_args()
    _load_verifier(args.verifier)
    if args.reader_only:
        _reader_only()
    OUT.mkdir(parents=True, exist_ok=True)
    last = ""
    for n in sorted(args.sizes):
        path, cp = OUT / f"verify-{n}.jsonl", OUT / f"verify-{n}.checkpoint"
        if not path.exists() or not cp.exists():
            t = time.perf_counter()
            build(n, path, cp)
            print(f"built {path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        for jobs in args.jobs:
            # The raw rate is measured right before each run, so that both
            # see the same load on a shared machine; medians of both.
            times, raws, cpus = [], [], []
            for _ in range(args.repeat):
                raws.append(raw_rate(path))
                dt, count, main_us, work_us = run_verifier(path, cp, jobs)
                times.append(dt)
                # CPU bound: verify CPU over all CPU per entry, i.e. the ratio
                # that `jobs` otherwise idle cores would give (load-independent).
                cpus.append((main_us, work_us, RAW_CPU_US))
                print(
                    f"  N={count} jobs={jobs}: {dt:.2f} s, raw {raws[-1]:,.0f}/s, "
                    f"ratio {count / dt / (raws[-1] * jobs):.2f}; CPU/entry reader {main_us:.1f} us, "
                    f"workers {work_us:.1f} us, raw verify {RAW_CPU_US:.1f} us",
                    file=sys.stderr,
                    flush=True,
                )
            dt, raw = statistics.median(times), statistics.median(raws)
            main_us, work_us, raw_us = (statistics.median(c[k] for c in cpus) for k in range(3))
            rate = count / dt
            bound = raw_us / (main_us + work_us) if jobs > 1 else raw_us / max(work_us, main_us)
            print(
                f"N={count} jobs={jobs}: median {dt:.2f} s of {args.repeat}, {rate:,.0f} entries/s; "
                f"raw verify {raw:,.0f}/s; ratio to raw x jobs {rate / (raw * jobs):.2f}; "
                f"CPU/entry reader {main_us:.1f} + workers {work_us:.1f} us vs raw {raw_us:.1f} us "
                f"(ratio on idle cores {bound:.2f})",
                flush=True,
            )
            last = f"entries={count} jobs={jobs} entries_per_s={rate:.0f} raw_verify_per_s={raw:.0f}"
    print(last)


if __name__ == "__main__":
    main()
