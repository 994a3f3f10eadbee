"""What `GET /api/graph` costs the server (issue 14): the full report of a
scope (every edge, weight, chain and cycle, `views.graph`) on an open
motion after a ballot, before and after it was read from the live
resolution by the array analysis, in one run on the same synthetic state.

The state is bench/closed_paths.py's (bench/tally.py's assembly: half the
members delegate across a tree of 20 topics, a long chain, voterless
cycles, a few "self" and targets expelled; 30% vote), with the live
resolutions the box keeps. Timed, medians of ``--repeat`` runs, each the
report built from nothing as after a new ballot (what `PowerCache` keeps
is dropped by a ballot on that motion):

- before: `delegation.analyse` (networkx) on the electorate compiled from
  the state, as `views.graph` did;
- after: `views.graph` now (the live arrays, `delegation.analyse_arrays`);
- after_names: the same with the names map `PowerCache` keeps (it changes
  only with an enrolment, an expulsion or a delegation), as the server
  answers after a ballot;
- json: encoding the report (the server does it on every answer);
- `*`: the same two for scope `*` (kept until a delegation, enrolment or
  expulsion; computed here from nothing too).

    nice .venv/bin/python bench/graph_report.py --members 100000 --repeat 7

The last line is ``members=N before_ms=.. after_ms=.. after_names_ms=.. ratio=..``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import delegation  # noqa: E402
from ballots import views  # noqa: E402
from ballots.closing import electorate  # noqa: E402
from ballots.scope_power import PowerCache  # noqa: E402
from ballots.state import AssemblyState  # noqa: E402
from bench.closed_paths import median_ms, state_of  # noqa: E402


def before(state: AssemblyState, scope: str) -> dict[str, object]:
    """`views.graph` as it was: networkx on the compiled electorate."""
    if scope.startswith("motion:"):
        e = electorate(state, scope[len("motion:") :])
    else:
        active = [k for k, m in state.members.items() if m.active]
        e = delegation.Electorate(active, state.scope_chain(scope), state.settings, {})
    report = delegation.analyse(e).as_dict()
    report["scope"] = scope
    report["names"] = {k: state.members[k].name for k in e.members}
    report["as_of"] = None
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args(argv)
    s = state_of(a.members)
    for scope in ("motion:M", "*"):
        assert views.graph(s, scope) == before(s, scope), scope  # the same answer
    report = views.graph(s, "motion:M")
    names = PowerCache()._names_of(s)
    assert views.graph(s, "motion:M", None, names) == report
    figures = {
        "before": median_ms(lambda: before(s, "motion:M"), a.repeat),
        "after": median_ms(lambda: views.graph(s, "motion:M"), a.repeat),
        "after_names": median_ms(lambda: views.graph(s, "motion:M", None, names), a.repeat),
        "json": median_ms(lambda: json.dumps(report), a.repeat),
        "star_before": median_ms(lambda: before(s, "*"), a.repeat),
        "star_after": median_ms(lambda: views.graph(s, "*"), a.repeat),
    }
    for name, ms in figures.items():
        print(f"{name:12s} {ms:9.2f} ms")
    print(f"{len(report['edges'])} edges, {len(report['weights'])} voters, {len(report['cycles'])} cycles")
    print(
        f"members={a.members} before_ms={figures['before']:.1f} after_ms={figures['after']:.1f} "
        f"after_names_ms={figures['after_names']:.1f} "
        f"json_ms={figures['json']:.1f} ratio={figures['before'] / figures['after']:.2f} "
        f"star_before_ms={figures['star_before']:.1f} star_after_ms={figures['star_after']:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
