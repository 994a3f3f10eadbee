"""Signature checks in worker processes beside the event loop
(``BallotBox.open(verify_processes=N)``, ``server.py --verify-processes N``,
issue 16): the same receipts for good statements, the same refusal for a bad
signature with nothing written, and no check lost when a worker dies."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots import errors as E
from ballots.box import BallotBox
from ballots.verifiers import VerifierPool, _checks, _record, serve
from crypto.signing import KeyPair
from serving.settings import settings_from
from tests.test_box_rules import refused
from tests.world import Clock, World

KEY = KeyPair(bytes(range(32)))


@pytest.fixture
async def pooled(db_url: str, clock: Clock, server_key) -> AsyncIterator[World]:
    box = await BallotBox.open(db_url, server_key, clock=clock, verify_processes=2)
    try:
        w = World(box, clock, server_key)
        await w.found()
        yield w
    finally:
        await box.aclose()


async def test_checks_in_workers_accept_and_refuse_like_inline_ones(pooled: World) -> None:
    w = pooled
    assert w.box._verifiers is not None and w.box._verifiers.alive == 2
    members = await w.enroll(20)
    await w.topic("t")
    await w.motion("m", "t")
    receipts = await asyncio.gather(*(w.vote(m, "m", "yes") for m in members))
    first = min(r.index for r in receipts)  # checks in workers finish in any order
    assert sorted(r.index for r in receipts) == list(range(first, first + 20))
    assert w.box.state.live.counts("m").yes == 20
    signed = members[0].sign("ballot", w.assembly, motion="m", choice="no")
    signed["statement"]["choice"] = "abstain"
    await refused(w, signed, E.BadSignature)


def _signed(message: bytes, good: bool) -> tuple[bytes, bytes, bytes]:
    sig = KEY.sign(message)
    return KEY.public_bytes, message, sig if good else bytes([sig[0] ^ 1]) + sig[1:]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans()), max_size=12))
def test_the_worker_answers_one_byte_per_record_in_order(items: list[tuple[bytes, bool]]) -> None:
    """What serve() answers over its pipe is what each record's check gives."""
    body = b"".join(_record(*_signed(m, good)) for m, good in items)
    out = io.BytesIO()
    serve(io.BytesIO(len(body).to_bytes(4, "big") + body), out)
    assert out.getvalue() == len(items).to_bytes(4, "big") + bytes(good for _, good in items)
    assert _checks(body) == bytes(good for _, good in items)


async def test_a_pool_answers_bursts_across_workers_and_survives_a_dead_one() -> None:
    pool = await VerifierPool.start(2)
    try:
        burst = [_signed(str(i).encode(), i % 3 != 0) for i in range(600)]  # over MAX_RECORDS: both workers
        assert await asyncio.gather(*(pool.check(*b) for b in burst)) == [i % 3 != 0 for i in range(600)]
        os.kill(pool._workers[0].proc.pid, signal.SIGKILL)
        answers = await asyncio.gather(*(pool.check(*b) for b in burst))
        assert answers == [i % 3 != 0 for i in range(600)]
        for _ in range(100):
            if pool.alive == 1:
                break
            await asyncio.sleep(0.02)
        assert pool.alive == 1
        os.kill(pool._workers[1].proc.pid, signal.SIGKILL)
        assert await asyncio.gather(*(pool.check(*b) for b in burst[:50])) == [i % 3 != 0 for i in range(50)]
    finally:
        await pool.aclose()
    assert all(w.proc.returncode is not None for w in pool._workers)


def test_the_flag_and_its_refusal() -> None:
    assert settings_from(["--verify-processes", "2"], {})[1].verify_processes == 2
    assert settings_from([], {"LIQUID_MANDATE_VERIFY_PROCESSES": "1"})[1].verify_processes == 1
    with pytest.raises(SystemExit):
        settings_from(["--verify-processes", "-1"], {})
