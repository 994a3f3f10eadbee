"""A closed bill's page shows where the member's vote went as of the close
(issue 13; docs/SPEC.md section 9, "Vote paths"), in Debian's Chromium, in
English and French: dora delegates to alice, alice to bob, bob votes yes;
after the close alice delegates to carol and bob is expelled, and the
closed bill still shows dora -> alice -> bob, counted yes, "at the close",
while the open bill shows the path as it stands now (dora -> alice ->
carol). The closed bill's delegation graph, too, is the one of its close
(its arrows dora -> alice -> bob, "at the close"), the open bill's the one
of now. axe-core finds nothing on the closed pages.

Built fast like tests/test_web_people.py: statements signed in Python and
posted over HTTP to the real server; only dora holds a key in the browser."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ballots.statements import format_time
from client.author import Author, code_hash, genesis, new_code
from client.http import Client
from tests.browser import (
    api,
    axe_violations,
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


def path_keys(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("#my-path ol.path a", "as => as.map((a) => a.getAttribute('href'))")
    return [h.rsplit("/", 1)[-1] for h in hrefs]


def edges(page: Any) -> set[str]:
    """The graph's arrows, by their titles ("alice → bob")."""
    page.wait_for_selector("svg.graph")
    return set(page.eval_on_selector_all("svg.graph line.edge title", "ts => ts.map((t) => t.textContent)"))


def test_a_closed_bill_shows_the_path_as_of_the_close(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("closed-path")) as base:
        http = Client(base)
        founder = Author()
        http.post_statement(genesis(founder, server=http.server()["server_key"]))
        aid = http.assembly()

        def post(author: Author, kind: str, **fields: Any) -> dict[str, Any]:
            return http.post_statement(author.sign(kind, aid, **fields))

        people: dict[str, Author] = {}
        for name in ("alice", "bob", "carol"):
            code = new_code()
            post(founder, "invite", code_hash=code_hash(code), note="")
            people[name] = Author()
            post(people[name], "enroll", code=code, name=name)
        a, b, c = people["alice"], people["bob"], people["carol"]
        dora_code = new_code()
        post(founder, "invite", code_hash=code_hash(dora_code), note="")
        post(founder, "topic", id="city", title="City", description="", parent=None)
        dora = new_page(browser, base)
        me = enroll(dora, dora_code, "dora")
        goto(dora, "delegations")
        dora.select_option("#delegate-form [name=scope]", "*")
        dora.check(f"#pick-to-list input[value='{a.public}']")
        dora.click("#delegate-form button[type=submit]")
        dora.wait_for_selector("#my-delegations >> text=alice")
        post(a, "delegate", scope="*", to=b.public)
        for mid, title, closes in (("shut", "Night buses", 3), ("rent", "Rent cap", 3600)):
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
            post(b, "ballot", motion=mid, choice="yes")
            post(c, "ballot", motion=mid, choice="no")
        for _ in range(100):  # `shut` closes a few seconds after it was published
            if api(base, "/api/motions/shut")["result"]:
                break
            time.sleep(0.2)
        close_index = api(base, "/api/motions/shut")["motion"]["close_index"]
        # After the close: alice moves her vote to carol, bob is expelled.
        post(a, "delegate", scope="*", to=c.public)
        post(founder, "expel", member=b.public, reason="left")

        goto(dora, "bill/shut")
        assert path_keys(dora) == [me, a.public, b.public]
        assert dora.get_attribute("#my-path .outcome", "data-outcome") == "yes"
        assert dora.get_attribute("#path-as-of", "data-as-of") == str(close_index)
        assert "Where my vote went, at the close" in dora.inner_text("#my-path h2")
        assert "at the close" in dora.inner_text("#path-as-of")
        assert dora.locator("#vote-box").count() == 0
        no_missing_strings(dora)
        shot(dora, "closed-path/10-closed-bill-en")
        assert axe_violations(dora) == []
        # The open bill follows the log as it stands: through alice to carol now.
        goto(dora, "bill/rent")
        assert path_keys(dora) == [me, a.public, c.public]
        assert dora.get_attribute("#my-path .outcome", "data-outcome") == "no"
        assert dora.locator("#path-as-of").count() == 0
        # The closed bill's delegation graph is the one of its close too
        # (issue 14): dora -> alice -> bob, though alice moved and bob left.
        goto(dora, "graph/motion:shut")
        assert edges(dora) == {"dora → alice", "alice → bob"}
        assert dora.get_attribute("#graph-as-of", "data-as-of") == str(close_index)
        assert dora.inner_text("h1") == "Delegation graph at the close of this bill"
        assert f"at the close (entry #{close_index})" in dora.inner_text("#graph-as-of")
        no_missing_strings(dora)
        shot(dora, "closed-path/30-closed-graph-en")
        assert axe_violations(dora) == []
        goto(dora, "graph/motion:rent")  # the open bill's: as the log stands now
        assert edges(dora) == {"dora → alice", "alice → carol"}
        assert dora.locator("#graph-as-of").count() == 0
        assert dora.inner_text("h1") == "Delegation graph"
        # In French, the same, "à la clôture", with its typography.
        dora.click("#lang-switch")
        dora.wait_for_function("() => document.documentElement.lang === 'fr'")
        goto(dora, "bill/shut")
        assert path_keys(dora) == [me, a.public, b.public]
        text = dora.inner_text("#my-path")
        assert "à la clôture" in dora.inner_text("#my-path h2") and "à la clôture" in text
        assert f"n°\u00a0{close_index})\u00a0:" in dora.inner_text("#path-as-of")
        no_missing_strings(dora)
        shot(dora, "closed-path/20-closed-bill-fr")
        assert axe_violations(dora) == []
        goto(dora, "graph/motion:shut")
        assert edges(dora) == {"dora → alice", "alice → bob"}
        assert "à la clôture" in dora.inner_text("h1")
        assert f"n°\u00a0{close_index})\u00a0:" in dora.inner_text("#graph-as-of")
        no_missing_strings(dora)
        shot(dora, "closed-path/40-closed-graph-fr")
        assert not dora.errors, dora.errors
