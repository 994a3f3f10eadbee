"""Deliberation in the web UI, end to end in headless Chromium against a real
server, once in each language: argue for and against, reply, see the
strongest argument first with counts per stance and each text checked
against its hash (a text the server changed is caught), the delegate's mark
on the bill and on the delegations page, redact with a public reason,
propose, support until ready (10 % of the members), turn into a bill in one
step, and amend; axe-core finds nothing on those pages. The verifier then
finds the log and its texts valid."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

import verify_cli
from client.author import Author
from tests.browser import (
    add_bill,
    add_topic,
    api,
    axe_violations,
    create_key,
    enroll,
    found,
    goto,
    invite,
    new_page,
    no_missing_strings,
    running_server,
    shot,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
STRINGS = {
    lang: json.loads((ROOT / "web" / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "fr")
}


def post(base: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        base + "/api/statements", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def accessible(page: Any) -> None:
    """axe-core finds nothing on the page as it is (issue 13's bar, here for the debate's pages)."""
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in axe_violations(page)]
    assert found == [], f"{page.url}: {found}"


def argue(page: Any, text: str, stance: str) -> None:
    page.fill("#argue-form textarea", text)
    page.check(f"#argue-form input[name=stance][value={stance}]")
    page.click("#argue-form button[type=submit]")
    page.wait_for_selector(f"#debate li.comment[data-stance={stance}] .comment-text >> text={text}")


@pytest.mark.parametrize("locale", ["en-US", "fr-FR"])
def test_debate_propose_support_adopt_amend(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], locale: str
) -> None:
    lang = locale[:2]
    with running_server(tmp_path_factory.mktemp(f"debate-{lang}")) as base:
        org = new_page(browser, base, locale=locale)
        create_key(org)
        found(org, "Assemblée")
        add_topic(org, "city", "City")
        codes = invite(org, 11)
        add_bill(org, "rent-cap", "city", "Rent cap", closes_in=3600)
        alice, bob = new_page(browser, base, locale=locale), new_page(browser, base, locale=locale)
        keys = {"alice": enroll(alice, codes[0], "alice"), "bob": enroll(bob, codes[1], "bob")}
        assembly = api(base, "/api/server")["assembly"]
        for i, code in enumerate(codes[2:]):  # 11 members: a proposal needs 2 supporters
            post(base, Author().sign("enroll", assembly, code=code, name=f"m{i}"))

        # Alice delegates the city to bob: his arguments carry the mark on her page.
        goto(alice, "delegations")
        alice.select_option("#delegate-form [name=scope]", "topic:city")
        alice.check(f"#delegate-form input[name=to][value='{keys['bob']}']")
        alice.click("#delegate-form button[type=submit]")
        alice.wait_for_selector("#my-delegations >> text=bob")

        # Argue for and against, and reply.
        goto(alice, "bill/rent-cap")
        alice.wait_for_selector("#argue-form #argue-form-notice")  # what stays on the log, said before signing
        argue(alice, "Rents ate half of my pay.", "for")
        # Too long: the server's refusal is shown in the page's language, nothing is posted.
        seen = len(alice.errors)
        alice.fill("#argue-form textarea", "x" * 4001)
        alice.click("#argue-form button[type=submit]")
        alice.wait_for_selector("#argue-form .msg.error")
        assert alice.inner_text("#argue-form .msg.error").startswith(STRINGS[lang]["problem.bad_text_length"])
        assert alice.locator("#debate li.comment").count() == 1
        assert all("422" in e or "bad_text_length" in e or "4001" in e for e in alice.errors[seen:]), alice.errors
        del alice.errors[seen:]  # the refusal logged above is expected
        goto(bob, "bill/rent-cap")
        argue(bob, "A cap shrinks the offer.", "against")
        first = bob.get_attribute("#threads-for li.comment", "data-comment")
        bob.click(f"#threads-for li.comment[data-comment='{first}'] button.reply")
        bob.fill(f"#reply-{first} textarea", "Which offer? Rents are public.")
        # A live refresh (alice argues meanwhile) keeps bob's open reply form, its draft and focus.
        argue(alice, "Landlords will find a way around it.", "neutral")
        bob.wait_for_selector("#threads-neutral .comment-text >> text=Landlords will find a way around it.")
        assert bob.input_value(f"#reply-{first} textarea") == "Which offer? Rents are public."
        assert bob.evaluate(f"document.activeElement === document.querySelector('#reply-{first} textarea')")
        bob.check(f"#reply-{first} input[name=stance][value=neutral]")
        bob.click(f"#reply-{first} button[type=submit]")
        bob.wait_for_selector("#threads-for li.comment.depth-1 >> text=Which offer?")
        counts = {s: bob.get_attribute(f"#col-{s} .count", "data-count") for s in ("for", "against", "neutral")}
        assert counts == {"for": "1", "against": "1", "neutral": "2"}  # the reply counts under its own stance
        bob.wait_for_selector("#threads-against .text-check.ok")  # checked against its hash in the browser
        goto(alice, "bill/rent-cap")
        alice.wait_for_selector("#threads-against .delegate-mark")  # "your delegate bob wrote"
        alice.wait_for_selector("#threads-for .delegate-mark")  # her page may still be taking in bob's reply live
        assert alice.locator("#threads-for .delegate-mark").count() == 1  # bob's reply under her argument
        no_missing_strings(alice)
        shot(alice, f"debate-{lang}-1-arguments")
        accessible(alice)

        # Bob erases his reply, with a public reason.
        reply = bob.get_attribute("#threads-for li.comment.depth-1", "data-comment")
        goto(bob, "bill/rent-cap")
        bob.click(f"li.comment[data-comment='{reply}'] button.redact")
        bob.fill(f"#reason-{reply}", "posted too fast")
        bob.click(f"li.comment[data-comment='{reply}'] .redact-form button[type=submit]")
        bob.wait_for_selector(f"li.comment[data-comment='{reply}'][data-redacted=true] >> text=posted too fast")
        texts = urllib.request.urlopen(f"{base}/api/texts?from={reply}", timeout=5).read()
        assert b'"redacted":true' in texts.splitlines()[0]
        # Alice, still on the bill's page, sees it erased live (the redact's event names no motion).
        alice.wait_for_selector(f"li.comment[data-comment='{reply}'][data-redacted=true] >> text=posted too fast")

        # Alice's delegations page lists what her delegate argued (not his erased reply), checked.
        goto(alice, "delegations")
        alice.wait_for_selector("#delegate-arguments li.delegate-argument >> text=A cap shrinks the offer.")
        alice.wait_for_selector("#delegate-arguments .delegate-mark")
        alice.wait_for_selector("#delegate-arguments .text-check.ok")
        assert alice.locator("#delegate-arguments li.delegate-argument").count() == 1
        accessible(alice)

        # A server that changes a text after its author signed it is caught in the browser.
        def change_texts(route: Any) -> None:
            resp = route.fetch()
            body = resp.json()
            for thread in body["threads"]:
                if thread["comment"]["text"]:
                    thread["comment"]["text"] += " (edited)"
            route.fulfill(response=resp, json=body)

        alice.route("**/api/motions/rent-cap/comments*", change_texts)
        goto(alice, "bill/rent-cap")
        alice.wait_for_selector("#threads-against .text-check.bad[role=alert]")
        alice.wait_for_selector("#threads-for .text-check.bad")
        assert alice.locator("#debate .text-check.ok").count() == 0
        alice.unroute("**/api/motions/rent-cap/comments*")

        # Propose, support until ready, turn into a bill.
        goto(alice, "proposals/new")
        alice.wait_for_selector("#proposal-permanent")
        accessible(alice)
        alice.fill("#proposal-form [name=id_]", "bike-lanes")
        alice.select_option("#proposal-form [name=topic]", "city")
        alice.fill("#proposal-form [name=title]", "Bike lanes")
        alice.fill("#proposal-form [name=summary]", "Paint bike lanes on the ring road.")
        alice.click("#proposal-form button[type=submit]")
        alice.wait_for_selector("#support-box")
        alice.click("#support-box button.support")
        alice.wait_for_selector("#support-box [data-supporters='1']")
        assert alice.locator("#support-box .badge.ready").count() == 0
        goto(bob, "proposals")
        bob.click("li.proposal-item[data-proposal=bike-lanes] button.support")
        bob.wait_for_selector("li.proposal-item[data-proposal=bike-lanes][data-ready=true]")
        shot(bob, f"debate-{lang}-2-proposals")
        accessible(bob)
        goto(org, "proposal/bike-lanes")
        org.wait_for_selector("#adopt-form")
        accessible(org)
        org.click("#adopt-form button[type=submit]")
        org.wait_for_selector("#bill-origin")
        assert "alice" in org.inner_text("#bill-origin")
        assert api(base, "/api/motions/bike-lanes")["motion"]["url"] == "proposal:bike-lanes"
        supporters = org.locator("#bill-supporters li").all_text_contents()
        assert sorted(supporters) == ["alice", "bob"]

        # Amend the rent cap: the amendment is shown on the bill it amends.
        goto(bob, "bill/rent-cap")
        bob.click("#propose-amendment")
        bob.wait_for_selector("#proposal-form")
        assert bob.input_value("#proposal-form [name=amends]") == "rent-cap"
        bob.fill("#proposal-form [name=id_]", "rent-cap-lower")
        bob.fill("#proposal-form [name=title]", "A lower cap")
        bob.fill("#proposal-form [name=summary]", "Cap at 5 % a year.")
        bob.click("#proposal-form button[type=submit]")
        bob.wait_for_selector("#amends-link")
        goto(alice, "bill/rent-cap")
        alice.wait_for_selector("#amendments li[data-proposal=rent-cap-lower]")
        no_missing_strings(alice)
        shot(alice, f"debate-{lang}-3-amendment")
        accessible(alice)
        for p in (org, alice, bob):
            assert p.errors == [], p.errors

        code = verify_cli.main([base, "--quiet", "--jobs", "1", "--json"])
        rep = json.loads(capsys.readouterr().out)
        assert rep["failures"] == [] and rep["checks"]["texts"] == "passed", rep
        assert code in (0, 3)  # 3 only when some check of this server (a witness) could not be made
        assert [r["reason"] for r in rep["texts"]["redacted"]] == ["posted too fast"]
