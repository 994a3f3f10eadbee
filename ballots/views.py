"""Read models for the API and the web UI, computed from the box's state:
plain dicts ready for JSON. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from itertools import compress
from typing import Any

import numpy as np

import delegation
from ballots.closing import electorate, live_tally
from ballots.paths import ClosedPaths
from ballots.state import AssemblyState, Motion, Vote
from vocabulary import MOTION_PREFIX


def motion_state(m: Motion, now: datetime) -> str:
    if m.close_index is not None:
        return "closed"
    if now < m.opens:
        return "upcoming"
    return "open"


def motion_summary(state: AssemblyState, m: Motion, now: datetime) -> dict[str, Any]:
    s = motion_state(m, now)
    return {
        **m.fields(),
        "state": s,
        "index": m.index,
        "close_index": m.close_index,
        "result_index": m.result_index,
        "voters": len(state.ballots.get(m.id, {})),
    }


def motions(state: AssemblyState, now: datetime, which: str | None = None) -> list[dict[str, Any]]:
    out = [motion_summary(state, m, now) for m in state.motions.values()]
    return [m for m in out if which is None or m["state"] == which]


def motion_detail(state: AssemblyState, motion_id: str, now: datetime) -> dict[str, Any] | None:
    """The contract's `GET /api/motions/{id}`: motion, state, live tally or result."""
    m = state.motions.get(motion_id)
    if m is None:
        return None
    s = motion_state(m, now)
    return {
        "motion": motion_summary(state, m, now),
        "state": s,
        "tally": live_tally(state, motion_id) if s == "open" else None,  # provisional, while open
        "result": m.result,
    }


def member_list(state: AssemblyState) -> list[dict[str, Any]]:
    roster = set(state.active_roster())
    return [member_info(state, k, roster) for k in state.members]


def member_page(state: AssemblyState, after: int, limit: int) -> dict[str, Any]:
    """Members by enrolment (member index, ballots.live), those after cursor
    ``after`` (0 to start), at most ``limit``: O(limit + roster), whatever
    the size of the assembly. ``next`` is the cursor of the next page, or
    None after the last member (docs/SPEC.md section 9)."""
    keys = list(state.members) if state.live is None else state.live.keys
    page = keys[after : after + limit]
    roster = set(state.active_roster())
    nxt = after + len(page)
    return {"members": [member_info(state, k, roster) for k in page], "next": nxt if nxt < len(keys) else None}


def members_named(state: AssemblyState, keys: list[str]) -> list[dict[str, Any]]:
    """The members (active or expelled) among ``keys``, once each, in the
    order given; a key that is no member is left out. O(len(keys) + roster):
    what a page needs to name the few members it shows (docs/SPEC.md
    section 9)."""
    roster = set(state.active_roster())
    return [member_info(state, k, roster) for k in dict.fromkeys(keys) if k in state.members]


def member_info(state: AssemblyState, key: str, roster: set[str] | None = None) -> dict[str, Any]:
    roster = set(state.active_roster()) if roster is None else roster
    m = state.members.get(key)
    return {
        "key": key,
        "name": m.name if m else None,
        "active": bool(m and m.active),
        "member": m is not None,
        "organizer": key in state.organizers,
        "deputy": key in roster,
        "seq": state.seqs.get(key, 0),
    }


