"""The web UI against some 20,000 members (issues 13 and 14): counts shown
whole and grouped for the language, and the delegation graph as figures,
not circles. A file of its own so that pytest-xdist (`--dist loadfile`)
builds this assembly on one worker while the others run the rest of the
web tests."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.browser import (
    DESKTOP,
    PHONE,
    api,
    axe_violations,
    goto,
    grouped,
    new_page,
    no_missing_strings,
    rendered_bars,
    require_browser,
    running_server,
    shot,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """Some 20,000 members, most of them voting on one open bill, built once
    per test run through the ballot box (tests/big_assembly.py), then served."""
    import asyncio

    from tests import big_assembly

    require_browser()
    root = tmp_path_factory.mktemp("big")
    # In a thread of its own: Playwright's sync API holds this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        assembly = pool.submit(asyncio.run, big_assembly.build(root / "data")).result()
    print(f"\nbig assembly: {assembly.members} members built in {assembly.build_seconds:.1f} s")
    with running_server(root) as url:
        yield url, assembly


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_big_counts_are_shown_whole(big: tuple[str, Any], browser: Any, lang: str, size: str) -> None:
    """Issue 13: five-digit counts of a 20,000-member assembly are shown
    whole, grouped for the language, equal to the API's counts."""
    url, assembly = big
    page = new_page(
        browser, url, locale="fr-FR" if lang == "fr" else "en-US", viewport=PHONE if size == "phone" else DESKTOP
    )
    goto(page, f"bill/{assembly.motion}")
    tally = api(url, f"/api/motions/{assembly.motion}")["tally"]
    assert tally["members"] == assembly.members and tally["yes"] >= 10_000
    bars = rendered_bars(page)
    want = {
        "yes": tally["yes"],
        "no": tally["no"],
        "abstain": tally["abstain"],
        "lost": tally["dead_end"] + tally["cycle"],
    }
    for choice, n in want.items():
        assert bars[choice]["text"] == grouped(n, lang), (choice, bars[choice], n)
        assert bars[choice]["value"] == str(n)
        assert bars[choice]["fits"], (choice, bars[choice])
    caption = page.inner_text("#tally figcaption")
    assert grouped(assembly.members, lang) in caption
    shot(page, f"70-{lang}-{size}-big-bill")
    assert not page.errors, page.errors


@pytest.mark.parametrize(("lang", "size"), [("fr", "phone"), ("en", "desktop")])
def test_big_graph_shows_figures_not_circles(big: tuple[str, Any], browser: Any, lang: str, size: str) -> None:
    """Issue 14: with some 20,000 members the graph page shows the
    concentration figures and the largest delegates' trees, not one circle
    per member; its figures are the API's; a member page loads too."""
    url, assembly = big
    page = new_page(
        browser, url, locale="fr-FR" if lang == "fr" else "en-US", viewport=PHONE if size == "phone" else DESKTOP
    )
    goto(page, "graph")
    assert page.locator("svg.graph circle").count() == 0
    s = api(url, "/api/graph/summary?scope=*")
    assert s["members"] == assembly.members
    assert page.get_attribute("#fig-largest", "data-value") == str(s["figures"]["largest"])
    assert page.get_attribute("#fig-half", "data-value") == str(s["figures"]["half"])
    g = s["figures"]["gini"]
    assert page.get_attribute("#fig-gini", "data-value") == f"{g['numerator']}/{g['denominator']}"
    heads = page.eval_on_selector_all("#largest-trees > ol > li", "ls => ls.map((l) => l.dataset.key)")
    assert heads == [t["member"] for t in s["largest"]] and len(heads) == 10
    no_missing_strings(page)
    assert axe_violations(page) == []
    shot(page, f"71-{lang}-{size}-big-graph")
    goto(page, f"member/{heads[0]}")
    assert page.locator("#member-delegated-by li").count() == s["largest"][0]["weight"] - 1
    assert not page.errors, page.errors
