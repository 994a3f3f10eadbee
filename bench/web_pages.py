"""Benchmark of the web UI at scale: how long the home page and a bill page
take to load in Debian's Chromium, with N members (most of them voting on
the bill), against a real ``server.py``.

The assembly is built through the ballot box (tests/big_assembly.py, as the
browser tests build theirs), then served; each page is loaded REPEAT times
in a fresh browser context (no cache, no IndexedDB) and timed from
navigation until the view has rendered (``body[data-ready]`` set and
``main`` no longer busy), as a visitor sees them (no key).

    nice .venv/bin/python bench/web_pages.py --members 100000 --repeat 5

The last line is ``members=N home_ms=X bill_ms=Y`` (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import big_assembly, processes  # noqa: E402
from tests.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402


def load_ms(browser, url: str, route: str) -> float:  # noqa: ANN001
    ctx = browser.new_context(base_url=url, viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    want = route.split("/")[0] or "home"
    t0 = time.perf_counter()
    page.goto("/#/" + route)
    page.wait_for_function(
        "w => document.body.dataset.ready === w && !document.getElementById('main').hasAttribute('aria-busy')",
        arg=want,
        timeout=60_000,
    )
    ms = (time.perf_counter() - t0) * 1000
    ctx.close()
    return ms


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
                load_ms(browser, url, "")  # warm the server's caches once
                home = [load_ms(browser, url, "") for _ in range(a.repeat)]
                bill = [load_ms(browser, url, f"bill/{motion}") for _ in range(a.repeat)]
                browser.close()
        finally:
            processes.stop_server(proc)
    print(
        f"home runs: {', '.join(f'{x:.0f}' for x in home)} ms; bill runs: {', '.join(f'{x:.0f}' for x in bill)} ms",
        file=sys.stderr,
    )
    print(f"members={a.members} home_ms={statistics.median(home):.0f} bill_ms={statistics.median(bill):.0f}")


if __name__ == "__main__":
    main()
