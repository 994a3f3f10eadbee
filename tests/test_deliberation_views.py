"""The read models of the deliberation (ballots/deliberation.py, SPEC 14.4):
threads strongest first (most direct replies, then most recent), counts per
stance with replies, replies depth first, proposals by support; and the
HTTP routes over them, with their refusals."""

from __future__ import annotations

from typing import Any

from ballots import deliberation as D
from ballots.texts import RatePolicy
from client.author import comment
from tests.world import World


async def test_strongest_first_and_counts(world: World) -> None:
    world.box.comment_rate = None
    await world.enroll(3)
    await world.topic("t")
    await world.motion("m", "t")
    a, b, c = world.members

    async def say(who: Any, text: str, stance: str, reply: int | None = None) -> int:
        return (
            await world.box.append(comment(who, world.assembly, text, motion="m", stance=stance, reply_to=reply))
        ).index

    old = await say(a, "old", "for")
    mid = await say(b, "mid", "for")
    new = await say(c, "new", "for")
    r1 = await say(b, "r1", "against", old)
    await say(c, "r1.1", "neutral", r1)
    await say(a, "r2", "for", old)
    await say(a, "to mid", "neutral", mid)
    page = D.thread_page(world.box.state, "motion:m", stance=None, offset=0, limit=20)
    assert [top for top, _, _ in page.threads] == [old, mid, new]  # 2 replies, 1, then 0
    assert page.counts == {"for": 4, "against": 1, "neutral": 2}
    shown = page.threads[0][1]
    assert [(world.box.state.comments[i].index, d) for i, d in shown] == [(r1, 1), (r1 + 1, 2), (r1 + 2, 1)]
    view = D.page_view(world.box.state, page, await world.box.text_of(page.indexes()))
    assert view["threads"][0]["comment"]["text"] == "old" and view["threads"][0]["replies"][1]["depth"] == 2
    only_for = D.thread_page(world.box.state, "motion:m", stance="for", offset=1, limit=1)
    assert [top for top, _, _ in only_for.threads] == [mid] and only_for.total_threads == 3


async def test_replies_beyond_a_page_are_counted_not_shown(world: World, monkeypatch) -> None:
    world.box.comment_rate = RatePolicy(count=1000, seconds=1)
    await world.enroll(1)
    await world.topic("t")
    await world.motion("m", "t")
    m = world.members[0]
    top = (await world.box.append(comment(m, world.assembly, "top", motion="m"))).index
    monkeypatch.setattr(D, "REPLIES_SHOWN", 3)
    for i in range(5):
        await world.box.append(comment(m, world.assembly, f"r{i}", motion="m", reply_to=top))
    page = D.thread_page(world.box.state, "motion:m", stance=None, offset=0, limit=5)
    assert len(page.threads[0][1]) == 3 and page.threads[0][2] == 2
    assert len(D.thread_of(world.box.state, top)) == 6


async def test_proposals_by_support(world: World) -> None:
    await world.enroll(11)
    await world.topic("t")
    s = world.members

    async def propose(who: Any, id: str) -> None:
        await world.box.append(
            who.sign("proposal", world.assembly, id=id, topic="t", title=id, summary="S", url="", amends=None)
        )

    await propose(s[0], "first")
    await propose(s[1], "second")
    for who in s[:2]:
        await world.box.append(who.sign("support", world.assembly, proposal="second", on=True))
    doc = D.proposals(world.box.state)
    assert (doc["members"], doc["needed"]) == (11, 2)
    assert [(p["id"], p["supporters"], p["ready"]) for p in doc["proposals"]] == [
        ("second", 2, True),
        ("first", 0, False),
    ]
    detail = D.proposal_detail(world.box.state, "second")
    assert detail is not None and [x["name"] for x in detail["supporters_list"]] == ["m0", "m1"]
    assert D.proposal_detail(world.box.state, "nope") is None


async def test_http_routes(aiohttp_client, tmp_path, clock) -> None:
    import server
    from tests.test_server import Client

    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    api = await aiohttp_client(app)
    c = Client(api)
    await c.found()
    ann = await c.member("ann")
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="m",
            topic="t",
            title="M",
            summary="S",
            url="",
            opens="2026-01-01T00:00:00Z",
            closes="2099-01-01T00:00:00Z",
            quorum=None,
        )  # fmt: skip
    )
    r = await c.post(comment(ann, c.assembly, "Hello", motion="m", stance="for"))
    page = await (await api.get("/api/motions/m/comments")).json()
    assert page["counts"]["for"] == 1 and page["threads"][0]["comment"]["text"] == "Hello"
    assert page["proposal"] is None and page["amendments"] == []
    thread = await (await api.get(f"/api/comments/{r['index']}")).json()
    assert [x["index"] for x in thread["thread"]] == [r["index"]]
    mine = await (await api.get(f"/api/members/{ann.public}/comments")).json()
    assert mine["comments"][0]["title"] == "M"
    assert (await (await api.get("/api/proposals")).json())["proposals"] == []
    for path, status in [
        ("/api/motions/nope/comments", 404),
        ("/api/motions/m/comments?stance=maybe", 400),
        ("/api/motions/m/comments?offset=-1", 400),
        ("/api/motions/m/comments?limit=0", 400),
        (f"/api/members/{ann.public}/comments?limit=0", 400),
        ("/api/proposals/nope", 404),
        ("/api/proposals/nope/comments", 404),
        ("/api/comments/1", 404),
        ("/api/comments/x", 404),
    ]:
        resp = await api.get(path)
        assert resp.status == status, path
        assert (await resp.json())["type"].startswith("https://liquid-mandate.org/problems/")
    # The OpenAPI document names the routes' query parameters and the fields beside a comment's envelope.
    doc = await (await api.get("/openapi.json")).json()
    params = {p["name"] for p in doc["paths"]["/api/motions/{id}/comments"]["get"]["parameters"]}
    assert params == {"id", "stance", "offset", "limit"}
    assert "application/jsonl" in doc["paths"]["/api/texts"]["get"]["responses"]["200"]["content"]
    body = doc["paths"]["/api/statements"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"text", "salt"} <= set(body["properties"]) and body["additionalProperties"] is False
    # The rate limit is the server's policy: a 429 problem, nothing written.
    app_box = app[server.OPENED].box
    assert app_box is not None
    app_box.comment_rate = RatePolicy(count=1, seconds=3600)
    resp = await api.post("/api/statements", json=comment(ann, c.assembly, "again", motion="m"))
    assert resp.status == 429 and (await resp.json())["type"].endswith("/rate_limited")
