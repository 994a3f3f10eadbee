"""Read models about people (issue 14; docs/SPEC.md section 9, "People"):
a member's public record, the delegates a member may choose from, what
a member's delegates did with their vote; the power of each member in a
scope, for the graph at any size, is in ballots/scope_power.py (its names
are exported here too).

Every answer is computed from the box's state plus rows the caller read
from SQL (a member's own entries, their delegators: indexed reads). The
one O(N) computation, a scope's delegation trees (`ScopePower`), is NumPy
work kept per scope until the scope's graph changes (`PowerCache`);
requests then cost their page. Nothing here writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import delegation
from ballots.scope_power import NameIndex, PowerCache, ScopePower
from ballots.state import AssemblyState
from ballots.statements import format_time
from ballots.views import ActiveMembers, motion_state
from vocabulary import MOTION_PREFIX

__all__ = [
    "NameIndex",
    "PowerCache",
    "ScopePower",
    "delegates",
    "delegates_did",
    "fingerprint",
    "record",
    "recent_votes",
    "weight_on",
]


def fingerprint(key: str) -> str:
    """What two people compare to know they mean the same key: the first
    16 bytes of SHA-256 of the raw public key, as 8 groups of 4 hex digits
    (docs/SPEC.md section 9, "People"). Raises ValueError for a key that is
    not hex."""
    digest = hashlib.sha256(bytes.fromhex(key)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


# -- delegates to choose from ----------------------------------------------------


def recent_votes(state: AssemblyState, key: str, limit: int = 3) -> list[dict[str, Any]]:
    """The member's ballots on the latest motions (newest motion first):
    O(motions), whatever the number of members."""
    out = []
    for m in reversed(state.motions.values()):
        choice = state.ballots.get(m.id, {}).get(key)
        if choice is not None:
            out.append({"motion": m.id, "title": m.title, "choice": choice})
            if len(out) == limit:
                break
    return out


def delegates(
    state: AssemblyState,
    power: ScopePower,
    query: str,
    limit: int,
    exclude: str | None = None,
    names: NameIndex | None = None,
) -> dict[str, Any]:
    """Active members whose pseudonym or key contains ``query`` (case
    folded), heaviest first in the scope of ``power``, then by key, at most
    ``limit``, each with their weight and latest votes. Stops at ``limit``
    matches; with ``names`` (`PowerCache.names`) a query is a C-speed scan
    of one string, else a Python loop over the members."""
    q = query.casefold().strip()
    if not q:
        places: Iterator[int] = iter(range(len(power.keys)))
    elif names is not None:
        places = names.positions(q)
    else:
        places = (
            j
            for j, i in enumerate(power.order)
            if q in state.members[power.keys[int(i)]].name.casefold() or q in power.keys[int(i)]
        )
    found: list[dict[str, Any]] = []
    for j in places:
        i = int(power.order[j])
        key = power.keys[i]
        if key == exclude:
            continue
        found.append(
            {
                "key": key,
                "name": state.members[key].name,
                "weight": int(power.size[i]),
                "delegators": power.delegators(i),
                "recent": recent_votes(state, key),
            }
        )
        if len(found) == limit:
            break
    return {"query": query, "members": len(power.keys), "delegates": found}


# -- a member's public record ---------------------------------------------------


def open_motions(state: AssemblyState, now: datetime) -> list[Any]:
    return [m for m in state.motions.values() if motion_state(m, now) == "open"]


def record(
    state: AssemblyState,
    key: str,
    entries: list[tuple[dict[str, Any], str]],
    delegators: list[tuple[str, str]],
    now: datetime,
    texts: dict[int, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The member page's data: who they are, their public votes (the
    latest ballot per motion) and delegation settings (the latest per
    scope, with its entry), whose votes they are given, the weight they
    carry on each open bill, and their comments. ``entries`` are the
    entries the key signed (``BallotBox.entries_by``), ``delegators`` the
    (member, scope) settings naming them (``BallotBox.delegators``)."""
    m = state.members.get(key)
    votes: dict[str, dict[str, Any]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for e, _digest in entries:
        st = e["statement"]
        if st["kind"] == "ballot":
            votes[st["motion"]] = {"choice": st["choice"], "index": e["index"], "received": e["received"]}
        elif st["kind"] == "delegate":
            settings[st["scope"]] = {"to": st["to"], "index": e["index"], "received": e["received"]}
    vote_list = []
    for motion_id, v in sorted(votes.items(), key=lambda kv: -kv[1]["index"]):
        mo = state.motions.get(motion_id)
        if mo is None or v["choice"] is None:
            continue
        vote_list.append(
            {"motion": motion_id, "title": mo.title, "state": motion_state(mo, now), **v, "counted": mo.close_index}
        )
    by: dict[str, list[str]] = {}
    for who, scope in delegators:
        if state.is_active(who):
            by.setdefault(who, []).append(scope)
    carried = []
    if m is not None and m.active:
        for mo in open_motions(state, now):
            carried.append(
                {"motion": mo.id, "title": mo.title, "closes": format_time(mo.closes), **weight_on(state, key, mo.id)}
            )
    comments = []
    for i in reversed(state.comments_by.get(key, [])[-50:]):
        c = state.comments[i]
        text = None if c.redacted_by is not None or texts is None else texts.get(i, (None, None))[0]
        comments.append(
            {
                "index": i,
                "target": c.target,
                "stance": c.stance,
                "received": c.received,
                "redacted": c.redacted_by is not None,
                "text": text,
            }
        )
    return {
        "key": key,
        "fingerprint": fingerprint(key),
        "name": m.name if m else None,
        "member": m is not None,
        "active": bool(m and m.active),
        "enrolled_index": m.enrolled_index if m else None,
        "organizer": key in state.organizers,
        "deputy": key in state.active_roster(),
        "votes": vote_list,
        "delegations": [
            {"scope": s, **v}
            for s, v in sorted(settings.items())
            if v["to"] is not None and s in state.settings.get(key, {})
        ],
        "delegated_by": [{"member": w, "name": state.members[w].name, "scopes": sorted(s)} for w, s in by.items()],
        "carries": carried,
        "comments": comments,
    }


def weight_on(state: AssemblyState, key: str, motion_id: str) -> dict[str, Any]:
    """What member ``key`` carries on an open motion: ``weight``, the votes
    they cast (0 unless they voted), and ``passing``, the votes that reach
    them (their own included), which they would cast by voting. From the
    live resolution: O(1)."""
    live = None if state.live is None else state.live.motions.get(motion_id)
    if live is not None and state.live is not None and key in state.live.index:
        i = state.live.index[key]
        return {"weight": live.res.weight(i), "passing": int(live.res.size[i])}
    power = ScopePower.build(state, MOTION_PREFIX + motion_id)  # a state without live resolutions
    i = power.index[key]
    return {"weight": int(power.size[i]) if power.carrier[i] else 0, "passing": int(power.size[i])}


# -- what my delegates did --------------------------------------------------------


def delegates_did(state: AssemblyState, key: str, now: datetime) -> list[dict[str, Any]]:
    """The open motions on which ``key`` has not voted and a delegate's
    vote counts for them: the choice, the path, and when the motion closes
    (until then a ballot of their own overrides). O(open motions x path)."""
    if not state.is_active(key):
        return []
    members = ActiveMembers(state)
    out = []
    for mo in open_motions(state, now):
        ballots = state.ballots.get(mo.id, {})
        if key in ballots:
            continue
        e = delegation.Electorate(
            members=members,  # type: ignore[arg-type]  # vote_path takes a Mapping
            chain=state.scope_chain(MOTION_PREFIX + mo.id),
            settings=state.settings,
            ballots=ballots,
        )
        p = delegation.vote_path(e, key)
        if len(p.path) < 2 or p.outcome not in ("yes", "no", "abstain"):
            continue
        carrier = p.path[-1]
        out.append(
            {
                "motion": mo.id,
                "title": mo.title,
                "closes": format_time(mo.closes),
                "choice": p.outcome,
                "path": list(p.path),
                "delegate": p.path[1],
                "carrier": carrier,
                "carrier_name": state.members[carrier].name,
            }
        )
    return out
