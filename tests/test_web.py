"""The web UI end to end, in headless Chromium against a real server: an
organizer founds the assembly, members enroll, delegate and vote, the live
tally moves, a receipt is checked in the browser, a deputy reads the binding
instruction after close, and a key backup restores in a fresh browser."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    DESKTOP,
    PHONE,
    add_bill,
    add_topic,
    api,
    axe_violations,
    confirm,
    create_key,
    enroll,
    found,
    goto,
    grouped,
    invite,
    new_page,
    no_missing_strings,
    rendered_bars,
    running_server,
    shot,
    vote,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def world(browser: Any, base: str) -> dict[str, Any]:
    """Founded through the UI: two topics (one nested), three members, a
    roster of two deputies, and a bill open for an hour."""
    org = new_page(browser, base)
    goto(org, "")
    no_missing_strings(org)
    shot(org, "00-empty-server")
    from tests.browser import create_key

    org_key = create_key(org)
    found(org, "Assemblée de test")
    assert api(base, "/api/server")["assembly"]
    add_topic(org, "city", "City")
    add_topic(org, "housing", "Housing", parent="city")
    shot(org, "01-org-topics")
    codes = invite(org, 3)
    assert len(codes) == 3 and all(re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){7}", c) for c in codes)
    shot(org, "02-org-invites")
    alice, bob, carol = (new_page(browser, base) for _ in range(3))
    keys = {
        "alice": enroll(alice, codes[0], "alice"),
        "bob": enroll(bob, codes[1], "bob"),
        "carol": enroll(carol, codes[2], "carol"),
    }
    goto(org, "org/roster")
    org.check(f"#roster-form input[value='{keys['alice']}']")
    org.check(f"#roster-form input[value='{keys['bob']}']")
    shot(org, "03-org-roster")
    org.click("#roster-form button[type=submit]")
    confirm(org)
    org.wait_for_selector("#roster-count[data-n='2']")
    assert sorted(api(base, "/api/deputies")["roster"]) == sorted([keys["alice"], keys["bob"]])
    add_bill(org, "rent-cap", "housing", "Rent cap", closes_in=3600)
    return {"org": org, "org_key": org_key, "alice": alice, "bob": bob, "carol": carol, "keys": keys}


def tally_value(page: Any, choice: str) -> int:
    return int(page.get_attribute(f"#tally .bar-{choice}", "data-value"))


def test_delegation_path_and_live_tally(world: dict[str, Any]) -> None:
    alice, bob, keys = world["alice"], world["bob"], world["keys"]
    goto(alice, "delegations")
    alice.select_option("#delegate-form [name=scope]", "topic:city")
    alice.check(f"#delegate-form input[name=to][value='{keys['bob']}']")
    alice.click("#delegate-form button[type=submit]")
    alice.wait_for_selector("#my-delegations >> text=bob")
    # The success is shown in the form that was used, which keeps the focus.
    assert alice.inner_text("#delegate-form .done-note") == "The delegation was saved."
    assert alice.evaluate("document.activeElement === document.querySelector('#delegate-form [type=submit]')")
    shot(alice, "10-delegations")
    goto(alice, "bill/rent-cap")
    assert tally_value(alice, "yes") == 0
    before = alice.inner_text("#my-path")
    assert "alice" in before and "bob" in before
    vote(bob, "rent-cap", "yes")
    # Alice's page moves by itself (server-sent events): bob's yes carries hers.
    alice.wait_for_function("() => document.querySelector('#tally .bar-yes').dataset.value === '2'")
    alice.wait_for_selector("#my-path [data-outcome='yes']")
    shot(alice, "11-bill-live")
    goto(bob, "bill/rent-cap")
    assert bob.get_attribute("#my-path .weight", "data-weight") == "2"
    assert "1 other member." in bob.inner_text("#my-path .weight")
    goto(alice, "delegations")
    row = alice.inner_text("#vote-paths tr[data-motion='rent-cap']")
    assert "bob" in row
    assert not alice.errors and not bob.errors, alice.errors + bob.errors


def test_receipt_is_checked_in_browser(world: dict[str, Any]) -> None:
    carol = world["carol"]
    goto(carol, "bill/rent-cap")
    assert carol.is_visible("#public-notice")
    vote(carol, "rent-cap", "no")
    goto(carol, "receipts")
    row = carol.locator("#receipts tr", has_text="Rent cap")
    row.locator("button[data-check]").click()
    carol.wait_for_selector("#receipts .check.ok")
    assert "Rent cap: No" in row.inner_text()
    with carol.expect_download() as dl:
        row.locator("button", has_text=re.compile("Download")).click()
    receipt = json.loads(Path(dl.value.path()).read_text())
    assert receipt["entry"]["statement"]["choice"] == "no" and receipt["proof"] is not None
    shot(carol, "20-receipts")
    # A tampered receipt fails the check with a readable sentence.
    carol.evaluate("""async () => {
        const { verifyReceipt } = await import('/js/merkle.js');
        const { listReceipts } = await import('/js/store.js');
        const r = (await listReceipts())[0];
        r.entry.statement.choice = 'yes';
        try { await verifyReceipt(r, '00'.repeat(32), 'x'); return 'passed'; } catch (e) { window.__code = e.code; }
    }""")
    assert carol.evaluate("window.__code") == "entry_hash"


def test_deputy_sees_instruction_after_close(world: dict[str, Any], base: str) -> None:
    org, alice, bob = world["org"], world["alice"], world["bob"]
    add_bill(org, "quick-vote", "city", "Quick vote", closes_in=6)
    vote(bob, "quick-vote", "yes")
    goto(alice, "bill/quick-vote")
    # The server closes the motion within a second after `closes`; the page reloads itself.
    alice.wait_for_selector("#hemicycle", timeout=20_000)
    seats = alice.locator("#hemicycle .seat").count()
    assert seats == 2
    # Closed (issue 13): the bill tells bob his own vote, as ballots froze at
    # the close (delegations did not: the path as it stood then is not shown).
    goto(bob, "bill/quick-vote")
    assert bob.get_attribute("#my-path .outcome", "data-outcome") == "yes"
    assert bob.locator("#vote-box").count() == 0
    no_missing_strings(bob)
    shot(alice, "30-bill-closed")
    goto(alice, "deputy")
    row = alice.locator("#instructions tr[data-motion='quick-vote']")
    assert row.get_attribute("data-choice") == "yes"  # alice+bob yes, carol absent: both seats yes
    result = api(base, "/api/motions/quick-vote")["result"]
    assert {i["choice"] for i in result["instructions"]} == {"yes"}
    assert "100" in row.inner_text()
    shot(alice, "31-deputy")
    row.locator("a.entry-link").click()
    alice.wait_for_selector("#check-proof")
    alice.click("#check-proof")
    alice.wait_for_selector("#proof-result.ok")
    shot(alice, "32-result-entry")
    # Print stylesheet hides navigation.
    goto(alice, "deputy")
    alice.emulate_media(media="print")
    assert not alice.is_visible("header nav")
    alice.emulate_media(media="screen")


def test_key_backup_restores_in_fresh_browser(world: dict[str, Any], browser: Any, base: str) -> None:
    bob = world["bob"]
    goto(bob, "key")
    bob.fill("#backup-form [name=pass1]", "correct horse battery")
    bob.fill("#backup-form [name=pass2]", "correct horse battery")
    with bob.expect_download() as dl:
        bob.click("#backup-form button[type=submit]")
    path = dl.value.path()
    backup = json.loads(Path(path).read_text())
    assert backup["public_key"] == world["keys"]["bob"]
    assert all(k not in backup for k in ("d", "jwk", "pkcs8"))
    # The command line reads the browser's backup (docs/KEYS.md).
    from client.backup import open_backup

    assert open_backup(Path(path).read_text(), "correct horse battery").public_hex == world["keys"]["bob"]
    fresh = new_page(browser, base, viewport=PHONE)
    goto(fresh, "key")
    fresh.set_input_files("#restore-form [name=file]", path)
    fresh.fill("#restore-form [name=pass]", "wrong passphrase")
    fresh.click("#restore-form button[type=submit]")
    fresh.wait_for_selector("#restore-form .msg.error")
    assert "passphrase" in fresh.inner_text("#restore-form .msg.error").lower()
    fresh.fill("#restore-form [name=pass]", "correct horse battery")
    fresh.click("#restore-form button[type=submit]")
    fresh.wait_for_function("() => document.body.dataset.ready === 'home'")
    fresh.wait_for_selector("text=bob")
    # Nothing was copied but the key: the vote and the receipts come from the log.
    goto(fresh, "bill/rent-cap")
    assert fresh.inner_text("#my-vote") == "My current vote: Yes."
    assert fresh.get_attribute("#vote-box button[data-choice='yes']", "aria-pressed") == "true"
    assert fresh.is_visible("#vote-box button[data-choice='null']")
    goto(fresh, "receipts")
    row = fresh.locator("#receipts tr", has_text="Rent cap: Yes")
    row.locator("button[data-check]").click()
    fresh.wait_for_selector("#receipts .check.ok")
    assert fresh.locator("#receipts tr", has_text="Enrolment").count() == 1
    # The restored key signs: vote from the phone.
    vote(fresh, "rent-cap", "abstain")
    shot(fresh, "40-phone-bill")
    goto(fresh, "delegations")
    shot(fresh, "41-phone-delegations")


def test_errors_read_as_sentences(world: dict[str, Any]) -> None:
    alice = world["alice"]
    goto(alice, "delegations")
    alice.select_option("#delegate-form [name=scope]", "*")
    alice.wait_for_selector("#pick-to-list[aria-busy=false]")  # the scope's new search shown (it replaces the list)
    # Delegating to oneself is refused by the server; the page says so in words.
    alice.eval_on_selector(
        "#pick-to-list",
        "(l, k) => { const r = document.querySelector('#pick-to-list input').cloneNode(); r.value = k; l.append(r); r.checked = true; }",
        world["keys"]["alice"],
    )
    alice.click("#delegate-form button[type=submit]")
    alice.wait_for_selector("#delegate-form .msg.error")
    assert "yourself" in alice.inner_text("#delegate-form .msg.error")


def test_graph_view(world: dict[str, Any]) -> None:
    alice = world["alice"]
    goto(alice, "graph/topic:housing")
    alice.wait_for_selector("svg.graph")
    assert alice.locator("svg.graph .node").count() >= 2
    shot(alice, "50-graph")


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
def test_pages_render_in_both_languages(world: dict[str, Any], browser: Any, base: str, locale: str) -> None:
    page = new_page(browser, base, locale=locale, viewport=PHONE)
    lang = locale[:2]
    for route in [
        "",
        "bills",
        "bill/rent-cap",
        "bill/quick-vote",
        "delegations",
        "graph",
        "receipts",
        "deputy",
        "key",
        "join",
        "org",
        "found",
        "nowhere",
    ]:
        goto(page, route)
        assert page.evaluate("document.documentElement.lang") == lang
        no_missing_strings(page)
        if route in ("", "bill/rent-cap", "deputy", "key"):
            shot(page, f"60-{lang}-phone-{route.split('/')[0] or 'home'}")
    # The switch overrides the browser's language.
    page.click("#lang-switch")
    other = "en" if lang == "fr" else "fr"
    page.wait_for_function("l => document.documentElement.lang === l", arg=other)
    no_missing_strings(page)
    assert not page.errors, page.errors


def test_both_tables_have_the_same_keys(world: dict[str, Any], browser: Any, base: str) -> None:
    page = world["alice"]
    missing = page.evaluate("""async () => {
        const { tableOf } = await import('/js/i18n.js');
        const en = tableOf('en'), fr = tableOf('fr');
        return [Object.keys(en).filter((k) => !(k in fr)), Object.keys(fr).filter((k) => !(k in en))];
    }""")
    assert missing == [[], []]


# Every page a person can reach, with the page (visitor, member, organizer)
# that sees it; run in both languages, at phone and desktop size.
ROUTES_BY_WHO = {
    "visitor": ["", "key", "join", "bills", "bill/rent-cap", "graph", "receipts", "deputy", "found", "nowhere"],
    "alice": [
        "",
        "bills",
        "bill/rent-cap",
        "bill/quick-vote",
        "delegations",
        "graph",
        "graph/topic:housing",
        "receipts",
        "deputy",
        "entry/0",
        "key",
        "join",
    ],
    "org": ["org/invites", "org/topics", "org/bills", "org/roster"],
}


def switch_lang(page: Any, lang: str) -> None:
    """Through the header's switch, as a person would."""
    if page.evaluate("document.documentElement.lang") != lang:
        page.click("#lang-switch")
        page.wait_for_function(
            "l => document.documentElement.lang === l && !document.getElementById('main').hasAttribute('aria-busy')",
            arg=lang,
        )


