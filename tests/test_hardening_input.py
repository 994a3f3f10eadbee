"""Issue 11, "the server and the verifier agree on every input" and "bad
input": each test is named after the bullet it pins down and failed on main
before the fix (ASCII-only times and integers, URLs, names, the 5,000-digit
integer, the JSON media type, problem+json for unknown routes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import server
import verify_cli
from ballots import errors as E
from ballots.policy import name_key
from client.author import Author, code_hash, new_code
from crypto.canonical import CanonicalError, parse
from tests.test_verify import check_log, failed, sc  # noqa: F401  (sc: the session scenario fixture)
from tests.verifier_logs import entries, rechain, resign
from tests.world import Clock, World, at

PROBLEM = "https://liquid-mandate.org/problems/"
JSON = {"Content-Type": "application/json"}
ARABIC_2026 = "\u0662\u0660\u0662\u0666"  # ٢٠٢٦


@pytest.fixture
async def api(aiohttp_client, tmp_path: Path, clock: Clock):
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


async def _founded(api: Any) -> tuple[Author, str]:
    from client.author import genesis

    info = await (await api.get("/api/server")).json()
    founder = Author()
    r = await api.post("/api/statements", data=json.dumps(genesis(founder, server=info["server_key"])), headers=JSON)
    assert r.status == 201
    return founder, (await (await api.get("/api/server")).json())["assembly"]


async def _log(api: Any) -> bytes:
    return await (await api.get("/api/log", params={"limit": "10000"})).read()


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    body = await resp.json(content_type=None)
    assert resp.status == status, body
    assert resp.content_type == "application/problem+json"
    assert body["type"] == PROBLEM + code and body["status"] == status
    return body


# -- times: ASCII digits only ---------------------------------------------------------


async def test_motion_time_with_non_ascii_digits_is_refused_and_nothing_written(world: World, clock: Clock) -> None:
    await world.topic("t")
    size = world.box.size
    for opens in (ARABIC_2026 + at(clock)[4:], at(clock)[:17] + "\u0660\u0661Z", "２０２６" + at(clock)[4:]):
        st = world.org(
            "motion",
            id="m",
            topic="t",
            title="M",
            summary="S",
            url="",
            opens=opens,
            closes=at(clock, hours=1),
            quorum=None,
        )
        with pytest.raises(E.BadValue, match="opens"):
            await world.box.append(st)
    assert world.box.size == size


def test_verifier_refuses_a_motion_time_with_non_ascii_digits(tmp_path, capsys, sc) -> None:  # noqa: F811
    es = entries(sc.lines)
    i = sc.index("motion", id="open-bill")
    es[i]["statement"]["closes"] = ARABIC_2026 + es[i]["statement"]["closes"][4:]
    resign(es[i], sc.founder.key)
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and ("rules", i) in failed(rep)
    assert verify_cli.time_key(ARABIC_2026 + "-11-23T10:00:00Z") is None


# -- integers in query strings and paths ------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/log?from=%C2%B2",  # superscript two
        "/api/log?from=%D9%A3",  # Arabic-Indic three
        "/api/log?limit=%EF%BC%95",  # fullwidth five
        "/api/entries/%C2%B2",
        "/api/entries/%D9%A3",
        "/api/proof/inclusion?index=%C2%B2",
        "/api/proof/consistency?from=0&to=%D9%A3",
        "/api/log?from=" + "9" * 5000,
        "/api/entries/" + "9" * 5000,
        "/api/log?from=-1",
        "/api/log?from=%2B1",
    ],
)
async def test_integer_parameters_with_non_ascii_digits_or_huge_are_400(api, path: str) -> None:
    await _problem(await api.get(path), 400, "bad_request")


async def test_statement_with_a_5000_digit_integer_is_a_400(api) -> None:
    founder, assembly = await _founded(api)
    before = await _log(api)
    body = json.dumps(founder.sign("invite", assembly, code_hash="00" * 32, note="")).replace(
        f'"seq": {founder.seq}', '"seq": ' + "9" * 5000
    )
    assert "9" * 5000 in body
    await _problem(await api.post("/api/statements", data=body, headers=JSON), 400, "malformed")
    assert await _log(api) == before


@pytest.mark.parametrize("text", ["9" * 5000, "-" + "9" * 5000, "[" + "1" * 17 + "]"])
def test_huge_integers_are_canonical_errors_in_both_programs(text: str) -> None:
    with pytest.raises(CanonicalError):
        parse(text)
    with pytest.raises(verify_cli.CanonicalError):
        verify_cli.parse_strict(text)


# -- routes and media types -------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("GET", "/api/nope", 404, "not_found"),
        ("GET", "/api/statements", 405, "method_not_allowed"),
        ("HEAD", "/api/log", 405, "method_not_allowed"),
        ("DELETE", "/api/server", 405, "method_not_allowed"),
        ("POST", "/api/log", 405, "method_not_allowed"),
    ],
)
async def test_unknown_api_routes_and_wrong_methods_are_problem_json(api, method, path, status, code) -> None:
    resp = await api.request(method, path)
    assert resp.status == status and resp.content_type == "application/problem+json"
    if method != "HEAD":
        await _problem(resp, status, code)
    if status == 405:
        assert resp.headers["Allow"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
async def test_post_statements_requires_content_type_application_json(api, headers) -> None:
    founder, assembly = await _founded(api)
    before = await _log(api)
    body = json.dumps(founder.sign("invite", assembly, code_hash="00" * 32, note="")).encode()
    resp = await api.post("/api/statements", data=body, headers=headers, skip_auto_headers=["Content-Type"])
    await _problem(resp, 415, "unsupported_media_type")
    assert await _log(api) == before
    ok = await api.post("/api/statements", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status == 201


# -- motion URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "ftp://x", " https://x", "//x"]
)
async def test_motion_url_not_empty_https_or_http_is_refused(world: World, clock: Clock, url: str) -> None:
    await world.topic("t")
    size = world.box.size
    st = world.org(
        "motion",
        id="m",
        topic="t",
        title="M",
        summary="S",
        url=url,
        opens=at(clock),
        closes=at(clock, hours=1),
        quorum=None,
    )
    with pytest.raises(E.BadValue, match="url"):
        await world.box.append(st)
    assert world.box.size == size
    for i, good in enumerate(("", "https://example.org/bill", "http://example.org/")):
        await world.box.append(
            world.org(
                "motion",
                id=f"ok{i}",
                topic="t",
                title="M",
                summary="S",
                url=good,
                opens=at(clock),
                closes=at(clock, hours=1),
                quorum=None,
            )
        )


def test_verifier_refuses_a_javascript_motion_url(tmp_path, capsys, sc) -> None:  # noqa: F811
    es = entries(sc.lines)
    i = sc.index("motion", id="open-bill")
    es[i]["statement"]["url"] = "javascript:alert(document.cookie)"
    resign(es[i], sc.founder.key)
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and ("rules", i) in failed(rep)
    assert rep["failures"][0]["reason"].startswith("malformed")


# -- member names -----------------------------------------------------------------------

BAD_NAMES = [
    "x" * 65,
    "a\x07b",
    "a\nb",
    "a\x7fb",
    "a\u0085b",
    "\u202eevil",
    "a\u2066b",
    "a\u061cb",
    "a\u200fb",
    "a\u200eb",
]


async def _enroll(world: World, name: str) -> Author:
    code = new_code()
    await world.box.append(world.org("invite", code_hash=code_hash(code), note=""))
    a = Author()
    await world.box.append(a.sign("enroll", world.assembly, code=code, name=name))
    return a


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_enrolment_name_over_64_code_points_or_with_a_control_is_refused(world: World, name: str) -> None:
    code = new_code()
    await world.box.append(world.org("invite", code_hash=code_hash(code), note=""))
    size = world.box.size
    with pytest.raises(E.BadValue, match="name"):
        await world.box.append(Author().sign("enroll", world.assembly, code=code, name=name))
    assert world.box.size == size


async def test_enrolment_names_that_are_fine(world: World) -> None:
    for name in ("é" * 64, "👩🏽‍🚀" * 10, "Zoë Ñandú", "", ""):
        await _enroll(world, name)


@pytest.mark.parametrize("name", ["a\u202eb", "y" * 65, "a\x00b"])
def test_verifier_refuses_an_enrolment_name_with_a_control_or_too_long(tmp_path, capsys, sc, name) -> None:  # noqa: F811
    es = entries(sc.lines)
    member = sc.members[1]
    i = sc.index("enroll", author=member.public)
    es[i]["statement"]["name"] = name
    resign(es[i], member.key)
    code, rep = check_log(tmp_path, capsys, sc, rechain(es))
    assert code == 1 and ("rules", i) in failed(rep)


async def test_name_already_used_by_an_active_member_is_refused(world: World) -> None:
    alice = await _enroll(world, "Alice")
    for taken in ("Alice", "alice", "ALICE", "Ali\u0063e"):
        code = new_code()
        await world.box.append(world.org("invite", code_hash=code_hash(code), note=""))
        size = world.box.size
        with pytest.raises(E.NameTaken):
            await world.box.append(Author().sign("enroll", world.assembly, code=code, name=taken))
        assert world.box.size == size
    # NFC: a decomposed é is the same name as a composed one; ß folds to ss.
    await _enroll(world, "Ren\u00e9")
    with pytest.raises(E.NameTaken):
        await _enroll(world, "rene\u0301")
    await _enroll(world, "Stra\u00dfe")
    with pytest.raises(E.NameTaken):
        await _enroll(world, "STRASSE")
    # An expelled member's name is free again; empty names never clash.
    await world.box.append(world.org("expel", member=alice.public, reason="left"))
    await _enroll(world, "alice")
    await _enroll(world, "")
    await _enroll(world, "")
    assert name_key("Stra\u00dfe") == name_key("strasse")


async def test_name_taken_over_http_is_a_409_problem(api) -> None:
    founder, assembly = await _founded(api)
    for i, name in enumerate(("Bob", "bob")):
        code = new_code()
        r = await api.post(
            "/api/statements",
            data=json.dumps(founder.sign("invite", assembly, code_hash=code_hash(code), note="")),
            headers=JSON,
        )
        assert r.status == 201
        before = await _log(api)
        resp = await api.post(
            "/api/statements",
            data=json.dumps(Author().sign("enroll", assembly, code=code, name=name)),
            headers=JSON,
        )
        if i == 0:
            assert resp.status == 201
        else:
            await _problem(resp, 409, "name_taken")
            assert await _log(api) == before


# -- security headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),
        ("GET", "/js/app.js"),
        ("GET", "/api/server"),
        ("GET", "/api/nope"),
        ("GET", "/api/log?from=x"),
        ("HEAD", "/api/log"),
        ("GET", "/openapi.json"),
        ("GET", "/healthz"),
        ("GET", "/no-such-file"),
        ("POST", "/api/statements"),
    ],
)
async def test_security_headers_on_every_response(api, method: str, path: str) -> None:
    resp = await api.request(method, path)
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert not any(ch.isdigit() for ch in resp.headers["Server"]) and "aiohttp" not in resp.headers["Server"].lower()


# -- the UI renders only http(s) links ------------------------------------------------------


@pytest.mark.browser
def test_ui_refuses_to_render_non_http_links(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch, require_browser, running_server

    require_browser()
    with running_server(tmp_path) as base, sync_playwright() as p:
        b = launch(p)
        try:
            page = b.new_page()
            page.goto(base + "/")
            hrefs = page.evaluate(
                """async () => { const { h } = await import('/js/dom.js');
                const urls = ['javascript:alert(1)', 'JavaScript:x', ' javascript:x', 'data:text/html,x', 'vbscript:x',
                              '//evil.example/', 'https://example.org/a', 'http://example.org/', '#/bill/x', '/api/log'];
                return urls.map((u) => h('a', { href: u }, 'x').getAttribute('href')); }"""
            )
        finally:
            b.close()
    assert hrefs == [None] * 6 + ["https://example.org/a", "http://example.org/", "#/bill/x", "/api/log"]