def member_detail(
    state: AssemblyState, key: str, settings_to_key: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """One member, their delegations and who delegates to them. Pass
    ``settings_to_key``, the (member, scope) pairs naming ``key`` sorted by
    member (``BallotBox.delegators``, an indexed SQL read), to make this
    O(delegators); without it every member's settings are scanned (O(N))."""
    info = member_info(state, key)
    info["delegations"] = [{"scope": s, "to": t} for s, t in sorted(state.settings.get(key, {}).items())]
    if settings_to_key is None:
        settings_to_key = sorted((m, s) for m, mine in state.settings.items() for s, t in mine.items() if t == key)
    by: dict[str, list[str]] = {}
    for m, s in settings_to_key:
        if state.is_active(m):
            by.setdefault(m, []).append(s)
    info["delegated_by"] = [{"member": m, "scopes": sorted(scopes)} for m, scopes in by.items()]
    return info


class ActiveMembers(Mapping[str, bool]):
    """The active members of a state as a read-only mapping, without copying
    them: what `delegation.vote_path` needs to test membership in O(1)."""

    def __init__(self, state: AssemblyState) -> None:
        self._members = state.members

    def __getitem__(self, key: str) -> bool:
        m = self._members.get(key)
        if m is None or not m.active:
            raise KeyError(key)
        return True

    def __contains__(self, key: object) -> bool:
        m = self._members.get(key) if isinstance(key, str) else None
        return m is not None and m.active

    def __iter__(self) -> Iterator[str]:
        return (k for k, m in self._members.items() if m.active)

    def __len__(self) -> int:
        return sum(1 for m in self._members.values() if m.active)


def vote_path(state: AssemblyState, key: str, motion_id: str, closed: ClosedPaths | None = None) -> dict[str, Any]:
    """Where this member's vote goes on the motion, and whose votes they carry
    (docs/SPEC.md section 9, "Vote paths"); ``as_of`` is the index of the
    close entry the answer is as of, or None for "as the log stands now".
    A closed motion is answered from ``closed``, its paths as of the close
    (``BallotBox.closed_paths``; ValueError without them): members, settings
    and ballots of then, whatever changed since. An open or upcoming one
    from the live resolution (issue 16): the path costs its length, the
    carried votes one NumPy pass per level of the member's delegation tree;
    the full resolution of the state as it is for a state without one."""
    motion = state.motions[motion_id]
    if motion.close_index is not None:
        if closed is None:
            raise ValueError(f"motion {motion_id!r} is closed: its paths as of the close are needed")
        keys, index = member_keys(state)
        return {**closed.vote_path(keys, index, key, motion_id), "as_of": motion.close_index}
    if not state.is_active(key):
        return {
            "member": key,
            "motion": motion_id,
            "path": [key],
            "outcome": "not_member",
            "reason": "not an active member",
            "weight": 0,
            "carried": [],
            "as_of": None,
        }
    live = None if state.live is None else state.live.motions.get(motion_id)
    if live is not None and state.live is not None:
        e = delegation.Electorate(
            members=ActiveMembers(state),  # type: ignore[arg-type]  # vote_path takes a Mapping
            chain=live.chain,
            settings=state.settings,
            ballots=state.ballots[motion_id],
        )
        p = delegation.vote_path(e, key)
        i, keys = state.live.index[key], state.live.keys
        return {
            "member": key,
            "motion": motion_id,
            "path": list(p.path),
            "outcome": p.outcome,
            "reason": str(p.reason),
            "weight": live.res.weight(i),
            "carried": [keys[j] for j in live.res.carried(i)],
            "as_of": None,
        }
    e = electorate(state, motion_id)
    p = delegation.vote_path(e, key)
    r = delegation.resolve(e)
    carried = [m for m in e.members if m != key and r.carrier_of(m) == key]
    return {
        "member": key,
        "motion": motion_id,
        "path": list(p.path),
        "outcome": p.outcome,
        "reason": str(p.reason),
        "weight": (len(carried) + 1) if r.carrier_of(key) == key else 0,
        "carried": carried,
        "as_of": None,
    }


def member_keys(state: AssemblyState) -> tuple[list[str], Mapping[str, int]]:
    """Every member's key by member index (enrolment order, ballots.live)
    and the index of each key: what a closed motion's snapshot is read with."""
    tallies = state.live
    if tallies is None:
        keys = list(state.members)
        return keys, {k: i for i, k in enumerate(keys)}
    return tallies.keys, tallies.index


def graph(
    state: AssemblyState, scope: str, closed: ClosedPaths | None = None, names: dict[str, str] | None = None
) -> dict[str, Any]:
    """Delegation analytics of a scope: `*`, `topic:<id>` or `motion:<id>`
    (docs/SPEC.md section 9, "Delegation graph"), by
    `delegation.analyse_arrays` (NumPy; `delegation.analyse` is its
    reference). A closed motion's come from ``closed``, its snapshot
    (``BallotBox.closed_paths``; ValueError without it): the members,
    settings and ballots of the close, whatever changed since; ``as_of``
    is then the close entry's index, else None. An open or upcoming
    motion's are read from its live resolution (issue 16) when the state
    keeps one: no key lookup, no compilation of the settings. ``names``:
    the active members' pseudonyms by key, if the caller keeps them (they
    change only with the members; used, not copied, for every scope but
    a closed motion's)."""
    as_of = None
    if scope.startswith(MOTION_PREFIX):
        motion = state.motions[scope[len(MOTION_PREFIX) :]]
        if motion.close_index is not None:
            if closed is None:
                raise ValueError(f"motion {motion.id!r} is closed: its paths as of the close are needed")
            arrays = _compiled(closed.electorate(member_keys(state)[0], motion.id))
            as_of = motion.close_index
        else:
            arrays = live_arrays(state, motion.id) or _compiled(electorate(state, motion.id))
    else:
        active = [k for k, m in state.members.items() if m.active]
        e = delegation.Electorate(members=active, chain=state.scope_chain(scope), settings=state.settings, ballots={})
        arrays = _compiled(e)
    keys, target, choice = arrays
    report = delegation.analyse_arrays(keys, target, choice).as_dict()
    report["scope"] = scope
    report["names"] = names if names is not None and as_of is None else {k: state.members[k].name for k in keys}
    report["as_of"] = as_of
    return report


def _compiled(e: delegation.Electorate) -> tuple[list[str], np.ndarray, np.ndarray]:
    _, target, choice = delegation.compile_arrays(e)
    return list(e.members), target, choice


def live_arrays(state: AssemblyState, motion_id: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """An open or upcoming motion's electorate as indexed arrays, read from
    its live resolution: the active members' keys in enrolment order, and
    each one's target (a place among them, NO_SETTING or EXPELLED) and
    choice, as `delegation.compile_arrays` gives them. None when the state
    keeps no live resolution of the motion. O(N) NumPy copies."""
    read = live_active(state, motion_id)
    if read is None:
        return None
    res, act, target, choice, pos, place = read
    keys = active_keys(state, act)
    # An active member's target is active (LiveResolution turns any other into EXPELLED).
    target = np.where(target >= 0, place[np.maximum(target, 0)], target)[pos]
    return keys, target, choice[pos]


LiveActive = tuple["delegation.live.LiveResolution", np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def live_active(state: AssemblyState, motion_id: str) -> LiveActive | None:
    """A motion's live resolution as NumPy arrays over member indices (the
    resolution, the active mask, targets, choices, the active members'
    indices, and each index's place among them, -1 for the inactive), or
    None when the state keeps none: what `live_arrays` and
    `ScopePower.from_live` both start from."""
    live = None if state.live is None else state.live.motions.get(motion_id)
    if live is None or state.live is None:
        return None
    res = live.res
    n = len(res.target)
    act = np.frombuffer(res.active, dtype=np.uint8).astype(bool)
    target = np.frombuffer(res.target, dtype=np.int32).astype(np.int64)
    choice = np.frombuffer(res.choice, dtype=np.int8).copy()
    pos = np.flatnonzero(act)
    place = np.full(n, -1, dtype=np.int64)  # member index -> place among the active
    place[pos] = np.arange(len(pos))
    return res, act, target, choice, pos, place


def active_keys(state: AssemblyState, act: np.ndarray) -> list[str]:
    """The keys of the members ``act`` (a live resolution's mask) marks, in enrolment order."""
    assert state.live is not None
    return list(compress(state.live.keys[: len(act)], act.tolist()))


def instructions(state: AssemblyState, deputy: str) -> list[dict[str, Any]]:
    """Every binding instruction of one deputy, from the result documents."""
    out = []
    for m in state.motions.values():
        if m.result is None:
            continue
        for ins in m.result["instructions"]:
            if ins["deputy"] == deputy:
                r = m.result
                out.append(
                    {
                        "motion": m.id,
                        "title": m.title,
                        "choice": ins["choice"],
                        "result_index": m.result_index,
                        "seats": r["seats"],
                        "members": r["members"],
                        "yes": r["yes"],
                        "no": r["no"],
                        "abstain": r["abstain"],
                        "quorum": r["quorum"],
                        "report": _vote(state.reports.get(m.id, {}).get(deputy)),
                        "record": _vote(state.records.get(m.id, {}).get(deputy)),
                    }
                )
    return out


def _vote(v: Vote | None) -> dict[str, Any] | None:
    return None if v is None else {"voted": v.voted, "source": v.source, "note": v.note, "index": v.index}


def topics(state: AssemblyState) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "title": t.title, "description": t.description, "parent": t.parent} for t in state.topics.values()
    ]
