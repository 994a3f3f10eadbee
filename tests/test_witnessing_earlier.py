"""A witness policy replaced while a motion is open (docs/SPEC.md section
14.2, "Whom the server submits to"): the server goes on submitting to the
witnesses of the policy that governs the motion until its close is witnessed
under that policy, then drops them.

- With four real ``python -m witness`` processes: policy A (a1, a2), a
  motion committed under it, policy B (b1, b2) while it is open; the close is
  cosigned by A's witnesses and the verifier, against the server, reports it
  witnessed and exits 0 (it exited 3 before: A's witnesses never saw the
  close). Then A's witnesses receive nothing more.
- The same set is derived after a restart, from the log and the stored
  cosignatures (in-process witnesses, tests/test_witnessing.py).
- Two server processes' boxes on one PostgreSQL database derive the same set,
  each for the checkpoints it signs (docs/SPEC.md section 9)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import verify_cli
from ballots.box import BallotBox
from crypto.signing import KeyPair
from serving.witnessing import Witnessing
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.processes import stop_server
from tests.test_server import Client
from tests.test_witness_support import start_witness
from tests.test_witnessing import FAST, make_api, wait_for, witnesses  # noqa: F401  (fixture)
from tests.test_witnessing_governing import close, motion, names, size_of
from tests.world import Clock, World
from witness.keys import DB_FILE, load_or_create_key
from witness.store import WitnessStore


class WallClock:
    """The server's clock is the witnesses' (the time rule is judged for real)."""

    @property
    def t(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **kw: float) -> None:
        assert not any(kw.values()), "the wall clock cannot be advanced"


@contextmanager
def witness_processes(tmp: Path, labels: list[str]) -> Iterator[dict[str, dict[str, Any]]]:
    """One ``python -m witness`` per label, started side by side: label ->
    {name, key (hex), url, dir}."""
    dirs = {label: tmp / label for label in labels}
    with ExitStack() as stack:
        with ThreadPoolExecutor(len(labels)) as pool:
            started = {label: pool.submit(start_witness, d, f"{label}.example/w") for label, d in dirs.items()}
        urls = {}
        for label, f in started.items():  # every started process is stopped, even when another failed
            try:
                urls[label], proc = f.result()
            except RuntimeError:
                continue
            stack.callback(stop_server, proc)
        assert len(urls) == len(labels), "a witness did not start"
        yield {
            label: {
                "name": f"{label}.example/w",
                "key": load_or_create_key(d).public_hex,
                "url": urls[label],
                "dir": d,
            }
            for label, d in dirs.items()
        }


def accept(w: dict[str, Any], origin: str, server_key: str) -> None:
    store = WitnessStore.open(w["dir"] / DB_FILE)
    try:
        store.add_log(origin, bytes.fromhex(server_key))
    finally:
        store.close()


def latest_size(w: dict[str, Any], origin: str) -> int | None:
    """The size the witness itself last cosigned, from its own state."""
    store = WitnessStore.open(w["dir"] / DB_FILE)
    try:
        latest = store.latest(origin)
        return None if latest is None else latest.size
    finally:
        store.close()


def cosigner(w: dict[str, Any]) -> dict[str, str]:
    return {"name": w["name"], "key": w["key"], "url": w["url"]}


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in body["witnesses"]}


async def test_a_close_is_witnessed_by_the_policy_that_governs_it(aiohttp_client, tmp_path, capsys):
    with witness_processes(tmp_path, ["a1", "a2", "b1", "b2"]) as ws:
        a, b = [ws["a1"], ws["a2"]], [ws["b1"], ws["b2"]]
        (tmp_path / "server").mkdir()
        api = await make_api(aiohttp_client, tmp_path / "server", WallClock())
        c = Client(api)
        await c.found()
        origin = f"liquid-mandate/{c.assembly}"
        for w in ws.values():
            accept(w, origin, c.server_key)
        # The longest grace (60 s): a loaded machine's delays stay inside it.
        policy_a = await c.post(
            c.founder.sign("witnesses", c.assembly, cosigners=[cosigner(w) for w in a], quorum=2, grace=60)
        )
        await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
        await motion(c, WallClock(), "m", 3)  # committed under A
        await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[cosigner(w) for w in b], quorum=2, grace=60))

        # While m is open, A's witnesses are served beside B's, marked as such.
        # (once the targets are derived again: until then the page shows the witnesses
        # served so far beside the new policy's, none dropped before it is known to be done)
        body = await wait_for(
            api, "/api/witnesses", lambda x: len(x["witnesses"]) == 4 and x["witnesses"][3]["lotteries"]
        )
        assert [(w["name"], w["current"], w["earlier_policies"], w["lotteries"]) for w in body["witnesses"]] == [
            (b[0]["name"], True, [], []),
            (b[1]["name"], True, [], []),
            (a[0]["name"], False, [policy_a["index"]], ["motion:m"]),
            (a[1]["name"], False, [policy_a["index"]], ["motion:m"]),
        ]
        # The shape the OpenAPI document gives (docs/SPEC.md section 9).
        doc = await (await api.get("/openapi.json")).json()
        schema = doc["paths"]["/api/witnesses"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator(schema).validate(body)
        assert not jsonschema.Draft202012Validator(schema).is_valid({**body, "witnesses": [{"name": "x"}]})
        metrics = await (await api.get("/metrics")).text()
        assert (
            f'liquid_mandate_witness_cosigned_size{{witness="{a[0]["name"]}",key="{a[0]["key"]}",policy="earlier"}}'
            in metrics
        )
        assert f'liquid_mandate_witness_cosigned_size{{witness="{b[0]["name"]}"}}' in metrics

        await asyncio.sleep(3.1)
        closed = await close(api, WallClock(), "m", 0)
        # A's witnesses cosign a checkpoint holding the close, and are then dropped.
        body = await wait_for(api, "/api/witnesses", lambda x: len(x["witnesses"]) == 2, timeout=20)
        assert [w["name"] for w in body["witnesses"]] == [w["name"] for w in b]
        note = await (await api.get("/api/checkpoints", params={"covering": closed})).text()
        assert {w["name"] for w in a} <= set(names(note))  # with B's lines, if they cosigned that size too

        url = str(api.make_url("")).rstrip("/")
        code = await asyncio.to_thread(verify_cli.main, [url, "--jobs", "1", "--json", "--quiet"])
        rep = json.loads(capsys.readouterr().out)
        assert [(x["index"], x["status"]) for x in rep["witnesses"]["closes"]] == [(closed, "witnessed")]
        assert code == 0, (rep["failures"], rep["skipped"])

        # From now on A's witnesses get nothing: their own state stays where it was.
        held = [latest_size(w, origin) for w in a]
        assert all(size is not None and size > closed for size in held)
        await c.post(c.founder.sign("topic", c.assembly, id="u", title="U", description="", parent=None))
        grown = await size_of(api)
        body = await wait_for(api, "/api/witnesses", lambda x: all(w["cosigned_size"] == grown for w in x["witnesses"]))
        await asyncio.sleep(0.3)  # several of FAST's min_interval: a submission to A would have landed
        assert [latest_size(w, origin) for w in a] == held and max(held) < grown
        assert [latest_size(w, origin) for w in b] == [grown, grown]
        assert 'policy="earlier"' not in await (await api.get("/metrics")).text()


async def test_a_restart_derives_the_earlier_witnesses_from_the_log(aiohttp_client, tmp_path, clock, witnesses):
    w0, w1 = witnesses
    api = await make_api(aiohttp_client, tmp_path, clock)
    c = Client(api)
    await c.found()
    for w in witnesses:
        w.accept(f"liquid-mandate/{c.assembly}", c.server_key)
    policy_a = await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[w0.cosigner()], quorum=1, grace=5))
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await motion(c, clock, "m", 600)
    await c.post(c.founder.sign("witnesses", c.assembly, cosigners=[w1.cosigner()], quorum=1, grace=5))
    size = await size_of(api)
    await wait_for(api, "/api/witnesses", lambda x: [w.get("cosigned_size") for w in x["witnesses"]] == [size, size])
    await api.close()

    again = await make_api(aiohttp_client, tmp_path, clock)
    c.api = again
    # Before anything is appended: w0 is still owed m's close, with its stored size.
    body = await (await again.get("/api/witnesses")).json()
    assert [
        (w["name"], w["current"], w["earlier_policies"], w["lotteries"], w["cosigned_size"]) for w in body["witnesses"]
    ] == [
        (w1.name, True, [], [], size),
        (w0.name, False, [policy_a["index"]], ["motion:m"], size),
    ]
    closed = await close(again, clock, "m", 601)
    body = await wait_for(again, "/api/witnesses", lambda x: len(x["witnesses"]) == 1)
    assert body["witnesses"][0]["name"] == w1.name and body["witnesses"][0]["submissions_failed"] == 0
    note = await (await again.get("/api/checkpoints", params={"covering": closed})).text()
    assert w0.name in names(note)
    # A second restart has nothing earlier to serve.
    await again.close()
    third = await make_api(aiohttp_client, tmp_path, clock)
    assert [w["name"] for w in (await (await third.get("/api/witnesses")).json())["witnesses"]] == [w1.name]


async def until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def pairs(witnessing: Witnessing) -> list[tuple[str, bool]]:
    return [(t.name, t.current) for t in witnessing.targets]


@pytest.mark.postgres
async def test_processes_on_one_postgresql_database_derive_the_same_witnesses(pg_url, tmp_path, witnesses):
    """Box x commits the motion under A; box y (another process's) appends
    B. Each derives B plus A's witness for the checkpoints it signs, x once
    it catches up; once x's close is witnessed, x drops A's witness, and y
    too as soon as it signs a checkpoint again; a third box, started last,
    derives the same."""
    w0, w1 = witnesses
    key = KeyPair(bytes(range(32)))
    clock = Clock()
    boxes: list[BallotBox] = []
    watchers: list[Witnessing] = []

    async def open_one() -> tuple[BallotBox, Witnessing]:
        box = await BallotBox.open(pg_url, key, clock=clock)
        boxes.append(box)
        witnessing = Witnessing(box, **FAST)
        watchers.append(witnessing)
        await witnessing.start()
        return box, witnessing

    try:
        x, wx = await open_one()
        world = World(x, clock, key)
        await world.found()
        for w in witnesses:
            w.accept(x.origin, key.public_hex)
        await x.append(world.org("witnesses", cosigners=[w0.cosigner()], quorum=1, grace=5))
        await world.topic("t")
        await world.motion("m", "t", closes=60)
        y, wy = await open_one()
        assert pairs(wy) == [(w0.name, True)]
        await y.append(world.org("witnesses", cosigners=[w1.cosigner()], quorum=1, grace=5))
        await until(lambda: pairs(wy) == [(w1.name, True), (w0.name, False)])
        await x.append(world.org("topic", id="u", title="U", description="", parent=None))  # x catches up
        await until(lambda: pairs(wx) == [(w1.name, True), (w0.name, False)])
        assert wx.targets == wy.targets

        clock.advance(seconds=61)
        await x.close_due()
        await until(lambda: pairs(wx) == [(w1.name, True)])
        assert pairs(wy) == [(w1.name, True), (w0.name, False)]  # y signed nothing since
        await y.append(world.org("topic", id="v", title="V", description="", parent=None))
        await until(lambda: pairs(wy) == [(w1.name, True)])
        _, wz = await open_one()
        assert pairs(wz) == [(w1.name, True)]
    finally:
        for witnessing in watchers:
            await witnessing.aclose()
        for box in boxes:
            await box.aclose()
