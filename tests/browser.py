"""Helpers for the web UI tests: Debian's Chromium driven by Playwright (never
a downloaded browser), a real `server.py` in a subprocess, and the few UI
gestures the scenarios repeat. A missing browser skips the tests, or fails
them when CI=true."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


def require_browser() -> None:
    """Skips (or fails, with CI=true) when Chromium or Playwright is missing."""
    why = None
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        why = f"{CHROMIUM} is missing (make system-deps installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright (python) is not installed"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """`python server.py` on a free port; yields its base URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with processes.running_server(data_dir / "data", log=data_dir / "server.log") as base:
        yield base


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.loads(r.read())


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def new_page(
    browser: Any, base: str, *, locale: str = "en-US", viewport: dict[str, int] = DESKTOP, tmp: Path | None = None
) -> Any:
    """A fresh context (its own IndexedDB) and page; console errors are kept
    on `page.errors` so tests can assert there were none."""
    ctx = browser.new_context(locale=locale, viewport=viewport, accept_downloads=True, base_url=base)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())
    page.set_default_timeout(10_000)
    return page


def goto(page: Any, route: str) -> None:
    """Opens `#/route` and waits until the view has rendered."""
    page.goto("/#/" + route)
    want = route.split("/")[0] or "home"
    page.wait_for_function(
        "want => document.body.dataset.ready === want && !document.getElementById('main').hasAttribute('aria-busy')",
        arg=want,
    )


def shot(page: Any, name: str) -> None:
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def no_missing_strings(page: Any) -> None:
    text = page.inner_text("body")
    assert "⟦" not in text, f"missing i18n strings on {page.url}: {text}"


def create_key(page: Any) -> str:
    goto(page, "key")
    page.click("#create-key")
    page.wait_for_selector("#my-key")
    return page.inner_text("#my-key").strip()


def found(page: Any, name: str) -> None:
    goto(page, "found")
    page.fill("#found-form [name=name]", name)
    page.click("#found-form button[type=submit]")
    page.wait_for_selector("#topic-form")


def add_topic(page: Any, id: str, title: str, parent: str = "") -> None:
    goto(page, "org/topics")
    page.fill("#topic-form [name=id_]", id)
    page.fill("#topic-form [name=title]", title)
    page.select_option("#topic-form [name=parent]", parent)
    page.click("#topic-form button[type=submit]")
    page.wait_for_selector(f"#topic-tree [data-topic='{id}']")


def invite(page: Any, n: int) -> list[str]:
    goto(page, "org/invites")
    page.fill("#invite-form [name=count]", str(n))
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(".invite-code")
    return [c.strip() for c in page.locator(".invite-code").all_inner_texts()]


def add_bill(page: Any, id: str, topic: str, title: str, *, closes_in: float) -> None:
    """Publishes a bill that opens now and closes `closes_in` seconds from now
    (the form takes local times; the page computes them in the browser)."""
    goto(page, "org/bills")
    page.fill("#bill-form [name=id_]", id)
    page.select_option("#bill-form [name=topic]", topic)
    page.fill("#bill-form [name=title]", title)
    page.fill("#bill-form [name=summary]", f"Summary of {title}.")
    page.eval_on_selector(
        "#bill-form",
        """(f, secs) => {
        const p = (n) => String(n).padStart(2, '0');
        const loc = (d) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
        const now = Date.now();
        f.opens.value = loc(new Date(now - 2000));
        f.closes.value = loc(new Date(now + secs * 1000));
    }""",
        closes_in,
    )
    page.click("#bill-form button[type=submit]")
    confirm(page)
    page.wait_for_selector("#tally")


def record_requests(page: Any) -> list[str]:
    """The URLs the page requests from now on (the list grows as it does)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def whole_member_list(urls: list[str]) -> list[str]:
    """The requests among ``urls`` that download every member
    (GET /api/members without ``keys``, ``limit`` or ``after``)."""
    from urllib.parse import parse_qs, urlparse

    out = []
    for u in urls:
        p = urlparse(u)
        if p.path == "/api/members" and not {"keys", "limit", "after"} & set(parse_qs(p.query)):
            out.append(u)
    return out


def confirm(page: Any) -> None:
    """Accepts the page's confirmation before a permanent statement (a
    bill, a roster, an expulsion), checking that it says so."""
    page.wait_for_selector("#confirm-dialog[open] #confirm-permanent")
    page.click("#confirm-yes")
    page.wait_for_selector("#confirm-dialog", state="detached")


def enroll(page: Any, code: str, name: str) -> str:
    key = create_key(page)
    goto(page, "join")
    page.fill("#join-form [name=code]", code)
    page.fill("#join-form [name=name]", name)
    page.click("#join-form button[type=submit]")
    page.wait_for_function("() => document.body.dataset.ready === 'home'")
    page.wait_for_selector("text=" + name)
    return key


def vote(page: Any, bill: str, choice: str) -> None:
    goto(page, f"bill/{bill}")
    page.click(f"#vote-box button[data-choice='{choice}']")
    page.wait_for_selector(f"#vote-box button[data-choice='{choice}'][aria-pressed='true']")


AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (pinned by tests/a11y/package-lock.json, installed by `make
    test`) run on the page as it is now: its violations, each with the rule,
    impact and the offending nodes. Injected through the DevTools protocol,
    so the page's own Content-Security-Policy stays as it is."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make a11y` installs it")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
    }""")
    return list(found)


GROUP = {"en": ",", "fr": "\u202f"}  # CLDR: en groups with a comma, fr with a narrow no-break space


def grouped(n: int, lang: str) -> str:
    return f"{n:,}".replace(",", GROUP[lang])


def rendered_bars(page: Any) -> dict[str, dict[str, Any]]:
    """Each bar's shown value, and whether its text fits inside the chart."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#tally .bar')].map((b) => {
        const v = b.querySelector('.bar-value');
        const box = b.closest('.chart').getBoundingClientRect(), r = v.getBoundingClientRect();
        return [b.dataset.choice, { text: v.textContent, value: b.dataset.value,
            fits: v.scrollWidth <= v.clientWidth + 1 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5 }];
    }))""")
