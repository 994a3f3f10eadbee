"""Issue 16, SSE fan-out: the event hub (serving/events.py) gathers what a
burst of committed batches sends for ``COALESCE`` seconds and hands each
stream one message, its events in log order, so that a hundred listeners
cost a hundred writes per burst instead of a hundred per batch. The event
names and fields do not change (docs/SPEC.md section 9)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ballots.state import AssemblyState
from serving.events import COALESCE, EventHub


def _entry(index: int, kind: str = "ballot", motion: str | None = "m") -> dict[str, Any]:
    statement: dict[str, Any] = {"kind": kind}
    if motion is not None:
        statement["motion"] = motion
    return {"index": index, "statement": statement}


def _events(chunk: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in chunk.decode().split("\n\n"):
        if block:
            head, data = block.split("\n")
            out.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


async def test_a_burst_of_batches_is_one_message_per_listener_in_log_order() -> None:
    hub = EventHub(AssemblyState)  # no motion in this state: no tally events, entries only
    listeners: list[asyncio.Queue[bytes | None]] = [asyncio.Queue() for _ in range(3)]
    hub.queues.update(listeners)
    for batch in range(4):  # four batches committed one after the other, within the window
        hub.on_entries([_entry(batch * 2), _entry(batch * 2 + 1, kind="delegate", motion=None)])
        await asyncio.sleep(0)
    assert all(q.empty() for q in listeners)  # nothing handed over before the window ends
    await asyncio.sleep(COALESCE * 3)
    for q in listeners:
        assert q.qsize() == 1
        chunk = q.get_nowait()
        assert chunk is not None
        assert _events(chunk) == [
            (
                "entry",
                {"index": i, "kind": "ballot" if i % 2 == 0 else "delegate", "motion": "m" if i % 2 == 0 else None},
            )
            for i in range(8)
        ]
    hub.on_entries([_entry(8)])  # a later burst: a message of its own
    await asyncio.sleep(COALESCE * 3)
    assert [_events(q.get_nowait() or b"") for q in listeners] == [
        [("entry", {"index": 8, "kind": "ballot", "motion": "m"})]
    ] * 3


async def test_close_hands_over_what_is_pending_before_ending_the_streams() -> None:
    hub = EventHub(AssemblyState)
    q: asyncio.Queue[bytes | None] = asyncio.Queue()
    hub.queues.add(q)
    hub.on_entries([_entry(0)])
    hub.close()
    first = q.get_nowait()
    assert first is not None and _events(first) == [("entry", {"index": 0, "kind": "ballot", "motion": "m"})]
    assert q.get_nowait() is None and q.empty()
    await asyncio.sleep(COALESCE * 2)
    assert q.empty()  # the cancelled timer hands nothing over twice


async def test_nobody_listening_costs_nothing_and_queues_nothing() -> None:
    hub = EventHub(AssemblyState)
    hub.on_entries([_entry(0)])
    await asyncio.sleep(COALESCE * 2)
    q: asyncio.Queue[bytes | None] = asyncio.Queue()
    hub.queues.add(q)
    await asyncio.sleep(COALESCE * 2)
    assert q.empty()  # what was committed before anyone listened is not replayed
