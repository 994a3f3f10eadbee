"""serving/cosigning.py against real witnesses: in-process witness servers
on loopback (witness.app over its SQLite store) and, once, two real
``python -m witness`` processes; with a witness that is down, one that
redirects, one that hangs, one that answers with the wrong key, and one whose
host is not allowed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from crypto.signing import KeyPair
from serving.cosigning import Cosigner, CosigningSubmitter, PolicyError, WitnessPolicy
from tests.processes import free_port
from tests.test_witness_support import Log, independent_verify, running_witness, witness_cli
from witness.app import create_app
from witness.store import WitnessStore


class Sink:
    """The server's side: its log and the cosignatures it stores."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.stored: list[tuple[int, str, str]] = []
        self.proofs: list[tuple[int, int]] = []

    async def latest(self) -> tuple[str, int]:
        return self.log.note(), len(self.log.leaves)

    async def proof(self, old: int, new: int) -> list[bytes]:
        self.proofs.append((old, new))
        return self.log.proof(old, new)

    async def store(self, size: int, name: str, line: str) -> None:
        self.stored.append((size, name, line))

    def submitter(self, policy: WitnessPolicy, **kw) -> CosigningSubmitter:
        return CosigningSubmitter(
            policy, latest_checkpoint=self.latest, consistency_proof=self.proof, store_cosignature=self.store, **kw
        )


class Witness:
    """A witness server on loopback with its own key, store and request count."""

    def __init__(self, tmp: Path, name: str, log: Log, seed: int) -> None:
        self.name = name
        self.key = KeyPair(bytes([seed]) * 32)
        self.db = tmp / f"{name.replace('/', '_')}.db"
        store = WitnessStore.open(self.db)
        store.init_name(name)
        store.add_log(log.origin, log.key.public_bytes)
        self.requests = 0
        app = create_app(store, self.key, name)

        @web.middleware
        async def count(request, handler):
            self.requests += 1
            return await handler(request)

        app.middlewares.append(count)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def cosigner(self, key: KeyPair | None = None, url: str | None = None) -> Cosigner:
        return Cosigner(self.name, (key or self.key).public_bytes, url or self.url)

    def latest_size(self, origin: str) -> int | None:
        store = WitnessStore.open(self.db)
        try:
            latest = store.latest(origin)
            return None if latest is None else latest.size
        finally:
            store.close()


async def plain_server(handler) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
def log() -> Log:
    return Log().grow(5)


@pytest.fixture
async def witnesses(tmp_path: Path, log: Log) -> AsyncIterator[list[Witness]]:
    ws = [Witness(tmp_path, f"w{i}.example/witness", log, seed=20 + i) for i in range(3)]
    for w in ws:
        await w.server.start_server()
    yield ws
    for w in ws:
        await w.server.close()


def check_stored(sink: Sink, witnesses: list[Witness]) -> None:
    """Every stored line verifies, by the independent cosignature/v1, over the
    checkpoint of its size."""
    keys = {w.name: w.key.public_bytes for w in witnesses}
    assert sink.stored
    for size, name, line in sink.stored:
        independent_verify(line, sink.log.checkpoint(size).text(), name, keys[name])


async def test_two_witnesses_cosign_as_the_log_grows(witnesses: list[Witness], log: Log):
    sink = Sink(log)
    w1, w2 = witnesses[:2]
    sub = sink.submitter(WitnessPolicy((w1.cosigner(), w2.cosigner()), 2), min_interval=0.2)
    await sub.start()
    try:
        assert await sub.wait_cosigned(5, 2, timeout=10)
        for _ in range(3):
            log.grow(4)
            sub.log_grew()
        assert await sub.wait_cosigned(17, 2, timeout=10)
        assert w1.latest_size(log.origin) == w2.latest_size(log.origin) == 17
        check_stored(sink, witnesses)
        # From 5 to 17 with a proof, never from 0 again (that would be a 409).
        assert (5, 17) in sink.proofs or (5, 9) in sink.proofs
        statuses = {s.name: s for s in sub.status()}
        for w in (w1, w2):
            s = statuses[w.name]
            assert (s.cosigned_size, s.witness_size, s.consecutive_failures, s.last_error) == (17, 17, 0, None)
            assert s.submissions_ok >= 2 and s.submissions_failed == 0
        metrics = sub.render_metrics()
        assert f'liquid_mandate_witness_cosigned_size{{witness="{w1.name}"}} 17' in metrics
        assert f'liquid_mandate_witness_submissions_total{{witness="{w2.name}",outcome="failed"}} 0' in metrics
    finally:
        await sub.aclose()


