"""Deputies' votes on record (docs/SPEC.md section 4): `report` by a deputy
and `record` by an organizer, their refusals in the box, the compliance
table, and the verifier's replay of the same rules on tampered logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import verify_cli
from ballots import compliance
from ballots import errors as E
from ballots.statements import Malformed
from tests.test_box_rules import refused
from tests.verifier_logs import checkpoint_note, entries, new_entry, rechain, write_log
from tests.world import World


@pytest.fixture
async def w(world: World) -> World:
    """Five members, the first three deputies; bill-1 closed with its result,
    bill-2 still open."""
    await world.enroll(5)
    await world.topic("housing")
    await world.box.append(world.org("deputies", roster=[m.public for m in world.members[:3]]))
    await world.motion("bill-1", "housing", closes=60)
    await world.motion("bill-2", "housing", closes=7200)
    for m, c in zip(world.members, ["yes", "yes", "no", "yes", "abstain"]):
        await world.vote(m, "bill-1", c)
    world.clock.advance(seconds=61)
    await world.box.close_due()
    assert world.box.state.motions["bill-1"].result is not None
    return world


def instruction(w: World, deputy: int, motion: str = "bill-1") -> str:
    result = w.box.state.motions[motion].result
    assert result is not None
    return next(i["choice"] for i in result["instructions"] if i["deputy"] == w.members[deputy].public)


def report(w: World, who: int, voted: str, motion: str = "bill-1", **kw: Any) -> dict[str, Any]:
    fields = {"motion": motion, "voted": voted, "source": "", "note": "", **kw}
    return w.members[who].sign("report", w.assembly, **fields)


def record(w: World, deputy: int, voted: str, motion: str = "bill-1", **kw: Any) -> dict[str, Any]:
    fields = {"motion": motion, "deputy": w.members[deputy].public, "voted": voted, **kw}
    fields.setdefault("source", "https://www.assemblee-nationale.fr/dyn/17/scrutins/1")
    return w.org("record", **fields)


# -- the box ------------------------------------------------------------------


async def test_a_deputy_reports_and_a_later_report_replaces_it(w: World) -> None:
    first = await w.box.append(report(w, 0, "no", note="I was wrong"))
    second = await w.box.append(report(w, 0, instruction(w, 0), source="https://example.org/vote/1"))
    got = w.box.state.reports["bill-1"][w.members[0].public]
    assert (got.voted, got.index, got.source) == (instruction(w, 0), second.index, "https://example.org/vote/1")
    assert first.index < second.index  # both stay in the log
    kinds = [json.loads(x)["statement"]["kind"] for x in await w.box.export()]
    assert kinds.count("report") == 2


async def test_report_from_a_member_without_an_instruction_is_refused(w: World) -> None:
    await refused(w, report(w, 4, "yes"), E.NotInstructed, "no instruction")


async def test_report_before_the_result_is_refused(w: World) -> None:
    await refused(w, report(w, 0, "yes", motion="bill-2"), E.NotInstructed, "no result")


async def test_report_on_an_unknown_motion_is_refused(w: World) -> None:
    await refused(w, report(w, 0, "yes", motion="nope"), E.UnknownMotion)


async def test_report_with_a_bad_vote_or_url_is_malformed(w: World) -> None:
    await refused(w, report(w, 0, "maybe"), Malformed, "voted")
    await refused(w, report(w, 0, "yes", source="javascript:alert(1)"), Malformed, "source")


async def test_record_by_a_member_is_refused(w: World) -> None:
    signed = w.members[3].sign(
        "record", w.assembly, motion="bill-1", deputy=w.members[0].public, voted="yes", source="https://a.example/1"
    )
    await refused(w, signed, E.NotOrganizer)


async def test_record_about_a_non_deputy_is_refused(w: World) -> None:
    await refused(w, record(w, 4, "yes"), E.NotInstructed)


async def test_record_needs_a_source(w: World) -> None:
    await refused(w, record(w, 0, "yes", source=""), Malformed, "source")


async def test_reports_and_records_survive_a_rebuild(w: World) -> None:
    await w.box.append(report(w, 1, "abstain", note="ill"))
    await w.box.append(record(w, 1, "absent"))
    before = (dict(w.box.state.reports), dict(w.box.state.records))
    await w.box.rebuild()
    assert (w.box.state.reports, w.box.state.records) == before


# -- the compliance table --------------------------------------------------------


async def test_compliance_shows_agreement_deviation_and_conflict(w: World) -> None:
    told = [instruction(w, i) for i in range(3)]
    other = {"yes": "no", "no": "yes", "abstain": "yes"}
    await w.box.append(report(w, 0, told[0]))  # agrees
    await w.box.append(report(w, 1, other[told[1]], note="my conscience"))  # deviates, with a note
    await w.box.append(report(w, 2, told[2]))
    await w.box.append(record(w, 2, "absent"))  # the official record disagrees with the report
    state = w.box.state
    rows = {r.deputy: r for r in compliance.rows(state, motion="bill-1")}
    m = [x.public for x in w.members]
    assert rows[m[0]].status == compliance.AGREES and not rows[m[0]].conflict
    assert rows[m[1]].status == compliance.DEVIATES and rows[m[1]].to_json(state)["report"]["note"] == "my conscience"
    assert rows[m[2]].status == compliance.DEVIATES and rows[m[2]].conflict
    summary = compliance.summary(state)
    assert [d["deputy"] for d in summary][2] == m[0]  # most deviations first
    by = {d["deputy"]: d for d in summary}
    assert (by[m[0]]["instructed"], by[m[0]]["agrees"], by[m[0]]["deviates"]) == (1, 1, 0)
    assert (by[m[2]]["conflicts"], by[m[2]]["recorded"], by[m[2]]["reported"]) == (1, 1, 1)


async def test_compliance_unknown_until_reported(w: World) -> None:
    assert {r.status for r in compliance.rows(w.box.state)} == {compliance.UNKNOWN}
    assert len(list(compliance.rows(w.box.state, deputy=w.members[0].public))) == 1


# -- the verifier ----------------------------------------------------------------


async def _log(w: World) -> list[bytes]:
    return list(await w.box.export())


def verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], w: World, lines: list[bytes]) -> tuple[int, Any]:
    log = write_log(tmp_path / "log.jsonl", lines)
    (tmp_path / "cp.txt").write_text(checkpoint_note(lines, w.server_key, w.assembly), encoding="utf-8")
    code = verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--json", "--quiet", "--jobs", "1"])
    return code, json.loads(capsys.readouterr().out)


def _appended(w: World, lines: list[bytes], who: Any, kind: str, **fields: Any) -> list[bytes]:
    es = entries(lines)
    who.seq += 1
    st = {"v": 1, "assembly": w.assembly, "kind": kind, "author": who.public, "seq": who.seq, **fields}
    es.append(new_entry(st, who.key, es[-1]["received"]))
    return rechain(es)


def _codes(rep: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(f["code"], f["index"]) for f in rep["failures"]}


async def test_verifier_accepts_reports_and_records(tmp_path, capsys, w: World) -> None:
    await w.box.append(report(w, 0, "yes", source="https://example.org/1"))
    await w.box.append(record(w, 0, "yes"))
    code, rep = verify(tmp_path, capsys, w, await _log(w))
    assert rep["failures"] == [] and code in (0, 3)


@pytest.mark.parametrize(
    "who, kind, fields, want",
    [
        (4, "report", {"motion": "bill-1", "voted": "yes", "source": "", "note": ""}, "not_instructed"),
        (0, "report", {"motion": "bill-2", "voted": "yes", "source": "", "note": ""}, "not_instructed"),
        (0, "report", {"motion": "gone", "voted": "yes", "source": "", "note": ""}, "unknown_motion"),
        (3, "record", {"motion": "bill-1", "voted": "no", "source": "https://a.example/1"}, "not_organizer"),
        (0, "report", {"motion": "bill-1", "voted": "yes", "source": "ftp://x", "note": ""}, "malformed"),
    ],
)
async def test_verifier_refuses_what_the_box_refuses(tmp_path, capsys, w: World, who, kind, fields, want) -> None:
    if kind == "record":
        fields = {**fields, "deputy": w.members[0].public}
    lines = _appended(w, await _log(w), w.members[who], kind, **fields)
    code, rep = verify(tmp_path, capsys, w, lines)
    assert code == 1 and (want, len(lines) - 1) in _codes(rep), rep["failures"]


async def test_verifier_refuses_a_record_about_a_non_deputy(tmp_path, capsys, w: World) -> None:
    fields = {"motion": "bill-1", "deputy": w.members[4].public, "voted": "no", "source": "https://a.example/1"}
    lines = _appended(w, await _log(w), w.founder, "record", **fields)
    code, rep = verify(tmp_path, capsys, w, lines)
    assert code == 1 and ("not_instructed", len(lines) - 1) in _codes(rep), rep["failures"]
