"""The browser's part of DESIGN 9.1 in real Chromium against real servers:
it keeps the latest checkpoint it saw and checks consistency on every
visit, warning loudly (translated, evidence downloadable) when the server's
log is replaced by another one under the same key and assembly, and saying
nothing on a normal append; and the organizer's witness page."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from client.author import Author, genesis
from crypto.signing import KeyPair
from tests import processes
from tests.browser import api, axe_violations, goto, new_page, no_missing_strings, shot
from tests.test_witness_support import running_witness, witness_cli

pytestmark = pytest.mark.browser


def post(base: str, signed: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        base + "/api/statements", data=json.dumps(signed).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def text(base: str, path: str) -> str:
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return r.read().decode()


def start(data: Path, port: int, log: Path) -> tuple[str, Any]:
    return processes.start_server(data, port=port, log=log)


def found(base: str, seed: int) -> tuple[Author, str]:
    """The same founder key and seq every time: the same genesis statement,
    so the same assembly id on any server with the same key."""
    founder = Author(KeyPair(bytes([seed]) * 32))
    server_key = api(base, "/api/server")["server_key"]
    post(base, genesis(founder, server=server_key, name="Fork test"))
    return founder, api(base, "/api/server")["assembly"]


def topic(base: str, founder: Author, assembly: str, id: str) -> None:
    post(base, founder.sign("topic", assembly, id=id, title=id.title(), description="", parent=None))


def visit(page: Any) -> str:
    """A new visit: the page loads afresh (not a same-document hash change)."""
    page.goto("about:blank")
    page.goto("/#/")
    page.wait_for_function("() => document.body.dataset.consistency && document.body.dataset.ready === 'home'")
    return page.evaluate("document.body.dataset.consistency")


def test_a_replaced_log_is_reported_and_an_append_is_not(browser: Any, tmp_path: Path) -> None:
    port = processes.free_port()
    a, b = tmp_path / "a", tmp_path / "b"
    base, proc = start(a, port, tmp_path / "a.log")
    page = new_page(browser, base)
    try:
        founder, assembly = found(base, 9)
        topic(base, founder, assembly, "alpha")
        assert visit(page) == "first"
        topic(base, founder, assembly, "beta")  # a normal append: no warning
        assert visit(page) == "ok"
        assert page.locator("#consistency-warning").count() == 0
        seen = text(base, "/api/checkpoint")
        assert visit(page) == "ok"
        processes.stop_server(proc)

        # Another log under the same key and the same genesis statement: the
        # same assembly, another history (entry 0's `received` differs).
        b.mkdir()
        shutil.copy(a / "server.key", b / "server.key")
        base2, proc = start(b, port, tmp_path / "b.log")
        assert base2 == base
        founder2, assembly2 = found(base, 9)
        assert assembly2 == assembly
        for id in ("gamma", "delta", "epsilon"):
            topic(base, founder2, assembly, id)
        now = text(base, "/api/checkpoint")
        assert visit(page) == "fork"
        warning = page.locator("#consistency-warning")
        assert warning.is_visible() and warning.get_attribute("role") == "alert"
        assert "two histories" in warning.inner_text() and "size 3" in warning.inner_text()
        no_missing_strings(page)
        shot(page, "witnesses/fork-warning-en")
        with page.expect_download() as dl:
            page.click("#fork-download-seen")
        assert Path(dl.value.path()).read_text() == seen and dl.value.suggested_filename == "checkpoint-seen-3.txt"
        with page.expect_download() as dl:
            page.click("#fork-download-now")
        assert Path(dl.value.path()).read_text() == now
        assert [v["id"] for v in axe_violations(page)] == []
        # Translated, and re-drawn when the language changes.
        page.click("#lang-switch")
        page.wait_for_function("() => document.documentElement.lang === 'fr'")
        page.wait_for_function("() => document.getElementById('consistency-warning').innerText.includes('historiques')")
        shot(page, "witnesses/fork-warning-fr")
        # It stays on every visit: the checkpoint seen first is kept.
        assert visit(page) == "fork"
        assert page.locator("#consistency-warning").is_visible()
        # A browser that never saw the first log sees no fork.
        fresh = new_page(browser, base)
        assert visit(fresh) == "first"
        fresh.context.close()
        # Only the live updates' reconnection while the server was replaced.
        assert not [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e], page.errors
    finally:
        processes.stop_server(proc)
        page.context.close()


def test_the_organizer_sees_the_witnesses(browser: Any, tmp_path: Path) -> None:
    """A policy of one real witness process: the organizer's witness tab shows
    it cosigning, in both languages, with no axe violation."""
    from client.cli import main as cli

    with processes.running_server(tmp_path / "srv", log=tmp_path / "srv.log") as url:
        key_file = tmp_path / "founder.key"
        assert cli(["key", "new", str(key_file)]) == 0
        receipts = str(tmp_path / "r")
        assert cli(["--server", url, "--receipts", receipts, "found", "--key", str(key_file), "--name", "W"]) == 0
        info = api(url, "/api/server")
        with running_witness(tmp_path / "w1", "w1.test.localhost") as (wurl, _):
            witness_cli(
                "add-log", "--data-dir", str(tmp_path / "w1"), f"liquid-mandate/{info['assembly']}", info["server_key"]
            )
            name, key = witness_cli("key", "--data-dir", str(tmp_path / "w1")).stdout.split()[:2]
            args = ["--server", url, "--receipts", receipts, "witnesses", "--key", str(key_file)]
            assert cli([*args, "--quorum", "1", "--grace", "10", f"{name}={key}@{wurl}"]) == 0
            page = new_page(browser, url, tmp=tmp_path)
            goto(page, "key")
            page.set_input_files("#import-form [name=file]", str(key_file))
            page.fill("#import-form [name=pass1]", "organizer passphrase")
            page.fill("#import-form [name=pass2]", "organizer passphrase")
            with page.expect_download():
                page.click("#import-form button[type=submit]")
            page.wait_for_selector("#my-key")
            goto(page, "org/witnesses")
            page.wait_for_selector(f"#witnesses tr[data-witness='{name}'] .witness-ok", timeout=15_000)
            assert "1 of 1 witness" in page.inner_text("#witness-policy")
            no_missing_strings(page)
            assert [v["id"] for v in axe_violations(page)] == []
            shot(page, "witnesses/org-witnesses-en")
            page.click("#lang-switch")
            page.wait_for_function(
                "() => document.documentElement.lang === 'fr' && document.body.dataset.ready === 'org'"
            )
            page.wait_for_selector("#witnesses .witness-ok")
            no_missing_strings(page)
            assert [v["id"] for v in axe_violations(page)] == []
            shot(page, "witnesses/org-witnesses-fr")

            # A motion committed under this policy, then a policy of another
            # witness while it is open: the first one is still listed, marked
            # as serving the earlier policy until the close (SPEC 14.2).
            assert cli([*args[:4], "topic", "--key", str(key_file), "city", "--title", "City"]) == 0
            motion = ["motion", "--key", str(key_file), "bill", "--topic", "city", "--title", "Bill"]
            assert cli([*args[:4], *motion, "--summary", "S", "--opens", "now", "--closes", "+1h"]) == 0
            with running_witness(tmp_path / "w2", "w2.test.localhost") as (wurl2, _):
                witness_cli(
                    "add-log",
                    "--data-dir",
                    str(tmp_path / "w2"),
                    f"liquid-mandate/{info['assembly']}",
                    info["server_key"],
                )
                name2, key2 = witness_cli("key", "--data-dir", str(tmp_path / "w2")).stdout.split()[:2]
                assert cli([*args, "--quorum", "1", "--grace", "10", f"{name2}={key2}@{wurl2}"]) == 0
                goto(page, "org/witnesses")
                page.wait_for_selector(f"#witnesses tr[data-witness='{name2}'] .witness-ok", timeout=15_000)
                earlier = page.locator(f"#witnesses tr.witness-earlier[data-witness='{name}']")
                earlier.wait_for(timeout=15_000)
                assert "motion:bill" in earlier.inner_text() and "antérieure" in earlier.inner_text()
                no_missing_strings(page)
                assert [v["id"] for v in axe_violations(page)] == []
                shot(page, "witnesses/org-witnesses-earlier-fr")
            assert not page.errors, page.errors
            page.context.close()
