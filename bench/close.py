"""The close of one motion as the server computes it now, beside the path it
replaced, in the same run, at N members (issues 12 and 16).

Now (`ballots.closing.result_statement`): the live counts (ballots.live),
the seed from the D kept as ballots arrive (ballots.seeds: one SHA-256 pass
over items already sorted), the apportionment and the instructions. Before:
the same, but D recomputed at the close (one SHA-256 of raw key || choice
per counted ballot, a sort, a hash: `tally.ballots_digest`, what
`ballots.closing.seed` did). Both results are checked equal, and equal to
`tally.motion_seed` of the electorate, before timing. Also: D alone both
ways, what keeping D adds to each ballot (`apply` of a ballot, a changed
choice and a withdrawal, with and without the kept D), building it at
start-up, and the memory it holds.

The assembly is `bench/scale.py`'s synthetic one (30 % vote, half
delegate, a 577-deputy roster), folded straight into a state, with 100
voters expelled after voting through `apply`. Wall and CPU time
(`process_time`) of the same calls; medians of `--repeat` runs.

    nice .venv/bin/python bench/close.py --members 10000 100000 1000000 --repeat 7

One line per size at the end:
`members=N close_now_ms=X close_before_ms=Y cpu_now_ms=.. cpu_before_ms=.. cpu_ratio=R`.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import random
import statistics
import sys
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tally  # noqa: E402
from ballots.closing import counts, electorate, result_statement, tally_options  # noqa: E402
from ballots.seeds import LiveSeeds  # noqa: E402
from ballots.state import AssemblyState, Lottery, apply  # noqa: E402
from ballots.statements import Kind, Statement  # noqa: E402
from bench.scale import Clocks, role, synthetic_state  # noqa: E402

R = bytes(range(32))  # the close's reveal: its value does not change the cost
EXPELLED = 100
CHANGES = 1000


def put(state: AssemblyState, kind: Kind, author: str, **body: Any) -> None:
    seq = state.seqs.get(author, 0) + 1
    st = Statement(1, state.assembly_id or "", kind, author, seq, body, dict(body))
    apply(state, st, index=state.size, entry_hash=f"{state.size:064x}")


def closable(n: int) -> AssemblyState:
    """The synthetic assembly with its live structures, 100 voters expelled
    after voting, and motion `m` closed (close hash and reveal in place)."""
    state, _ = synthetic_state(n)
    assert state.live is not None
    voters = [k for i, k in enumerate(state.live.keys) if role(i) == "vote"]
    for k in random.Random(3).sample(voters, min(EXPELLED, len(voters) // 10)):
        put(state, Kind.EXPEL, "org", member=k, reason="")
    state.lotteries["motion:m"] = Lottery("motion:m", tally.commit_hash(R), 1)
    put(state, Kind.CLOSE, "srv", motion="m", reveal=R.hex())
    return state


def close_before(state: AssemblyState) -> dict[str, Any]:
    """The close as `result_statement` did it before D was kept."""
    motion, ballots = state.motions["m"], state.ballots["m"]
    d = tally.ballots_digest([k for k in ballots if state.is_active(k)], ballots)
    assert motion.close_hash is not None
    return tally.result_document(
        counts(state, "m"),
        motion="m",
        close_hash=bytes.fromhex(motion.close_hash),
        seed=tally.lottery_seed(R, d),
        **tally_options(state, "m"),
    )


def ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 3)


def measure(n: int, repeat: int) -> dict[str, Any]:
    state = closable(n)
    assert state.live is not None
    seeds = state.live.seeds
    voters = len(seeds.motions["m"].items)
    now_doc = result_statement(state, "m", {})
    assert now_doc == close_before(state)
    assert now_doc["seed"] == tally.motion_seed(R, electorate(state, "m")).hex()
    now, before, d_now, d_before = Clocks(), Clocks(), Clocks(), Clocks()
    ballots = state.ballots["m"]
    for _ in range(repeat):  # interleaved, so that both see the same neighbours
        gc.collect()
        with now:
            result_statement(state, "m", {})
        gc.collect()
        with before:
            close_before(state)
        with d_now:
            seeds.digest("m")
        with d_before:
            tally.ballots_digest([k for k in ballots if state.is_active(k)], ballots)
    # What keeping D adds to a ballot: idle members vote, change, withdraw
    # on a copy of the state whose motion is open again, with and without it.
    fresh, _ = synthetic_state(min(n, 100_000))
    assert fresh.live is not None
    idle = [k for i, k in enumerate(fresh.live.keys) if role(i) == "idle"]
    without = copy.deepcopy(fresh)
    assert without.live is not None
    without.live.seeds = LiveSeeds()  # keeps no motion: apply skips D
    costs: dict[str, Clocks] = {"with": Clocks(), "without": Clocks()}
    rnd = random.Random(7)
    for k in rnd.sample(idle, min(CHANGES, len(idle))):
        for choice in ("yes", "no", None):
            for name, s in (("with", fresh), ("without", without)):
                with costs[name]:
                    put(s, Kind.BALLOT, k, motion="m", choice=choice)
    assert fresh.live.seeds.digest("m") == tally.ballots_digest(list(fresh.ballots["m"]), fresh.ballots["m"])
    build = Clocks()
    for _ in range(3):
        with build:
            LiveSeeds.build(state)
    gc.collect()
    tracemalloc.start()
    kept = LiveSeeds.build(state)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return {
        "members": n,
        "counted_ballots": voters,
        "close_now_ms": ms(now.wall),
        "close_now_cpu_ms": ms(now.cpu),
        "close_before_ms": ms(before.wall),
        "close_before_cpu_ms": ms(before.cpu),
        "cpu_ratio": round(statistics.median(now.cpu) / statistics.median(before.cpu), 4),
        "d_kept_ms": ms(d_now.wall),
        "d_kept_cpu_ms": ms(d_now.cpu),
        "d_recomputed_ms": ms(d_before.wall),
        "d_recomputed_cpu_ms": ms(d_before.cpu),
        "ballot_apply_with_d_us": round(statistics.median(costs["with"].cpu) * 1e6, 2),
        "ballot_apply_without_d_us": round(statistics.median(costs["without"].cpu) * 1e6, 2),
        "d_build_s": round(statistics.median(build.wall), 3),
        "d_build_cpu_s": round(statistics.median(build.cpu), 3),
        "d_held_mib": round(held / 2**20, 1),
        "runs_now_ms": [round(x * 1000, 2) for x in now.wall],
        "runs_before_ms": [round(x * 1000, 2) for x in before.wall],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args(argv)
    lines = []
    for n in a.members:
        print(f"{n} members, load average before {os.getloadavg()[0]:.2f}", flush=True)
        f = measure(n, a.repeat)
        print(f, f"load average after {os.getloadavg()[0]:.2f}", flush=True)
        lines.append(
            f"members={n} close_now_ms={f['close_now_ms']} close_before_ms={f['close_before_ms']} "
            f"cpu_now_ms={f['close_now_cpu_ms']} cpu_before_ms={f['close_before_cpu_ms']} cpu_ratio={f['cpu_ratio']}"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