async def test_at_most_one_submission_per_interval_while_the_log_grows(witnesses: list[Witness], log: Log):
    sink = Sink(log)
    w1 = witnesses[0]
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1), min_interval=0.5)
    await sub.start()
    try:
        assert await sub.wait_cosigned(5, 1, timeout=10)
        start, before = time.monotonic(), w1.requests
        while time.monotonic() - start < 1.2:
            log.grow(1)
            sub.log_grew()
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - start
        # ~60 growths in 1.2 s; one request per 0.5 s, plus the one in flight.
        assert 1 <= w1.requests - before <= elapsed / 0.5 + 1
        assert await sub.wait_cosigned(len(log.leaves), 1, timeout=10)
    finally:
        await sub.aclose()


async def test_submit_now_skips_the_rate_limit(witnesses: list[Witness], log: Log):
    sink = Sink(log)
    w1 = witnesses[0]
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1), min_interval=60)
    await sub.start()
    try:
        assert await sub.wait_cosigned(5, 1, timeout=10)
        log.grow(2)
        sub.log_grew()
        assert not await sub.wait_cosigned(7, 1, timeout=0.5)  # waits for its minute
        sub.submit_now()
        assert await sub.wait_cosigned(7, 1, timeout=10)
    finally:
        await sub.aclose()


async def test_learns_the_witness_size_from_409_and_retries(witnesses: list[Witness], log: Log):
    w1 = witnesses[0]
    # Someone (an earlier server process) already had size 5 cosigned.
    async with aiohttp.ClientSession() as http:
        r = await http.post(w1.url + "/add-checkpoint", data=log.body(0))
        assert r.status == 200
    log.grow(3)
    sink = Sink(log)
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1))
    await sub.start()
    try:
        assert await sub.wait_cosigned(8, 1, timeout=10)
        assert sink.proofs == [(5, 8)]
        [s] = sub.status()
        assert (s.witness_size, s.submissions_ok, s.submissions_failed) == (8, 1, 0)
    finally:
        await sub.aclose()
    # Started with the size it knows, it sends no old 0 at all.
    log.grow(1)
    sink2 = Sink(log)
    before = w1.requests
    sub = sink2.submitter(WitnessPolicy((w1.cosigner(),), 1), cosigned={w1.name: 8})
    await sub.start()
    try:
        assert await sub.wait_cosigned(9, 1, timeout=10)
        assert w1.requests - before == 1 and sink2.proofs == [(8, 9)]
    finally:
        await sub.aclose()


async def test_a_fork_is_reported_not_retried_forever(witnesses: list[Witness], log: Log):
    w1 = witnesses[0]
    sink = Sink(log)
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1), backoff_initial=0.05, backoff_max=0.1)
    await sub.start()
    try:
        assert await sub.wait_cosigned(5, 1, timeout=10)
    finally:
        await sub.aclose()
    # The same origin now shows another history of size 8 (a split view).
    forked = Sink(log.fork(2, 6))
    sub = forked.submitter(
        WitnessPolicy((w1.cosigner(),), 1), cosigned={w1.name: 5}, backoff_initial=0.05, backoff_max=0.1
    )
    await sub.start()
    try:
        await asyncio.sleep(0.5)
        [s] = sub.status()
        assert forked.stored == [] and s.consecutive_failures >= 2
        assert "HTTP 422" in s.last_error
    finally:
        await sub.aclose()


