"""Draws by lot (docs/SPEC.md section 4, draws): who is in a draw's pool, and
the public view of a draw. Pure: plain state in, plain data out.

The pool of a draw is every active member whose latest `volunteer` for it
stands, and who is certified for it when the draw requires certification.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import tally
from ballots.state import AssemblyState, Draw


def pool(state: AssemblyState, draw: Draw) -> list[str]:
    """The eligible members of ``draw`` as the state stands, in key order."""
    return sorted(
        key
        for key, standing in draw.standing.items()
        if standing and state.is_active(key) and (not draw.certified or key in draw.certifications)
    )


def draw_order(seed: bytes, members: list[str]) -> list[str]:
    """The draw order: SHA-256(seed || raw 32-byte key) ascending."""
    return sorted(members, key=lambda k: hashlib.sha256(seed + bytes.fromhex(k)).digest())


def drawn_fields(state: AssemblyState, draw: Draw, r: bytes) -> dict[str, object]:
    """The fields of the `drawn` entry of ``draw`` written now, with the
    lottery's secret ``r`` (docs/SPEC.md section 13): D over SHA-256(raw key)
    of every member of the pool, the seed, the pool's size and the first
    `seats` of the pool in draw order (all of it when smaller)."""
    eligible = pool(state, draw)
    seed = tally.lottery_seed(r, tally.participants_digest(tally.pool_item(k) for k in eligible))
    return {
        "draw": draw.id,
        "reveal": r.hex(),
        "seed": seed.hex(),
        "pool": len(eligible),
        "chosen": draw_order(seed, eligible)[: draw.seats],
    }


def draw_state(draw: Draw, now: datetime) -> str:
    """upcoming, open (taking volunteers), closed (waiting for its drawn
    entry) or drawn."""
    if draw.drawn_index is not None:
        return "drawn"
    if now < draw.opens:
        return "upcoming"
    return "open" if now < draw.closes else "closed"


def draw_summary(state: AssemblyState, draw: Draw, now: datetime) -> dict[str, Any]:
    return {
        **draw.fields(),
        "index": draw.index,
        "state": draw_state(draw, now),
        "pool": len(pool(state, draw)),
        "drawn_index": draw.drawn_index,
    }


def draw_detail(state: AssemblyState, draw_id: str, now: datetime) -> dict[str, Any] | None:
    """A draw's public page: every member who volunteered or was certified,
    whether they stand, are certified and are in the pool; and the `drawn`
    entry's fields once drawn."""
    draw = state.draws.get(draw_id)
    if draw is None:
        return None
    eligible = set(pool(state, draw))
    people = [
        {
            "key": key,
            "name": state.members[key].name if key in state.members else "",
            "standing": draw.standing.get(key, False),
            "certified": key in draw.certifications,
            "active": state.is_active(key),
            "in_pool": key in eligible,
        }
        for key in sorted(set(draw.standing) | draw.certifications)
    ]
    return {"draw": draw_summary(state, draw, now), "people": people, "drawn": draw.drawn}


def draws(state: AssemblyState, now: datetime) -> list[dict[str, Any]]:
    return [draw_summary(state, d, now) for d in sorted(state.draws.values(), key=lambda d: d.index)]
