"""Encoded bodies of `GET /api/motions/{id}`, kept until the state moves
(issue 16): a page that polls an open motion costs a lookup, not a tally
document and its JSON at every poll."""

from __future__ import annotations

import json
from datetime import datetime

from ballots import views
from ballots.state import AssemblyState

LIMIT = 256  # motions kept at once; past it the cache starts afresh


class MotionBodies:
    """One body per motion, for the state it was made from (``loads``: how
    many times the box has loaded a state, so that a reloaded state is never
    taken for the one before it), its size, and the motion's state now
    (open, upcoming, closed: the clock alone moves it)."""

    def __init__(self) -> None:
        self._bodies: dict[str, tuple[tuple[int, int, str], bytes]] = {}

    def body(self, state: AssemblyState, loads: int, motion_id: str, now: datetime) -> bytes | None:
        """The JSON of ``views.motion_detail``, or None for no such motion."""
        m = state.motions.get(motion_id)
        if m is None:
            return None
        key = (loads, state.size, views.motion_state(m, now))
        hit = self._bodies.get(motion_id)
        if hit is not None and hit[0] == key:
            return hit[1]
        body = json.dumps(views.motion_detail(state, motion_id, now)).encode()
        if len(self._bodies) >= LIMIT:
            self._bodies.clear()
        self._bodies[motion_id] = (key, body)
        return body
