"""Signature checks in a thread pool beside the event loop (``BallotBox.open(
verify_threads=N)``, ``server.py --verify-threads N``, issue 16): the same
receipts for good statements, the same refusal for a bad signature, with
nothing written, and many concurrent appends in one dense log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ballots import errors as E
from ballots.box import BallotBox
from serving.settings import settings_from
from tests.test_box_rules import refused
from tests.world import Clock, World


@pytest.fixture
async def threaded(db_url: str, clock: Clock, server_key) -> AsyncIterator[World]:
    box = await BallotBox.open(db_url, server_key, clock=clock, verify_threads=2)
    try:
        w = World(box, clock, server_key)
        await w.found()
        yield w
    finally:
        await box.aclose()


async def test_threaded_checks_accept_and_refuse_like_inline_ones(threaded: World) -> None:
    w = threaded
    assert w.box._verifiers is not None
    members = await w.enroll(20)
    await w.topic("t")
    await w.motion("m", "t")
    receipts = await asyncio.gather(*(w.vote(m, "m", "yes") for m in members))
    first = min(r.index for r in receipts)  # checks in threads finish in any order
    assert sorted(r.index for r in receipts) == list(range(first, first + 20))
    assert w.box.state.live.counts("m").yes == 20
    signed = members[0].sign("ballot", w.assembly, motion="m", choice="no")
    signed["statement"]["choice"] = "abstain"
    await refused(w, signed, E.BadSignature)


def test_the_flag_and_its_refusal() -> None:
    assert settings_from(["--verify-threads", "2"], {})[1].verify_threads == 2
    assert settings_from([], {"LIQUID_MANDATE_VERIFY_THREADS": "1"})[1].verify_threads == 1
    with pytest.raises(SystemExit):
        settings_from(["--verify-threads", "-1"], {})
