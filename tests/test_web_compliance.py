"""Deputies' votes on record in the browser (issue 15): after a bill closes, a
deputy reports what they voted from their page, one deviating with a note;
the public compliance table shows agreement and the deviation; a draw goes
from certification to the roster. Both flows run in English and in French
(each language on its own closed bill and its own draw, in one assembly),
and the compliance pages pass axe-core at phone and desktop size."""

from __future__ import annotations

import json
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
    invite,
    new_page,
    no_missing_strings,
    record_requests,
    running_server,
    shot,
    vote,
    whole_member_list,
)

pytestmark = pytest.mark.browser

# The UI's own string tables, so the French flow checks the French text the
# page should show without the test spelling either language out.
STRINGS = {
    lang: json.loads((Path(__file__).parent.parent / "web" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("en", "fr")
}
# Each language's flow reports on its own closed bill, so neither depends on the other having run.
BILL = {"en": "quick", "fr": "vite"}


def use_lang(page: Any, lang: str) -> None:
    """Switches the page to `lang` with the header's switch (remembered by
    the page, so later views keep it) unless it already shows that language."""
    if page.evaluate("document.documentElement.lang") != lang:
        page.click("#lang-switch")
        # The switch renders the view again: wait until it is done, or a
        # button of the old rendering could still be on the page.
        page.wait_for_function(
            "l => document.documentElement.lang === l && !document.getElementById('main').hasAttribute('aria-busy')",
            arg=lang,
        )


def in_lang(page: Any, lang: str) -> None:
    """The page is rendered in `lang` and no string is missing from its table."""
    assert page.evaluate("document.documentElement.lang") == lang
    no_missing_strings(page)


@pytest.fixture(scope="module")
def world(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two deputies (alice, bob) and a voter (carol); two bills (one per
    language's flow) closed with both deputies told yes. The draw tests, last
    in this file, use the same members and replace the roster."""
    with running_server(tmp_path_factory.mktemp("server")) as base:
        org = new_page(browser, base)
        create_key(org)
        found(org, "Assemblée")
        add_topic(org, "city", "City")
        codes = invite(org, 3)
        pages = {n: new_page(browser, base) for n in ("alice", "bob", "carol")}
        keys = {n: enroll(p, c, n) for (n, p), c in zip(pages.items(), codes)}
        goto(org, "org/roster")
        org.check(f"#roster-form input[value='{keys['alice']}']")
        org.check(f"#roster-form input[value='{keys['bob']}']")
        org.click("#roster-form button[type=submit]")
        confirm(org)
        org.wait_for_selector("#roster-count[data-n='2']")
        add_bill(org, "quick", "city", "Quick vote", closes_in=5)
        add_bill(org, "vite", "city", "Vote rapide", closes_in=5)
        for bill in BILL.values():
            vote(pages["carol"], bill, "yes")
        for bill in BILL.values():
            goto(pages["alice"], f"bill/{bill}")
            pages["alice"].wait_for_selector("#hemicycle", timeout=20_000)
        yield {"base": base, "org": org, "keys": keys, **pages}


def report(page: Any, bill: str, lang: str, voted: str, note: str = "") -> None:
    goto(page, "deputy")
    in_lang(page, lang)
    form = f"#instructions tr[data-motion='{bill}'] form.report-form"
    page.click(f"#instructions tr[data-motion='{bill}'] details.report summary")
    page.select_option(f"{form} [name=voted]", voted)
    if note:
        page.fill(f"{form} [name=note]", note)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .msg.ok a")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_deputies_report_and_the_table_shows_agreement_and_deviation(world: dict[str, Any], lang: str) -> None:
    alice, bob, keys, base = world["alice"], world["bob"], world["keys"], world["base"]
    bill, text = BILL[lang], STRINGS[lang]
    seen = record_requests(alice)
    for page in (alice, bob):
        goto(page, "deputy")
        use_lang(page, lang)
    told = {r["deputy"]: r["instruction"] for r in api(base, f"/api/compliance?motion={bill}")["rows"]}
    assert told == {keys["alice"]: "yes", keys["bob"]: "yes"}
    report(alice, bill, lang, "yes")
    shot(alice, f"compliance/10-deputy-reported-{lang}")
    report(bob, bill, lang, "no", note="Ma conscience")
    goto(alice, "compliance")
    in_lang(alice, lang)
    assert alice.inner_text("h1").strip() == text["compliance.title"]
    rows = alice.locator("#compliance tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-deputy") == keys["bob"]  # most deviations first
    assert "deviation" in (rows.nth(0).get_attribute("class") or "")
    # Each deputy's counts as the server computes them (they grow as each
    # language's flow reports), and the facts this flow made: alice agrees, bob deviates.
    summary = {d["deputy"]: d for d in api(base, "/api/compliance")["deputies"]}
    assert summary[keys["alice"]]["deviates"] == 0 and summary[keys["alice"]]["agrees"] >= 1
    assert summary[keys["bob"]]["deviates"] >= 1 and summary[keys["bob"]]["agrees"] == 0
    for name in ("alice", "bob"):
        d = summary[keys[name]]
        cells = alice.locator(f"#compliance tr[data-deputy='{keys[name]}'] td").all_inner_texts()
        assert cells[1:4] == [str(d["agrees"]), str(d["deviates"]), str(d["unknown"])], (name, cells, d)
        assert cells[0].startswith(str(100 * d["agrees"] // d["instructed"])), (name, cells, d)
    shot(alice, f"compliance/11-table-{lang}")
    goto(alice, f"compliance/deputy/{keys['bob']}")
    in_lang(alice, lang)
    row = alice.locator(f"#compliance-rows tr[data-motion='{bill}']")
    assert row.get_attribute("data-status") == "deviates"
    assert "Ma conscience" in row.inner_text()
    assert text["compliance.deviates"] in row.inner_text()
    goto(alice, f"bill/{bill}")
    alice.click("#how-deputies-voted")
    alice.wait_for_selector("#compliance-rows")
    in_lang(alice, lang)
    agrees = alice.locator("#compliance-rows tr[data-status='agrees']")
    deviates = alice.locator("#compliance-rows tr[data-status='deviates']")
    assert agrees.count() == 1 and agrees.get_attribute("data-deputy") == keys["alice"]
    assert deviates.count() == 1 and deviates.get_attribute("data-deputy") == keys["bob"]
    assert text["compliance.agrees"] in agrees.inner_text()
    # The instructions and compliance pages named the deputies without
    # downloading the member list: only the names shown, by key.
    assert whole_member_list(seen) == []
    goto(alice, "compliance")
    assert alice.inner_text(f"#compliance tr[data-deputy='{keys['bob']}'] th").startswith("bob ")
    assert not alice.errors, alice.errors
    assert not bob.errors, bob.errors


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_compliance_pages_in_both_languages_pass_axe(world: dict[str, Any], browser: Any, lang: str) -> None:
    page = new_page(browser, world["base"], locale="fr-FR" if lang == "fr" else "en-US")
    seen = record_requests(page)
    bob = world["keys"]["bob"]
    problems = []
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for route in ("compliance", f"compliance/deputy/{bob}", "compliance/motion/quick"):
            goto(page, route)
            if page.evaluate("document.documentElement.lang") != lang:
                page.click("#lang-switch")
                page.wait_for_function("l => document.documentElement.lang === l", arg=lang)
                goto(page, route)
            no_missing_strings(page)
            if route == "compliance":
                title = page.inner_text("h1")
                assert ("Les députés" in title) if lang == "fr" else ("Did the deputies" in title)
            shot(page, f"compliance/{lang}-{size_name}-{route.split('/')[0]}-{route.count('/')}")
            problems += [f"{route} {size_name}: {v['id']} {v['help']}" for v in axe_violations(page)]
    assert problems == [], "\n".join(problems)
    # A fresh page named the deputies by key, a batch at a time, and never
    # downloaded the member list.
    assert whole_member_list(seen) == []
    assert any("/api/members?keys=" in u and bob in u for u in seen)
    assert page.inner_text(f"#compliance-rows tr[data-deputy='{bob}'] th").startswith("bob ")


# The member who withdraws in each language's draw: a different one each
# time, so each draw chooses a roster the assembly did not have before.
WITHDRAWS = {"en": "bob", "fr": "alice"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_draw_from_certification_to_roster(world: dict[str, Any], lang: str) -> None:
    """Issue 15: an organizer announces a draw and certifies members before it
    opens, members volunteer (one withdraws), the server draws at closes, the
    page shows the chosen and the seed, and the organizer makes them the
    roster after a confirmation; every page in `lang`. Runs after the
    compliance tests (it replaces the world's roster)."""
    base, org, keys, text = world["base"], world["org"], world["keys"], STRINGS[lang]
    names = ("alice", "bob", "carol")
    people = {n: world[n] for n in names}
    draw_id = f"d-{lang}"
    seen = record_requests(org)
    goto(org, "draws")
    use_lang(org, lang)
    in_lang(org, lang)
    org.fill("#draw-form [name=id_]", draw_id)
    org.fill("#draw-form [name=title]", f"Candidate deputies ({lang})")
    org.fill("#draw-form [name=seats]", "2")
    org.eval_on_selector(
        "#draw-form",
        """f => {
        const p = (n) => String(n).padStart(2, '0');
        const loc = (d) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
        f.opens.value = loc(new Date(Date.now() + 12000));
        f.closes.value = loc(new Date(Date.now() + 30000));
    }""",
    )
    org.check("#draw-form [name=certified]")
    org.click("#draw-form button[type=submit]")
    # Permanent: the page's own dialog says so, in the page's language, first.
    org.wait_for_selector("#confirm-dialog[open]")
    assert text["confirm.permanent"] in org.inner_text("#confirm-dialog")
    assert f"Candidate deputies ({lang})" in org.inner_text("#confirm-text")
    org.click("#confirm-yes")
    org.wait_for_function("() => document.body.dataset.ready === 'draw'")
    goto(org, f"draw/{draw_id}")
    # Certified from a search (no list of every member), all three at once, after a confirmation.
    org.wait_for_selector("#pick-certify-list .pick-row")
    for name in names:
        org.check(f"#pick-certify-list input[value='{keys[name]}']")
    org.click("#certify")
    org.wait_for_selector("#confirm-dialog[open]")
    assert text["confirm.permanent"] in org.inner_text("#confirm-dialog")
    assert all(name in org.inner_text("#confirm-text") for name in names)
    org.click("#confirm-yes")
    for name in names:
        org.wait_for_selector(f"#draw-people tr[data-key='{keys[name]}']")
    in_lang(org, lang)
    shot(org, f"draws/20-certified-{lang}")
    for name in names:
        page = people[name]
        goto(page, f"draw/{draw_id}")
        use_lang(page, lang)
        page.wait_for_selector("#volunteer", timeout=20_000)
        assert page.inner_text("#volunteer").strip() == text["draws.volunteer"]
        page.click("#volunteer")
        page.wait_for_selector(f"#draw-people tr[data-key='{keys[name]}'][data-in-pool='true']")
        in_lang(page, lang)
    quitter = people[WITHDRAWS[lang]]
    assert quitter.inner_text("#volunteer").strip() == text["draws.withdraw"]
    quitter.click("#volunteer")
    quitter.wait_for_selector(f"#draw-people tr[data-key='{keys[WITHDRAWS[lang]]}'][data-in-pool='false']")
    shot(people["carol"], f"draws/21-open-{lang}")
    goto(org, f"draw/{draw_id}")
    org.wait_for_selector("#drawn", timeout=30_000)
    in_lang(org, lang)
    assert org.inner_text("#drawn h2").strip() == text["draws.chosen_title"]
    chosen = [c.get_attribute("data-key") for c in org.locator("#chosen li").all()]
    detail = api(base, f"/api/draws/{draw_id}")
    stayed = sorted(keys[n] for n in names if n != WITHDRAWS[lang])
    assert sorted(chosen) == stayed and chosen == detail["drawn"]["chosen"]
    assert org.inner_text("#draw-seed").strip() == detail["drawn"]["seed"]
    assert api(base, "/api/deputies")["roster"] != chosen
    assert axe_violations(org) == []
    shot(org, f"draws/22-drawn-{lang}")
    org.click("#make-roster")
    org.wait_for_selector("#confirm-dialog[open]")
    assert text["confirm.permanent"] in org.inner_text("#confirm-dialog")
    org.click("#confirm-no")  # cancelled: nothing is published
    org.wait_for_selector("#confirm-dialog", state="detached")
    assert api(base, "/api/deputies")["roster"] != chosen
    org.click("#make-roster")
    org.wait_for_selector("#confirm-dialog[open]")
    assert text["roster.confirm_title"] in org.inner_text("#confirm-title")
    org.click("#confirm-yes")
    for _ in range(40):
        if api(base, "/api/deputies")["roster"] == chosen:
            break
        org.wait_for_timeout(250)
    assert api(base, "/api/deputies")["roster"] == chosen
    goto(org, f"draw/{draw_id}")
    in_lang(org, lang)
    assert whole_member_list(seen) == []
    assert not org.errors, org.errors
