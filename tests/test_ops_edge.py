"""What an operator reads (docs/SPEC.md section 13.5): /metrics through a
real Prometheus parser, the client's address behind a proxy (and only
then), JSON-lines logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

import server
from serving.client_address import BEHIND_PROXY, client_address
from serving.cosigning import Cosigner, CosigningSubmitter, WitnessPolicy
from serving.logging_setup import JsonFormatter
from tests.processes import running_server
from tests.test_server import Client
from tests.world import Clock


@pytest.fixture
async def api(aiohttp_client, tmp_path: Path, clock: Clock):
    app = server.create_app(server.Settings(data_dir=tmp_path, close_interval=0.05), clock=clock)
    return await aiohttp_client(app)


def families(text: str) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """family name -> {(sample name, labels): value}, through prometheus_client's parser."""
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for fam in text_string_to_metric_families(text):
        out[fam.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in fam.samples}
    return out


async def test_metrics_parse_and_hold_the_operators_series(api) -> None:
    c = Client(api)
    await c.found()
    await c.member("ada")
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    # Two refusals of different types: a topic that exists, a body that is not JSON.
    again = c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None)
    assert (
        await api.post("/api/statements", data=json.dumps(again), headers={"Content-Type": "application/json"})
    ).status == 409
    assert (
        await api.post("/api/statements", data=b"{not json", headers={"Content-Type": "application/json"})
    ).status == 400
    events = await api.get("/api/events")  # one SSE client while we look
    assert events.status == 200
    await events.content.readline()
    text = await (await api.get("/metrics")).text()
    events.close()
    m = families(text)
    assert m["liquid_mandate_appends"][("liquid_mandate_appends_total", ())] == 4
    refusals = m["liquid_mandate_refusals"]
    by_type = {dict(labels)["type"]: v for (_, labels), v in refusals.items()}
    assert by_type.get("malformed") == 1 and sum(by_type.values()) == 2, by_type
    hist = m["liquid_mandate_append_seconds"]
    assert hist[("liquid_mandate_append_seconds_count", ())] == 4
    assert hist[("liquid_mandate_append_seconds_bucket", (("le", "+Inf"),))] == 4
    assert m["liquid_mandate_log_size"][("liquid_mandate_log_size", ())] == 4
    assert m["liquid_mandate_sse_clients"][("liquid_mandate_sse_clients", ())] == 1
    batches = m["liquid_mandate_write_batches"][("liquid_mandate_write_batches_total", ())]
    assert 1 <= batches <= 5  # the four appends and the refused topic (the writer checks the rules)
    assert m["liquid_mandate_write_lock_seconds"][("liquid_mandate_write_lock_seconds_total", ())] > 0


async def test_metrics_include_the_witness_submitter(api) -> None:
    """A registered source (the witness submitter, serving/cosigning.py) is
    part of /metrics and parses with the rest."""
    policy = WitnessPolicy((Cosigner("w.example/one", bytes(32), "http://127.0.0.1:9"),), 1)

    async def nothing(*_a: object) -> None:
        return None

    submitter = CosigningSubmitter(
        policy,
        latest_checkpoint=nothing,
        consistency_proof=nothing,
        store_cosignature=nothing,  # type: ignore[arg-type]
    )
    api.server.app[server.METRICS].sources.append(submitter.render_metrics)
    await submitter.start()  # one worker per cosigner: their series appear
    try:
        m = families(await (await api.get("/metrics")).text())
    finally:
        await submitter.aclose()
    sizes = m["liquid_mandate_witness_cosigned_size"]
    assert sizes[("liquid_mandate_witness_cosigned_size", (("witness", "w.example/one"),))] == 0
    outcomes = {dict(labels)["outcome"] for (_, labels) in m["liquid_mandate_witness_submissions"]}
    assert outcomes == {"ok", "failed"}
    assert "liquid_mandate_log_size" in m


def fake_request(app: web.Application, peer: str, headers: dict[str, str]) -> web.BaseRequest:
    return make_mocked_request("GET", "/", headers=headers, app=app).clone(remote=peer)


@pytest.mark.parametrize(
    ("behind", "headers", "want"),
    [
        (False, {}, "10.0.0.1"),
        (False, {"X-Forwarded-For": "203.0.113.9"}, "10.0.0.1"),  # not behind a proxy: the header is anyone's
        (True, {}, "10.0.0.1"),
        (True, {"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"),
        (
            True,
            {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},
            "203.0.113.9",
        ),  # the client's own entry is not believed
        (True, {"X-Forwarded-For": "2001:db8::1"}, "2001:db8::1"),
        (True, {"X-Forwarded-For": "not an address"}, "10.0.0.1"),
    ],
)
def test_client_address(behind: bool, headers: dict[str, str], want: str) -> None:
    app = web.Application()
    app[BEHIND_PROXY] = behind
    assert client_address(fake_request(app, "10.0.0.1", headers)) == want


def test_json_log_lines() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("liquid-mandate.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("two\nlines %s", "here", extra={"client": "203.0.113.9", "status": 429})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "two\nlines here" and first["level"] == "warning"
    assert first["client"] == "203.0.113.9" and first["status"] == 429 and first["time"].endswith("Z")
    assert second["message"] == "failed" and "ValueError: boom" in second["exception"]


def test_a_real_server_behind_a_proxy_logs_json_with_the_clients_address(tmp_path: Path) -> None:
    log = tmp_path / "server.log"

    def get(url: str, headers: dict[str, str]) -> None:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            r.read()

    for behind in (True, False):
        extra = ["--log-format", "json", "--access-log"] + (["--behind-proxy"] if behind else [])
        log.write_bytes(b"")
        with running_server(tmp_path / "data", *extra, log=log) as url:
            get(url + "/api/server", {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
            asyncio.run(asyncio.sleep(0.2))
        records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        access = [r for r in records if r.get("path") == "/api/server"]
        assert len(access) == 1, records
        assert access[0]["client"] == ("203.0.113.9" if behind else "127.0.0.1")
        assert access[0]["status"] == 200 and access[0]["method"] == "GET"
        assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
