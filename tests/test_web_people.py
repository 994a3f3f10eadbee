"""The people pages of issue 14 in Debian's Chromium, in English and French,
at desktop and phone size: a member page lists that member's public votes
and delegations; the delegate picker finds a member by part of their name;
"what my delegates did" shows a delegate's vote with the time left, and
the member's Atom feed (feedparser) lists the same vote; the hemicycle's
seats have accessible names; the organizer expels a member after a
confirmation that says it cannot be undone; axe-core finds nothing.

The assembly is small and built fast: statements signed in Python and
posted over HTTP (the real server, the real append path), with only the
two people who act in the browser (an organizer named in the genesis, and
dora, who joins through the page) holding keys there."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest

from ballots.statements import format_time
from client.author import Author, code_hash, genesis, new_code
from client.http import Client
from tests.browser import (
    DESKTOP,
    PHONE,
    api,
    axe_violations,
    create_key,
    enroll,
    goto,
    new_page,
    no_missing_strings,
    running_server,
    shot,
)

pytestmark = pytest.mark.browser


def when(seconds: float) -> str:
    return format_time(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds))


@pytest.fixture(scope="module")
def world(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """alice votes yes on `rent` (open an hour) and on `quick` (closes in a
    few seconds, alice and bob its deputies); bob delegates everything to
    alice; carol votes no; erin delegates the topic `city` to carol; dora
    joins in the browser and delegates to alice through the picker; `org`
    holds an organizer key in the browser."""
    with running_server(tmp_path_factory.mktemp("people")) as base:
        http = Client(base)
        org = new_page(browser, base)
        org_key = create_key(org)
        founder = Author()
        http.post_statement(genesis(founder, server=http.server()["server_key"], organizers=[founder.public, org_key]))
        aid = http.assembly()

        def post(author: Author, kind: str, **fields: Any) -> dict[str, Any]:
            return http.post_statement(author.sign(kind, aid, **fields))

        people: dict[str, Author] = {}
        for name in ("alice", "bob", "carol", "erin"):
            code = new_code()
            post(founder, "invite", code_hash=code_hash(code), note=f"for {name}")
            people[name] = Author()
            post(people[name], "enroll", code=code, name=name)
        dora_code = new_code()
        post(founder, "invite", code_hash=code_hash(dora_code), note="for dora")
        post(founder, "invite", code_hash=code_hash(new_code()), note="spare")
        post(founder, "topic", id="city", title="City", description="", parent=None)
        a, b, c = people["alice"], people["bob"], people["carol"]
        post(founder, "deputies", roster=[a.public, b.public])
        for mid, title, closes in (("rent", "Rent cap", 3600), ("quick", "Quick vote", 6)):
            post(
                founder,
                "motion",
                id=mid,
                topic="city",
                title=title,
                summary=f"{title}.",
                url="",
                opens=when(-2),
                closes=when(closes),
                quorum=None,
            )
        post(a, "ballot", motion="rent", choice="yes")
        post(a, "ballot", motion="quick", choice="yes")
        post(c, "ballot", motion="rent", choice="no")
        post(b, "delegate", scope="*", to=a.public)
        post(people["erin"], "delegate", scope="topic:city", to=c.public)
        dora = new_page(browser, base)
        keys = {n: p.public for n, p in people.items()}
        keys["dora"] = enroll(dora, dora_code, "dora")
        keys["org"] = org_key
        for _ in range(100):  # `quick` closes a few seconds after it was published
            if api(base, "/api/motions/quick")["result"]:
                break
            time.sleep(0.2)
        yield {"base": base, "org": org, "dora": dora, "keys": keys, "http": http}


def test_picker_finds_a_delegate_by_part_of_the_name(world: dict[str, Any]) -> None:
    dora, keys = world["dora"], world["keys"]
    goto(dora, "delegations")
    dora.select_option("#delegate-form [name=scope]", "*")
    dora.fill("#pick-to-q", "LIC")
    dora.wait_for_selector("#pick-to-list[data-q='LIC']")
    rows = dora.locator("#pick-to-list .pick-row:not([data-key='self'])")
    assert rows.count() == 1  # only alice matches "lic"
    text = rows.first.inner_text()
    assert "carries 2 votes" in text and "Rent cap: Yes" in text  # her weight (bob's vote) and latest votes
    shot(dora, "people/10-picker-search")
    dora.fill("#pick-to-q", "")
    dora.wait_for_selector("#pick-to-list[data-q='']")
    order = dora.eval_on_selector_all("#pick-to-list .pick-row", "rs => rs.map((r) => r.dataset.key)")
    assert order[0] == "self" and order[1] == keys["alice"]  # heaviest first
    assert keys["dora"] not in order
    dora.check(f"#pick-to-list input[value='{keys['alice']}']")
    dora.click("#delegate-form button[type=submit]")
    dora.wait_for_selector("#my-delegations >> text=alice")
    assert not dora.errors, dora.errors


def test_picker_shows_the_weight_in_the_scope_being_chosen(world: dict[str, Any]) -> None:
    """carol carries only her own vote under `*`, and erin's too for the
    topic `city` and its bill `rent`: the picker says so for the scope
    selected, and follows when it changes."""
    dora, keys = world["dora"], world["keys"]
    goto(dora, "delegations")
    row = f"#pick-to-list .pick-row[data-key='{keys['carol']}']"
    shows = "([s, n]) => (document.querySelector(s)?.innerText || '').includes(n)"
    dora.select_option("#delegate-form [name=scope]", "*")
    dora.fill("#pick-to-q", "carol")
    dora.wait_for_selector("#pick-to-list[data-q='carol']")
    dora.wait_for_function(shows, arg=[row, "carries 1 vote"])
    for scope in ("topic:city", "motion:rent"):
        dora.select_option("#delegate-form [name=scope]", scope)
        dora.wait_for_function(shows, arg=[row, "carries 2 votes"])
    dora.select_option("#delegate-form [name=scope]", "*")
    dora.wait_for_function(shows, arg=[row, "carries 1 vote"])
    assert not dora.errors, dora.errors


def test_what_my_delegates_did_on_home_and_in_the_feed(world: dict[str, Any]) -> None:
    dora, keys, base = world["dora"], world["keys"], world["base"]
    goto(dora, "")
    item = dora.locator("#delegates-did li[data-motion='rent']")
    item.wait_for()
    text = item.inner_text()
    assert "alice" in text and "Yes" in text
    assert re.search(r"closes in \d+\s(min|h)", text), text  # the time left to override
    shot(dora, "people/20-home-delegates-did")
    feed_url = dora.get_attribute("#my-feed", "href")
    assert feed_url == f"/api/members/{keys['dora']}/feed.atom"
    with urllib.request.urlopen(base + feed_url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("application/atom+xml")
        f = feedparser.parse(r.read())
    assert not f.bozo, f.bozo_exception
    assert f.feed.id and f.feed.title and f.feed.updated
    (e,) = f.entries
    assert e.id and e.title and e.updated and e.link == f"{base}/#/bill/rent"
    assert "Rent cap" in e.title and "yes" in e.title and "alice" in e.title


def test_member_page_lists_votes_and_delegations(world: dict[str, Any]) -> None:
    dora, keys = world["dora"], world["keys"]
    goto(dora, f"member/{keys['alice']}")
    assert dora.inner_text("h1") == "alice"
    votes = dict(
        zip(
            dora.eval_on_selector_all("#member-votes tbody tr", "rs => rs.map((r) => r.dataset.motion)"),
            dora.eval_on_selector_all("#member-votes tbody tr", "rs => rs.map((r) => r.dataset.choice)"),
            strict=True,
        )
    )
    assert votes == {"rent": "yes", "quick": "yes"}
    by = dora.eval_on_selector_all("#member-delegated-by li", "ls => ls.map((l) => l.dataset.key)")
    assert sorted(by) == sorted([keys["bob"], keys["dora"]])
    assert dora.get_attribute("#member-carries tr[data-motion='rent']", "data-weight") == "3"
    fp = dora.inner_text("#member-fingerprint")
    assert re.fullmatch(r"[0-9a-f]{4}( [0-9a-f]{4}){7}", fp)
    shot(dora, "people/30-member-alice")
    goto(dora, f"member/{keys['bob']}")
    row = dora.locator("#member-delegations tr[data-scope='*']")
    assert "alice" in row.inner_text()
    dora.click(f"#member-delegations a[data-key='{keys['alice']}']")
    dora.wait_for_function(
        "k => location.hash === `#/member/${k}` && document.querySelector('main h1')?.textContent === 'alice'",
        arg=keys["alice"],
    )


def test_hemicycle_seats_are_named(world: dict[str, Any]) -> None:
    dora = world["dora"]
    goto(dora, "bill/quick")
    dora.wait_for_selector("#hemicycle .seat")
    names = dora.eval_on_selector_all("#hemicycle .seat", "cs => cs.map((c) => c.getAttribute('aria-label'))")
    assert sorted(names) == ["alice: Yes", "bob: Yes"]
    dora.focus("#hemicycle .seat >> nth=0")
    assert dora.inner_text("#seat-focus") in names
    assert dora.locator("#hemi-table tbody tr").count() == 2
    shot(dora, "people/40-hemicycle")


def test_deputies_page_links_the_roster(world: dict[str, Any]) -> None:
    dora, keys = world["dora"], world["keys"]
    goto(dora, "deputies")
    assert set(dora.eval_on_selector_all("#deputies tbody tr", "rs => rs.map((r) => r.dataset.key)")) == {
        keys["alice"],
        keys["bob"],
    }
    assert dora.get_attribute(f"#deputies tr[data-key='{keys['alice']}'] a.member-link", "href") == (
        f"#/member/{keys['alice']}"
    )


def test_graph_shows_concentration_figures(world: dict[str, Any]) -> None:
    dora, base = world["dora"], world["base"]
    goto(dora, "graph")
    figures = api(base, "/api/graph/summary?scope=*")["figures"]
    assert dora.get_attribute("#fig-largest", "data-value") == str(figures["largest"]) == "3"
    assert dora.get_attribute("#fig-half", "data-value") == "1"
    assert dora.locator(f"#largest-trees li[data-key='{world['keys']['alice']}']").count() == 1


def switch_lang(page: Any, lang: str) -> None:
    if page.evaluate("document.documentElement.lang") != lang:
        page.click("#lang-switch")
        page.wait_for_function(
            "l => document.documentElement.lang === l && !document.getElementById('main').hasAttribute('aria-busy')",
            arg=lang,
        )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_new_pages_pass_axe_in_both_languages_and_sizes(world: dict[str, Any], lang: str) -> None:
    keys = world["keys"]
    routes = {
        "dora": ["", f"member/{keys['alice']}", "delegations", "deputies", "graph", "bill/quick"],
        "org": ["", "org/members", "org/invites", "org/roster"],
    }
    problems = []
    for who, pages in routes.items():
        page = world[who]
        try:
            for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(size)
                for route in pages:
                    goto(page, route)
                    switch_lang(page, lang)
                    no_missing_strings(page)
                    problems += [
                        f"{lang} {size_name} #/{route}: {v['id']} {v['help']} {v['nodes']}"
                        for v in axe_violations(page)
                    ]
                    slug = re.sub(r"[^a-z0-9]+", "-", route[:20]).strip("-") or "home"
                    shot(page, f"people/{lang}-{size_name}-{who}-{slug}")
        finally:
            page.set_viewport_size(DESKTOP)
            switch_lang(page, "en")
    assert problems == [], "\n".join(problems)


def test_organizer_home_and_invitations(world: dict[str, Any]) -> None:
    org = world["org"]
    goto(org, "")
    assert "Organizing" in org.inner_text("h1")
    assert "redeem" not in org.inner_text("main").lower()
    assert "5 used, 1 unused" in org.inner_text("#org-invites")
    goto(org, "org/invites")
    assert org.get_attribute("#invite-counts", "data-unused") == "1"
    assert org.locator("#invite-list tr[data-used='false']").inner_text().count("spare") == 1


@pytest.mark.parametrize(("lang", "size"), [("fr", PHONE), ("en", DESKTOP)], ids=["fr-phone", "en-desktop"])
def test_a_bill_asks_for_confirmation_first(world: dict[str, Any], lang: str, size: dict[str, int]) -> None:
    org, base = world["org"], world["base"]
    org.set_viewport_size(size)
    try:
        goto(org, "org/bills")
        switch_lang(org, lang)
        bill = f"later-{lang}"
        org.fill("#bill-form [name=id_]", bill)
        org.fill("#bill-form [name=title]", "Later")
        org.fill("#bill-form [name=summary]", "Later.")
        org.click("#bill-form button[type=submit]")
        org.wait_for_selector("#confirm-dialog[open]")
        said = org.inner_text("#confirm-dialog")
        assert ("impossible de revenir en arrière" in said) if lang == "fr" else ("cannot be undone" in said)
        assert axe_violations(org) == []
        shot(org, f"people/50-confirm-bill-{lang}")
        org.click("#confirm-no")  # cancelled: nothing published
        org.wait_for_selector("#confirm-dialog", state="detached")
        assert all(m["id"] != bill for m in api(base, "/api/motions")["motions"])
        org.click("#bill-form button[type=submit]")
        org.click("#confirm-yes")
        org.wait_for_function("() => document.body.dataset.ready === 'bill'")
        assert any(m["id"] == bill for m in api(base, "/api/motions")["motions"])
    finally:
        org.set_viewport_size(DESKTOP)
        switch_lang(org, "en")


def test_organizer_expels_a_member_after_a_confirmation(world: dict[str, Any]) -> None:
    org, keys, base = world["org"], world["keys"], world["base"]
    goto(org, "org/members")
    org.fill("#pick-member-q", "caro")
    org.wait_for_selector("#pick-member-list[data-q='caro']")
    org.check(f"#pick-member-list input[value='{keys['carol']}']")
    org.click("#expel-form button[type=submit]")  # no reason yet: refused in words, nothing sent
    org.wait_for_selector("#expel-form .msg.error")
    assert "reason" in org.inner_text("#expel-form .msg.error")
    org.fill("#expel-form [name=reason]", "Left the collective")
    org.click("#expel-form button[type=submit]")
    org.wait_for_selector("#confirm-dialog[open]")
    assert "cannot be undone" in org.inner_text("#confirm-dialog")
    assert "Left the collective" in org.inner_text("#confirm-text")
    shot(org, "people/60-confirm-expel")
    assert api(base, f"/api/members/{keys['carol']}")["active"] is True  # not before the confirmation
    org.click("#confirm-yes")
    org.wait_for_selector("#expel-form .done-note")
    assert api(base, f"/api/members/{keys['carol']}")["active"] is False
    entries = api(base, f"/api/members/{keys['org']}/entries")["entries"]
    assert entries[-1]["entry"]["statement"]["reason"] == "Left the collective"
    goto(org, f"member/{keys['carol']}")
    assert "expelled" in org.inner_text("#member-roles")
    assert [e for e in org.errors if "Give a reason" not in e] == []  # the refusal above is logged, nothing else


def test_the_flows_in_french_on_a_phone(world: dict[str, Any], browser: Any) -> None:
    """The same flows at phone size in French: the picker finds a member by
    part of a name, home says what the delegate did and the time left, the
    member page lists votes and delegations, seats are named, and the
    organizer expels erin after the confirmation."""
    dora, org, keys, base = world["dora"], world["org"], world["keys"], world["base"]
    for page in (dora, org):
        page.set_viewport_size(PHONE)
    try:
        goto(dora, "delegations")
        switch_lang(dora, "fr")
        dora.fill("#pick-to-q", "aLi")
        dora.wait_for_selector("#pick-to-list[data-q='aLi']")
        rows = dora.locator("#pick-to-list .pick-row:not([data-key='self'])")
        text = " ".join(rows.first.inner_text().split())  # spaces, no-break or not, as one
        assert rows.count() == 1 and "porte 3 voix" in text and "Rent cap\u202f: Pour" in rows.first.inner_text()
        goto(dora, "")
        did = dora.inner_text("#delegates-did li[data-motion='rent']")
        assert "Pour" in did and "alice" in did and re.search(r"clôture dans \d+\s(min|h)", did), did
        goto(dora, f"member/{keys['alice']}")
        assert dora.locator("#member-votes tr[data-motion='rent'][data-choice='yes']").count() == 1
        assert "Votes publics" in dora.inner_text("#member-votes caption")
        goto(dora, f"member/{keys['bob']}")
        assert "alice" in dora.inner_text("#member-delegations tr[data-scope='*']")
        goto(dora, "bill/quick")
        names = dora.eval_on_selector_all("#hemicycle .seat", "cs => cs.map((c) => c.getAttribute('aria-label'))")
        assert sorted(names) == ["alice\u202f: Pour", "bob\u202f: Pour"]
        shot(dora, "people/70-fr-phone-hemicycle")
        goto(org, "org/members")
        switch_lang(org, "fr")
        org.fill("#pick-member-q", "eri")
        org.wait_for_selector("#pick-member-list[data-q='eri']")
        org.check(f"#pick-member-list input[value='{keys['erin']}']")
        org.fill("#expel-form [name=reason]", "Départ")
        org.click("#expel-form button[type=submit]")
        org.wait_for_selector("#confirm-dialog[open]")
        assert "impossible de revenir en arrière" in org.inner_text("#confirm-dialog")
        assert axe_violations(org) == []
        shot(org, "people/71-fr-phone-confirm-expel")
        org.click("#confirm-yes")
        org.wait_for_selector("#expel-form .done-note")
        assert api(base, f"/api/members/{keys['erin']}")["active"] is False
    finally:
        for page in (dora, org):
            page.set_viewport_size(DESKTOP)
            switch_lang(page, "en")
