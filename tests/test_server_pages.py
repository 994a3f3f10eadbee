"""Paged reads over HTTP (issue 16): `GET /api/members?limit=&after=` walks
every member page by page, in enrolment order, and refuses bad cursors."""

from __future__ import annotations

from tests.test_server import PROBLEM, Client, api  # noqa: F401 (the fixture)


async def test_member_pages_walk_every_member(api) -> None:  # noqa: F811
    c = Client(api)
    await c.found()
    people = [await c.member(f"p{i}") for i in range(5)]
    everyone = (await (await api.get("/api/members")).json())["members"]
    assert [m["key"] for m in everyone] == [p.public for p in people]
    seen, after = [], 0
    while after is not None:
        page = await (await api.get("/api/members", params={"limit": 2, "after": after})).json()
        assert len(page["members"]) <= 2
        seen += page["members"]
        after = page["next"]
    assert seen == everyone
    last = await (await api.get("/api/members", params={"limit": 1000, "after": 5})).json()
    assert last == {"members": [], "next": None}


async def test_bad_page_arguments_are_refused(api) -> None:  # noqa: F811
    c = Client(api)
    await c.found()
    for params in ({"limit": 0}, {"limit": "x"}, {"after": "-1"}):
        resp = await api.get("/api/members", params=params)
        assert resp.status == 400
        assert (await resp.json(content_type=None))["type"] == PROBLEM + "bad_request"
