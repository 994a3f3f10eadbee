"""The schema version a database records (docs/SPEC.md section 13): an
older database is upgraded by rebuilding its projections from the log, a
newer one is refused. The older one is tests/fixtures/schema1, written by
the code before the version row existed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ballots import errors as E
from ballots.box import BallotBox
from ballots.schema import SCHEMA_VERSION
from crypto.signing import KeyPair
from tests.processes import ROOT, free_port

FIXTURE = ROOT / "tests" / "fixtures" / "schema1"


def fixture_copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    return data


def key_of(data: Path) -> KeyPair:
    return KeyPair.from_seed_hex((data / "server.key").read_text().strip())


def url_of(data: Path) -> str:
    return f"sqlite+aiosqlite:///{data / 'liquid-mandate.db'}"


def query(data: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(data / "liquid-mandate.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def test_an_older_database_is_upgraded_from_its_log(tmp_path: Path) -> None:
    data = fixture_copy(tmp_path)
    tables = {name for (name,) in query(data, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "schema_version" not in tables  # as the old code wrote it
    (checkpoint,) = query(data, "SELECT checkpoint FROM head")[0]
    members = query(data, "SELECT key, name FROM members ORDER BY key")
    ballots = query(data, "SELECT motion, member, choice FROM ballots ORDER BY member")
    assert len(members) == 3 and len(ballots) == 2
    # Make the old projections stale: only a rebuild from the log brings them back.
    con = sqlite3.connect(data / "liquid-mandate.db")
    con.execute("DELETE FROM members")
    con.execute("DELETE FROM ballots")
    con.commit()
    con.close()

    box = await BallotBox.open(url_of(data), key_of(data), full_check=True)
    try:
        assert box.checkpoint_text == checkpoint
        assert len(box.state.members) == 3
    finally:
        await box.aclose()
    assert query(data, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert query(data, "SELECT key, name FROM members ORDER BY key") == members
    assert query(data, "SELECT motion, member, choice FROM ballots ORDER BY member") == ballots


async def test_a_new_database_records_the_version(tmp_path: Path) -> None:
    box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", KeyPair(bytes(32)))
    await box.aclose()
    con = sqlite3.connect(tmp_path / "new.db")
    assert con.execute("SELECT id, version FROM schema_version").fetchall() == [(1, SCHEMA_VERSION)]
    con.close()


async def test_a_newer_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    data = fixture_copy(tmp_path)
    box = await BallotBox.open(url_of(data), key_of(data))
    await box.aclose()
    con = sqlite3.connect(data / "liquid-mandate.db")
    con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(E.SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}"):
        await BallotBox.open(url_of(data), key_of(data))
    assert query(data, "SELECT version FROM schema_version") == [(SCHEMA_VERSION + 1,)]
    r = subprocess.run(
        # The server listens before it loads (docs/SPEC.md section 9, "Start-up"): a port it may bind.
        [sys.executable, str(ROOT / "server.py"), "--data-dir", str(data), "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert f"the database has schema version {SCHEMA_VERSION + 1}" in r.stderr
    assert "Traceback" not in r.stderr
