"""The command line's deliberation (client/debate.py), in-process against a
real server: argue, reply, list (texts checked against their hashes),
redact, propose and amend, support until ready, adopt, and export the texts
for the verifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import verify_cli
from client.cli import main
from tests.processes import start_server, stop_server


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("debate-cli")
    base, proc = start_server(data, log=data / "server.log")
    try:
        yield base
    finally:
        stop_server(proc)


def test_argue_redact_propose_support_adopt(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(*argv: str, code: int = 0) -> Run:
        capsys.readouterr()
        got = main(["--server", url, "--receipts", str(tmp_path / "receipts"), *argv])
        out, err = capsys.readouterr()
        assert got == code, err
        return Run(got, out, err)

    org, ann, ben = (str(tmp_path / f"{n}.key") for n in ("org", "ann", "ben"))
    for k in (org, ann, ben):
        run("key", "new", k)
    run("found", "--key", org, "--name", "Test")
    codes = run("invite", "--key", org, "--count", "2").out.split()
    run("enroll", "--key", ann, "--code", codes[0], "--name", "ann")
    run("enroll", "--key", ben, "--code", codes[1], "--name", "ben")
    run("topic", "--key", org, "city", "--title", "City")
    run("motion", "--key", org, "trams", "--topic", "city", "--title", "Trams", "--summary", "S.",
        "--opens", "now", "--closes", "+1d")  # fmt: skip
    first = run("argue", "--key", ann, "--motion", "trams", "--stance", "for", "Quiet and clean.").out
    index = int(first.split()[1])
    (tmp_path / "reply.txt").write_text("Trop cher : 40 M€.", encoding="utf-8")
    run("argue", "--key", ben, "--motion", "trams", "--stance", "against", "--reply-to", str(index),
        "--file", str(tmp_path / "reply.txt"))  # fmt: skip
    listing = run("arguments", "--motion", "trams").out
    assert "trams: 1 for, 1 against, 0 neutral" in listing
    assert f"#{index} for ann: Quiet and clean." in listing and "  #" in listing  # the reply, indented
    run("argue", "--key", ann, "--motion", "trams", "--proposal", "x", "text", code=1)  # exactly one target
    run("argue", "--key", ann, "--motion", "trams", "x" * 4001, code=1)
    refused = run("redact", "--key", ben, str(index), "--reason", "no", code=1)
    assert "not_redactor" in refused.err or "organizer" in refused.err
    run("redact", "--key", ann, str(index), "--reason", "second thoughts")
    assert "[erased by entry" in run("arguments", "--motion", "trams").out
    propose = run("propose", "--key", ann, "bike", "--topic", "city", "--title", "Bikes", "--summary", "Lanes.")
    assert "on the public log for good" in propose.err
    run("propose", "--key", ben, "trams-lower", "--topic", "city", "--title", "Cheaper", "--summary", "Less.",
        "--amends", "trams")  # fmt: skip
    run("support", "--key", ann, "bike")
    run("support", "--key", ben, "bike")
    run("support", "--key", ben, "bike", "--off")  # withdrawn: only ann is a supporter below
    listed = run("proposals").out
    assert "2 members: a proposal is ready with 1 supporters" in listed and "Bikes  ready" in listed
    run("adopt", "--key", org, "bike", "--opens", "now", "--closes", "+2d")
    doc = json.loads(run("--json", "arguments", "--motion", "bike").out)
    assert doc["proposal"]["id"] == "bike" and [s["name"] for s in doc["proposal"]["supporters_list"]] == ["ann"]
    assert "amendment trams-lower: Cheaper" in run("arguments", "--motion", "trams").out
    run("support", "--key", ben, "bike", code=1)  # adopted: no more support
    run("export", "-o", str(tmp_path / "log.jsonl"))
    run("texts", "-o", str(tmp_path / "texts.jsonl"))
    assert verify_cli.main([str(tmp_path / "log.jsonl"), "--texts", str(tmp_path / "texts.jsonl"), "--json",
                            "--quiet", "--jobs", "1"]) in (0, 3)  # fmt: skip
    rep = json.loads(capsys.readouterr().out)
    assert rep["failures"] == [] and rep["checks"]["texts"] == "passed" and rep["texts"]["checked"] == 1