def check_every_page(page: Any, who: str, routes: list[str], lang: str) -> list[str]:
    """axe-core on each route at both sizes, a screenshot of each; returns
    one line per violation."""
    problems = []
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for route in routes:
            goto(page, route)
            switch_lang(page, lang)
            no_missing_strings(page)
            for v in axe_violations(page):
                problems.append(
                    f"{lang} {size_name} #/{route} ({who}): {v['impact']} {v['id']}: {v['help']} "
                    f"at {[n['target'] for n in v['nodes']]}"
                )
            slug = re.sub(r"[^a-z0-9]+", "-", route).strip("-") or "home"
            shot(page, f"pages/{lang}-{size_name}-{who}-{slug}")
    return problems


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_passes_axe(world: dict[str, Any], browser: Any, base: str, lang: str) -> None:
    """Issue 13: zero axe-core violations on every page, in both languages,
    at phone and desktop size; screenshots under test-output/screenshots/pages."""
    visitor = new_page(browser, base)
    problems = check_every_page(visitor, "visitor", ROUTES_BY_WHO["visitor"], lang)
    for who in ("alice", "org"):
        page = world[who]
        try:
            problems += check_every_page(page, who, ROUTES_BY_WHO[who], lang)
        finally:
            page.set_viewport_size(DESKTOP)
            switch_lang(page, "en")
    assert problems == [], "\n".join(problems)
    assert not visitor.errors, visitor.errors


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_empty_server_pages_pass_axe(browser: Any, tmp_path: Path, lang: str) -> None:
    """The pages of a server waiting for its assembly (home, founding)."""
    with running_server(tmp_path / "empty") as url:
        page = new_page(browser, url)
        create_key(page)
        problems = check_every_page(page, "founder", ["", "found", "key"], lang)
        assert problems == [], "\n".join(problems)
        page.context.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_counts_up_to_a_million_fit_on_a_phone(world: dict[str, Any], browser: Any, base: str, lang: str) -> None:
    """The tally chart at every size up to 10^6 members, on a phone: each
    count is shown whole inside the chart."""
    page = new_page(browser, base, locale="fr-FR" if lang == "fr" else "en-US", viewport=PHONE)
    goto(page, "bills")
    for members in (9, 99_999, 1_000_000):
        page.evaluate(
            """async (n) => {
            const { tallyBars } = await import('/js/charts.js');
            const c = { members: n, yes: n, no: n - 1, abstain: Math.floor(n / 7), dead_end: n - 2, cycle: 1,
                        direct: n, delegated: 0, absent: 0 };
            const box = document.createElement('div'); box.id = 'tally';
            box.append(tallyBars(c));
            document.getElementById('main').replaceChildren(box);
        }""",
            members,
        )
        bars = rendered_bars(page)
        assert bars["yes"]["text"] == grouped(members, lang)
        assert bars["lost"]["text"] == grouped(members - 1, lang)
        assert all(b["fits"] for b in bars.values()), bars


