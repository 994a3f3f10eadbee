"""The OpenAPI document drives a fuzzer over every route (issue 11): a real
`server.py` serving the demo assembly, schemathesis generating requests from
`/openapi.json`, valid and not. For every request: no 5xx; every refusal is
problem+json (docs/SPEC.md section 9); a refused request writes nothing (the
log's size is the same after it).

Bounded for `make test`: eight valid requests per operation, and eight invalid
ones where it has a query or a body: some 440 requests (derandomized, so the
same ones in every run).
`/api/events` is left out: a stream that stays open is not a request/response.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import server
from ballots.box import BallotBox
from demo import seed_demo
from serving.keyfile import load_server_key
from tests.processes import running_server

EXAMPLES_PER_OPERATION = 8
PROBLEM_FIELDS = {"type", "title", "status"}


async def _seed(data_dir: Path, keys_dir: Path) -> None:
    key = load_server_key(data_dir)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{(data_dir / 'liquid-mandate.db').resolve()}", key)
    try:
        await seed_demo(box, clock_now=datetime.now(UTC), keys_dir=keys_dir)
    finally:
        await box.aclose()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz")
    asyncio.run(_seed(root / "data", root / "keys"))
    # No POST rate limit: the fuzzer is one client posting fast, and 429s would only hide routes.
    with running_server(root / "data", "--post-rate", "0", log=root / "server.log") as url:
        yield url


# The document the server serves, read at collection so that each operation
# is a test of its own; the requests go to the running server (``base``).
SCHEMA = schemathesis.openapi.from_dict(server.openapi_document(server.ROUTES)).exclude(path="/api/events")
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
MODES = {"valid": GenerationMode.POSITIVE, "invalid": GenerationMode.NEGATIVE}


def _size(base: str) -> int:
    with urllib.request.urlopen(base + "/api/server", timeout=5) as r:
        return int(json.loads(r.read())["size"])


# Invalid requests where there is a query or a body to make invalid (an
# invalid path segment cannot be generated: every string is one).
CASES = sorted(
    (label, mode)
    for label, op in OPERATIONS.items()
    for mode in MODES
    if mode == "valid" or len(op.body) or any(p.location == "query" for p in op.iter_parameters())
)


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_every_route_answers_without_5xx_and_refuses_as_problem_json(base: str, label: str, mode: str) -> None:
    @given(case=OPERATIONS[label].as_strategy(MODES[mode]))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def one(case: Any) -> None:
        _check(base, case)

    one()


def _header(response: Any, name: str) -> str:
    """One header of a schemathesis response (its headers map lower-cased
    names to lists of values)."""
    value = {k.lower(): v for k, v in response.headers.items()}.get(name, "")
    return value[0] if isinstance(value, list) else str(value)


def _check(base: str, case: Any) -> None:
    before = _size(base)
    response = case.call(base_url=base, timeout=10)
    status = response.status_code
    where = f"{case.method} {case.formatted_path} {case.query or ''}"
    assert status < 500, (where, status, response.text[:300])
    if status >= 400:
        kind = _header(response, "content-type")
        assert kind.startswith("application/problem+json"), (where, status, kind)
        if case.method != "HEAD":
            problem = response.json()
            assert PROBLEM_FIELDS <= set(problem) and problem["status"] == status, (where, problem)
        assert _size(base) == before, f"{where} was refused ({status}) but wrote"