async def test_bad_witnesses_never_block_the_good_one(witnesses: list[Witness], log: Log):
    w1, w2, w3 = witnesses
    hung = asyncio.Event()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(w2.url + "/add-checkpoint")

    async def hang(request: web.Request) -> web.Response:
        hung.set()
        await asyncio.sleep(30)
        return web.Response(text="late")

    redirector, slow = await plain_server(redirect), await plain_server(hang)
    down_url = f"http://127.0.0.1:{free_port()}"
    policy = WitnessPolicy(
        (
            w1.cosigner(),
            Cosigner("down.example/w", KeyPair(bytes([40]) * 32).public_bytes, down_url),
            Cosigner("redirect.example/w", w2.key.public_bytes, str(redirector.make_url("")).rstrip("/")),
            Cosigner("slow.example/w", KeyPair(bytes([41]) * 32).public_bytes, str(slow.make_url("")).rstrip("/")),
            w3.cosigner(url=w3.url.replace("127.0.0.1", "localhost")),  # a host not in the allowlist
            Cosigner("ftp.example/w", KeyPair(bytes([42]) * 32).public_bytes, "ftp://127.0.0.1/"),
        ),
        4,
    )
    sink = Sink(log)
    sub = sink.submitter(policy, allowed_hosts=["127.0.0.1"], timeout=1.5, backoff_initial=0.05, backoff_max=0.2)
    await sub.start()
    try:
        t0 = time.monotonic()
        sub.log_grew()
        sub.submit_now()
        assert time.monotonic() - t0 < 0.05  # the caller's signals return at once
        assert await sub.wait_cosigned(5, 1, timeout=10)
        await asyncio.wait_for(hung.wait(), 10)
        log.grow(2)
        sub.log_grew()
        assert await sub.wait_cosigned(7, 1, timeout=10)
        await asyncio.sleep(2.0)  # past the hanging witness's 1.5 s timeout
        s = {x.name: x for x in sub.status()}
        assert s[w1.name].cosigned_size == 7 and s[w1.name].last_error is None
        down = s["down.example/w"]
        assert down.cosigned_size is None and down.consecutive_failures >= 2
        assert "Connect" in down.last_error
        red = s["redirect.example/w"]
        assert "HTTP 307 redirect" in red.last_error and "not followed" in red.last_error
        assert w2.requests == 0  # the redirect target never saw the request
        assert "no answer within 1.5 s" in s["slow.example/w"].last_error
        blocked = s[w3.name]
        assert blocked.blocked and "not in the allowed witness hosts" in blocked.last_error
        assert blocked.submissions_failed == 0 and w3.requests == 0
        assert s["ftp.example/w"].blocked and "not an http(s) URL" in s["ftp.example/w"].last_error
        assert {name for _, name, _ in sink.stored} == {w1.name}
        check_stored(sink, witnesses)
    finally:
        await sub.aclose()
        await redirector.close()
        await slow.close()


async def test_backoff_grows_exponentially(log: Log):
    times: list[float] = []

    async def fail(request: web.Request) -> web.Response:
        times.append(time.monotonic())
        return web.Response(status=503, text="busy")

    server = await plain_server(fail)
    sink = Sink(log)
    sub = sink.submitter(
        WitnessPolicy((Cosigner("flaky.example/w", bytes(32), str(server.make_url("")).rstrip("/")),), 1),
        backoff_initial=0.1,
        backoff_max=0.4,
    )
    await sub.start()
    try:
        await asyncio.sleep(1.6)
    finally:
        await sub.aclose()
        await server.close()
    gaps = [b - a for a, b in zip(times, times[1:])]
    want = [0.1, 0.2, 0.4, 0.4]
    assert len(gaps) >= 3, gaps
    for gap, w in zip(gaps, want):
        assert gap >= w * 0.9, (gaps, want)
    [s] = sub.status()
    assert s.consecutive_failures == len(times) and s.last_error == "HTTP 503: busy"


