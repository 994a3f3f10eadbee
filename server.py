"""Liquid Mandate's HTTP server: the API of docs/SPEC.md section 9, the web UI
under web/, server-sent events, OpenAPI, health and metrics.

    python server.py [--host H] [--port P] [--data-dir D] [--db-url URL] [--demo | --demo-if-empty]
    python server.py rebuild [--data-dir D] [--db-url URL]
    python server.py restore [--data-dir D] [--db-url URL] EXPORT|BACKUP|URL
    python server.py backup [--data-dir D] DEST
    (--behind-proxy, --log-format json, --access-log: docs/SPEC.md section 13.5)

Routes and wiring only. What they are wired to lives in serving/: the
problem code -> status table and problem+json (``serving.problems``), the
event hub (``serving.events``), the settings (``serving.settings``), the
server key file (``serving.keyfile``), metrics and OpenAPI. The demo
(``demo/``) is imported only when a demo flag asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ballots import compliance, people, sortition, views
from ballots import errors as E
from ballots.box import BallotBox, utcnow
from ballots.paths import ClosedPaths
from ballots.statements import format_time
from ballots.texts import RatePolicy
from crypto.canonical import canonical_bytes, parse
from serving import deliberation, edge, fallback, headers
from serving.atom import feed as atom_feed
from serving.client_address import BEHIND_PROXY
from serving.events import EventHub
from serving.keyfile import load_server_key
from serving.limits import PostRate, expect_handler, limits_middleware
from serving.logging_setup import AccessLogger, setup_logging
from serving.metrics import Metrics, counter, gauge
from serving.motion_bodies import MotionBodies
from serving.openapi import openapi_document
from serving.params import ascii_int
from serving.problems import (
    KNOWN,
    MAX_BODY,
    Problem,
    internal_error,
    problem_for,
    problem_response,
)
from serving.settings import Settings, settings_from
from serving.startup import Loading, hold_from_env, loading_gate, unavailable
from serving.storage import secure_data_dir, sqlite_path
from serving.witnessing import Witnessing
from vocabulary import MOTION_PREFIX

log = logging.getLogger("liquid-mandate")
ROOT = Path(__file__).resolve().parent


@dataclass(slots=True)
class Opened:
    """What the start-up opens once the server listens (each set once, before
    ``Loading.ready``; the loading gate keeps every handler that reads them
    from running earlier)."""

    box: BallotBox | None = None
    witnessing: Witnessing | None = None


OPENED = web.AppKey("opened", Opened)
SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
HUB = web.AppKey("hub", EventHub)
CLOCK = web.AppKey("clock", Callable[[], datetime])
POWER = web.AppKey("power", people.PowerCache)
MOTION_BODIES = web.AppKey("motion_bodies", MotionBodies)
LOADING = web.AppKey("loading", Loading)


@web.middleware
async def problems(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """Our exceptions become problem+json (``serving.problems``), counted by
    code; anything unexpected is logged and becomes a 500. Off /api/, an
    unknown path stays aiohttp's plain 404."""
    try:
        return await handler(request)
    except KNOWN as exc:
        if request.path.startswith("/api/") or not isinstance(exc, web.HTTPNotFound):
            _, code, _, _ = problem_for(exc)
            request.app[METRICS].refused(code)
            return problem_response(exc)
        raise
    except web.HTTPException:
        raise
    except E.LogCorrupted as exc:
        log.error("refusing to serve %s %s: %s", request.method, request.path, exc)
        return internal_error()
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return internal_error()


