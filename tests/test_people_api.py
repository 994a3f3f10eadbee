"""The people API of issue 14 (docs/SPEC.md section 9, "People") over
aiohttp's test client and a real SQLite box: a member's record, the
delegate picker's search, what my delegates did and its Atom feed (parsed
by feedparser), the graph summary's figures, invitations used and unused;
and the refusals."""

from __future__ import annotations

import json
from typing import Any

import feedparser
import pytest

import server
from ballots.people import fingerprint
from tests.test_server import Client
from tests.world import Clock, at


@pytest.fixture
async def api(aiohttp_client, tmp_path, clock: Clock):
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


async def get(api: Any, path: str, status: int = 200, **params: Any) -> Any:
    resp = await api.get(path, params=params)
    body = await resp.read()
    assert resp.status == status, body
    return json.loads(body) if resp.content_type.endswith("json") else body.decode()


async def assembly(api: Any, clock: Clock) -> tuple[Client, dict[str, Any]]:
    """alice votes yes on `wind`; bob and dora delegate to alice (dora for
    the topic, through bob for everything: bob -> alice); carol votes no;
    erin is invited and never delegates; one invitation is left unused."""
    c = Client(api)
    await c.found()
    people = {n: await c.member(n) for n in ("alice", "bob", "carol", "dora", "erin")}
    await c.post(c.founder.sign("invite", c.assembly, code_hash="ab" * 32, note="spare"))
    await c.post(c.founder.sign("topic", c.assembly, id="energy", title="Energy", description="", parent=None))
    for mid, title in (("wind", "Wind farms"), ("solar", "Solar roofs")):
        await c.post(
            c.founder.sign(
                "motion",
                c.assembly,
                id=mid,
                topic="energy",
                title=title,
                summary="Build.",
                url="",
                opens=at(clock),
                closes=at(clock, seconds=600),
                quorum=None,
            )
        )
    p = people
    await c.post(p["alice"].sign("ballot", c.assembly, motion="wind", choice="yes"))
    await c.post(p["bob"].sign("delegate", c.assembly, scope="*", to=p["alice"].public))
    await c.post(p["dora"].sign("delegate", c.assembly, scope="topic:energy", to=p["bob"].public))
    await c.post(p["carol"].sign("ballot", c.assembly, motion="wind", choice="no"))
    await c.post(p["carol"].sign("ballot", c.assembly, motion="solar", choice="abstain"))
    return c, people


async def test_member_record_lists_votes_delegations_and_weight(api, clock: Clock) -> None:
    c, p = await assembly(api, clock)
    alice, bob = p["alice"].public, p["bob"].public
    rec = await get(api, f"/api/members/{alice}/record")
    assert rec["name"] == "alice" and rec["fingerprint"] == fingerprint(alice)
    assert len(rec["fingerprint"].split(" ")) == 8
    assert [(v["motion"], v["choice"]) for v in rec["votes"]] == [("wind", "yes")]
    assert rec["delegated_by"] == [{"member": bob, "name": "bob", "scopes": ["*"]}]
    carries = {x["motion"]: x for x in rec["carries"]}
    assert (carries["wind"]["weight"], carries["wind"]["passing"]) == (3, 3)  # alice, bob, dora
    assert (carries["solar"]["weight"], carries["solar"]["passing"]) == (0, 3)  # she has not voted there
    rec_bob = await get(api, f"/api/members/{bob}/record")
    assert [(d["scope"], d["to"]) for d in rec_bob["delegations"]] == [("*", alice)]
    assert rec_bob["votes"] == []
    # Withdrawing a ballot takes it off the page; removing a delegation too.
    await c.post(p["carol"].sign("ballot", c.assembly, motion="solar", choice=None))
    await c.post(p["bob"].sign("delegate", c.assembly, scope="*", to=None))
    rec_carol = await get(api, f"/api/members/{p['carol'].public}/record")
    assert [v["motion"] for v in rec_carol["votes"]] == ["wind"]
    assert (await get(api, f"/api/members/{bob}/record"))["delegations"] == []