def test_vote_by_keyboard_keeps_focus_and_shows_success(world: dict[str, Any], base: str) -> None:
    """Keyboard only: Tab to a choice, Enter; the focus stays there, the
    success is shown in the vote box with a link to the receipt; withdrawing
    hides the withdraw button and puts the focus back on the choices."""
    carol = world["carol"]
    add_bill(world["org"], "tram", "city", "Tram line", closes_in=3600)
    goto(carol, "bill/tram")
    assert not carol.is_visible("#vote-box button[data-choice='null']"), "withdraw offered with no vote"
    assert carol.inner_text("#my-vote") == "You have not voted on this bill."
    for _ in range(60):  # from the top of the page, as a keyboard user would
        carol.keyboard.press("Tab")
        if carol.evaluate("document.activeElement.dataset.choice") == "no":
            break
    carol.keyboard.press("Enter")
    carol.wait_for_selector("#vote-box button[data-choice='no'][aria-pressed='true']")
    assert carol.evaluate("document.activeElement.dataset.choice") == "no"
    done = carol.inner_text("#vote-done")
    index = api(base, f"/api/members/{world['keys']['carol']}/entries")["entries"][-1]["index"]
    assert done == f"Vote “No” counted — receipt #{index}"
    assert carol.get_attribute("#vote-done a", "href") == f"#/receipts/{index}"
    assert carol.inner_text("#my-vote") == "My current vote: No."
    carol.focus("#vote-box button[data-choice='null']")
    carol.keyboard.press("Enter")
    carol.wait_for_selector("#vote-box button[data-choice='null']", state="hidden")
    assert carol.evaluate("document.activeElement.dataset.choice") == "yes"
    assert carol.inner_text("#my-vote") == "You have not voted on this bill."
    withdrawn = carol.get_attribute("#vote-done a", "href").rsplit("/", 1)[1]
    assert int(withdrawn) > index
    carol.click("#vote-done a")
    carol.wait_for_function("() => document.body.dataset.ready === 'receipts'")
    carol.wait_for_function("id => document.activeElement.id === id", arg=f"receipt-{withdrawn}")
    assert not carol.errors, carol.errors


