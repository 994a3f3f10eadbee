"""HTTP handlers of the deliberation (docs/SPEC.md sections 9 and 15.4):
arguments on a bill or a proposal, proposals and their
supporters, a member's arguments. Read-only; statements are posted to
POST /api/statements like any other.

``routes(box_of)`` gives (method, path, handler, summary) rows for the
server's one route table; ``box_of`` reads the ballot box from a request
(server.py owns the app keys, and no module imports from server.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ballots import deliberation as D
from ballots.box import BallotBox
from serving.problems import Problem

BoxOf = Callable[[web.Request], BallotBox]
PAGE_DEFAULT, PAGE_MAX = 20, 100


def _int(request: web.Request, name: str, default: int, hi: int | None = None, lo: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 16:
        raise Problem("bad_request", f"{name} must be a non-negative integer")
    value = int(raw)
    if value < lo:
        raise Problem("bad_request", f"{name} must be at least {lo}")
    return value if hi is None else min(value, hi)


def routes(box_of: BoxOf) -> list[tuple[str, str, Callable[..., Any], str]]:
    async def _page(request: web.Request, kind: str, ident: str) -> dict[str, Any]:
        box = box_of(request)
        stance = request.query.get("stance")
        if stance is not None and stance not in D.STANCES:
            raise Problem("bad_request", "stance must be for, against or neutral")
        page = D.thread_page(
            box.state,
            D.target_of(kind, ident),
            stance=stance,
            offset=_int(request, "offset", 0),
            limit=_int(request, "limit", PAGE_DEFAULT, PAGE_MAX, lo=1),
        )
        texts = await box.text_of(page.indexes())
        return D.page_view(box.state, page, texts)

    async def get_motion_comments(request: web.Request) -> web.Response:
        motion = request.match_info["id"]
        state = box_of(request).state
        if motion not in state.motions:
            raise Problem("not_found", f"no motion {motion!r}")
        body = await _page(request, "motion", motion)
        body.update(D.motion_debate(box_of(request).state, motion))
        return web.json_response(body)

    async def get_proposal_comments(request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        if pid not in box_of(request).state.proposals:
            raise Problem("not_found", f"no proposal {pid!r}")
        return web.json_response(await _page(request, "proposal", pid))

    async def get_thread(request: web.Request) -> web.Response:
        raw = request.match_info["index"]
        box = box_of(request)
        index = int(raw) if raw.isdigit() and len(raw) < 16 else -1
        if index not in box.state.comments:
            raise Problem("not_found", f"no comment at entry {raw}")
        thread = D.thread_of(box.state, index)
        texts = await box.text_of([i for i, _ in thread])
        state = box.state
        return web.json_response({"thread": [D.comment_view(state, state.comments[i], texts, d) for i, d in thread]})

    async def get_proposals(request: web.Request) -> web.Response:
        return web.json_response(D.proposals(box_of(request).state))

    async def get_proposal(request: web.Request) -> web.Response:
        found = D.proposal_detail(box_of(request).state, request.match_info["id"])
        if found is None:
            raise Problem("not_found", f"no proposal {request.match_info['id']!r}")
        return web.json_response(found)

    async def get_member_comments(request: web.Request) -> web.Response:
        box = box_of(request)
        key = request.match_info["key"]
        mine = D.member_comments(box.state, key, _int(request, "limit", PAGE_DEFAULT, PAGE_MAX, lo=1))
        texts = await box.text_of(mine)
        state = box.state
        out = []
        for i in mine:
            view = D.comment_view(state, state.comments[i], texts)
            m = state.motions.get(view["motion"] or "")
            p = state.proposals.get(view["proposal"] or "")
            view["title"] = m.title if m else p.title if p else None
            out.append(view)
        return web.json_response({"member": key, "comments": out})

    return [
        ("GET", "/api/motions/{id}/comments", get_motion_comments, "Arguments on a bill, strongest first."),
        ("GET", "/api/proposals", get_proposals, "Proposals, the most supported first."),
        ("GET", "/api/proposals/{id}", get_proposal, "One proposal and its supporters."),
        ("GET", "/api/proposals/{id}/comments", get_proposal_comments, "Arguments on a proposal, strongest first."),
        ("GET", "/api/comments/{index}", get_thread, "A comment and every reply under it."),
        ("GET", "/api/members/{key}/comments", get_member_comments, "A member's latest arguments."),
    ]
