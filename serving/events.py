"""Server-sent events (docs/SPEC.md section 9, ``GET /api/events``): an
``entry`` event for every appended entry, and a debounced ``tally`` event for
every open motion whose live tally the new entries may have changed. The
hub gathers its events for ``COALESCE`` seconds and hands each stream what
gathered as one write, in order: with a hundred listeners, a burst of
batches costs a hundred writes, not a hundred per batch.

Which statements make a tally stale is a domain rule, written once here in
``stale_motions``: it follows the inputs of a tally (docs/SPEC.md section 10,
"Inputs for one motion M").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ballots.closing import live_tally
from ballots.state import AssemblyState

# Kinds that change an input of every open motion's tally (SPEC section 10):
# the members (`enroll`, `expel`), their settings (`delegate`), the roster
# (`deputies`). A `ballot` changes only its own motion's tally.
EVERY_TALLY_KINDS = frozenset({"delegate", "enroll", "expel", "deputies"})
DEBOUNCE = 0.25  # seconds: one tally event per motion for a burst of ballots
# Seconds over which the hub gathers its messages before it hands them to
# the streams: a burst of batches costs one queue message and one write per
# listener, not one per batch (issue 16). Events keep their order.
COALESCE = 0.05
KEEP_ALIVE = 15.0  # seconds of silence before a comment line keeps proxies from closing the stream


def stale_motions(statement: dict[str, Any], state: AssemblyState) -> set[str]:
    """The motions whose live tally ``statement`` (just appended) may have
    changed: its own motion for a ballot, every motion not closed yet (open
    or upcoming) for the ``EVERY_TALLY_KINDS``, none for the other kinds.
    A ballot costs no scan of the motions."""
    kind = statement["kind"]
    if kind == "ballot":
        return {statement["motion"]}
    if kind in EVERY_TALLY_KINDS:
        return {m.id for m in state.motions.values() if m.close_index is None}
    return set()


class EventHub:
    """Fans out `entry` and (debounced) `tally` events to SSE subscribers.

    ``state`` returns the assembly state the events describe; the hub reads
    it only when someone listens."""

    def __init__(self, state: Callable[[], AssemblyState], coalesce: float = COALESCE) -> None:
        self.state = state
        self.queues: set[asyncio.Queue[bytes | None]] = set()
        self.dirty: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self.coalesce = coalesce
        # Encoded events not yet handed to the streams, in order, and the
        # timer that hands them over (``_hand_over``).
        self._pending: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def on_entries(self, entries: list[dict[str, Any]]) -> None:
        """A box listener: called with the entries of each committed batch."""
        if not self.queues:  # nobody listens: nothing to build
            return
        state = self.state()
        for entry in entries:
            st = entry["statement"]
            self._send("entry", {"index": entry["index"], "kind": st["kind"], "motion": st.get("motion")})
            self.dirty.update(stale_motions(st, state))
        if self.dirty and self.queues and (self._flush is None or self._flush.done()):
            self._flush = asyncio.get_running_loop().create_task(self._send_tallies())

    async def _send_tallies(self) -> None:
        await asyncio.sleep(DEBOUNCE)
        dirty, self.dirty = self.dirty, set()
        state = self.state()
        for motion in sorted(dirty):
            if motion in state.motions and state.motions[motion].close_index is None:
                self._send("tally", {"motion": motion, "tally": live_tally(state, motion)})

    def _send(self, event: str, data: dict[str, Any]) -> None:
        """Encode one event and queue it for the next hand-over (at most
        ``coalesce`` seconds from the first event pending)."""
        self._pending.append(f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.coalesce, self._hand_over)

    def _hand_over(self) -> None:
        """Every event pending, joined in their order, to every stream: one
        message each (which a stream writes at once)."""
        self._timer = None
        if not self._pending:
            return
        chunk, self._pending = b"".join(self._pending), []
        for q in self.queues:
            q.put_nowait(chunk)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """The ``text/event-stream`` answer of one subscriber, until it leaves
        or the hub closes."""
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        q: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.queues.add(q)
        try:
            await resp.write(b": connected\n\n")
            while True:
                try:
                    # (a timeout scope, not wait_for: that would wrap every get in a task of its own)
                    async with asyncio.timeout(KEEP_ALIVE):
                        message = await q.get()
                except TimeoutError:
                    message = b": keep-alive\n\n"
                if message is None:
                    break
                # What queued up meanwhile goes out in the same write.
                parts, end = [message], False
                while not q.empty():
                    more = q.get_nowait()
                    if more is None:
                        end = True
                        break
                    parts.append(more)
                await resp.write(b"".join(parts))
                if end:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.queues.discard(q)
        return resp

    def close(self) -> None:
        """End every stream (at shutdown), after what is pending."""
        if self._timer is not None:
            self._timer.cancel()
        self._hand_over()
        for q in self.queues:
            q.put_nowait(None)