def test_a_delegates_vote_is_told(world: dict[str, Any], base: str) -> None:
    """Alice delegates the city topic to bob, who voted: her page says how
    her vote counts, and offers no withdraw button."""
    alice = world["alice"]
    path = api(base, f"/api/members/{world['keys']['alice']}/motions/rent-cap")
    assert path["reason"] == "delegated" and path["path"] == [world["keys"]["alice"], world["keys"]["bob"]]
    goto(alice, "bill/rent-cap")
    assert alice.inner_text("#my-vote") == f"You have not voted; your vote counts {path['outcome']} through bob."
    assert not alice.is_visible("#vote-box button[data-choice='null']")
    switch_lang(alice, "fr")
    fr = {"yes": "pour", "no": "contre", "abstain": "abstention"}[path["outcome"]]
    assert alice.inner_text("#my-vote") == f"Vous n’avez pas voté\u202f; votre voix compte «\u00a0{fr}\u00a0» par bob."
    switch_lang(alice, "en")


def test_a_failed_action_offers_try_again(world: dict[str, Any]) -> None:
    carol = world["carol"]
    goto(carol, "bill/tram")
    carol.route("**/api/statements", lambda route: route.abort())
    carol.click("#vote-box button[data-choice='abstain']")
    carol.wait_for_selector("#vote-box .msg.error button.retry")
    assert "cannot be reached" in carol.inner_text("#vote-box .msg.error")
    carol.unroute("**/api/statements")
    carol.click("#vote-box .msg.error button.retry")
    carol.wait_for_selector("#vote-box button[data-choice='abstain'][aria-pressed='true']")
    assert carol.is_visible("#vote-done a")
    assert not carol.is_visible("#vote-box .msg.error")


