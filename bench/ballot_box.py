"""Benchmark of the ballot box on SQLite: durable appends per second, proof
times at growing log sizes, and the raw PyNaCl verify rate of the same run.

The assembly: a founder, CALLERS members, one topic and one motion open for a
year. Each of CALLERS asyncio tasks appends its own member's ballots in seq
order through ``BallotBox.append`` (members run concurrently, as HTTP clients
would), so the box's writer sees many callers at once and commits them in
groups. Statements are signed before the clock starts; only ``append`` is
timed, and an append counts when its receipt (after the commit, with
synchronous=FULL) is back.

Proofs: at each size (the timed append runs come right after the smallest) (10^4, 10^5, 10^6 entries by default) the median time of
``inclusion_proof(i, size)`` and of ``consistency_proof(j, size)`` for random
``i`` and ``j``, each against the box's whole tree. The log is grown to each
size with the same concurrent appends (its rate is printed too).

    nice .venv/bin/python bench/ballot_box.py --sizes 10000,100000,1000000

The last line is `appends_per_s=X proof_ms=Y raw_verify_per_s=Z`: X the median
of the timed append runs, Y the median inclusion + consistency proof time at
the largest size, Z single-thread PyNaCl verifies per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nacl.signing  # noqa: E402

from ballots.box import BallotBox  # noqa: E402
from client.author import Author, code_hash, genesis, new_code  # noqa: E402
from crypto.signing import KeyPair, statement_message  # noqa: E402

CHOICES = ("yes", "no", "abstain")


class Assembly:
    def __init__(self, box: BallotBox, callers: int) -> None:
        self.box = box
        self.founder = Author()
        self.members = [Author() for _ in range(callers)]
        self.assembly = ""

    async def found(self) -> None:
        await self.box.append(genesis(self.founder, server=self.box.server_hex))
        self.assembly = self.box.state.assembly_id
        org = self.founder
        for m in self.members:
            code = new_code()
            await self.box.append(org.sign("invite", self.assembly, code_hash=code_hash(code), note=""))
            await self.box.append(m.sign("enroll", self.assembly, code=code, name=""))
        await self.box.append(org.sign("topic", self.assembly, id="t", title="T", description="", parent=None))
        now = datetime.now(UTC)
        await self.box.append(
            org.sign(
                "motion",
                self.assembly,
                id="m",
                topic="t",
                title="M",
                summary="S",
                url="",
                opens=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                closes=(now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                quorum=None,
            )
        )

    def sign_ballots(self, total: int) -> list[list[dict[str, Any]]]:
        """``total`` ballots, split evenly over the members, each member's in seq
        order. The statements are those ``Author.sign`` makes; the NaCl key is
        derived once per member here (KeyPair derives it on every signature),
        which only makes the untimed signing faster."""
        per, extra = divmod(total, len(self.members))
        lanes = []
        for i, m in enumerate(self.members):
            key, public, lane = nacl.signing.SigningKey(m.key.seed), m.public, []
            for k in range(per + (i < extra)):
                m.seq += 1
                st = {
                    "v": 1,
                    "assembly": self.assembly,
                    "kind": "ballot",
                    "author": public,
                    "seq": m.seq,
                    "motion": "m",
                    "choice": CHOICES[(i + k) % 3],
                }
                lane.append({"statement": st, "signature": key.sign(statement_message(st)).signature.hex()})
            lanes.append(lane)
        return lanes


async def run_appends(box: BallotBox, lanes: list[list[dict[str, Any]]]) -> tuple[int, float]:
    """Append every lane concurrently (one task per member); (count, seconds)."""

    async def lane(statements: list[dict[str, Any]]) -> int:
        for s in statements:
            await box.append(s)
        return len(statements)

    t0 = time.perf_counter()
    counts = await asyncio.gather(*(lane(x) for x in lanes))
    return sum(counts), time.perf_counter() - t0


async def grow(box: BallotBox, asm: Assembly, target: int, chunk: int) -> float:
    """Append ballots until the log has ``target`` entries; the overall rate."""
    done, seconds = 0, 0.0
    while box.size < target:
        lanes = asm.sign_ballots(min(chunk, target - box.size))
        n, dt = await run_appends(box, lanes)
        done, seconds = done + n, seconds + dt
        print(f"  size={box.size} ({n / dt:,.0f} appends/s)", file=sys.stderr, flush=True)
    return done / seconds if seconds else 0.0


async def proof_times(box: BallotBox, samples: int, rnd: random.Random) -> tuple[float, float]:
    """Median ms of an inclusion and of a consistency proof against the whole tree."""
    size = box.size
    inc, con = [], []
    for _ in range(samples):
        i = rnd.randrange(size)
        t0 = time.perf_counter()
        await box.inclusion_proof(i, size)
        inc.append(time.perf_counter() - t0)
        j = rnd.randrange(1, size)
        t0 = time.perf_counter()
        await box.consistency_proof(j, size)
        con.append(time.perf_counter() - t0)
    return statistics.median(inc) * 1e3, statistics.median(con) * 1e3


def raw_verify_rate(n: int) -> float:
    """Single-thread PyNaCl verifies per second of statement-sized messages."""
    author = Author()
    signed = [author.sign("ballot", "ab" * 32, motion="m", choice="yes") for _ in range(n)]
    items = [(statement_message(s["statement"]), bytes.fromhex(s["signature"])) for s in signed]
    vk = nacl.signing.VerifyKey(author.key.public_bytes)
    t0 = time.perf_counter()
    for message, sig in items:
        vk.verify(message, sig)
    return n / (time.perf_counter() - t0)


async def main_async(a: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-box-", dir=a.dir) as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'box.db'}"
        box = await BallotBox.open(url, KeyPair.generate())
        try:
            asm = Assembly(box, a.callers)
            await asm.found()
            rates: list[float] = []
            rnd = random.Random(1)
            proof_ms = 0.0
            for size in a.sizes:
                if box.size < size:
                    rate = await grow(box, asm, size, a.chunk)
                    print(f"grew to {box.size} entries at {rate:,.0f} appends/s", flush=True)
                inc, con = await proof_times(box, a.samples, rnd)
                proof_ms = inc + con
                print(
                    f"size={box.size} inclusion_ms={inc:.3f} consistency_ms={con:.3f} (medians of {a.samples})",
                    flush=True,
                )
                # The timed append runs start from the smallest size.
                for r in range(a.repeat if not rates else 0):
                    lanes = asm.sign_ballots(a.appends)
                    n, dt = await run_appends(box, lanes)
                    rates.append(n / dt)
                    print(
                        f"run {r + 1}: {n} ballot appends by {a.callers} callers in {dt:.2f} s = {n / dt:,.0f}/s",
                        flush=True,
                    )
            appends = statistics.median(rates)
        finally:
            await box.aclose()
    raw = raw_verify_rate(a.verifies)
    print(f"raw PyNaCl verify (one thread): {raw:,.0f}/s", flush=True)
    return f"appends_per_s={appends:.0f} proof_ms={proof_ms:.3f} raw_verify_per_s={raw:.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--callers", type=int, default=64, help="concurrent appending members")
    p.add_argument("--appends", type=int, default=20_000, help="ballots per timed run")
    p.add_argument("--repeat", type=int, default=3, help="timed runs (the median is reported)")
    p.add_argument("--sizes", default="10000,100000,1000000", help="log sizes at which proofs are timed")
    p.add_argument("--samples", type=int, default=300, help="proofs per size")
    p.add_argument("--chunk", type=int, default=50_000, help="ballots signed at a time while growing")
    p.add_argument("--verifies", type=int, default=20_000, help="raw verifies timed")
    p.add_argument("--dir", default=None, help="where the temporary database goes")
    a = p.parse_args(argv)
    a.sizes = sorted(int(s) for s in a.sizes.split(","))
    print(asyncio.run(main_async(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
