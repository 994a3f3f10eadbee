"""Read models of the deliberation (docs/SPEC.md sections 9 and 13): the
threads of arguments on a motion or a proposal, strongest first, the
proposals by support, and a member's own arguments. Plain dicts for JSON,
computed from the box's state; the texts, which live off the log, are passed
in by the caller (``texts``: comment index -> (text, salt)).

"Strongest first" is a fact anyone can recount, never a score: the most
replied-to first (direct replies), then the most recent. No weight of votes
or delegations enters it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ballots.state import AssemblyState, Comment, Proposal
from vocabulary import MOTION_PREFIX, PROPOSAL_PREFIX, Stance

Texts = Mapping[int, tuple[str, str]]
STANCES = tuple(s.value for s in Stance)
REPLIES_SHOWN = 50  # per thread on a page; the rest with GET /api/comments/{index}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of threads: each a top-level comment and the replies shown
    under it (depth first, oldest first among siblings), and what the page
    needs from the texts table."""

    target: str
    counts: dict[str, int]
    total_threads: int
    threads: list[tuple[int, list[tuple[int, int]], int]]  # (top, [(reply, depth)], replies not shown)
    offset: int

    def indexes(self) -> list[int]:
        return [i for top, shown, _ in self.threads for i in (top, *(r for r, _ in shown))]


def _children(state: AssemblyState, target: str) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for i in state.comments_on.get(target, []):
        parent = state.comments[i].reply_to
        if parent is not None:
            kids.setdefault(parent, []).append(i)
    return kids


def _descendants(kids: dict[int, list[int]], top: int, limit: int | None) -> tuple[list[tuple[int, int]], int]:
    """The replies under ``top``, depth first (oldest first among siblings),
    at most ``limit`` of them, and how many more there are."""
    out: list[tuple[int, int]] = []
    hidden = 0
    stack = [(c, 1) for c in reversed(kids.get(top, []))]
    while stack:
        i, depth = stack.pop()
        if limit is not None and len(out) >= limit:
            hidden += 1
        else:
            out.append((i, depth))
        stack.extend((c, depth + 1) for c in reversed(kids.get(i, [])))
    return out, hidden


def thread_page(state: AssemblyState, target: str, *, stance: str | None, offset: int, limit: int) -> Page:
    """The threads on ``target`` (`motion:<id>` or `proposal:<id>`) whose
    first comment has ``stance`` (any when None), strongest first; comments
    counted per stance over the whole discussion, replies included."""
    on = state.comments_on.get(target, [])
    counts = dict.fromkeys(STANCES, 0)
    tops: list[Comment] = []
    for i in on:
        c = state.comments[i]
        counts[c.stance] += 1
        if c.reply_to is None and (stance is None or c.stance == stance):
            tops.append(c)
    tops.sort(key=lambda c: (-c.replies, -c.index))
    kids = _children(state, target)
    threads = []
    for c in tops[offset : offset + limit]:
        shown, hidden = _descendants(kids, c.index, REPLIES_SHOWN)
        threads.append((c.index, shown, hidden))
    return Page(target, counts, len(tops), threads, offset)


def comment_view(state: AssemblyState, c: Comment, texts: Texts, depth: int = 0) -> dict[str, Any]:
    """One comment for the API: who, where, its stance and thread, and its
    text and salt (which the browser checks against ``text_hash``), or the
    public reason it was erased."""
    member = state.members.get(c.author)
    kept = texts.get(c.index) if c.redacted_by is None else None
    return {
        "index": c.index,
        "author": c.author,
        "name": member.name if member else None,
        "motion": c.motion,
        "proposal": c.proposal,
        "stance": c.stance,
        "reply_to": c.reply_to,
        "replies": c.replies,
        "depth": depth,
        "received": c.received,
        "text_hash": c.text_hash,
        "text": kept[0] if kept else None,
        "salt": kept[1] if kept else None,
        "redacted": c.redacted_by is not None,
        "redact": c.redacted_by,
        "reason": c.reason,
    }


def page_view(state: AssemblyState, page: Page, texts: Texts) -> dict[str, Any]:
    return {
        "target": page.target,
        "counts": page.counts,
        "threads_total": page.total_threads,
        "offset": page.offset,
        "threads": [
            {
                "comment": comment_view(state, state.comments[top], texts),
                "replies": [comment_view(state, state.comments[r], texts, d) for r, d in shown],
                "more_replies": hidden,
            }
            for top, shown, hidden in page.threads
        ],
    }


def thread_of(state: AssemblyState, index: int) -> list[tuple[int, int]]:
    """A comment and every reply under it, with depths (for the full thread)."""
    c = state.comments[index]
    shown, _ = _descendants(_children(state, c.target), index, None)
    return [(index, 0), *shown]


def proposal_summary(state: AssemblyState, p: Proposal) -> dict[str, Any]:
    supporters = state.supporters(p)
    author = state.members.get(p.author)
    return {
        "id": p.id,
        "topic": p.topic,
        "title": p.title,
        "summary": p.summary,
        "url": p.url,
        "amends": p.amends,
        "author": p.author,
        "name": author.name if author else None,
        "index": p.index,
        "supporters": len(supporters),
        "ready": state.is_ready(p),
        "motion": p.motion,
        "comments": len(state.comments_on.get(PROPOSAL_PREFIX + p.id, [])),
    }


def proposals(state: AssemblyState) -> dict[str, Any]:
    """Every proposal, the most supported first (then the oldest), with the
    number of active members and the support a proposal needs to be ready."""
    members = state.active_count()
    listed = sorted(state.proposals.values(), key=lambda p: (-len(state.supporters(p)), p.index))
    return {
        "members": members,
        "needed": -(-members // 10),  # supporters x 10 >= members
        "proposals": [proposal_summary(state, p) for p in listed],
    }


def proposal_detail(state: AssemblyState, proposal_id: str) -> dict[str, Any] | None:
    p = state.proposals.get(proposal_id)
    if p is None:
        return None
    out = proposal_summary(state, p)
    out["supporters_list"] = [
        {"key": k, "name": state.members[k].name, "index": p.supporters[k]} for k in state.supporters(p)
    ]
    out["members"] = state.active_count()
    out["needed"] = -(-out["members"] // 10)
    return out


def motion_debate(state: AssemblyState, motion_id: str) -> dict[str, Any]:
    """What the bill page shows beside its arguments: the proposal it was
    turned from (with its supporters) and the amendments proposed to it."""
    m = state.motions[motion_id]
    origin = None
    if m.url.startswith(PROPOSAL_PREFIX):
        origin = proposal_detail(state, m.url[len(PROPOSAL_PREFIX) :])
    amendments = [proposal_summary(state, p) for p in state.proposals.values() if p.amends == motion_id]
    amendments.sort(key=lambda a: (-a["supporters"], a["index"]))
    return {"motion": motion_id, "proposal": origin, "amendments": amendments}


def member_comments(state: AssemblyState, key: str, limit: int) -> list[int]:
    """The indexes of a member's latest comments, most recent first."""
    return list(reversed(state.comments_by.get(key, [])))[:limit]


def target_of(kind: str, ident: str) -> str:
    return (MOTION_PREFIX if kind == "motion" else PROPOSAL_PREFIX) + ident