def test_landing_for_a_visitor(world: dict[str, Any], browser: Any, base: str) -> None:
    """What this is and that joining needs an invitation, in one screen;
    Join in the menu; member-only items hidden until there is a key."""
    for viewport in (PHONE, DESKTOP):
        page = new_page(browser, base, viewport=viewport)
        goto(page, "")
        box = page.locator("#how-to-join").bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"], "the invitation notice is below the fold"
        assert "invitation" in page.inner_text("#how-to-join")
        menu = page.locator("header nav a").all_inner_texts()
        assert "Join" in menu and "Delegations" not in menu and "Receipts" not in menu and "Deputy" not in menu
        page.context.close()
    alice_menu = world["alice"].locator("header nav a").all_inner_texts()
    assert "Delegations" in alice_menu and "Join" not in alice_menu


def test_live_updates_reconnect_by_themselves(browser: Any, tmp_path: Path) -> None:
    """The server goes away: the page says live updates are paused, and
    reconnects (with backoff) when the server is back."""
    from tests import processes

    data = tmp_path / "data"
    url, proc = processes.start_server(data, log=tmp_path / "server.log")
    port = int(url.rsplit(":", 1)[1])
    page = new_page(browser, url)
    try:
        goto(page, "")
        page.wait_for_function("() => document.body.dataset.live === 'on'")
        assert not page.is_visible("#live-status")
        processes.stop_server(proc)
        page.wait_for_selector("#live-status", state="visible", timeout=15_000)
        assert "paused" in page.inner_text("#live-status")
        url, proc = processes.start_server(data, port=port, log=tmp_path / "server.log")
        page.wait_for_function("() => document.body.dataset.live === 'on'", timeout=40_000)
        assert not page.is_visible("#live-status")
    finally:
        processes.stop_server(proc)
        page.context.close()