@web.middleware
async def sync_reads(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """Before an API read, catch up with entries other server processes
    appended to a shared database (PostgreSQL; a no-op on SQLite)."""
    box = request.app[OPENED].box
    if request.method == "GET" and request.path.startswith("/api/") and box is not None:
        await box.sync()
    return await handler(request)


# -- helpers -------------------------------------------------------------------


def _writer_metrics(box: BallotBox | None) -> str:
    """The writer's batches and the time it held the write lock: on a shared
    database, what the processes cannot do side by side (docs/SPEC.md 13.5)."""
    if box is None:
        return ""
    return counter("liquid_mandate_write_batches_total", "Batches this process committed.", box.batches) + counter(
        "liquid_mandate_write_lock_seconds_total",
        "Seconds this process held the write lock, from the head row's lock to the commit.",
        round(box.locked_s, 6),
    )


def _int_arg(request: web.Request, name: str, default: int | None = None, lo: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise Problem("bad_request", f"query parameter {name!r} is required")
        return default
    value = ascii_int(raw, name)
    if value < lo:
        raise Problem("bad_request", f"{name} must be at least {lo}")
    return value


def _box(request: web.Request) -> BallotBox:
    box = request.app[OPENED].box
    assert box is not None, "the loading gate answers before the box is open"
    return box


def _witnessing(request: web.Request) -> Witnessing:
    witnessing = request.app[OPENED].witnessing
    assert witnessing is not None, "the loading gate answers before the box is open"
    return witnessing


def _founded(box: BallotBox) -> None:
    if box.state.assembly_id is None:
        raise Problem("not_founded", "this server has no assembly yet")


def _now(request: web.Request) -> datetime:
    return request.app[CLOCK]()


# -- the contract ----------------------------------------------------------------


async def get_server(request: web.Request) -> web.Response:
    box = _box(request)
    await box.settled()  # a size that holds whatever a view showed before (SPEC 9, "Reads and writes")
    return web.json_response(
        {
            "server_key": box.server_hex,
            "assembly": box.state.assembly_id,
            "name": box.state.name or None,
            "size": box.size,
        }
    )


async def post_statement(request: web.Request) -> web.Response:
    # A cross-site HTML form can only send the three "simple" types; demanding
    # JSON keeps every browser page but ours from posting (docs/SPEC.md section 9).
    if request.content_type != "application/json":
        raise Problem("unsupported_media_type", "POST /api/statements takes Content-Type: application/json")
    body = await request.read()
    envelope = parse(body)
    started = time.perf_counter()
    receipt = await _box(request).append(envelope)
    request.app[METRICS].appended(time.perf_counter() - started)
    return web.json_response(receipt.to_json(), status=201)


async def get_log(request: web.Request) -> web.Response:
    start = _int_arg(request, "from", 0)
    limit = min(_int_arg(request, "limit", 1000, lo=1), 10_000)
    lines = await _box(request).export(start, limit)
    return web.Response(body=b"".join(line + b"\n" for line in lines), content_type="application/jsonl")


async def get_texts(request: web.Request) -> web.Response:
    """Comment texts off the log, JSON Lines (docs/SPEC.md section 15.2)."""
    start = _int_arg(request, "from", 0)
    limit = min(_int_arg(request, "limit", 1000, lo=1), 10_000)
    records = await _box(request).texts(start, limit)
    return web.Response(body=b"".join(canonical_bytes(r) + b"\n" for r in records), content_type="application/jsonl")


async def get_checkpoint(request: web.Request) -> web.Response:
    _founded(_box(request))
    await _box(request).settled()
    return web.Response(text=await _witnessing(request).checkpoint(), content_type="text/plain")


async def get_checkpoints(request: web.Request) -> web.Response:
    box = _box(request)
    _founded(box)
    await box.settled()
    witnessing = _witnessing(request)
    if "size" in request.query and "covering" in request.query:
        raise Problem("bad_request", "give at most one of size and covering")
    if "size" not in request.query and "covering" not in request.query:
        # Every cosigned checkpoint, page by page (docs/SPEC.md section 13.1: an export's part).
        start = _int_arg(request, "from", 1)
        limit = min(_int_arg(request, "limit", 100, lo=1), 1000)
        notes = await witnessing.checkpoints(start, limit)
        return web.Response(text="\n".join(notes), content_type="text/plain")
    if "size" in request.query:
        size = _int_arg(request, "size", lo=1)
        if size > box.size:
            raise Problem("not_found", f"the log has {box.size} entries, no checkpoint of size {size} yet")
        text = await witnessing.checkpoint(size)
    else:
        index = _int_arg(request, "covering")
        found = await witnessing.covering(index)
        if found is None:
            raise Problem("not_witnessed", f"no checkpoint above {index} carries a quorum of policy witnesses yet")
        text = found
    return web.Response(text=text, content_type="text/plain")


async def get_inclusion(request: web.Request) -> web.Response:
    box = _box(request)
    await box.settled()  # the default size holds whatever a view showed before
    index, size = _int_arg(request, "index"), _int_arg(request, "size", box.size)
    try:
        proof, root = await box.inclusion_proof(index, size)
    except ValueError as e:
        raise Problem("bad_request", str(e)) from None
    return web.json_response({"index": index, "size": size, "root": root.hex(), "proof": [h.hex() for h in proof]})


async def get_consistency(request: web.Request) -> web.Response:
    box = _box(request)
    await box.settled()
    a, b = _int_arg(request, "from"), _int_arg(request, "to", box.size)
    try:
        proof, r1, r2 = await box.consistency_proof(a, b)
    except ValueError as e:
        raise Problem("bad_request", str(e)) from None
    return web.json_response(
        {"from": a, "to": b, "root_from": r1.hex(), "root_to": r2.hex(), "proof": [h.hex() for h in proof]}
    )


async def get_motion(request: web.Request) -> web.Response:
    box = _box(request)
    body = request.app[MOTION_BODIES].body(box.state, box.loads, request.match_info["id"], _now(request))
    if body is None:
        raise Problem("not_found", f"no motion {request.match_info['id']!r}")
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def get_instructions(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    return web.json_response({"deputy": key, "instructions": views.instructions(_box(request).state, key)})


# -- beyond the contract -----------------------------------------------------------


async def get_seq(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    return web.json_response({"key": key, "seq": _box(request).state.seqs.get(key, 0)})


MAX_KEYS = 100  # members named at once by GET /api/members?keys=


async def get_members(request: web.Request) -> web.Response:
    state = _box(request).state
    if "keys" in request.query:
        if "limit" in request.query or "after" in request.query:
            raise Problem("bad_request", "keys cannot be combined with limit or after")
        keys = [k for k in request.query["keys"].split(",") if k]
        if len(keys) > MAX_KEYS or any(len(k) != 64 or k.strip("0123456789abcdef") for k in keys):
            raise Problem("bad_request", f"keys is at most {MAX_KEYS} keys of 64 lowercase hex digits, comma separated")
        return web.json_response({"members": views.members_named(state, keys)})
    if "limit" not in request.query and "after" not in request.query:
        return web.json_response({"members": views.member_list(state)})  # every member: O(N)
    limit = min(_int_arg(request, "limit", 100, lo=1), 1000)
    return web.json_response(views.member_page(state, _int_arg(request, "after", 0), limit))


async def get_member(request: web.Request) -> web.Response:
    box, key = _box(request), request.match_info["key"]
    settings_to_key = await box.delegators(key)
    return web.json_response(views.member_detail(box.state, key, settings_to_key))


async def get_member_motion(request: web.Request) -> web.Response:
    box = _box(request)
    motion = request.match_info["id"]
    if motion not in box.state.motions:
        raise Problem("not_found", f"no motion {motion!r}")
    closed = await box.closed_paths(motion)  # as of the close, for a closed motion (SPEC 9, Vote paths)
    return web.json_response(views.vote_path(box.state, request.match_info["key"], motion, closed))


async def get_member_entries(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    found = await _box(request).entries_by(key)
    return web.json_response(
        {
            "member": key,
            "entries": [
                {"index": e["index"], "entry_hash": digest, "kind": e["statement"]["kind"], "entry": e}
                for e, digest in found
            ],
        }
    )


async def get_topics(request: web.Request) -> web.Response:
    return web.json_response({"topics": views.topics(_box(request).state)})


async def get_motions(request: web.Request) -> web.Response:
    which = request.query.get("state")
    if which not in (None, "open", "upcoming", "closed"):
        raise Problem("bad_request", "state must be open, upcoming or closed")
    return web.json_response({"motions": views.motions(_box(request).state, _now(request), which)})


def _scope_arg(request: web.Request) -> str:
    state = _box(request).state
    scope = request.query.get("scope", "*")
    kind, _, name = scope.partition(":")
    if not (scope == "*" or (kind == "topic" and name in state.topics) or (kind == "motion" and name in state.motions)):
        raise Problem("not_found", f"no scope {scope!r}")
    return scope


async def _closed_scope(request: web.Request, scope: str) -> ClosedPaths | None:
    """The snapshot of the closed motion ``scope`` names (its paths as of
    the close, SPEC 9), None for any other scope. Read again if the motion
    closed during the first read (a closed motion never reopens)."""
    if not scope.startswith(MOTION_PREFIX):
        return None
    box, motion = _box(request), scope[len(MOTION_PREFIX) :]
    closed = await box.closed_paths(motion)
    if closed is None and box.state.motions[motion].close_index is not None:
        closed = await box.closed_paths(motion)
    return closed


async def get_graph(request: web.Request) -> web.Response:
    state, scope = _box(request).state, _scope_arg(request)
    closed = await _closed_scope(request, scope)
    return web.json_response(request.app[POWER].report(state, scope, closed))


# -- people (issue 14; docs/SPEC.md section 9, "People") ----------------------------


def _key_arg(request: web.Request) -> str:
    key = request.match_info["key"]
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise Problem("bad_request", "a key is 64 lowercase hex digits")
    return key


def _person(request: web.Request) -> str:
    """The key of the path, which must be a member (active or expelled) or an organizer."""
    key, state = _key_arg(request), _box(request).state
    if key not in state.members and key not in state.organizers:
        raise Problem("not_found", f"no member {key}")
    return key


async def get_member_record(request: web.Request) -> web.Response:
    box = _box(request)
    key = _person(request)
    entries = await box.entries_by(key)
    delegators = await box.delegators(key)
    state = box.state
    texts = await box.text_of(state.comments_by.get(key, [])[-50:])
    return web.json_response(people.record(state, key, entries, delegators, _now(request), texts))


async def get_delegates(request: web.Request) -> web.Response:
    state = _box(request).state
    _founded(_box(request))
    query = request.query.get("q", "")
    if len(query) > 64 or any(unicodedata.category(c) == "Cc" for c in query):
        raise Problem("bad_request", "q is at most 64 characters, without control characters")
    exclude = request.query.get("exclude")
    limit = min(_int_arg(request, "limit", 20, lo=1), 100)
    cache = request.app[POWER]
    power = cache.get(state, _scope_arg(request))
    names = cache.names(state, power) if query.strip() else None
    return web.json_response(people.delegates(state, power, query, limit, exclude, names))


async def _delegated_votes(request: web.Request, key: str) -> list[dict[str, object]]:
    """delegates_did rows, each with the entry of the ballot that counts."""
    box = _box(request)
    items = people.delegates_did(box.state, key, _now(request))
    ballots: dict[str, dict[str, dict[str, object]]] = {}
    for it in items:
        carrier = str(it["carrier"])
        if carrier not in ballots:
            mine: dict[str, dict[str, object]] = {}
            for e, _ in await box.entries_by(carrier):
                st = e["statement"]
                if st["kind"] == "ballot":
                    mine[st["motion"]] = {"index": e["index"], "received": e["received"]}
            ballots[carrier] = mine
        it["ballot"] = ballots[carrier].get(str(it["motion"]))
    return [it for it in items if it["ballot"] is not None]


async def get_delegated_votes(request: web.Request) -> web.Response:
    key = _person(request)
    return web.json_response({"member": key, "votes": await _delegated_votes(request, key)})


async def get_member_feed(request: web.Request) -> web.Response:
    key = _person(request)
    lang = request.query.get("lang", "en")
    if lang not in ("en", "fr"):
        raise Problem("bad_request", "lang must be en or fr")
    items = await _delegated_votes(request, key)
    box = _box(request)
    member = box.state.members.get(key)
    newest = max((str(it["ballot"]["received"]) for it in items), default=box.received or format_time(_now(request)))  # type: ignore[index]
    base = f"{request.scheme}://{request.host}"
    text = atom_feed(base=base, key=key, name=member.name if member else "", items=items, updated=newest, lang=lang)
    return web.Response(text=text, content_type="application/atom+xml", charset="utf-8")


async def get_graph_summary(request: web.Request) -> web.Response:
    state = _box(request).state
    scope = _scope_arg(request)
    top = min(_int_arg(request, "top", 10, lo=1), 50)
    closed = await _closed_scope(request, scope)  # a closed motion's trees as of its close
    power = request.app[POWER].get(state, scope, closed)
    return web.json_response(power.summary(state, top))


async def get_invites(request: web.Request) -> web.Response:
    """Invitations in the order they were published, used or not, one
    page at a time (``after``, ``limit``), with the counts."""
    state = _box(request).state
    limit = min(_int_arg(request, "limit", 100, lo=1), 1000)
    after = _int_arg(request, "after", 0)
    hashes = list(state.invites)
    used = sum(1 for v in state.invites.values() if v is not None)
    page = [
        {
            "code_hash": h,
            "note": state.invite_notes.get(h, ""),
            "used_by": state.invites[h],
            "name": state.members[k].name if (k := state.invites[h]) in state.members else None,
            "active": state.is_active(k) if k else None,
        }
        for h in hashes[after : after + limit]
    ]
    nxt = after + len(page)
    return web.json_response(
        {"invites": page, "used": used, "unused": len(hashes) - used, "next": nxt if nxt < len(hashes) else None}
    )


async def get_draws(request: web.Request) -> web.Response:
    return web.json_response({"draws": sortition.draws(_box(request).state, _now(request))})


async def get_draw(request: web.Request) -> web.Response:
    detail = sortition.draw_detail(_box(request).state, request.match_info["id"], _now(request))
    if detail is None:
        raise Problem("not_found", f"no draw {request.match_info['id']!r}")
    return web.json_response(detail)


async def get_compliance(request: web.Request) -> web.Response:
    """docs/SPEC.md section 9: the summary per deputy, or the rows of one
    deputy (``?deputy=K``) or one motion (``?motion=M``)."""
    state = _box(request).state
    deputy, motion = request.query.get("deputy"), request.query.get("motion")
    if deputy is None and motion is None:
        return web.json_response({"deputies": compliance.summary(state)})
    rows = [r.to_json(state) for r in compliance.rows(state, motion=motion, deputy=deputy)]
    return web.json_response({"deputy": deputy, "motion": motion, "rows": rows})


async def get_deputies(request: web.Request) -> web.Response:
    return web.json_response({"roster": _box(request).state.active_roster()})


async def get_entry(request: web.Request) -> web.Response:
    raw = request.match_info["index"]
    found = await _box(request).entry(ascii_int(raw, "index"))
    if found is None:
        raise Problem("not_found", f"no entry {raw}")
    entry, digest = found
    return web.json_response({"entry": entry, "entry_hash": digest})


async def get_events(request: web.Request) -> web.StreamResponse:
    return await request.app[HUB].stream(request)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: 200 as soon as the server listens, ``loading`` (with the
    phase and its progress) until the box is ready (serving.startup)."""
    loading = request.app[LOADING]
    if not loading.ready:
        return web.json_response(loading.status(), status=503 if loading.failed else 200)
    box = _box(request)
    return web.json_response({"status": "ok", "size": box.size, "assembly": box.state.assembly_id})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 503 ``loading`` (with Retry-After) until the box is ready."""
    loading = request.app[LOADING]
    if not loading.ready:
        return unavailable(loading)
    return web.json_response({"status": "ok", "size": _box(request).size})


async def get_witnesses(request: web.Request) -> web.Response:
    await _box(request).settled()  # its size, like /api/server's
    return web.json_response(_witnessing(request).status())


async def get_metrics(request: web.Request) -> web.Response:
    text = request.app[METRICS].render(_box(request).size) + _witnessing(request).render_metrics()
    return web.Response(text=text, content_type="text/plain")


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(ROUTES))


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(ROOT / "web" / "index.html")


# (method, path, handler, summary) — the one list the router and OpenAPI read.
ROUTES: list[tuple[str, str, Callable[..., Any], str]] = [
    ("GET", "/api/server", get_server, "The server key and the assembly id (null before genesis)."),
    ("POST", "/api/statements", post_statement, "Append one signed statement; 201 and its receipt."),
    ("GET", "/api/log", get_log, "Entries from `from` (at most `limit`), as canonical JSON Lines."),
    ("GET", "/api/checkpoint", get_checkpoint, "The latest signed checkpoint note, with every cosignature so far."),
    (
        "GET",
        "/api/checkpoints",
        get_checkpoints,
        "The checkpoint of exactly `size`, or the smallest above `covering` cosigned by a quorum; with cosignatures.",
    ),
    ("GET", "/api/texts", get_texts, "Comment texts (or their redactions) from entry `from`, as JSON Lines."),
    ("GET", "/api/proof/inclusion", get_inclusion, "Inclusion proof of entry `index` in the tree of `size`."),
    ("GET", "/api/proof/consistency", get_consistency, "Consistency proof between sizes `from` and `to`."),
    ("GET", "/api/motions/{id}", get_motion, "A motion, its state, live tally or result."),
    ("GET", "/api/deputies/{key}/instructions", get_instructions, "Every instruction of one deputy."),
    ("GET", "/api/seq/{key}", get_seq, "The last accepted seq of an author."),
    (
        "GET",
        "/api/members",
        get_members,
        "Members with pseudonym and roles; all, a page (`limit`, `after`), or those named (`keys`).",
    ),
    ("GET", "/api/members/{key}", get_member, "One member, their delegations and delegators."),
    ("GET", "/api/members/{key}/motions/{id}", get_member_motion, "The path of a member's vote and their weight."),
    ("GET", "/api/members/{key}/entries", get_member_entries, "Every entry a key signed, in log order."),
    (
        "GET",
        "/api/members/{key}/record",
        get_member_record,
        "A member's page: fingerprint, public votes and delegations, delegators, weight per open bill, comments.",
    ),
    (
        "GET",
        "/api/members/{key}/delegated-votes",
        get_delegated_votes,
        "Open bills where a delegate's vote counts for this member, with the choice and the close.",
    ),
    ("GET", "/api/members/{key}/feed.atom", get_member_feed, "The same as an Atom feed (`lang` en or fr)."),
    ("GET", "/api/delegates", get_delegates, "Members to delegate to, heaviest first, filtered by `q`."),
    ("GET", "/api/invites", get_invites, "Invitations, used or not, a page at a time, with the counts."),
    ("GET", "/api/topics", get_topics, "The topic tree."),
    ("GET", "/api/motions", get_motions, "Motions, optionally filtered by `state`."),
    ("GET", "/api/graph", get_graph, "Delegation graph analytics of a scope (a closed motion's as of its close)."),
    (
        "GET",
        "/api/graph/summary",
        get_graph_summary,
        "Concentration figures of a scope and its `top` heaviest members with their trees, at any size.",
    ),
    ("GET", "/api/deputies", get_deputies, "The deputies' roster in force."),
    ("GET", "/api/draws", get_draws, "Draws by lot: window, seats, state and pool size."),
    ("GET", "/api/draws/{id}", get_draw, "One draw: its volunteers, certifications, pool and, once drawn, the chosen."),
    ("GET", "/api/compliance", get_compliance, "Instructions, reports and official records of the deputies."),
    ("GET", "/api/entries/{index}", get_entry, "One log entry and its hash."),
    ("GET", "/api/witnesses", get_witnesses, "The witness policy in force and each witness's submission state."),
    ("GET", "/api/events", get_events, "Server-sent events: new entries and tally changes."),
    *deliberation.routes(_box),
    ("GET", "/healthz", healthz, "Liveness: `ok`, or `loading` with the phase and progress while the box loads."),
    ("GET", "/readyz", readyz, "Readiness: 200 once the box is loaded, 503 `loading` with Retry-After before."),
    ("GET", "/metrics", get_metrics, "Prometheus metrics."),
    ("GET", "/openapi.json", get_openapi, "This document."),
]


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    box_ready: Callable[[BallotBox], Any] | None = None,
    witness_options: dict[str, Any] | None = None,
    load_in_background: bool = False,
    before_load: Callable[[], Awaitable[None]] | None = None,
) -> web.Application:
    """The aiohttp application; the box and its witnesses open and close
    with the app. ``witness_options`` go to the cosigning submitter (timeout,
    min_interval, backoff_initial, backoff_max).

    ``load_in_background`` (what ``server.py`` does): the app starts, and
    the server listens, before the box is loaded; until it is,
    ``serving.startup`` answers (``/healthz`` says ``loading``, the rest is
    503), and ``app[LOADING].task`` ends with the load's error if it fails.
    Otherwise the app's start-up waits for the box (embedding, tests).
    ``before_load`` is awaited first (the test-only hold of serving.startup)."""
    limits = settings.limits
    loading = Loading()
    app = web.Application(
        middlewares=[
            problems,
            loading_gate(loading),
            limits_middleware(limits, PostRate(limits.post_rate, limits.post_burst)),
            sync_reads,
        ],
        client_max_size=MAX_BODY,
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[BEHIND_PROXY] = settings.behind_proxy
    app[CLOCK] = clock
    app[POWER] = people.PowerCache()
    app[MOTION_BODIES] = MotionBodies()
    app[LOADING] = loading
    opened = app[OPENED] = Opened()
    app[HUB] = EventHub(lambda: _opened_box(opened).state)
    # Other parts add their series here (the witness submitter: its render_metrics).
    app[METRICS].sources.append(
        lambda: gauge("liquid_mandate_sse_clients", "Open event streams.", len(app[HUB].queues))
    )
    app[METRICS].sources.append(lambda: _writer_metrics(opened.box))
    closing = contextlib.AsyncExitStack()

    async def open_box() -> None:
        t0 = time.perf_counter()
        try:
            if before_load is not None:
                await before_load()
            secure_data_dir(settings.data_dir, sqlite_path(settings.database_url))
            if load_in_background:  # server.py's own process: its collector is ours to tune
                # No cyclic collection while the state is built (a full one
                # walks every object loaded so far, stalling the loop for
                # 100s of ms at 10^5 members); then the loaded state is frozen
                # out of the collector's later passes (gc.freeze).
                gc.disable()
            box = await BallotBox.open(
                settings.database_url,
                load_server_key(settings.data_dir),
                clock=clock,
                full_check=settings.full_check,
                verify_processes=settings.verify_processes,
                comment_rate=None if settings.comment_rate is None else RatePolicy(*settings.comment_rate),
                progress=loading.report,
                # A clean stop keeps the state beside an SQLite database (ballots.snapshot).
                snapshot_path=None if sqlite_path(settings.database_url) is None else settings.data_dir / SNAPSHOT,
            )
        except BaseException:
            loading.failed, loading.phase = True, "failed"
            raise
        finally:
            if load_in_background:
                gc.enable()
        if load_in_background:
            gc.freeze()
        closing.push_async_callback(box.aclose)
        opened.box = box
        box.listeners.append(app[HUB].on_entries)
        witnessing = opened.witnessing = Witnessing(
            box, allowed_hosts=settings.witness_hosts, **{**WITNESS_DEFAULTS, **(witness_options or {})}
        )
        await witnessing.start()
        closing.push_async_callback(witnessing.aclose)
        closing.callback(app[HUB].close)
        if box_ready is not None:
            await box_ready(box)
        closer = asyncio.create_task(_close_loop(box, settings.close_interval))
        closing.callback(closer.cancel)
        loading.phase, loading.ready = "ready", True
        log.info("ready in %.2f s: %d entries", time.perf_counter() - t0, box.size)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = loading.task = asyncio.create_task(open_box(), name="open-ballot-box")
        try:
            if not load_in_background:
                await task
            elif before_load is None:
                # A state that loads within a moment is loaded before the port
                # opens, so that a client that waits for the port (or /healthz)
                # and then calls the API never meets a 503 (docs/SPEC.md
                # "Start-up"); only a longer load is served as `loading`.
                await asyncio.wait({task}, timeout=READY_BEFORE_LISTENING)
            yield
        finally:
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):  # its error, if any, went to whoever awaited the task
                await task
            await closing.aclose()

    async def on_shutdown(app: web.Application) -> None:
        app[HUB].close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    for method, path, handler, _ in ROUTES:
        # expect_handler: an oversized body is refused before `100 Continue` (serving.limits).
        app.router.add_route(method, path, handler, expect_handler=expect_handler)
    fallback.install(app)
    headers.install(app)
    app.router.add_get("/", index)
    app.router.add_static("/", ROOT / "web", show_index=False)
    return app


def _opened_box(opened: Opened) -> BallotBox:
    assert opened.box is not None, "no event is sent before the box is open"
    return opened.box


async def _until_the_load_fails(app: web.Application) -> None:
    """What ``edge.run`` serves until: forever, unless the box's load (begun
    after the server listened) fails; its error then ends the process."""
    task = app[LOADING].task
    if task is not None:
        await task
        deferred = app[OPENED].box.deferred if app[OPENED].box is not None else None
        if deferred is not None:  # the checks a start from the snapshot put off
            await deferred
    await asyncio.Event().wait()


# The states a clean stop leaves in the data directory (SPEC "Start-up").
SNAPSHOT = "state.snapshot"

# Seconds the start-up waits for the state before it listens anyway (SPEC "Start-up").
READY_BEFORE_LISTENING = 3.0

# Short: a witness answers one small POST; retries back off to a minute.
WITNESS_DEFAULTS: dict[str, Any] = {"timeout": 2.0, "min_interval": 1.0, "backoff_initial": 1.0, "backoff_max": 60.0}


async def _close_loop(box: BallotBox, interval: float) -> None:
    while True:
        try:
            await box.close_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("closing due motions failed")
        await asyncio.sleep(interval)


async def _rebuild(settings: Settings) -> int:
    box = await BallotBox.open(settings.database_url, load_server_key(settings.data_dir), full_check=True)
    try:
        state = await box.rebuild()
    finally:
        await box.aclose()
    # The next start reads the rebuilt tables, not a state kept from before.
    (settings.data_dir / SNAPSHOT).unlink(missing_ok=True)
    print(f"rebuilt the projections from {state.size} entries")
    return 0


def main(argv: list[str] | None = None) -> int:
    command, settings = settings_from(argv)
    setup_logging(settings.log_format)
    if command == "rebuild":
        try:
            return asyncio.run(_rebuild(settings))
        except (E.LogCorrupted, E.SchemaTooNew) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    if command in ("restore", "backup"):
        from serving.ops_commands import run_backup, run_restore

        return run_restore(settings) if command == "restore" else run_backup(settings)
    box_ready = None
    if settings.demo != "off":
        from demo import demo_hook

        box_ready = demo_hook(settings)
    try:
        app = create_app(settings, box_ready=box_ready, load_in_background=True, before_load=hold_from_env())
    except E.LogCorrupted as e:
        print(f"error: the stored log is corrupted: {e}", file=sys.stderr)
        return 1
    print(
        f"Liquid Mandate on http://{settings.host}:{settings.port}/ (data in {settings.data_dir.resolve()})", flush=True
    )
    try:
        edge.run(
            app,
            settings.host,
            settings.port,
            settings.limits,
            shutdown_timeout=5,
            access_log=logging.getLogger("liquid-mandate.access") if settings.access_log else None,
            access_log_class=AccessLogger,
            serve_until=lambda: _until_the_load_fails(app),
        )
    except E.LogCorrupted as e:
        print(f"error: the stored log is corrupted, refusing to serve it: {e}", file=sys.stderr)
        return 1
    except E.SchemaTooNew as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
