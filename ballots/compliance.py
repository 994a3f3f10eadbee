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


def rows(state: AssemblyState, *, motion: str | None = None, deputy: str | None = None) -> Iterator[Row]:
    """Every instruction of every closed motion (in log order, deputies in
    roster order), with the deputy's report and record; optionally only one
    motion's or one deputy's."""
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


def summary(state: AssemblyState) -> list[dict[str, Any]]:
    """Per deputy who ever had an instruction: how many, how many agree,
    deviate or are unknown, and the compliance rate as an exact fraction
    (`agrees` / `instructed`; the page rounds it for display)."""
    per: dict[str, dict[str, Any]] = {}
    for r in rows(state):
        d = per.get(r.deputy)
        if d is None:
            d = per[r.deputy] = {
                "deputy": r.deputy,
                "name": _name(state, r.deputy),
                "deputy_now": r.deputy in state.roster,
                "instructed": 0,
                AGREES: 0,
                DEVIATES: 0,
                UNKNOWN: 0,
                "conflicts": 0,
                "reported": 0,
                "recorded": 0,
            }
        d["instructed"] += 1
        d[r.status] += 1
        d["conflicts"] += r.conflict
        d["reported"] += r.report is not None
        d["recorded"] += r.record is not None
    # Most deviations first: that is what a member looking at the table wants to see.
    return sorted(per.values(), key=lambda d: (-d[DEVIATES], d["name"], d["deputy"]))