def test_cli_key_imported_signs_as_organizer(browser: Any, tmp_path: Path) -> None:
    """An organizer founds the assembly from the command line, imports the
    CLI's key file into the browser (protected at once by a passphrase: its
    encrypted backup is downloaded) and publishes a topic from the organizer
    pages; a second key in the same browser is switched to and back."""
    from client.cli import main as cli

    with running_server(tmp_path / "srv") as url:
        key_file = tmp_path / "founder.key"
        assert cli(["key", "new", str(key_file)]) == 0
        assert (
            cli(["--server", url, "--receipts", str(tmp_path / "r"), "found", "--key", str(key_file), "--name", "CLI"])
            == 0
        )
        founder = key_file.read_text().split("# public key ")[1].split()[0]
        page = new_page(browser, url, tmp=tmp_path)
        create_key(page)  # a member key of this browser, before the organizer's
        goto(page, "key")
        page.set_input_files("#import-form [name=file]", str(key_file))
        page.fill("#import-form [name=pass1]", "organizer passphrase")
        page.fill("#import-form [name=pass2]", "organizer passphrase")
        with page.expect_download() as dl:
            page.click("#import-form button[type=submit]")
        backup = json.loads(Path(dl.value.path()).read_text())
        assert backup["format"] == "liquid-mandate-key-backup" and "ciphertext" in backup
        page.wait_for_function("k => document.querySelector('#my-key')?.textContent === k", arg=founder)
        pub = founder
        assert backup["public_key"] == founder
        assert page.get_attribute("#my-keys li.in-use", "data-key") == founder
        assert page.locator("#my-keys li").count() == 2
        add_topic(page, "budget", "Budget")
        assert [t["title"] for t in api(url, "/api/topics")["topics"]] == ["Budget"]
        # Two keys: the list on the key page and the switch in the header pass axe too.
        goto(page, "key")
        assert axe_violations(page) == []
        shot(page, "80-two-keys")
        # The switch in the header: to the member key and back.
        other = page.locator("#key-switch option:not(:checked)").get_attribute("value")
        page.select_option("#key-switch", other)
        page.wait_for_function("k => document.querySelector('#key-switch').value === k", arg=other)
        goto(page, "org")
        assert "not one" in page.inner_text("main")
        page.select_option("#key-switch", pub)
        page.wait_for_function("k => document.querySelector('#key-switch').value === k", arg=pub)
        goto(page, "org/topics")
        page.wait_for_selector("#topic-tree [data-topic='budget']")
        assert not page.errors, page.errors
        page.context.close()


def test_a_cli_backup_restores_in_the_browser(
    browser: Any, base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`liquid-mandate key backup` writes the browser's format: the web UI
    restores it with its passphrase, and refuses a wrong one."""
    from client.cli import main as cli

    monkeypatch.setenv("LIQUID_MANDATE_PASSPHRASE", "a passphrase from the shell")
    plain, enc = tmp_path / "k.key", tmp_path / "k.json"
    assert cli(["key", "new", str(plain)]) == 0
    assert cli(["key", "backup", str(plain), "--out", str(enc)]) == 0
    pub = json.loads(enc.read_text())["public_key"]
    page = new_page(browser, base)
    goto(page, "key")
    page.set_input_files("#restore-form [name=file]", str(enc))
    page.fill("#restore-form [name=pass]", "not it at all")
    page.click("#restore-form button[type=submit]")
    page.wait_for_selector("#restore-form .msg.error")
    page.fill("#restore-form [name=pass]", "a passphrase from the shell")
    page.click("#restore-form button[type=submit]")
    page.wait_for_function("() => document.body.dataset.ready === 'home'")
    goto(page, "key")
    assert page.inner_text("#my-key").strip() == pub
    assert all("wrong_passphrase" in e for e in page.errors), page.errors  # the refusal, logged
    page.context.close()
