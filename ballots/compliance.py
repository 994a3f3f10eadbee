"""Did the deputies vote as they were told? The compliance table of
docs/SPEC.md section 4 ("Deputies' votes on record"), read from the state.

A deputy's vote is known from their own `report` and from an organizer's
`record` of the official roll call. The two are shown side by side and
neither replaces the other: a record never silently overrides a report. A
row *agrees* when every known vote equals the instruction, *deviates* when
one of them differs, and is *unknown* when neither exists. `absent` never
agrees with an instruction (an instruction is always yes, no or abstain).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ballots.state import AssemblyState, Motion, Vote

AGREES, DEVIATES, UNKNOWN = "agrees", "deviates", "unknown"


@dataclass(frozen=True, slots=True)
class Row:
    motion: Motion
    deputy: str
    instruction: str
    report: Vote | None
    record: Vote | None

    @property
    def status(self) -> str:
        known = [v.voted for v in (self.report, self.record) if v is not None]
        if not known:
            return UNKNOWN
        return AGREES if all(v == self.instruction for v in known) else DEVIATES

    @property
    def conflict(self) -> bool:
        """The deputy's report and the official record disagree."""
        return self.report is not None and self.record is not None and self.report.voted != self.record.voted

    def to_json(self, state: AssemblyState) -> dict[str, Any]:
        return {
            "motion": self.motion.id,
            "title": self.motion.title,
            "result_index": self.motion.result_index,
            "deputy": self.deputy,
            "name": _name(state, self.deputy),
            "instruction": self.instruction,
            "report": _vote(self.report),
            "record": _vote(self.record),
            "status": self.status,
            "conflict": self.conflict,
        }


def _vote(v: Vote | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"voted": v.voted, "source": v.source, "note": v.note, "index": v.index, "author": v.author}


def _name(state: AssemblyState, key: str) -> str:
    m = state.members.get(key)
    return m.name if m is not None else ""


class _Cache:
    """Per state: the instructions of every closed motion grouped by deputy
    (extended as motions close: a result never changes once written), and
    the summary row of each deputy (refreshed for the deputies the state
    marks dirty: a result, report or record about them). A page of one
    deputy reads its own list; the summary after a new report costs that
    deputy's instructions, not the whole table."""

    def __init__(self) -> None:
        self.indexed: set[str] = set()
        self.by_deputy: dict[str, list[tuple[Motion, str]]] = {}
        self.rows: dict[str, dict[str, Any]] = {}


def _cache(state: AssemblyState) -> _Cache:
    cache: _Cache | None = state.compliance_cache
    if cache is None:
        cache = state.compliance_cache = _Cache()
        state.compliance_dirty.clear()  # everything is computed afresh below
    new = [m for m in state.motions.values() if m.result is not None and m.id not in cache.indexed]
    for m in sorted(new, key=lambda m: m.index):
        cache.indexed.add(m.id)
        for ins in m.result["instructions"]:  # type: ignore[index]
            cache.by_deputy.setdefault(ins["deputy"], []).append((m, ins["choice"]))
    return cache


def _by_deputy(state: AssemblyState) -> dict[str, list[tuple[Motion, str]]]:
    return _cache(state).by_deputy


def rows(state: AssemblyState, *, motion: str | None = None, deputy: str | None = None) -> Iterator[Row]:
    """Every instruction of every closed motion (in log order, deputies in
    roster order), with the deputy's report and record; optionally only one
    motion's or one deputy's."""
    if deputy is not None and motion is None:
        for m, choice in _by_deputy(state).get(deputy, []):
            yield Row(
                m, deputy, choice, state.reports.get(m.id, {}).get(deputy), state.records.get(m.id, {}).get(deputy)
            )
        return
    motions = [state.motions[motion]] if motion is not None and motion in state.motions else []
    if motion is None:
        motions = sorted((m for m in state.motions.values() if m.result is not None), key=lambda m: m.index)
    for m in motions:
        if m.result is None:
            continue
        reports, records = state.reports.get(m.id, {}), state.records.get(m.id, {})
        for ins in m.result["instructions"]:
            key = ins["deputy"]
            if deputy is None or key == deputy:
                yield Row(m, key, ins["choice"], reports.get(key), records.get(key))


def _summary_row(state: AssemblyState, deputy: str, told: list[tuple[Motion, str]]) -> dict[str, Any]:
    counts = {AGREES: 0, DEVIATES: 0, UNKNOWN: 0}
    conflicts = reported = recorded = 0
    for m, choice in told:
        rep = state.reports.get(m.id, {}).get(deputy)
        rec = state.records.get(m.id, {}).get(deputy)
        if rep is None and rec is None:
            counts[UNKNOWN] += 1
            continue
        reported += rep is not None
        recorded += rec is not None
        ok = (rep is None or rep.voted == choice) and (rec is None or rec.voted == choice)
        counts[AGREES if ok else DEVIATES] += 1
        conflicts += rep is not None and rec is not None and rep.voted != rec.voted
    return {
        "deputy": deputy,
        "name": _name(state, deputy),
        "deputy_now": deputy in state.roster,
        "instructed": len(told),
        **counts,
        "conflicts": conflicts,
        "reported": reported,
        "recorded": recorded,
    }


def summary(state: AssemblyState) -> list[dict[str, Any]]:
    """Per deputy who ever had an instruction: how many, how many agree,
    deviate or are unknown, and the compliance rate as an exact fraction
    (`agrees` / `instructed`; the page rounds it for display)."""
    cache = _cache(state)
    stale = [d for d in cache.by_deputy if d not in cache.rows] + [d for d in state.compliance_dirty if d in cache.rows]
    state.compliance_dirty.clear()
    for d in stale:
        cache.rows[d] = _summary_row(state, d, cache.by_deputy[d])
    out = [dict(row, name=_name(state, d), deputy_now=d in state.roster) for d, row in cache.rows.items()]
    # Most deviations first: that is what a member looking at the table wants to see.
    return sorted(out, key=lambda d: (-d[DEVIATES], d["name"], d["deputy"]))
