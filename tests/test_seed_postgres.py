"""r is derived, never stored (docs/SPEC.md section 16.1): two server
processes on one PostgreSQL database, with the same key, derive the same r.
A motion is committed by one process and closed by the other, whose reveal
opens the first one's commit; the verifier agrees."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

import tally
import verify_cli
from ballots.statements import format_time
from client.author import Author, code_hash, genesis, new_code
from crypto.canonical import parse, parse_canonical
from serving.keyfile import load_server_key
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.processes import start_server, stop_server
from tests.test_postgres import _created, _get

pytestmark = pytest.mark.postgres


async def test_a_motion_committed_by_one_process_is_revealed_by_the_other(pg_url: str, tmp_path: Path) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    url_a, proc_a = start_server(dirs[0], "--db-url", pg_url, log=dirs[0] / "server.log")
    procs: list[subprocess.Popen[bytes]] = [proc_a]
    try:
        shutil.copy2(dirs[0] / "server.key", dirs[1] / "server.key")
        url_b, proc_b = start_server(dirs[1], "--db-url", pg_url, log=dirs[1] / "server.log")
        procs.append(proc_b)
        async with aiohttp.ClientSession() as http:
            server = parse(await _get(http, url_a, "/api/server"))
            founder = Author()
            await _created(http, url_a, genesis(founder, server=server["server_key"]))
            assembly = parse(await _get(http, url_a, "/api/server"))["assembly"]
            members = []
            for i in range(3):
                code, m = new_code(), Author()
                await _created(http, url_a, founder.sign("invite", assembly, code_hash=code_hash(code), note=""))
                await _created(http, url_a, m.sign("enroll", assembly, code=code, name=f"m{i}"))
                members.append(m)
            await _created(http, url_a, founder.sign("deputies", assembly, roster=[m.public for m in members]))
            await _created(http, url_a, founder.sign("topic", assembly, id="t", title="T", description="", parent=None))
            now = datetime.now(UTC)
            closes = now + timedelta(seconds=3)
            motion = founder.sign(
                "motion",
                assembly,
                id="m",
                topic="t",
                title="m",
                summary="A bill.",
                url="",
                opens=format_time(now - timedelta(seconds=5)),
                closes=format_time(closes),
                quorum=None,
            )
            receipt = await _created(http, url_a, motion)  # process A commits
            for m, choice in zip(members, ("yes", "no", "yes")):
                await _created(http, url_b, m.sign("ballot", assembly, motion="m", choice=choice))
        stop_server(proc_a)  # only process B is left to close the motion
        procs.remove(proc_a)
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while True:
                detail = parse(await _get(http, url_b, "/api/motions/m"))
                if detail["result"] is not None:
                    break
                assert time.monotonic() < deadline, "process B never closed the motion"
                await asyncio.sleep(0.3)
            lines = (await _get(http, url_b, "/api/log?limit=10000")).splitlines()
            checkpoint = (await _get(http, url_b, "/api/checkpoint")).decode()
    finally:
        for proc in procs:
            stop_server(proc)
    es = [parse_canonical(x) for x in lines]
    commit = es[receipt["index"] + 1]["statement"]
    close = next(e for e in es if e["statement"]["kind"] == "close")["statement"]
    r = tally.lottery_secret(load_server_key(dirs[0]).seed, assembly, "motion:m")
    assert commit["kind"] == "commit" and commit["hash"] == tally.commit_hash(r)
    assert close["reveal"] == r.hex() and tally.reveal_matches(close["reveal"], commit["hash"])
    items = [tally.ballot_item(m.public, c) for m, c in zip(members, ("yes", "no", "yes"))]
    assert detail["result"]["seed"] == tally.lottery_seed(r, tally.participants_digest(items)).hex()
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(x + b"\n" for x in lines))
    (tmp_path / "cp.txt").write_text(checkpoint, encoding="utf-8")
    # 3: nothing fails; with no witness policy the close is not judged (SPEC 14).
    assert verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--quiet"]) == 3
