"""Benchmark of one motion's tally: delegation resolution, counts and
apportionment for a synthetic assembly of N members.

The assembly: a binary topic tree of 20 topics, the motion in a leaf topic;
half the members delegate at random across the scopes of the tree, `*` and
the motion (a few say "self"), some into a long chain, some in voterless
cycles, some to expelled members; 30% vote directly. Only the tally is timed,
not the generation. Peak memory is measured with tracemalloc in a separate
run of the same tally (tracemalloc slows allocation, so it is not timed).

    nice .venv/bin/python bench/tally.py --members 1000000 --repeat 5

The last line is `members=N seconds=S peak_mib=M` (S the median).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from delegation import Electorate, compile_arrays, resolve, resolve_arrays  # noqa: E402
from delegation.arrays import _compile_hex  # noqa: E402
from tally import ballots_digest, lottery_seed, motion_seed, result_document  # noqa: E402

TOPICS = 20


def build(n: int, seed: int = 1) -> tuple[Electorate, list[str]]:
    rnd = random.Random(seed)
    raw = rnd.randbytes(32 * (n + n // 100)).hex()
    keys = [raw[64 * i : 64 * i + 64] for i in range(n + n // 100)]
    members, expelled = keys[:n], keys[n:]
    parent = [None] + [(i - 1) // 2 for i in range(1, TOPICS)]
    leaf = TOPICS - 1
    chain = ["motion:M"]
    t: int | None = leaf
    while t is not None:
        chain.append(f"topic:t{t}")
        t = parent[t]
    chain.append("*")
    scopes = [f"topic:t{i}" for i in range(TOPICS)] + ["*", "*", "motion:M"]
    settings: dict[str, dict[str, str]] = {}
    delegators = rnd.sample(range(n), n // 2)
    chain_len = min(n // 10, 100_000)
    long_chain, rest = delegators[:chain_len], delegators[chain_len:]
    # One long chain, every link at `*` so that it holds for the motion.
    for a, b in zip(long_chain, long_chain[1:]):
        settings[members[a]] = {"*": members[b]}
    # Small voterless cycles among the rest.
    n_cycles = max(1, n // 1000)
    for c in range(n_cycles):
        ring = rest[3 * c : 3 * c + 3]
        for a, b in zip(ring, ring[1:] + ring[:1]):
            settings[members[a]] = {"*": members[b]}
    for a in rest[3 * n_cycles :]:
        s = {}
        for _ in range(rnd.choice((1, 1, 2, 3))):
            r = rnd.random()
            to = (
                "self"
                if r < 0.05
                else expelled[rnd.randrange(len(expelled))]
                if r < 0.07
                else members[rnd.randrange(n)]
            )
            s[rnd.choice(scopes)] = to
        settings[members[a]] = s
    for k in expelled[:100]:  # settings and ballots of expelled members are ignored
        settings[k] = {"*": members[0]}
    ballots = {members[i]: rnd.choice(("yes", "yes", "no", "abstain")) for i in rnd.sample(range(n), (3 * n) // 10)}
    ballots.update({k: "no" for k in expelled[:100]})
    roster = members[:577]
    return Electorate(members, chain, settings, ballots), roster


def seed_of(e: Electorate, active: set[str]) -> bytes:
    """The seed as the server's close computed it before D was kept as
    ballots arrive (docs/SPEC.md section 16; bench/close.py times the close
    as it is now): D over the ballots of active members, walked in
    O(ballots); ``active`` is the state's set of active members, kept by
    the box, so not timed here."""
    return lottery_seed(bytes(32), ballots_digest([k for k in e.ballots if k in active], e.ballots))


def run(e: Electorate, roster: list[str], active: set[str]) -> dict[str, object]:
    r = resolve(e)
    return result_document(
        r.counts,
        motion="M",
        roster=roster,
        method="largest_remainder",
        quorum=20,
        no_quorum="abstain",
        close_hash=bytes(range(32)),
        seed=seed_of(e, active),  # D over every counted ballot: part of the cost of a close
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    e, roster = build(a.members)
    active = set(e.members)
    assert seed_of(e, active) == motion_seed(bytes(32), e)  # the same seed as the pure O(members) definition
    times, cpu = [], []
    for _ in range(a.repeat):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        doc = run(e, roster, active)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    core, compiled = [], []
    for _ in range(a.repeat):
        gc.collect()
        t0 = time.perf_counter()
        _, target, choice = compile_arrays(e)
        t1 = time.perf_counter()
        resolve_arrays(target, choice)
        compiled.append(t1 - t0)
        core.append(time.perf_counter() - t1)
    seeds = []  # the seed alone (D over every counted ballot, then r): part of `run`
    for _ in range(a.repeat):
        gc.collect()
        c0 = time.process_time()
        seed_of(e, active)
        seeds.append(time.process_time() - c0)
    gc.collect()
    tracemalloc.start()
    run(e, roster, active)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = {k: doc[k] for k in ("yes", "no", "abstain", "direct", "delegated", "dead_end", "cycle", "absent")}
    print(f"counts {counts} seats {doc['seats']}")
    print(
        f"runs {' '.join(f'{t:.3f}' for t in times)} (cpu median {statistics.median(cpu):.3f}); "
        f"loadavg {os.getloadavg()[0]:.2f}; "
        f"process maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB "
        "(includes the generated assembly)"
    )
    print(
        f"compile alone (compile_arrays: keys to indices, settings for the chain): "
        f"{statistics.median(compiled):.3f} s; fast hex path: {_compile_hex(e) is not None}"
    )
    print(f"array core alone (resolve_arrays on pre-indexed arrays): {statistics.median(core):.3f} s")
    print(f"seed alone (D recomputed at the close, CPU): {statistics.median(seeds):.3f} s")
    print(f"members={a.members} seconds={statistics.median(times):.3f} peak_mib={peak / 2**20:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
