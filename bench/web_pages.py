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
page must show the concentration figures and no circle per member: the run
fails otherwise. Its first load after the server started is reported apart
(``graph_cold_ms``: the scope's trees are built once per log size), as is
the first member page.

The last line is ``members=N home_ms=X bill_ms=Y graph_ms=G member_ms=M
graph_cold_ms=C member_cold_ms=D`` (medians but the cold ones).
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
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = a.data or Path(tmp)
        if (root / "data").exists():
            motion = "budget"
        else:
            built = asyncio.run(big_assembly.build(root / "data", members=a.members))
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
                home, bill, graph, member = [], [], [], []
                for _ in range(a.repeat):  # interleaved, so that a busy moment hits every page alike
                    home.append(load_ms(browser, url, ""))
                    bill.append(load_ms(browser, url, f"bill/{motion}"))
                    graph.append(load_ms(browser, url, "graph", graph_shows_figures))
                    member.append(load_ms(browser, url, f"member/{key}"))
                browser.close()
        finally:
            processes.stop_server(proc)
    for name, runs in (("home", home), ("bill", bill), ("graph", graph), ("member", member)):
        print(f"{name} runs: {', '.join(f'{x:.0f}' for x in runs)} ms", file=sys.stderr)
    med = statistics.median
    print(
        f"members={a.members} home_ms={med(home):.0f} bill_ms={med(bill):.0f} graph_ms={med(graph):.0f}"
        f" member_ms={med(member):.0f} graph_cold_ms={graph_cold:.0f} member_cold_ms={member_cold:.0f}"
    )


if __name__ == "__main__":
    main()