async def test_member_record_refusals(api, clock: Clock) -> None:
    await assembly(api, clock)
    await get(api, "/api/members/zz/record", status=400)
    await get(api, "/api/members/" + "AB" * 32 + "/record", status=400)
    await get(api, "/api/members/" + "ab" * 32 + "/record", status=404)
    await get(api, "/api/members/" + "ab" * 32 + "/feed.atom", status=404)


async def test_delegate_search_by_part_of_a_name_heaviest_first(api, clock: Clock) -> None:
    _, p = await assembly(api, clock)
    found = await get(api, "/api/delegates", q="")
    order = [d["name"] for d in found["delegates"]]
    assert order[0] == "alice"  # alice carries bob's vote under `*`
    assert found["delegates"][0]["weight"] == 2 and found["delegates"][0]["delegators"] == 1
    assert found["delegates"][0]["recent"] == [{"motion": "wind", "title": "Wind farms", "choice": "yes"}]
    assert [d["name"] for d in (await get(api, "/api/delegates", q="ARO"))["delegates"]] == ["carol"]
    assert (await get(api, "/api/delegates", q="zzz"))["delegates"] == []
    mine = await get(api, "/api/delegates", q="", exclude=p["alice"].public, limit=2)
    assert len(mine["delegates"]) == 2 and "alice" not in [d["name"] for d in mine["delegates"]]
    await get(api, "/api/delegates", status=400, q="x" * 65)
    await get(api, "/api/delegates", status=400, q="a\tb")
    await get(api, "/api/delegates", status=400, limit="0")


async def test_members_named_by_key(api, clock: Clock) -> None:
    """GET /api/members?keys=: the members among the keys, once each, in the
    order asked, whatever else the assembly holds; no member, no row."""
    c, p = await assembly(api, clock)
    nobody = "f" * 64
    keys = [p["carol"].public, nobody, p["alice"].public, p["carol"].public]
    got = await get(api, "/api/members", keys=",".join(keys))
    assert [(m["key"], m["name"]) for m in got["members"]] == [
        (p["carol"].public, "carol"),
        (p["alice"].public, "alice"),
    ]
    assert got["members"][0] == (await get(api, "/api/members", limit="100"))["members"][2]  # the same fields
    assert (await get(api, "/api/members", keys=""))["members"] == []
    await get(api, "/api/members", status=400, keys=",".join([nobody] * 101))
    await get(api, "/api/members", status=400, keys="abc")
    await get(api, "/api/members", status=400, keys=nobody.upper())
    await get(api, "/api/members", status=400, keys=nobody, limit="5")


async def test_delegate_weights_are_those_of_the_scope_asked(api, clock: Clock) -> None:
    """The picker shows what a candidate carries where the member chooses:
    under `*` alice carries bob (2), for the topic dora too, through bob (3);
    on `wind` she voted, so 3 again; on `solar` she did not (she passes 3,
    carol, who voted, carries 1)."""
    _, p = await assembly(api, clock)
    weight = {}
    for scope in ("*", "topic:energy", "motion:wind", "motion:solar"):
        found = await get(api, "/api/delegates", q="alice", scope=scope)
        weight[scope] = found["delegates"][0]["weight"]
    assert weight == {"*": 2, "topic:energy": 3, "motion:wind": 3, "motion:solar": 3}
    bob = await get(api, "/api/delegates", q="bob", scope="topic:energy")
    assert (bob["delegates"][0]["weight"], bob["delegates"][0]["delegators"]) == (2, 1)
    assert (await get(api, "/api/delegates", q="bob"))["delegates"][0]["weight"] == 1
    await get(api, "/api/delegates", status=404, q="", scope="topic:nope")
    await get(api, "/api/delegates", status=404, q="", scope="motion:nope")


