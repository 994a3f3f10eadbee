"""Deputies' votes on record in the browser (issue 15): after a bill closes, a
deputy reports what they voted from their page, one deviating with a note;
the public compliance table shows agreement and the deviation, in French and
English, at phone and desktop size, with no axe-core violation."""

from __future__ import annotations

from collections.abc import Iterator
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
    launch,
    new_page,
    no_missing_strings,
    require_browser,
    running_server,
    shot,
    vote,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def world(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two deputies (alice, bob) and a voter (carol); a bill closed with both
    deputies told yes."""
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
        vote(pages["carol"], "quick", "yes")
        goto(pages["alice"], "bill/quick")
        pages["alice"].wait_for_selector("#hemicycle", timeout=20_000)
        yield {"base": base, "org": org, "keys": keys, **pages}


def report(page: Any, voted: str, note: str = "") -> None:
    goto(page, "deputy")
    form = "#instructions tr[data-motion='quick'] form.report-form"
    page.click("#instructions tr[data-motion='quick'] details.report summary")
    page.select_option(f"{form} [name=voted]", voted)
    if note:
        page.fill(f"{form} [name=note]", note)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .msg.ok a")


def test_deputies_report_and_the_table_shows_agreement_and_deviation(world: dict[str, Any]) -> None:
    alice, bob, keys, base = world["alice"], world["bob"], world["keys"], world["base"]
    told = {r["deputy"]: r["instruction"] for r in api(base, "/api/compliance?motion=quick")["rows"]}
    assert told == {keys["alice"]: "yes", keys["bob"]: "yes"}
    report(alice, "yes")
    shot(alice, "compliance/10-deputy-reported")
    report(bob, "no", note="Ma conscience")
    goto(alice, "compliance")
    no_missing_strings(alice)
    rows = alice.locator("#compliance tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-deputy") == keys["bob"]  # most deviations first
    assert "deviation" in (rows.nth(0).get_attribute("class") or "")
    assert "100" in alice.inner_text(f"#compliance tr[data-deputy='{keys['alice']}']")
    shot(alice, "compliance/11-table")
    goto(alice, f"compliance/deputy/{keys['bob']}")
    row = alice.locator("#compliance-rows tr[data-motion='quick']")
    assert row.get_attribute("data-status") == "deviates"
    assert "Ma conscience" in row.inner_text()
    goto(alice, "bill/quick")
    alice.click("#how-deputies-voted")
    alice.wait_for_selector("#compliance-rows")
    assert alice.locator("#compliance-rows tr[data-status='agrees']").count() == 1
    assert alice.locator("#compliance-rows tr[data-status='deviates']").count() == 1
    assert not alice.errors, alice.errors


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_compliance_pages_in_both_languages_pass_axe(world: dict[str, Any], browser: Any, lang: str) -> None:
    page = new_page(browser, world["base"], locale="fr-FR" if lang == "fr" else "en-US")
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


def test_a_draw_from_certification_to_roster(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue 15: an organizer announces a draw and certifies members before it
    opens, members volunteer (one withdraws), the server draws at closes, the
    page shows the chosen and the seed, and the organizer makes them the
    roster after a confirmation; in English, then the drawn page in French."""
    with running_server(tmp_path_factory.mktemp("draw-server")) as base:
        org = new_page(browser, base)
        create_key(org)
        found(org, "Assemblée")
        codes = invite(org, 3)
        people = {n: new_page(browser, base) for n in ("ana", "ben", "cy")}
        keys = {n: enroll(p, c, n) for (n, p), c in zip(people.items(), codes)}
        goto(org, "draws")
        org.fill("#draw-form [name=id_]", "d1")
        org.fill("#draw-form [name=title]", "Candidate deputies")
        org.fill("#draw-form [name=seats]", "2")
        org.eval_on_selector(
            "#draw-form",
            """f => {
            const p = (n) => String(n).padStart(2, '0');
            const loc = (d) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
            f.opens.value = loc(new Date(Date.now() + 8000));
            f.closes.value = loc(new Date(Date.now() + 18000));
        }""",
        )
        org.check("#draw-form [name=certified]")
        org.click("#draw-form button[type=submit]")
        org.wait_for_function("() => document.body.dataset.ready === 'draw'")
        goto(org, "draw/d1")
        for name in ("ana", "ben", "cy"):
            org.select_option("#certify-member", keys[name])
            org.click("#certify")
            org.wait_for_selector(f"#draw-people tr[data-key='{keys[name]}']")
        shot(org, "draws/20-certified")
        for name in ("ana", "ben", "cy"):
            page = people[name]
            goto(page, "draw/d1")
            page.wait_for_selector("#volunteer", timeout=20_000)
            page.click("#volunteer")
            page.wait_for_selector(f"#draw-people tr[data-key='{keys[name]}'][data-in-pool='true']")
        people["cy"].click("#volunteer")  # cy withdraws
        people["cy"].wait_for_selector(f"#draw-people tr[data-key='{keys['cy']}'][data-in-pool='false']")
        shot(people["ana"], "draws/21-open")
        goto(org, "draw/d1")
        org.wait_for_selector("#drawn", timeout=30_000)
        chosen = [c.get_attribute("data-key") for c in org.locator("#chosen li").all()]
        detail = api(base, "/api/draws/d1")
        assert sorted(chosen) == sorted([keys["ana"], keys["ben"]]) and chosen == detail["drawn"]["chosen"]
        assert org.inner_text("#draw-seed").strip() == detail["drawn"]["seed"]
        shot(org, "draws/22-drawn")
        org.click("#make-roster")
        org.wait_for_function("() => document.querySelector('#make-roster') !== null")
        for _ in range(40):
            if api(base, "/api/deputies")["roster"] == chosen:
                break
            org.wait_for_timeout(250)
        assert api(base, "/api/deputies")["roster"] == chosen
        fr = new_page(browser, base, locale="fr-FR")
        goto(fr, "draw/d1")
        if fr.evaluate("document.documentElement.lang") != "fr":
            fr.click("#lang-switch")
            fr.wait_for_function("() => document.documentElement.lang === 'fr'")
        assert "Tirés au sort" in fr.inner_text("#drawn")
        no_missing_strings(fr)
        assert axe_violations(fr) == []
        shot(fr, "draws/23-drawn-fr")
