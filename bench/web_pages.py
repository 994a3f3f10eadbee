"""Benchmark of the web UI at scale: how long the home page, a bill page,
the delegation graph and a member page take to load in Debian's Chromium,
with N members (most of them voting on the bill), against a real
``server.py``.

The assembly is built through the ballot box (tests/big_assembly.py, as the
browser tests build theirs), then served; each page is loaded REPEAT times
in a fresh browser context (no cache, no IndexedDB) and timed from
navigation until the view has rendered (``body[data-ready]`` set and
``main`` no longer busy), as a visitor sees them (no key).

    nice .venv/bin/python bench/web_pages.py --members 100000 --repeat 5

The member page is the heaviest delegate's (GET /api/delegates). The graph
page (scope ``*``, and the bill's scope ``motion:budget``) must show the
concentration figures and no circle per member: the run fails otherwise.
Its first load after the server started is reported apart
(``graph_cold_ms``: the scope's trees are built then), as is the first
member page.

With ``--churn`` the assembly is busy: before every load a member casts or
changes a ballot on the bill (signed with the keys ``big_assembly.build``
derived, POST /api/statements), so every page follows a new log entry; and
once per round a delegation changes before a load of the graph
(``graph_deleg_ms``: the ``*`` trees are built again then).

The last line is ``members=N home_ms=X bill_ms=Y graph_ms=G
graph_motion_ms=GM member_ms=M graph_cold_ms=C member_cold_ms=D`` (medians
but the cold ones), plus ``graph_deleg_ms=GD churn=1`` with ``--churn``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import big_assembly, processes  # noqa: E402
from tests.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402


def load_ms(browser, url: str, route: str, check=None) -> float:  # noqa: ANN001
    ctx = browser.new_context(base_url=url, viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    want = route.split("/")[0] or "home"
    t0 = time.perf_counter()
    page.goto("/#/" + route)
    page.wait_for_function(
        "w => document.body.dataset.ready === w && !document.getElementById('main').hasAttribute('aria-busy')",
        arg=want,
        timeout=120_000,
    )
    ms = (time.perf_counter() - t0) * 1000
    if check is not None:
        check(page)
    ctx.close()
    return ms


def graph_shows_figures(page) -> None:  # noqa: ANN001
    """At this size the graph page shows figures and trees, not circles."""
    circles = page.locator("svg.graph circle").count()
    if circles or not page.locator("#graph-figures #fig-gini").count():
        raise SystemExit(f"the graph page drew {circles} circles and no concentration figures")


class Churn:
    """New log entries from the members of a ``big_assembly.build``
    assembly: ballots on the bill, and delegations from members who
    delegate to one who never votes, moved to the next such member."""

    def __init__(self, url: str, members: int) -> None:
        self.url = url
        _, people = big_assembly.signers(members)
        self.voters = people[: int(members * 0.8)]
        rest = people[len(self.voters) :]
        self.sinks = rest[len(rest) // 2 :]
        self.delegators = rest[: min(len(rest) // 2, int(members * 0.06))]
        self.assembly = str(get_json(url + "/api/server")["assembly"])
        self.n = 0

    def _post(self, who, kind: str, **fields: object) -> None:  # noqa: ANN001
        who.seq = int(get_json(f"{self.url}/api/seq/{who.public}")["seq"])
        body = json.dumps(who.sign(self.assembly, kind, **fields)).encode()
        req = urllib.request.Request(
            self.url + "/api/statements", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            if r.status != 201:
                raise SystemExit(f"{kind} refused: {r.status} {r.read()!r}")

    def ballot(self, motion: str) -> None:
        self.n += 1
        voter = self.voters[(self.n * 7919) % len(self.voters)]
        self._post(voter, "ballot", motion=motion, choice=("yes", "no", "abstain")[self.n % 3])

    def delegation(self) -> None:
        self.n += 1
        i = self.n % len(self.delegators)
        to = self.sinks[(i + self.n) % len(self.sinks)]
        self._post(self.delegators[i], "delegate", scope="*", to=to.public)


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=120) as r:
        return dict(json.loads(r.read()))


def heaviest(url: str) -> str:
    with urllib.request.urlopen(url + "/api/delegates?limit=1", timeout=120) as r:
        return str(json.loads(r.read())["delegates"][0]["key"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="keep the built assembly in DIR, and reuse it if DIR/data exists (same --members)",
    )
    ap.add_argument("--churn", action="store_true", help="a new ballot before every load (see above)")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = a.data or Path(tmp)
        if (root / "data").exists():
            motion = "budget"
        else:
            built = asyncio.run(big_assembly.build(root / "data", members=a.members, voting=0.8, delegating=0.06))
            print(f"built {built.members} members in {built.build_seconds:.1f} s", file=sys.stderr)
            motion = built.motion
        url, proc = processes.start_server(root / "data", log=root / "server.log", timeout=300)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                graph_cold = load_ms(browser, url, "graph", graph_shows_figures)  # builds the scope's trees
                key = heaviest(url)
                member_cold = load_ms(browser, url, f"member/{key}")
                load_ms(browser, url, "")  # warm the server's caches once
                churn = Churn(url, a.members) if a.churn else None

                def entry() -> None:
                    if churn is not None:
                        churn.ballot(motion)

                home, bill, graph, graph_motion, member, graph_deleg = [], [], [], [], [], []
                for _ in range(a.repeat):  # interleaved, so that a busy moment hits every page alike
                    entry()
                    home.append(load_ms(browser, url, ""))
                    entry()
                    bill.append(load_ms(browser, url, f"bill/{motion}"))
                    entry()
                    graph.append(load_ms(browser, url, "graph", graph_shows_figures))
                    entry()
                    graph_motion.append(load_ms(browser, url, f"graph/motion:{motion}", graph_shows_figures))
                    entry()
                    member.append(load_ms(browser, url, f"member/{key}"))
                    if churn is not None:
                        churn.delegation()
                        graph_deleg.append(load_ms(browser, url, "graph", graph_shows_figures))
                browser.close()
        finally:
            processes.stop_server(proc)
    pages = [("home", home), ("bill", bill), ("graph", graph), ("graph_motion", graph_motion), ("member", member)]
    if a.churn:
        pages.append(("graph_deleg", graph_deleg))
    for name, runs in pages:
        print(f"{name} runs: {', '.join(f'{x:.0f}' for x in runs)} ms", file=sys.stderr)
    med = statistics.median
    print(
        f"members={a.members} home_ms={med(home):.0f} bill_ms={med(bill):.0f} graph_ms={med(graph):.0f}"
        f" graph_motion_ms={med(graph_motion):.0f} member_ms={med(member):.0f}"
        f" graph_cold_ms={graph_cold:.0f} member_cold_ms={member_cold:.0f}"
        + (f" graph_deleg_ms={med(graph_deleg):.0f} churn=1" if a.churn else "")
    )


if __name__ == "__main__":
    main()
