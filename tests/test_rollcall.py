"""Importing official roll calls (client/rollcall.py) and the CLI's report,
record and compliance commands against a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from client import rollcall
from client.cli import read_key_file
from tests.test_cli import Server, cli, ok, server  # noqa: F401  (fixtures: server, cli)  # noqa: F401

FIXTURE = Path(__file__).parent / "fixtures" / "scrutin-VTANR5L17V123.json"
K = ["1" * 64, "2" * 64, "3" * 64, "4" * 64, "5" * 64]


def ids_csv(n: int = 5) -> str:
    return "official_id,deputy\n" + "".join(f"PA100{i + 1},{K[i]}\n" for i in range(n))


def test_scrutin_both_spellings_single_objects_and_nulls() -> None:
    url, votes = rollcall.scrutin_votes(json.loads(FIXTURE.read_text("utf-8")))
    assert url == "https://www.assemblee-nationale.fr/dyn/17/scrutins/123"
    assert votes == {"PA1001": "yes", "PA1002": "no", "PA1003": "abstain", "PA1004": "absent"}


def test_scrutin_records_name_every_mapped_deputy_unlisted_is_absent() -> None:
    recs = rollcall.records_from_scrutin(
        FIXTURE.read_text("utf-8"), motion="housing", ids=rollcall.official_ids(ids_csv())
    )
    assert [(r.deputy, r.voted) for r in recs] == [
        (K[0], "yes"),
        (K[1], "no"),
        (K[2], "abstain"),
        (K[3], "absent"),
        (K[4], "absent"),  # PA1005 is not in the scrutin at all
    ]
    assert {r.source for r in recs} == {"https://www.assemblee-nationale.fr/dyn/17/scrutins/123"}


def test_a_deputy_listed_twice_with_two_votes_is_refused() -> None:
    doc = json.loads(FIXTURE.read_text("utf-8"))
    groups = doc["scrutin"]["ventilationVotes"]["organe"]["groupes"]["groupe"]
    groups[1]["vote"]["decompteNominatif"]["pour"] = {"votant": {"acteurRef": "PA1002"}}
    with pytest.raises(rollcall.RollCallError, match="PA1002 is listed as"):
        rollcall.scrutin_votes(doc)


@pytest.mark.parametrize(
    "text, match",
    [
        ("motion,deputy,voted\n", "header"),
        (f"motion,deputy,voted,source\nbill,{K[0]},maybe,https://x.example\n", "voted 'maybe'"),
        (f"motion,deputy,voted,source\nbill,{K[0]},yes,javascript:alert(1)\n", "not an http"),
        ("motion,deputy,voted,source\nbill,nothex,yes,https://x.example\n", "not a key"),
        (f"motion,deputy,voted,source\nBad Slug,{K[0]},yes,https://x.example\n", "not a slug"),
        (f"motion,deputy,voted,source\nbill,{K[0]},yes\n", "columns"),
    ],
)
def test_records_csv_refusals(text: str, match: str) -> None:
    with pytest.raises(rollcall.RollCallError, match=match):
        rollcall.records_from_csv(text)


def test_official_ids_refuse_duplicates() -> None:
    with pytest.raises(rollcall.RollCallError, match="twice"):
        rollcall.official_ids(f"official_id,deputy\nPA1,{K[0]}\nPA1,{K[1]}\n")
    with pytest.raises(rollcall.RollCallError, match="two official ids"):
        rollcall.official_ids(f"official_id,deputy\nPA1,{K[0]}\nPA2,{K[0]}\n")
    with pytest.raises(rollcall.RollCallError, match="not a number"):
        rollcall.scrutin_votes({"scrutin": {"numero": "١٢٣"}})


def test_report_record_and_compliance_from_the_cli(cli, tmp_path: Path) -> None:  # noqa: ANN001, F811
    d = tmp_path
    ok(cli("key", "new", str(d / "org.key")))
    ok(cli("found", "--key", str(d / "org.key"), "--name", "Roll call"))
    codes = ok(cli("invite", "--key", str(d / "org.key"), "--count", "3")).out.split()
    keys = []
    for i, code in enumerate(codes):
        ok(cli("key", "new", str(d / f"m{i}.key")))
        ok(cli("enroll", "--key", str(d / f"m{i}.key"), "--code", code, "--name", f"Député {i}"))
        keys.append(read_key_file(d / f"m{i}.key").public_hex)
    ok(cli("topic", "--key", str(d / "org.key"), "housing", "--title", "Housing"))
    ok(cli("deputies", "--key", str(d / "org.key"), *keys[:2]))
    # Closes in 12 s: room for three CLI votes on a loaded machine.
    ok(cli("motion", "--key", str(d / "org.key"), "rent", "--topic", "housing", "--title", "Rent", "--summary", "S",
           "--opens", "now", "--closes", "+12s"))  # fmt: skip
    for i in range(3):
        ok(cli("vote", "--key", str(d / f"m{i}.key"), "rent", "yes"))
    for _ in range(200):
        if json.loads(ok(cli("--json", "compliance", "--motion", "rent")).out)["rows"]:
            break
        time.sleep(0.25)
    told = {
        r["deputy"]: r["instruction"]
        for r in json.loads(ok(cli("--json", "compliance", "--motion", "rent")).out)["rows"]
    }
    assert set(told) == set(keys[:2]) and set(told.values()) == {"yes"}

    refused = cli("report", "--key", str(d / "m2.key"), "rent", "yes")  # not a deputy
    assert refused.code == 1 and "not_instructed" in refused.err
    ok(cli("report", "--key", str(d / "m0.key"), "rent", "yes", "--source", "https://example.org/scrutin/123"))
    ok(cli("report", "--key", str(d / "m1.key"), "rent", "no", "--note", "conscience"))

    (d / "ids.csv").write_text(f"official_id,deputy\nPA1001,{keys[0]}\nPA1002,{keys[1]}\nPA1003,{keys[2]}\n", "utf-8")
    out = ok(cli("record", "--key", str(d / "org.key"), str(FIXTURE), "--scrutin", "--motion", "rent",
                 "--ids", str(d / "ids.csv")))  # fmt: skip
    assert "2 records signed, 1 skipped" in out.out  # the third member has no instruction

    rows = {r["deputy"]: r for r in json.loads(ok(cli("--json", "compliance", "--motion", "rent")).out)["rows"]}
    assert rows[keys[0]]["status"] == "agrees" and rows[keys[0]]["record"]["voted"] == "yes"
    assert rows[keys[1]]["status"] == "deviates" and rows[keys[1]]["report"]["note"] == "conscience"
    assert not rows[keys[1]]["conflict"]  # PA1002 voted no, as the deputy reported
    summary = ok(cli("compliance")).out
    assert "Député 0: 1/1 agree" in summary and "Député 1: 0/1 agree, 1 deviate" in summary

    (d / "bad.csv").write_text("motion,deputy,voted,source\nrent,xyz,yes,https://a.example\n", "utf-8")
    bad = cli("record", "--key", str(d / "org.key"), str(d / "bad.csv"))
    assert bad.code != 0 and "not a key" in bad.err


@pytest.fixture
def fresh_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    """The CLI against a server of its own (the module's server already holds an assembly)."""
    from client.cli import main
    from tests.processes import start_server, stop_server
    from tests.test_cli import Run

    data = tmp_path / "data"
    data.mkdir()
    url, proc = start_server(data, log=data / "server.log")

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(["--server", url, "--receipts", str(tmp_path / "receipts"), *argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    try:
        yield run
    finally:
        stop_server(proc)


def test_a_draw_from_the_cli(fresh_cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli = fresh_cli
    """Issue 15, for scripting: announce, certify, volunteer, withdraw, the
    server draws, the chosen become the roster."""
    d = tmp_path
    ok(cli("key", "new", str(d / "org.key")))
    ok(cli("found", "--key", str(d / "org.key"), "--name", "Sortition"))
    codes = ok(cli("invite", "--key", str(d / "org.key"), "--count", "3")).out.split()
    keys = []
    for i, code in enumerate(codes):
        ok(cli("key", "new", str(d / f"m{i}.key")))
        ok(cli("enroll", "--key", str(d / f"m{i}.key"), "--code", code, "--name", f"V{i}"))
        keys.append(read_key_file(d / f"m{i}.key").public_hex)
    announced = time.monotonic()  # windows with room for the CLI calls on a loaded machine
    ok(cli("draw", "--key", str(d / "org.key"), "d1", "--title", "Candidates", "--seats", "1",
           "--opens", "+6s", "--closes", "+18s", "--certified"))  # fmt: skip
    ok(cli("certify", "--key", str(d / "org.key"), "d1", keys[0], keys[1]))
    time.sleep(max(0.0, announced + 7.2 - time.monotonic()))
    for i in range(3):
        ok(cli("volunteer", "--key", str(d / f"m{i}.key"), "d1"))
    ok(cli("volunteer", "--key", str(d / "m1.key"), "d1", "--withdraw"))
    early = cli("roster-from-draw", "--key", str(d / "org.key"), "d1")
    assert early.code != 0 and "not been drawn" in early.err
    for _ in range(200):
        doc = json.loads(ok(cli("--json", "draws", "d1")).out)
        if doc["drawn"]:
            break
        time.sleep(0.25)
    assert doc["drawn"]["pool"] == 1 and doc["drawn"]["chosen"] == [keys[0]]  # m1 withdrew, m2 not certified
    assert "drawn at entry" in ok(cli("draws", "d1")).out
    ok(cli("roster-from-draw", "--key", str(d / "org.key"), "d1"))
    assert json.loads(ok(cli("--json", "draws")).out)["draws"][0]["state"] == "drawn"
