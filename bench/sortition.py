"""Benchmark of issue 15's two heavy reads: drawing a draw of 10^5
volunteers (the `drawn` entry the server writes at closes, and the
verifier's recomputation of it), and the compliance table of 577 deputies
over 1,000 closed motions (GET /api/compliance, its summary and one
deputy's rows). The state is built in memory, as the box's projections
would load it; the baseline in the same run is hashing the same number of
keys with SHA-256 alone, the floor of any draw.

    .venv/bin/python bench/sortition.py [--volunteers 100000] [--deputies 577] [--motions 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballots import compliance, sortition  # noqa: E402
from ballots.state import AssemblyState, Draw, Member, Motion, Vote  # noqa: E402

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def keys(n: int, salt: bytes) -> list[str]:
    return [hashlib.sha256(salt + i.to_bytes(8, "big")).hexdigest() for i in range(n)]


def draw_state(n: int) -> tuple[AssemblyState, Draw]:
    s = AssemblyState()
    d = Draw("d1", "Candidates", 577, T0, T0 + timedelta(days=7), True, 1)
    for i, k in enumerate(keys(n, b"v")):
        s.members[k] = Member(k, "", True, i, k)
        d.standing[k] = True
        d.certifications.add(k)
    s.draws[d.id] = d
    return s, d


def compliance_state(deputies: int, motions: int) -> AssemblyState:
    s = AssemblyState()
    roster = keys(deputies, b"d")
    for k in roster:
        s.members[k] = Member(k, "", True, 0, k)
    s.roster = tuple(roster)
    choices = ("yes", "no", "abstain")
    for j in range(motions):
        mid = f"m{j}"
        m = Motion(mid, "t", mid, "", "", T0, T0, None, j)
        m.result_index = j
        m.result = {"instructions": [{"deputy": k, "choice": choices[(i + j) % 3]} for i, k in enumerate(roster)]}
        s.motions[mid] = m
        s.reports[mid] = {k: Vote(choices[(i + j) % 3], "", "", j, k) for i, k in enumerate(roster) if i % 4}
        s.records[mid] = {
            k: Vote(choices[(i + j + (i % 50 == 0)) % 3], "https://a.example", "", j, k) for i, k in enumerate(roster)
        }
    return s


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--volunteers", type=int, default=100_000)
    p.add_argument("--deputies", type=int, default=577)
    p.add_argument("--motions", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)

    s, d = draw_state(a.volunteers)
    r = bytes(range(32))
    drawn = median_s(lambda: sortition.drawn_fields(s, d, r), a.repeat)
    members = list(d.standing)
    raw = median_s(lambda: [hashlib.sha256(r + bytes.fromhex(k)).digest() for k in members], a.repeat)
    print(f"draw of {a.volunteers} volunteers: {drawn * 1000:.0f} ms median (pool, D, seed, order); "
          f"baseline one SHA-256 per key: {raw * 1000:.0f} ms; ratio {drawn / raw:.1f}")  # fmt: skip

    c = compliance_state(a.deputies, a.motions)

    def fresh_summary() -> None:
        c.compliance_dirty.add(c.roster[0])  # as after a new report by one deputy
        compliance.summary(c)

    summary = median_s(fresh_summary, a.repeat)
    cached = median_s(lambda: compliance.summary(c), a.repeat)
    one = median_s(lambda: [r.to_json(c) for r in compliance.rows(c, deputy=c.roster[0])], a.repeat)
    motion = median_s(lambda: [r.to_json(c) for r in compliance.rows(c, motion="m0")], a.repeat)
    print(f"compliance of {a.deputies} deputies x {a.motions} motions: summary {summary * 1000:.0f} ms after one deputy's report, "
          f"{cached * 1000:.1f} ms cached, "
          f"one deputy's rows {one * 1000:.1f} ms, one motion's rows {motion * 1000:.1f} ms (medians)")  # fmt: skip
    print(f"volunteers={a.volunteers} draw_ms={drawn * 1000:.0f} compliance_summary_ms={summary * 1000:.0f} summary_cached_ms={cached * 1000:.1f} "
          f"deputy_rows_ms={one * 1000:.1f} motion_rows_ms={motion * 1000:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