async def test_what_my_delegates_did_and_the_atom_feed(api, clock: Clock) -> None:
    c, p = await assembly(api, clock)
    bob, dora, alice = p["bob"].public, p["dora"].public, p["alice"].public
    did = (await get(api, f"/api/members/{dora}/delegated-votes"))["votes"]
    assert [(d["motion"], d["choice"], d["path"]) for d in did] == [("wind", "yes", [dora, bob, alice])]
    assert did[0]["closes"] == at(clock, seconds=600) and did[0]["ballot"]["index"] > 0
    text = await get(api, f"/api/members/{dora}/feed.atom")
    f = feedparser.parse(text)
    assert not f.bozo, f.bozo_exception
    assert f.feed.id.endswith(f"/api/members/{dora}/feed.atom") and f.feed.title and f.feed.updated
    assert len(f.entries) == 1
    e = f.entries[0]
    assert e.id and e.updated and e.link.endswith("/#/bill/wind")
    assert "Wind farms" in e.title and "yes" in e.title and "alice" in e.title
    fr = feedparser.parse(await get(api, f"/api/members/{dora}/feed.atom", lang="fr"))
    assert "oui" in fr.entries[0].title
    await get(api, f"/api/members/{dora}/feed.atom", status=400, lang="de")
    # Dora votes herself: the delegate's vote no longer counts for her.
    await c.post(p["dora"].sign("ballot", c.assembly, motion="wind", choice="no"))
    assert (await get(api, f"/api/members/{dora}/delegated-votes"))["votes"] == []
    assert feedparser.parse(await get(api, f"/api/members/{dora}/feed.atom")).entries == []


async def test_graph_summary_figures(api, clock: Clock) -> None:
    _, p = await assembly(api, clock)
    s = await get(api, "/api/graph/summary", scope="*")
    assert s["members"] == 5
    fig = s["figures"]
    # Under `*` only bob delegates (to alice): alice 2, carol 1, dora 1, erin 1.
    assert (fig["largest"], fig["delegated"], fig["half"], fig["carriers"]) == (2, 1, 1, 4)
    assert (fig["gini"]["numerator"], fig["gini"]["denominator"]) == (8, 25)  # weights 0,1,1,1,2: 16 / (2 x 5 x 5)
    assert [t["member"] for t in s["largest"]] == [p["alice"].public]
    assert [t["member"] for t in s["largest"][0]["from"]] == [p["bob"].public]
    t = await get(api, "/api/graph/summary", scope="topic:energy")
    assert t["largest"][0]["weight"] == 3 and t["largest"][0]["from"][0]["from"][0]["member"] == p["dora"].public
    await get(api, "/api/graph/summary", status=404, scope="topic:nope")


async def test_invitations_used_and_unused(api, clock: Clock) -> None:
    await assembly(api, clock)
    inv = await get(api, "/api/invites")
    assert (inv["used"], inv["unused"]) == (5, 1)
    assert [i["note"] for i in inv["invites"] if i["used_by"] is None] == ["spare"]
    assert {i["name"] for i in inv["invites"] if i["used_by"]} == {"alice", "bob", "carol", "dora", "erin"}
    first = await get(api, "/api/invites", limit=2)
    assert len(first["invites"]) == 2 and first["next"] == 2


async def test_the_openapi_document_names_the_new_routes(api) -> None:
    doc = await get(api, "/openapi.json")
    for path in ("/api/members/{key}/record", "/api/delegates", "/api/graph/summary", "/api/invites"):
        assert path in doc["paths"]


def test_the_spec_examples_hold() -> None:
    """docs/SPEC.md section 9, "People": the fingerprint and the figures."""
    from pathlib import Path

    from delegation.power import power_figures

    spec = " ".join((Path(__file__).resolve().parents[1] / "docs" / "SPEC.md").read_text(encoding="utf-8").split())
    grouped = fingerprint("00" * 32)
    assert grouped == "6668 7aad f862 bd77 6c8f c18b 8e9f 8e20" and f"`{grouped}`" in spec
    f = power_figures([2, 1, 1, 1], 5).as_dict()
    assert (f["delegated"], f["largest"], f["half"]) == (1, 2, 1)
    assert f["gini"] == {"numerator": 8, "denominator": 25, "per_mille": 320}
    assert "`gini` 8/25 (320 per mille)" in spec