async def test_cosignatures_are_verified_before_they_are_stored(witnesses: list[Witness], log: Log, tmp_path: Path):
    w1 = witnesses[0]
    impostor_key = KeyPair(bytes([50]) * 32)
    # The policy holds another key for w1's name: w1's lines have another key id and are ignored.
    sink = Sink(log)
    sub = sink.submitter(WitnessPolicy((w1.cosigner(key=impostor_key),), 1), backoff_initial=0.05)
    await sub.start()
    try:
        await asyncio.sleep(0.4)
        [s] = sub.status()
        assert sink.stored == [] and s.last_error == "200 without a cosignature by the policy key"
    finally:
        await sub.aclose()

    # A witness whose line carries the right name and key id but a bad signature.
    real = witnesses[1]

    async def tamper(request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as http:
            r = await http.post(real.url + "/add-checkpoint", data=await request.read())
            text = await r.text()
        if r.status != 200:
            return web.Response(status=r.status, text=text, content_type=r.content_type)
        head, blob = text.rsplit(" ", 1)
        flipped = blob[:-6] + ("A" if blob[-6] != "A" else "B") + blob[-5:]
        return web.Response(text=f"{head} {flipped}", content_type="text/plain")

    proxy = await plain_server(tamper)
    sink = Sink(log)
    sub = sink.submitter(
        WitnessPolicy((real.cosigner(url=str(proxy.make_url("")).rstrip("/")),), 1), backoff_initial=0.05
    )
    await sub.start()
    try:
        await asyncio.sleep(0.4)
        [s] = sub.status()
        assert sink.stored == [] and "does not verify with the policy key" in s.last_error
    finally:
        await sub.aclose()
        await proxy.close()


async def test_set_policy_adds_and_drops_witnesses(witnesses: list[Witness], log: Log):
    w1, w2, w3 = witnesses
    sink = Sink(log)
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1))
    await sub.start()
    try:
        assert await sub.wait_cosigned(5, 1, timeout=10)
        sub.set_policy(WitnessPolicy((w1.cosigner(), w2.cosigner(), w3.cosigner()), 2))
        assert await sub.wait_cosigned(5, 3, timeout=10)
        assert [s.submissions_ok for s in sub.status()] == [1, 1, 1]  # w1 kept its state
        sub.set_policy(WitnessPolicy((w2.cosigner(),), 1))
        assert [s.name for s in sub.status()] == [w2.name]
        # Back with the same key (another URL spelling): it remembers the size, not with another key.
        sub.set_policy(WitnessPolicy((w1.cosigner(url=w1.url + "/"),), 1))
        assert sub.status()[0].cosigned_size == 5
        sub.set_policy(WitnessPolicy((w1.cosigner(key=KeyPair(bytes([60]) * 32)),), 1))
        assert sub.status()[0].cosigned_size is None
    finally:
        await sub.aclose()


def test_policy_rules():
    a, b, c = (Cosigner(f"w{i}.example/w", bytes([i]) * 32, "http://127.0.0.1:1") for i in range(3))
    with pytest.raises(PolicyError, match="quorum 1 of 2 cosigners is not a majority"):
        WitnessPolicy((a, b), 1)
    with pytest.raises(PolicyError, match="quorum 0"):
        WitnessPolicy((), 0)
    with pytest.raises(PolicyError, match="distinct"):
        WitnessPolicy((a, Cosigner(a.name, bytes([9]) * 32, a.url), c), 2)
    with pytest.raises(PolicyError, match="cosigner name"):
        WitnessPolicy((Cosigner("a b", bytes(32), a.url),), 1)
    p = WitnessPolicy.from_json({"cosigners": [{"name": a.name, "key": a.key.hex(), "url": a.url}], "quorum": 1})
    assert p == WitnessPolicy((a,), 1)
    with pytest.raises(PolicyError, match="64 lowercase hex"):
        WitnessPolicy.from_json({"cosigners": [{"name": a.name, "key": "AB" * 32, "url": a.url}], "quorum": 1})


