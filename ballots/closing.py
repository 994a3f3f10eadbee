"""From the ballot box's state to the tally: the electorate of a motion as it
stands, the live provisional tally, and the `result` statement written at
close. The counting itself is ``tally``'s; this module only gathers its plain
inputs from the state (docs/SPEC.md section 7: roster in force at the close, less
expelled deputies; the motion's quorum or the assembly's default)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import tally
from ballots.state import AssemblyState
from delegation import Counts, Electorate, resolve
from vocabulary import MOTION_PREFIX

log = logging.getLogger(__name__)


def electorate(state: AssemblyState, motion_id: str) -> Electorate:
    """The plain input of the resolution of ``motion_id`` in this state."""
    active = [k for k, m in state.members.items() if m.active]
    return Electorate(
        members=active,
        chain=state.scope_chain(MOTION_PREFIX + motion_id),
        settings=state.settings,
        ballots=state.ballots.get(motion_id, {}),
    )


def tally_options(state: AssemblyState, motion_id: str) -> dict[str, Any]:
    motion = state.motions[motion_id]
    rules = state.rules
    return {
        "roster": state.active_roster(),
        "method": rules["method"],
        "quorum": rules["quorum"] if motion.quorum is None else motion.quorum,
        "no_quorum": rules["no_quorum"],
    }


def counts(state: AssemblyState, motion_id: str, *, check: bool = False) -> Counts:
    """The counts of a motion as it stands: from the live resolution the
    state keeps (``ballots.live``, O(1)), else by resolving the whole
    electorate (O(N)); the two are equal (test_delegation_live.py). With
    ``check`` (the server's ``--full-check``) both are computed, a difference
    is logged as an error, and the full resolution's counts are used."""
    live = None if state.live is None else state.live.counts(motion_id)
    if live is not None and not check:
        return live
    ref = resolve(electorate(state, motion_id)).counts
    if live is not None and live != ref:
        log.error("motion %s: live counts %s differ from the full resolution %s", motion_id, live, ref)
    return ref


def seed(state: AssemblyState, motion_id: str, reveal: bytes, *, check: bool = False) -> bytes:
    """``tally.motion_seed(reveal, electorate(state, motion_id))``: with the
    D the state keeps as ballots arrive (``ballots.seeds``, one hash over
    items already sorted), else by hashing and sorting the counted ballots
    (O(ballots): D is over the sorted items of the active members with a
    ballot, docs/SPEC.md section 16.2, so walking the ballots and keeping
    the active authors gives the same items). With ``check`` (the server's
    ``--full-check``) both are computed, a difference is logged as an
    error, and the recomputed D is used."""
    live = None if state.live is None else state.live.seeds.digest(motion_id)
    if live is not None and not check:
        return tally.lottery_seed(reveal, live)
    ballots = state.ballots.get(motion_id, {})
    ref = tally.ballots_digest([k for k in ballots if state.is_active(k)], ballots)
    if live is not None and live != ref:
        log.error("motion %s: the kept D %s differs from the recomputed %s", motion_id, live.hex(), ref.hex())
    return tally.lottery_seed(reveal, ref)


def result_statement(
    state: AssemblyState, motion_id: str, header: dict[str, Any], *, check: bool = False
) -> dict[str, Any]:
    """The `result` statement of a motion whose `close` entry is the state's
    last, seeded by the close's reveal and the counted ballots (docs/SPEC.md
    section 16); counts from the live resolution and D from the kept items
    (``check``: see `counts` and `seed`)."""
    motion = state.motions[motion_id]
    lottery = state.lotteries.get(MOTION_PREFIX + motion_id)
    if motion.close_hash is None or lottery is None or lottery.reveal is None:
        raise ValueError(f"motion {motion_id!r} has no close entry with a reveal")
    doc = tally.result_document(
        counts(state, motion_id, check=check),
        motion=motion_id,
        close_hash=bytes.fromhex(motion.close_hash),
        seed=seed(state, motion_id, bytes.fromhex(lottery.reveal), check=check),
        **tally_options(state, motion_id),
    )
    return {**header, **doc}


# The live tallies of the state last asked about, until it grows: the bill
# page (GET /api/motions/{id}) and the live updates ask for the same tally
# many times between two entries, and at 10^5 members one costs ~0.5 s.
@dataclass
class _LiveTallies:
    state: AssemblyState | None = None
    size: int = -1
    tallies: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)


_live = _LiveTallies()


def live_tally(state: AssemblyState, motion_id: str, weights_limit: int = 20) -> dict[str, Any]:
    """The provisional tally of an open motion, as it would stand now: from
    the maintained counts and weights when the state keeps them (ballots.live,
    issue 16), else resolved in full. Either way it is kept for the same
    state at the same size, since the state changes only by growing (one
    state at a time; callers must not change the dict)."""
    if _live.state is not state or _live.size != state.size:
        _live.state, _live.size, _live.tallies = state, state.size, {}
    key = (motion_id, weights_limit)
    if key not in _live.tallies:
        live = state.live
        c = None if live is None else live.counts(motion_id)
        w = None if live is None else live.weights(motion_id, weights_limit)
        if c is not None and w is not None:
            doc = tally.provisional_document(c, w, **tally_options(state, motion_id))
        else:
            doc = tally.provisional_tally(
                electorate(state, motion_id), weights_limit=weights_limit, **tally_options(state, motion_id)
            )
        _live.tallies[key] = doc
    return _live.tallies[key]
