"""What keeping a closed motion's vote paths as of its close costs
(ballots/paths.py, issue 13): the snapshot's size per member, and the extra
work of a close against what a close already does, in one run on the same
synthetic state.

The state is bench/tally.py's assembly (half the members delegate across a
tree of 20 topics, a long chain, voterless cycles, a few "self" and
targets expelled; 30% vote), made an AssemblyState with the live
resolutions the box keeps (ballots.live.LiveTallies). Timed, medians of
``--repeat`` runs:

- baseline: the close's existing work: counts from the live resolution,
  the seed over the counted ballots, the result document (ballots.closing);
- take (live): ``paths.take`` as the box's close runs it, from the live arrays;
- take (replay): the same compiled from the state (a rebuild, a restore);
- compress: the zlib bytes written with the close; decode: the read back,
  SHA-256 checked, when a member asks for an uncached motion;
- answer: one member's path (a delegator) and one voter's carried votes;
- self_scan: the one pass over the settings a box makes at its first close
  (who has a "self" setting; LiveTallies.self_setters), then kept up.

    nice .venv/bin/python bench/closed_paths.py --members 100000 --repeat 7

The last line is ``members=N raw_bytes_per_member=.. stored_bytes_per_member=..
baseline_ms=.. take_live_ms=.. ratio=..``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tally  # noqa: E402
from ballots import closing, paths  # noqa: E402
from ballots.live import LiveTallies  # noqa: E402
from ballots.state import AssemblyState, Member, Motion, Topic  # noqa: E402
from bench.tally import TOPICS, build  # noqa: E402
from vocabulary import SELF  # noqa: E402


def state_of(n: int) -> AssemblyState:
    e, roster = build(n)
    s = AssemblyState(size=1)
    s.rules = {"method": "largest_remainder", "quorum": 20, "no_quorum": "abstain"}
    for i in range(TOPICS):
        s.topics[f"t{i}"] = Topic(f"t{i}", f"t{i}", "", None if i == 0 else f"t{(i - 1) // 2}", 0)
    members = list(e.members)
    # bench.tally's other keys (targets, delegators): members enrolled once and expelled since.
    others = {t for mine in e.settings.values() for t in mine.values() if len(t) == 64} | set(e.settings)
    every = members + sorted(others - set(members))
    for i, k in enumerate(every):
        s.members[k] = Member(k, f"m{i}", i < len(members), i, f"{i:064x}")
    s.settings = {k: dict(v) for k, v in e.settings.items()}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    s.motions["M"] = Motion("M", f"t{TOPICS - 1}", "M", "", "", now, now, None, 0)
    s.ballots["M"] = dict(e.ballots)
    s.roster = tuple(roster)
    LiveTallies.attach(s)
    return s


def median_ms(f: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args(argv)
    s = state_of(a.members)
    replay = AssemblyState(**{f: getattr(s, f) for f in ("size", "rules", "topics", "members", "settings")})
    replay.motions, replay.ballots, replay.roster = s.motions, s.ballots, s.roster

    def baseline() -> dict[str, object]:
        return tally.result_document(
            closing.counts(s, "M"),
            motion="M",
            close_hash=bytes(32),
            seed=closing.seed(s, "M", bytes(32)),
            **closing.tally_options(s, "M"),
        )

    snap = paths.take(s, "M")
    assert paths.take(replay, "M").raw == snap.raw  # live and replay give the same bytes
    blob = snap.compressed()
    n = snap.members
    keys, index = s.live.keys, s.live.index  # type: ignore[union-attr]
    voter = max(s.ballots["M"], key=lambda k: s.live.motions["M"].res.weight(index[k]))  # type: ignore[union-attr]
    delegator = next(k for k in s.settings if k in index and k not in s.ballots["M"])
    figures = {
        "baseline": median_ms(baseline, a.repeat),
        "take_live": median_ms(lambda: paths.take(s, "M"), a.repeat),
        "take_replay": median_ms(lambda: paths.take(replay, "M"), a.repeat),
        "compress": median_ms(snap.compressed, a.repeat),
        "decode": median_ms(lambda: paths.ClosedPaths.decode(blob, snap.digest), a.repeat),
        "path": median_ms(lambda: snap.vote_path(keys, index, delegator, "M"), a.repeat),
        "carried": median_ms(lambda: snap.vote_path(keys, index, voter, "M"), a.repeat),
        # What LiveTallies does once, at its first close: who says "self".
        "self_scan": median_ms(lambda: {k for k, mine in s.settings.items() if SELF in mine.values()}, a.repeat),
    }
    for name, ms in figures.items():
        print(f"{name:12s} {ms:9.2f} ms")
    w = snap.vote_path(keys, index, voter, "M")["weight"]
    print(f"heaviest voter carries {w} votes; {n} member indices, {len(snap.extra)} extra keys")
    print(
        f"members={n} raw_bytes_per_member={len(snap.raw) / n:.2f} stored_bytes_per_member={len(blob) / n:.2f} "
        f"baseline_ms={figures['baseline']:.1f} take_live_ms={figures['take_live']:.1f} "
        f"compress_ms={figures['compress']:.1f} take_replay_ms={figures['take_replay']:.1f} "
        f"ratio={(figures['take_live'] + figures['compress']) / figures['baseline']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