async def test_with_two_real_witness_processes(tmp_path: Path, log: Log):
    sink = Sink(log)
    with (
        running_witness(tmp_path / "w1", "proc1.example/w") as (url1, _),
        running_witness(tmp_path / "w2", "proc2.example/w") as (url2, _),
    ):
        cosigners = []
        for d, url in ((tmp_path / "w1", url1), (tmp_path / "w2", url2)):
            assert witness_cli("add-log", "--data-dir", str(d), log.origin, log.key.public_hex).returncode == 0
            name, key_hex = witness_cli("key", "--data-dir", str(d)).stdout.splitlines()[0].split(" ")
            cosigners.append(Cosigner(name, bytes.fromhex(key_hex), url))
        sub = sink.submitter(WitnessPolicy(tuple(cosigners), 2), min_interval=0.1)
        await sub.start()
        try:
            assert await sub.wait_cosigned(5, 2, timeout=20)
            log.grow(10)
            sub.log_grew()
            assert await sub.wait_cosigned(15, 2, timeout=20)
        finally:
            await sub.aclose()
    keys = {c.name: c.key for c in cosigners}
    for size, name, line in sink.stored:
        independent_verify(line, log.checkpoint(size).text(), name, keys[name])
    assert {(size, name) for size, name, _ in sink.stored} >= {(15, "proc1.example/w"), (15, "proc2.example/w")}


async def test_earlier_witnesses_are_served_beside_the_policy(witnesses: list[Witness], log: Log):
    """``set_policy(policy, earlier)``: the earlier policies' witnesses get
    their own workers after the policy's (docs/SPEC.md 14.2); a witness is a
    (name, key) pair, so one name with two keys is two cosigners, and the
    metrics tell them apart; dropping one keeps what it cosigned for later."""
    w1, w2, w3 = witnesses
    sink = Sink(log)
    sub = sink.submitter(WitnessPolicy((w1.cosigner(),), 1))
    await sub.start()
    try:
        other_key = KeyPair(bytes([61]) * 32)
        sub.set_policy(WitnessPolicy((w2.cosigner(),), 1), [w1.cosigner(), w2.cosigner(), w1.cosigner(key=other_key)])
        assert [(c.name, c.key) for c, _ in sub.statuses()] == [
            (w2.name, w2.key.public_bytes),
            (w1.name, w1.key.public_bytes),
            (w1.name, other_key.public_bytes),  # w2 is the policy's: listed once
        ]
        assert await sub.wait_cosigned(5, 1, timeout=10)
        deadline = time.monotonic() + 10
        # w1 cosigns with its key; under the other key its lines are not the cosigner's.
        while sub.status()[1].cosigned_size != 5 or not sub.status()[2].last_error:
            assert time.monotonic() < deadline, sub.status()
            await asyncio.sleep(0.05)
        assert "200 without a cosignature by the policy key" in (sub.status()[2].last_error or "")
        metrics = sub.render_metrics()
        assert f'liquid_mandate_witness_cosigned_size{{witness="{w2.name}"}} 5' in metrics
        earlier = f'witness="{w1.name}",key="{w1.key.public_hex}",policy="earlier"'
        assert f"liquid_mandate_witness_cosigned_size{{{earlier}}} 5" in metrics
        assert f'liquid_mandate_witness_submissions_total{{{earlier},outcome="ok"}} 1' in metrics
        # Dropped, then listed again: it goes on from the size it cosigned.
        sub.set_policy(WitnessPolicy((w2.cosigner(),), 1))
        assert [s.name for s in sub.status()] == [w2.name] and 'policy="earlier"' not in sub.render_metrics()
        sub.set_policy(WitnessPolicy((w2.cosigner(),), 1), [w1.cosigner()])
        assert sub.status()[1].cosigned_size == 5
        assert w3.latest_size(log.origin) is None  # never listed, never contacted
    finally:
        await sub.aclose()
