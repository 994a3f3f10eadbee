"""Deliberation over HTTP (docs/SPEC.md sections 9 and 13): comments posted
with their texts beside the envelope, refusals as problem+json that write
nothing, GET /api/texts, and the verifier run against a real server process,
which fetches the texts itself and gives the same verdict without them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import verify_cli
from client.author import Author, code_hash, comment, genesis, new_code
from crypto.canonical import parse_canonical
from tests.processes import running_server

PROBLEM = "https://liquid-mandate.org/problems/"


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self.founder = Author()
        self.assembly = ""

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.read()

    def post(self, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        req = urllib.request.Request(
            self.base + "/api/statements", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                got, answer = r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                got, answer = e.code, json.loads(e.read())
        assert got == status, answer
        return answer  # type: ignore[no-any-return]

    def found(self) -> None:
        key = json.loads(self.get("/api/server"))["server_key"]
        self.post(genesis(self.founder, server=key))
        self.assembly = json.loads(self.get("/api/server"))["assembly"]

    def member(self, name: str) -> Author:
        code = new_code()
        self.post(self.founder.sign("invite", self.assembly, code_hash=code_hash(code), note=""))
        a = Author()
        self.post(a.sign("enroll", self.assembly, code=code, name=name))
        return a

    def org(self, kind: str, **fields: Any) -> dict[str, Any]:
        return self.post(self.founder.sign(kind, self.assembly, **fields))


def refused(h: Http, body: dict[str, Any], status: int, code: str) -> None:
    size = json.loads(h.get("/api/server"))["size"]
    answer = h.post(body, status)
    assert answer["type"] == PROBLEM + code, answer
    assert json.loads(h.get("/api/server"))["size"] == size


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("debate-server") / "data"
    with running_server(data) as base:
        h = Http(base)
        h.found()
        yield h


def test_comments_over_http_and_the_verifier_fetches_their_texts(served: Http, capsys) -> None:
    h = served
    alice, bob = h.member("alice"), h.member("bob")
    h.org("topic", id="city", title="City", description="", parent=None)
    h.org(
        "motion",
        id="trams",
        topic="city",
        title="Trams",
        summary="Build trams.",
        url="",
        opens="2026-01-01T00:00:00Z",
        closes="2099-01-01T00:00:00Z",
        quorum=None,
    )
    first = h.post(comment(alice, h.assembly, "Trams are quiet.", motion="trams", stance="for"))
    assert "text" not in first["entry"]["statement"]
    h.post(comment(bob, h.assembly, "Trop cher !", motion="trams", stance="against", reply_to=first["index"]))
    wrong = comment(bob, h.assembly, "I said this.", motion="trams")
    wrong["text"] = "I said that."
    refused(h, wrong, 422, "text_hash_mismatch")
    refused(h, comment(bob, h.assembly, "x" * 4001, motion="trams"), 422, "bad_text_length")
    refused(h, bob.sign("redact", h.assembly, entry=first["index"], reason="no"), 403, "not_redactor")
    h.post(alice.sign("redact", h.assembly, entry=first["index"], reason="changed my mind"))
    lines = h.get(f"/api/texts?from={first['index']}").splitlines()
    records = [parse_canonical(x) for x in lines]
    assert records[0] == {
        "index": first["index"],
        "redacted": True,
        "reason": "changed my mind",
        "redact": first["index"] + 2,
    }
    assert records[1]["text"] == "Trop cher !"
    assert h.get(f"/api/texts?from={first['index']}&limit=1").count(b"\n") == 1
    for extra in ([], ["--no-texts"]):
        code = verify_cli.main([h.base, "--json", "--quiet", "--jobs", "1", *extra])
        rep = json.loads(capsys.readouterr().out)
        assert rep["failures"] == [] and rep["checks"]["rules"] == "passed"
        assert ("texts" in rep["checks"]) == (not extra)
        assert [r["reason"] for r in rep["texts"]["redacted"]] == ["changed my mind"]
        assert code in (0, 3)  # 3 only when the server's witness checks are skipped
        assert rep["checks"].get("texts", "passed") == "passed"


def test_texts_of_an_empty_log_and_a_bad_query(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as base:
        with urllib.request.urlopen(base + "/api/texts", timeout=10) as r:
            assert r.read() == b"" and r.headers["Content-Type"].startswith("application/jsonl")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/api/texts?from=x", timeout=10)
        assert e.value.code == 400
        e.value.close()
