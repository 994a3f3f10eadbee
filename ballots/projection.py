"""Between the in-memory state and the projection tables: the rows one
statement changes, all rows of a state (for ``rebuild``), and the state read
back from the tables (at start-up). One row builder per table keeps the three
in agreement; a test compares incremental projection with a rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from ballots import schema as T
from ballots.paths import Summary
from ballots.state import AssemblyState, Comment, Draw, Lottery, Member, Motion, Proposal, Topic, Vote, Witnesses
from ballots.statements import Kind, Statement, format_time, parse_time
from crypto.canonical import canonical_bytes
from vocabulary import MOTION_PREFIX, PROPOSAL_PREFIX

Row = dict[str, Any]
# (table, primary key values, the row or None when the row goes away);
# a key of None clears the whole table.
Change = tuple[Table, tuple[Any, ...] | None, Row | None]


def _json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _assembly(s: AssemblyState) -> Row:
    return {
        "id": 1,
        "assembly_id": s.assembly_id,
        "server": s.server,
        "name": s.name,
        "organizers": _json(list(s.organizers)),
        "rules": _json(s.rules),
    }


def _member(m: Member) -> Row:
    return {
        "key": m.key,
        "name": m.name,
        "active": m.active,
        "enrolled_index": m.enrolled_index,
        "code_hash": m.code_hash,
    }


def _topic(t: Topic) -> Row:
    return {"id": t.id, "title": t.title, "description": t.description, "parent": t.parent, "idx": t.index}


def _motion(m: Motion) -> Row:
    return {
        "id": m.id,
        "topic": m.topic,
        "title": m.title,
        "summary": m.summary,
        "url": m.url,
        "opens": format_time(m.opens),
        "closes": format_time(m.closes),
        "quorum": m.quorum,
        "idx": m.index,
        "close_index": m.close_index,
        "close_hash": m.close_hash,
        "result_index": m.result_index,
        "result": None if m.result is None else _json(m.result),
    }


def _vote_row(motion: str, deputy: str, source_kind: str, v: Vote) -> Row:
    return {
        "motion": motion,
        "deputy": deputy,
        "source_kind": source_kind,
        "voted": v.voted,
        "source": v.source,
        "note": v.note,
        "idx": v.index,
        "author": v.author,
    }


def _vote_change(motion: str, deputy: str, source_kind: str, v: Vote) -> Change:
    return T.deputy_votes, (motion, deputy, source_kind), _vote_row(motion, deputy, source_kind, v)


def _draw(d: Draw) -> Row:
    return {
        **d.fields(),
        "idx": d.index,
        "drawn_index": d.drawn_index,
        "drawn": None if d.drawn is None else _json(d.drawn),
    }


def _person(d: Draw, member: str) -> Row:
    return {"draw": d.id, "member": member, "standing": d.standing.get(member), "certified": member in d.certifications}


def _closed(motion_id: str, s: Summary) -> Row:
    return {"motion": motion_id, "close_index": s.close_index, "members": s.members, "digest": s.digest}


def _lottery(lot: Lottery) -> Row:
    return {"name": lot.name, "hash": lot.hash, "idx": lot.index, "reveal": lot.reveal}


def _witness_policy(w: Witnesses) -> Row:
    return {"id": 1, "idx": w.index, "cosigners": _json(list(w.cosigners)), "quorum": w.quorum, "grace": w.grace}


def _comment(c: Comment) -> Row:
    return {
        "idx": c.index,
        "author": c.author,
        "motion": c.motion,
        "proposal": c.proposal,
        "stance": c.stance,
        "reply_to": c.reply_to,
        "text_hash": c.text_hash,
        "received": c.received,
        "redacted_by": c.redacted_by,
        "reason": c.reason,
    }


def _proposal(p: Proposal) -> Row:
    return {
        "id": p.id,
        "topic": p.topic,
        "title": p.title,
        "summary": p.summary,
        "url": p.url,
        "amends": p.amends,
        "author": p.author,
        "idx": p.index,
        "motion": p.motion,
    }


def prior_rows(state: AssemblyState, st: Statement) -> Iterator[Change]:
    """Rows that ``changes`` will give for ``st``, as they stand before it
    is applied (None: no such row), for the tables most statements change:
    the author's seq, a ballot, a delegation. The box's keyed digest takes
    the terms of these old rows from here instead of reading them back."""
    seq = state.seqs.get(st.author)
    yield T.authors, (st.author,), None if seq is None else {"key": st.author, "seq": seq}
    b = st.body
    if st.kind is Kind.BALLOT:
        choice = state.ballots.get(b["motion"], {}).get(st.author)
        row = None if choice is None else {"motion": b["motion"], "member": st.author, "choice": choice}
        yield T.ballots, (b["motion"], st.author), row
    elif st.kind is Kind.DELEGATE:
        target = state.settings.get(st.author, {}).get(b["scope"])
        row = None if target is None else {"member": st.author, "scope": b["scope"], "target": target}
        yield T.delegations, (st.author, b["scope"]), row


def changes(state: AssemblyState, st: Statement) -> Iterator[Change]:
    """The projection rows that ``st`` changed, read from ``state`` after apply."""
    yield T.authors, (st.author,), {"key": st.author, "seq": st.seq}
    b = st.body
    match st.kind:
        case Kind.ASSEMBLY:
            yield T.assembly, (1,), _assembly(state)
        case Kind.INVITE:
            yield T.invites, (b["code_hash"],), {"code_hash": b["code_hash"], "note": b["note"], "used_by": None}
        case Kind.ENROLL:
            m = state.members[st.author]
            yield (
                T.invites,
                (m.code_hash,),
                {"code_hash": m.code_hash, "note": state.invite_notes.get(m.code_hash, ""), "used_by": st.author},
            )
            yield T.members, (m.key,), _member(m)
        case Kind.EXPEL:
            yield T.members, (b["member"],), _member(state.members[b["member"]])
        case Kind.TOPIC:
            yield T.topics, (b["id"],), _topic(state.topics[b["id"]])
        case Kind.MOTION | Kind.CLOSE | Kind.RESULT:
            motion_id = b["id"] if st.kind is Kind.MOTION else b["motion"]
            yield T.motions, (motion_id,), _motion(state.motions[motion_id])
            if st.kind is Kind.MOTION and b["url"].startswith(PROPOSAL_PREFIX):
                p = state.proposals[b["url"][len(PROPOSAL_PREFIX) :]]
                yield T.proposals, (p.id,), _proposal(p)
            if st.kind is Kind.CLOSE:
                lot = state.lotteries[MOTION_PREFIX + motion_id]
                yield T.lotteries, (lot.name,), _lottery(lot)
                yield T.closed_paths, (motion_id,), _closed(motion_id, state.closed_paths[motion_id])
        case Kind.COMMIT:
            lot = state.lotteries[b["lottery"]]
            yield T.lotteries, (lot.name,), _lottery(lot)
        case Kind.DEPUTIES:
            yield T.roster, None, None  # the roster is replaced whole
            for pos, key in enumerate(b["roster"]):
                yield T.roster, (pos,), {"position": pos, "deputy": key}
        case Kind.DELEGATE:
            target = state.settings.get(st.author, {}).get(b["scope"])
            row = None if target is None else {"member": st.author, "scope": b["scope"], "target": target}
            yield T.delegations, (st.author, b["scope"]), row
        case Kind.DRAW:
            yield T.draws, (b["id"],), _draw(state.draws[b["id"]])
        case Kind.DRAWN:
            yield T.draws, (b["draw"],), _draw(state.draws[b["draw"]])
        case Kind.VOLUNTEER:
            yield T.draw_people, (b["draw"], st.author), _person(state.draws[b["draw"]], st.author)
        case Kind.CERTIFY:
            yield T.draw_people, (b["draw"], b["member"]), _person(state.draws[b["draw"]], b["member"])
        case Kind.REPORT:
            yield _vote_change(b["motion"], st.author, "report", state.reports[b["motion"]][st.author])
        case Kind.RECORD:
            yield _vote_change(b["motion"], b["deputy"], "record", state.records[b["motion"]][b["deputy"]])
        case Kind.BALLOT:
            choice = state.ballots[b["motion"]].get(st.author)
            row = None if choice is None else {"motion": b["motion"], "member": st.author, "choice": choice}
            yield T.ballots, (b["motion"], st.author), row
        case Kind.WITNESSES:
            assert state.witnesses is not None  # apply has just set it
            yield T.witness_policy, (1,), _witness_policy(state.witnesses)
        case Kind.COMMENT:
            c = state.comments[state.size - 1]
            yield T.comments, (c.index,), _comment(c)
        case Kind.REDACT:
            yield T.comments, (b["entry"],), _comment(state.comments[b["entry"]])
        case Kind.PROPOSAL:
            yield T.proposals, (b["id"],), _proposal(state.proposals[b["id"]])
        case Kind.SUPPORT:
            at = state.proposals[b["proposal"]].supporters.get(st.author)
            row = None if at is None else {"proposal": b["proposal"], "member": st.author, "idx": at}
            yield T.supports, (b["proposal"], st.author), row


def all_rows(s: AssemblyState) -> dict[Table, list[Row]]:
    """Every projection row of a state, for ``rebuild``."""
    return {
        T.assembly: [_assembly(s)] if s.assembly_id else [],
        T.authors: [{"key": k, "seq": v} for k, v in s.seqs.items()],
        T.invites: [{"code_hash": h, "note": s.invite_notes.get(h, ""), "used_by": u} for h, u in s.invites.items()],
        T.members: [_member(m) for m in s.members.values()],
        T.topics: [_topic(t) for t in s.topics.values()],
        T.motions: [_motion(m) for m in s.motions.values()],
        T.delegations: [
            {"member": m, "scope": sc, "target": to} for m, mine in s.settings.items() for sc, to in mine.items()
        ],
        T.ballots: [{"motion": mo, "member": m, "choice": c} for mo, box in s.ballots.items() for m, c in box.items()],
        T.roster: [{"position": i, "deputy": k} for i, k in enumerate(s.roster)],
        T.draws: [_draw(d) for d in s.draws.values()],
        T.draw_people: [_person(d, m) for d in s.draws.values() for m in sorted(set(d.standing) | d.certifications)],
        T.deputy_votes: [
            _vote_row(mo, dep, kind, v)
            for kind, table in (("report", s.reports), ("record", s.records))
            for mo, votes in table.items()
            for dep, v in votes.items()
        ],
        T.witness_policy: [] if s.witnesses is None else [_witness_policy(s.witnesses)],
        T.comments: [_comment(c) for c in s.comments.values()],
        T.proposals: [_proposal(p) for p in s.proposals.values()],
        T.supports: [
            {"proposal": p.id, "member": m, "idx": at} for p in s.proposals.values() for m, at in p.supporters.items()
        ],
        T.lotteries: [_lottery(lot) for lot in s.lotteries.values()],
        T.closed_paths: [_closed(m, c) for m, c in s.closed_paths.items()],
    }


def load_state(rows: dict[Table, list[Row]], size: int) -> AssemblyState:
    """The state the projection tables hold (the inverse of ``all_rows``)."""
    s = AssemblyState(size=size)
    # Each member key and code hash as one string object, whichever table it
    # came from: a key is in four tables and a code hash in two, and at 10^6
    # members every extra copy is another 110 MiB (and more to pickle).
    one: dict[str, str] = {}
    sd = one.setdefault
    for r in rows[T.assembly]:
        s.assembly_id, s.server, s.name = r["assembly_id"], r["server"], r["name"]
        s.organizers = tuple(json.loads(r["organizers"]))
        s.rules = json.loads(r["rules"])
    s.seqs = {sd(r["key"], r["key"]): r["seq"] for r in rows[T.authors]}
    for r in rows[T.invites]:
        h, used_by = sd(r["code_hash"], r["code_hash"]), r["used_by"]
        s.invites[h] = None if used_by is None else sd(used_by, used_by)
        if r["note"]:
            s.invite_notes[h] = r["note"]
    for r in sorted(rows[T.members], key=lambda r: r["enrolled_index"]):
        k = sd(r["key"], r["key"])
        s.members[k] = Member(k, r["name"], bool(r["active"]), r["enrolled_index"], sd(r["code_hash"], r["code_hash"]))
    for r in sorted(rows[T.topics], key=lambda r: r["idx"]):
        s.topics[r["id"]] = Topic(r["id"], r["title"], r["description"], r["parent"], r["idx"])
    for r in sorted(rows[T.motions], key=lambda r: r["idx"]):
        s.motions[r["id"]] = Motion(
            r["id"],
            r["topic"],
            r["title"],
            r["summary"],
            r["url"],
            parse_time(r["opens"]),
            parse_time(r["closes"]),
            r["quorum"],
            r["idx"],
            r["close_index"],
            r["close_hash"],
            r["result_index"],
            None if r["result"] is None else json.loads(r["result"]),
        )
        s.ballots[r["id"]] = {}
    for r in rows[T.delegations]:
        member, scope, target = r["member"], r["scope"], r["target"]
        s.settings.setdefault(sd(member, member), {})[sd(scope, scope)] = sd(target, target)
    for r in rows[T.ballots]:
        member, choice = r["member"], r["choice"]
        s.ballots.setdefault(r["motion"], {})[sd(member, member)] = sd(choice, choice)
    s.roster = tuple(r["deputy"] for r in sorted(rows[T.roster], key=lambda r: r["position"]))
    for r in sorted(rows[T.draws], key=lambda r: r["idx"]):
        d = Draw(
            r["id"],
            r["title"],
            r["seats"],
            parse_time(r["opens"]),
            parse_time(r["closes"]),
            bool(r["certified"]),
            r["idx"],
            drawn_index=r["drawn_index"],
            drawn=None if r["drawn"] is None else json.loads(r["drawn"]),
        )
        s.draws[d.id] = d
    for r in rows[T.draw_people]:
        d = s.draws[r["draw"]]
        if r["standing"] is not None:
            d.standing[r["member"]] = bool(r["standing"])
        if r["certified"]:
            d.certifications.add(r["member"])
    for r in sorted(rows[T.deputy_votes], key=lambda r: r["idx"]):
        table = s.reports if r["source_kind"] == "report" else s.records
        table.setdefault(r["motion"], {})[r["deputy"]] = Vote(r["voted"], r["source"], r["note"], r["idx"], r["author"])
    for r in rows[T.witness_policy]:
        s.witnesses = Witnesses(r["idx"], tuple(json.loads(r["cosigners"])), r["quorum"], r["grace"])
    for r in sorted(rows[T.comments], key=lambda r: r["idx"]):
        c = Comment(
            r["idx"], r["author"], r["motion"], r["proposal"], r["stance"], r["reply_to"], r["text_hash"], r["received"]
        )
        c.redacted_by, c.reason = r["redacted_by"], r["reason"]
        s.add_comment(c)
    for r in sorted(rows[T.proposals], key=lambda r: r["idx"]):
        s.proposals[r["id"]] = Proposal(
            r["id"], r["topic"], r["title"], r["summary"], r["url"], r["amends"], r["author"], r["idx"], {}, r["motion"]
        )
    for r in sorted(rows[T.supports], key=lambda r: r["idx"]):
        s.proposals[r["proposal"]].supporters[r["member"]] = r["idx"]
    for r in sorted(rows[T.lotteries], key=lambda r: r["idx"]):
        s.lotteries[r["name"]] = Lottery(r["name"], r["hash"], r["idx"], r["reveal"])
    for r in sorted(rows[T.closed_paths], key=lambda r: r["close_index"]):
        s.closed_paths[r["motion"]] = Summary(r["close_index"], r["members"], r["digest"])
    # A motion and its commit are written in one transaction: a stored log
    # never awaits a commit (the box checks it at start-up).
    s.awaiting_commit = None
    return s
