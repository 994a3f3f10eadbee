"""Read models for the API and the web UI, computed from the box's state:
plain dicts ready for JSON. Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import delegation
from ballots.closing import electorate, live_tally
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


def member_detail(state: AssemblyState, key: str) -> dict[str, Any]:
    info = member_info(state, key)
    info["delegations"] = [{"scope": s, "to": t} for s, t in sorted(state.settings.get(key, {}).items())]
    delegators = [m for m, mine in state.settings.items() if key in mine.values() and state.is_active(m)]
    info["delegated_by"] = [
        {"member": m, "scopes": sorted(s for s, t in state.settings[m].items() if t == key)} for m in delegators
    ]
    return info


def vote_path(state: AssemblyState, key: str, motion_id: str) -> dict[str, Any]:
    """Where this member's vote goes on the motion, and whose votes they carry."""
    e = electorate(state, motion_id)
    if not state.is_active(key):
        return {
            "member": key,
            "motion": motion_id,
            "path": [key],
            "outcome": "not_member",
            "reason": "not an active member",
            "weight": 0,
            "carried": [],
        }
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
    }


def graph(state: AssemblyState, scope: str) -> dict[str, Any]:
    """Delegation analytics of a scope: `*`, `topic:<id>` or `motion:<id>`."""
    if scope.startswith(MOTION_PREFIX):
        e = electorate(state, scope[len(MOTION_PREFIX) :])
    else:
        active = [k for k, m in state.members.items() if m.active]
        e = delegation.Electorate(members=active, chain=state.scope_chain(scope), settings=state.settings, ballots={})
    report = delegation.analyse(e).as_dict()
    report["scope"] = scope
    report["names"] = {k: state.members[k].name for k in e.members}
    return report


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
