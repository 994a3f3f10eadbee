"""A real PostgreSQL server for the tests, started once per session.

``pg_server`` runs Debian's initdb and pg_ctl on a throw-away data directory,
listening on 127.0.0.1 on a free port with fsync off, and stops it at the end
of the session. ``pg_url`` creates a fresh database for each test and drops it
afterwards. PostgreSQL refuses to run as root, so under root (CI) the server
runs as the ``postgres`` system user that the Debian package creates.

Without the binaries the tests skip, except in CI (``CI=true``), where they
fail: CI must never pass by testing nothing.

Use: ``from tests.pg import pg_server, pg_url  # noqa: F401`` in a test module.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.processes import free_port

IN_CI = os.environ.get("CI") == "true"
SUPERUSER = "postgres"


@dataclass(frozen=True, slots=True)
class PgServer:
    host: str
    port: int

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SUPERUSER}@{self.host}:{self.port}/{database}"

    async def connect(self, database: str = "postgres") -> asyncpg.Connection:
        return await asyncpg.connect(host=self.host, port=self.port, user=SUPERUSER, database=database)


def pg_bindir() -> Path | None:
    """The directory of the newest installed PostgreSQL server binaries."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _unavailable(why: str) -> None:
    message = f"PostgreSQL tests cannot run: {why} (`make system-deps` installs the postgresql package)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = pg_bindir()
    if bindir is None:
        _unavailable("no initdb/pg_ctl found")
    as_user: list[str] = []
    # A temp dir outside pytest's (mode 0700, root's) so the postgres user can reach it.
    base = Path(tempfile.mkdtemp(prefix="liquid-mandate-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            _unavailable("running as root and there is no `postgres` system user to run the server")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, logfile = base / "data", base / "server.log"

    def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *argv], capture_output=True, text=True, check=check, timeout=60)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
    except subprocess.CalledProcessError as e:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{e.stdout}\n{e.stderr}", pytrace=False)
    port = 0
    started = None
    for _ in range(3):  # the free port can be taken between the probe and the bind
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(logfile),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
            check=False,
        )
        if started.returncode == 0:
            break
    if started is None or started.returncode != 0:
        log = logfile.read_text(errors="replace") if logfile.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start:\n{started and started.stderr}\n{log}", pytrace=False)
    try:
        yield PgServer("127.0.0.1", port)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A SQLAlchemy URL (postgresql+asyncpg) for a fresh, empty database."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await pg_server.connect()
    try:
        # FILE_COPY (PostgreSQL 15+) is much faster than WAL_LOG for a tiny template.
        strategy = " STRATEGY = FILE_COPY" if conn.get_server_version().major >= 15 else ""
        await conn.execute(f'CREATE DATABASE "{name}"{strategy}')
    finally:
        await conn.close()
    yield pg_server.url(name)
    conn = await pg_server.connect()
    try:
        # FORCE: a server process a test left behind must not keep the database alive.
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
