"""The `liquid-mandate` command line, run in-process (``main(argv)``) against
a real server started as a subprocess: a whole life cycle, receipts, the
one-line errors and the exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client.cli import main, parse_when, read_key_file
from crypto.canonical import parse
from crypto.chain import entry_hash
from tests.processes import free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("data")
    url, proc = start_server(data, log=data / "server.log")
    try:
        yield Server(url, proc)
    finally:
        stop_server(proc)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def cli(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(["--server", server.url, "--receipts", str(tmp_path / "receipts"), *argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def ok(r: Run) -> Run:
    assert r.code == 0, r.err
    return r


def test_life_cycle(cli, tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    d = tmp_path
    org = ok(cli("key", "new", str(d / "org.key"))).out.strip()
    assert len(org) == 64
    assert stat.S_IMODE((d / "org.key").stat().st_mode) == 0o600
    assert ok(cli("key", "show", str(d / "org.key"))).out.strip() == org

    assembly = ok(cli("found", "--key", str(d / "org.key"), "--name", "Assemblée test", "--quorum", "10")).out.strip()
    assert len(assembly) == 64
    again = cli("found", "--key", str(d / "org.key"), "--name", "Twice")
    assert again.code == 1 and "already_founded" in again.err

    codes = ok(cli("invite", "--key", str(d / "org.key"), "--count", "3", "--note", "atelier")).lines
    assert len(codes) == 3 and len(set(codes)) == 3
    receipts = d / "receipts"
    invite = json.loads((receipts / "1.json").read_text())
    assert invite["entry"]["statement"]["kind"] == "invite"
    assert all(code not in json.dumps(invite) for code in codes)  # only the hash is published

    keys = {}
    for name, code in zip(["alice", "bob", "chloe"], codes):
        keys[name] = ok(cli("key", "new", str(d / f"{name}.key"))).out.strip()
        assert keys[name] in ok(cli("enroll", "--key", str(d / f"{name}.key"), "--code", code, "--name", name)).out
    used = cli("enroll", "--key", str(d / "org.key"), "--code", codes[0])
    assert used.code == 1 and "(invite_used)" in used.err

    ok(cli("topic", "--key", str(d / "org.key"), "logement", "--title", "Logement"))
    ok(
        cli(
            "topic",
            "--key",
            str(d / "org.key"),
            "loyers",
            "--title",
            "Loyers",
            "--parent",
            "logement",
            "--description",
            "Encadrement des loyers",
        )
    )
    ok(
        cli(
            "motion",
            "--key",
            str(d / "org.key"),
            "loi-loyers",
            "--topic",
            "loyers",
            "--title",
            "Loi loyers",
            "--summary",
            "Plafonner les loyers.",
            "--opens",
            "now",
            "--closes",
            "+1h",
            "--quorum",
            "20",
        )
    )
    ok(
        cli(
            "motion",
            "--key",
            str(d / "org.key"),
            "court",
            "--topic",
            "logement",
            "--title",
            "Court",
            "--summary",
            "Vite.",
            "--opens",
            "now",
            "--closes",
            "+12s",  # room for the CLI calls below on a loaded machine (CI saw +3s pass first)
        )
    )
    ok(cli("deputies", "--key", str(d / "org.key"), keys["alice"], keys["bob"]))

    # chloe -> bob -> alice for everything; bob keeps `loyers` for himself
    ok(cli("delegate", "--key", str(d / "chloe.key"), "*", keys["bob"]))
    ok(cli("delegate", "--key", str(d / "bob.key"), "*", keys["alice"]))
    assert "kept for myself" in ok(cli("delegate", "--key", str(d / "bob.key"), "topic:loyers", "self")).out
    ok(cli("delegate", "--key", str(d / "bob.key"), "topic:loyers", "none"))
    ok(cli("vote", "--key", str(d / "alice.key"), "loi-loyers", "yes"))
    ok(cli("vote", "--key", str(d / "alice.key"), "court", "no"))
    ok(cli("vote", "--key", str(d / "bob.key"), "loi-loyers", "no"))
    assert "withdrawn" in ok(cli("withdraw", "--key", str(d / "bob.key"), "loi-loyers")).out

    st = ok(cli("status", "--key", str(d / "chloe.key"), "loi-loyers")).out
    assert st.startswith(f"{keys['chloe']} (chloe): active\n")
    assert f"delegation * -> {keys['bob']} (bob)" in st
    assert "counts as yes (delegated)" in st
    assert f"{keys['chloe']} (chloe) -> {keys['bob']} (bob) -> {keys['alice']} (alice)" in st
    st = json.loads(ok(cli("--json", "status", "--key", str(d / "alice.key"), "loi-loyers")).out)
    assert st["motion"]["weight"] == 3 and sorted(st["motion"]["carried"]) == sorted([keys["bob"], keys["chloe"]])
    assert st["member"]["deputy"] is True

    # every accepted statement left its receipt, named by its index, matching its entry
    files = sorted(receipts.glob("*.json"), key=lambda p: int(p.stem))
    receipt_indexes = [int(p.stem) for p in files]  # dense but for the server's commits: checked below
    for p in files:
        r = json.loads(p.read_text())
        assert r["index"] == int(p.stem)
        assert entry_hash(r["entry"]).hex() == r["entry_hash"]
        assert r["checkpoint"].startswith(f"liquid-mandate/{assembly}\n")

    # a late ballot: one readable line on stderr, exit 1, nothing written
    deadline = time.monotonic() + 40
    while "vote NO" not in (r := ok(cli("instructions", keys["alice"]))).out and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "court: vote NO" in r.out
    late = cli("vote", "--key", str(d / "bob.key"), "court", "yes")
    assert late.code == 1 and late.out == ""
    assert late.err.count("\n") == 1
    assert late.err.startswith("error: The motion is closed: ") and late.err.rstrip().endswith("(motion_closed)")
    assert json.loads(ok(cli("--json", "instructions", keys["bob"])).out)["instructions"][0]["choice"] == "no"

    # export: the whole log, in pages, canonical lines, a hash chain
    ok(cli("export", "-o", str(d / "log.jsonl")))
    lines = (d / "log.jsonl").read_bytes().splitlines()
    commits = [i for i, line in enumerate(lines) if parse(line)["statement"]["kind"] == "commit"]
    assert len(lines) == len(files) + len(commits) + 2  # + the motions' commits, close and result of `court`
    assert receipt_indexes == [i for i in range(len(lines) - 2) if i not in commits]
    prev = "0" * 64
    for i, line in enumerate(lines):
        entry = parse(line)
        assert entry["index"] == i and entry["prev"] == prev
        prev = entry_hash(entry).hex()
    ok(cli("export", "--from", "5", "-o", str(d / "tail.jsonl")))
    assert (d / "tail.jsonl").read_bytes().splitlines() == lines[5:]

    # --server and --receipts default to the environment
    monkeypatch.setenv("LIQUID_MANDATE_SERVER", server.url)
    monkeypatch.setenv("LIQUID_MANDATE_RECEIPTS", str(d / "env-receipts"))
    assert main(["vote", "--key", str(d / "chloe.key"), "loi-loyers", "abstain"]) == 0
    assert [p.name for p in (d / "env-receipts").iterdir()] == [f"{len(lines)}.json"]

    # a closed motion's path is as of its close (SPEC 9, Vote paths), whatever changed since
    closed = ok(cli("status", "--key", str(d / "chloe.key"), "court")).out
    said = closed[closed.index("motion court:") :]
    assert said.startswith("motion court: at the close (entry ") and "my vote counted as no (delegated)" in said
    assert f"{keys['chloe']} (chloe) -> {keys['bob']} (bob) -> {keys['alice']} (alice)" in said
    ok(cli("delegate", "--key", str(d / "chloe.key"), "*", "none"))
    after = ok(cli("status", "--key", str(d / "chloe.key"), "court")).out
    assert after[after.index("motion court:") :] == said


def test_refusals_are_one_line(cli, tmp_path: Path) -> None:  # noqa: ANN001
    # runs after the life cycle: the server is founded
    stranger = tmp_path / "stranger.key"
    ok(cli("key", "new", str(stranger)))
    r = cli("topic", "--key", str(stranger), "nope", "--title", "Nope")
    assert r.code == 1
    assert r.err.count("\n") == 1 and r.err.rstrip().endswith("(not_organizer)")
    r = cli("vote", "--key", str(stranger), "loi-loyers", "yes")
    assert r.code == 1 and r.err.rstrip().endswith("(not_member)")
    assert not (tmp_path / "receipts").exists() or not any((tmp_path / "receipts").iterdir())
    assert "not a member of this assembly" in ok(cli("status", "--key", str(stranger))).out
    r = cli("status", "--key", str(stranger), "no-such-motion")
    assert r.code == 1 and r.err.startswith("error: ") and r.err.count("\n") == 1


def test_key_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys" / "me.key"
    assert main(["key", "new", str(path)]) == 0
    first = read_key_file(path)
    assert main(["key", "new", str(path)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert read_key_file(path) == first
    path.write_text("not a key\n")
    assert main(["key", "show", str(path)]) == 1
    assert main(["key", "show", str(tmp_path / "missing.key")]) == 1


def test_unreachable_server_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "k.key"
    assert main(["key", "new", str(key)]) == 0
    monkeypatch.setenv("LIQUID_MANDATE_SERVER", f"http://127.0.0.1:{free_port()}")
    capsys.readouterr()
    assert main(["vote", "--key", str(key), "m", "yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the server at http://127.0.0.1:") and err.count("\n") == 1


def test_times() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert parse_when("now", now=now) == "2026-11-23T10:00:00.000000Z"
    assert parse_when("+10m", now=now) == "2026-11-23T10:10:00.000000Z"
    assert parse_when("+2h", now=now) == "2026-11-23T12:00:00.000000Z"
    assert parse_when("+1d12h", now=now) == "2026-11-24T22:00:00.000000Z"
    assert parse_when("-30s", now=now) == "2026-11-23T09:59:30.000000Z"
    assert parse_when("2026-12-01T08:00:00+01:00", now=now) == "2026-12-01T07:00:00.000000Z"
    assert parse_when("2026-12-01 08:00", now=now) == "2026-12-01T08:00:00.000000Z"
    with pytest.raises(Exception, match="is not a time"):
        parse_when("tomorrow", now=now)


def test_module_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "client.cli", "key", "new", str(tmp_path / "x.key")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,
    )
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
