"""Restore (docs/SPEC.md section 13): an export, a backup copy or a live
server becomes a database that serves the same checkpoint; a log that does
not verify is refused at its first bad index with nothing written."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ballots.box import BallotBox
from client.author import Author
from crypto.canonical import canonical_bytes, parse
from crypto.chain import entry_hash
from crypto.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
from crypto.signing import KeyPair, sign_statement
from serving.export import Export
from serving.restore import DB_FILE, RestoreRefused, check_witnesses, replay, restore, stage_parts
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.processes import ROOT
from tests.test_witness_support import running_witness, witness_cli
from tests.world import Clock, World

KEY = KeyPair(bytes(range(32)))


def server_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


async def build_log(path: Path) -> tuple[list[bytes], str, World]:
    """A small assembly with a closed motion, through the real append path:
    (its exported lines, its checkpoint, the world that made it)."""
    clock = Clock()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{path}", KEY, clock=clock)
    w = World(box, clock, KEY)
    await w.found()
    a, b, c = await w.enroll(3)
    await w.topic("budget")
    await w.motion("m1", "budget", closes=60)
    await w.delegate(c, "topic:budget", a)
    await w.vote(a, "m1", "yes")
    await w.vote(b, "m1", "no")
    clock.advance(seconds=120)
    await box.close_due()
    await w.motion("m2", "budget", closes=3600)
    await w.vote(b, "m2", "abstain")
    lines, checkpoint = await box.export(), box.checkpoint_text
    await box.aclose()
    return lines, checkpoint, w


def data_dir_with_key(path: Path, key: KeyPair = KEY) -> Path:
    path.mkdir(parents=True)
    (path / "server.key").write_text(key.seed.hex() + "\n")
    return path


def write_log(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


async def opened(data_dir: Path) -> tuple[str, int]:
    box = await BallotBox.open(f"sqlite+aiosqlite:///{data_dir / DB_FILE}", KEY, full_check=True)
    try:
        return box.checkpoint_text, box.size
    finally:
        await box.aclose()


def only_key_left(data_dir: Path) -> None:
    """Nothing written: the key file and nothing else (no database, no temporary file)."""
    assert sorted(p.name for p in data_dir.iterdir()) == ["server.key"]


async def test_round_trip_serves_the_same_checkpoint(tmp_path: Path) -> None:
    lines, checkpoint, _ = await build_log(tmp_path / "original.db")
    export = write_log(tmp_path / "export.jsonl", lines)
    target = data_dir_with_key(tmp_path / "restored")
    done = await restore(target, str(export))
    assert done.checkpoint == checkpoint and done.size == len(lines)
    served, size = await opened(target)
    assert served == checkpoint and size == len(lines)
    cp = parse_checkpoint_text(served.split("\n\n")[0] + "\n")
    assert (cp.size, cp.root) == (done.size, done.root)


async def test_the_command_line_restores_and_refuses(tmp_path: Path) -> None:
    lines, checkpoint, _ = await build_log(tmp_path / "original.db")
    export = write_log(tmp_path / "export.jsonl", lines)
    ok = data_dir_with_key(tmp_path / "ok")
    r = await asyncio.to_thread(server_cli, "restore", "--data-dir", str(ok), str(export))
    assert r.returncode == 0, r.stderr
    assert f"restored {len(lines)} entries" in r.stdout
    assert (await opened(ok))[0] == checkpoint
    # A second restore never overwrites the database.
    again = await asyncio.to_thread(server_cli, "restore", "--data-dir", str(ok), str(export))
    assert again.returncode == 1 and "never overwrites" in again.stderr
    assert (await opened(ok))[0] == checkpoint
    # Tampered: one ballot's choice changed (the member's signature no longer holds).
    bad_at = next(i for i, ln in enumerate(lines) if b'"choice":"no"' in ln)
    tampered = list(lines)
    tampered[bad_at] = lines[bad_at].replace(b'"choice":"no"', b'"choice":"yes"')
    bad = data_dir_with_key(tmp_path / "bad")
    r = await asyncio.to_thread(
        server_cli, "restore", "--data-dir", str(bad), str(write_log(tmp_path / "t.jsonl", tampered))
    )
    assert r.returncode == 1
    assert f"entry {bad_at}: the signature does not verify" in r.stderr and "nothing written" in r.stderr
    only_key_left(bad)
    # No key file: refused before anything is read or written.
    keyless = tmp_path / "keyless"
    keyless.mkdir()
    r = await asyncio.to_thread(server_cli, "restore", "--data-dir", str(keyless), str(export))
    assert r.returncode == 1 and "no server key" in r.stderr
    assert list(keyless.iterdir()) == []


async def test_every_kind_of_bad_log_is_refused_at_its_index(tmp_path: Path) -> None:
    lines, _, w = await build_log(tmp_path / "original.db")
    n = len(lines)

    def refused(bad: list[bytes], key: KeyPair = KEY) -> RestoreRefused:
        with pytest.raises(RestoreRefused) as caught:
            replay(bad, key.public_hex)
        return caught.value

    # A line dropped: the next one's index and prev break.
    assert refused(lines[:3] + lines[4:]).index == 3
    # Not canonical: a space inserted.
    assert refused(lines[:2] + [lines[2].replace(b":", b": ", 1)] + lines[3:]).index == 2
    # An entry re-chained after a change: the chain holds, the signature does not.
    e = parse(lines[5])
    e["statement"]["name"] = "mallory"
    assert refused(lines[:5] + [canonical_bytes(e)] + lines[6:]).index == 5
    # The server's own result changed and re-signed: the rule that a result is its close's tally.
    result_at = next(i for i, ln in enumerate(lines) if b'"kind":"result"' in ln)
    e = parse(lines[result_at])
    assert e["statement"]["kind"] == "result"
    e["statement"]["yes"], e["statement"]["no"] = e["statement"]["no"], e["statement"]["yes"]
    e["signature"] = sign_statement(KEY, e["statement"])["signature"]
    err = refused(lines[:result_at] + [canonical_bytes(e)] + lines[result_at + 1 :])
    assert err.index == result_at and "bad_result" in str(err)
    # A well-signed, well-chained ballot that breaks a rule: a non-member votes.
    last = parse(lines[-1])
    stranger = Author()
    signed = stranger.sign("ballot", w.assembly, motion="m2", choice="yes")
    extra = {
        "index": n,
        "prev": entry_hash(last).hex(),
        "received": last["received"],
        "statement": signed["statement"],
        "signature": signed["signature"],
    }
    err = refused(lines + [canonical_bytes(extra)])
    assert err.index == n and "not_member" in str(err)
    # Close first: an entry after a motion's closing time, before its close.
    m2_closes = next(json.loads(ln)["statement"]["closes"] for ln in lines if b'"id":"m2"' in ln)
    signed = w.members[1].sign("ballot", w.assembly, motion="m2", choice="no")
    late = dict(extra, received=m2_closes, statement=signed["statement"], signature=signed["signature"])
    err = refused(lines + [canonical_bytes(late)])
    assert err.index == n and "due to close" in str(err)
    # Another server's key: the genesis names this one.
    err = refused(lines, KeyPair(bytes([9]) * 32))
    assert "the genesis names server" in str(err)


async def test_a_key_that_is_not_the_genesis_server_is_refused(tmp_path: Path) -> None:
    lines, _, _ = await build_log(tmp_path / "original.db")
    export = write_log(tmp_path / "export.jsonl", lines)
    other = data_dir_with_key(tmp_path / "other", KeyPair(bytes([9]) * 32))
    with pytest.raises(RestoreRefused, match="genesis names server"):
        await restore(other, str(export))
    only_key_left(other)


async def test_an_export_with_a_part_this_version_cannot_restore_is_refused(tmp_path: Path) -> None:
    """Every part serving.export reads has a restorer (comment texts:
    test_deliberation_restore.py; cosigned checkpoints:
    test_restore_cosignatures.py); a part without one is refused, never dropped."""
    lines, _, _ = await build_log(tmp_path / "original.db")
    with pytest.raises(RestoreRefused, match="'.later' part, which this version cannot restore yet"):
        stage_parts(Export(lines, {".later": b"x\n"}), replay(lines, KEY.public_hex))
    export = write_log(tmp_path / "export.jsonl", lines)
    (tmp_path / "export.jsonl.checkpoints").write_text("x\n")
    target = data_dir_with_key(tmp_path / "restored")
    with pytest.raises(RestoreRefused, match="the .checkpoints part, note 1: not a checkpoint note"):
        await restore(target, str(export))
    only_key_left(target)


async def test_a_log_shorter_than_a_witness_cosigned_is_refused(tmp_path: Path) -> None:
    """A real witness (python -m witness) cosigned the whole log; an export
    cut short is refused, the whole one accepted."""
    lines, checkpoint, w = await build_log(tmp_path / "original.db")
    origin = f"liquid-mandate/{w.assembly}"
    name = "witness.example/w1"
    wdir = tmp_path / "witness"
    with running_witness(wdir, name) as (url, _proc):
        first, _ = witness_cli("key", "--data-dir", str(wdir)).stdout.splitlines()
        wkey = first.split(" ")[1]
        assert witness_cli("add-log", "--data-dir", str(wdir), origin, KEY.public_hex).returncode == 0
        req = urllib.request.Request(url + "/add-checkpoint", data=f"old 0\n\n{checkpoint}".encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        policy = {"cosigners": [{"name": name, "key": wkey, "url": url}], "quorum": 1, "grace": 5}

        short = replay(lines[:-2], KEY.public_hex)
        short.policy = policy
        note = sign_checkpoint(Checkpoint(origin, short.state.size, short.frontier.root()), KEY)
        with pytest.raises(RestoreRefused, match=f"cosigned size {len(lines)}, the export holds {len(lines) - 2}"):
            await check_witnesses(short, note, unreachable_ok=False)

        whole = replay(lines, KEY.public_hex)
        whole.policy = policy
        await check_witnesses(whole, checkpoint, unreachable_ok=False)  # same size: no fork

    # The witness is gone: refused unless the operator says it is gone for good.
    with pytest.raises(RestoreRefused, match="could not be asked"):
        await check_witnesses(whole, checkpoint, unreachable_ok=False)
    await check_witnesses(whole, checkpoint, unreachable_ok=True)


async def test_restore_from_a_database_copy(tmp_path: Path) -> None:
    lines, checkpoint, _ = await build_log(tmp_path / "original.db")
    copy = tmp_path / "copy.db"
    shutil.copy(tmp_path / "original.db", copy)
    target = data_dir_with_key(tmp_path / "restored")
    done = await restore(target, str(copy))
    assert done.checkpoint == checkpoint


def test_export_then_restore_from_the_file_and_from_the_url(tmp_path: Path) -> None:
    """``liquid-mandate export`` writes the log and its parts (a stale part of
    an earlier export is replaced: this server has no cosignature, so its
    .checkpoints part is empty); a mirror restores from the server's URL; both serve the
    original's root at their size."""
    from client.cli import main as cli_main
    from tests.processes import running_server

    original = data_dir_with_key(tmp_path / "original")
    asyncio.run(build_log(original / DB_FILE))
    with running_server(original) as url:
        export = tmp_path / "export.jsonl"
        stale = tmp_path / "export.jsonl.checkpoints"
        stale.write_text("from an earlier export\n")
        assert cli_main(["--server", url, "export", "-o", str(export)]) == 0
        assert stale.read_text() == ""
        for source, name in ((str(export), "from-file"), (url, "from-url")):
            target = data_dir_with_key(tmp_path / name)
            done = asyncio.run(restore(target, source))
            with urllib.request.urlopen(url + f"/api/proof/consistency?from={done.size}&to={done.size}") as r:
                assert json.load(r)["root_from"] == done.root.hex()
            assert asyncio.run(opened(target)) == (done.checkpoint, done.size)


@pytest.mark.postgres
async def test_restore_into_postgresql_in_one_transaction(tmp_path: Path, pg_url: str) -> None:
    lines, checkpoint, _ = await build_log(tmp_path / "original.db")
    target = data_dir_with_key(tmp_path / "restored")
    # A tampered export: refused, and the database holds no log afterwards.
    bad = list(lines)
    bad[7] = lines[7].replace(b'"received":"', b'"received":"1', 1)
    with pytest.raises(RestoreRefused) as caught:
        await restore(target, str(write_log(tmp_path / "bad.jsonl", bad)), db_url=pg_url)
    assert caught.value.index == 7
    done = await restore(target, str(write_log(tmp_path / "export.jsonl", lines)), db_url=pg_url)
    assert done.checkpoint == checkpoint
    box = await BallotBox.open(pg_url, KEY, full_check=True)
    try:
        assert box.checkpoint_text == checkpoint and box.size == len(lines)
    finally:
        await box.aclose()
    with pytest.raises(RestoreRefused, match="already holds a log"):
        await restore(target, str(tmp_path / "export.jsonl"), db_url=pg_url)


async def test_restore_asks_the_witnesses_of_the_logs_policy(tmp_path: Path) -> None:
    """The policy is the log's last `witnesses` statement; its real witness
    cosigned the whole log, so an export cut short is refused by restore()."""
    name = "witness.example/w1"
    wdir = tmp_path / "witness"
    with running_witness(wdir, name) as (url, _proc):
        wkey = witness_cli("key", "--data-dir", str(wdir)).stdout.splitlines()[0].split(" ")[1]
        clock = Clock()
        box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp_path / 'original.db'}", KEY, clock=clock)
        w = World(box, clock, KEY)
        await w.found()
        await box.append(w.org("witnesses", cosigners=[{"name": name, "key": wkey, "url": url}], quorum=1, grace=5))
        await w.enroll(2)
        lines, checkpoint = await box.export(), box.checkpoint_text
        await box.aclose()
        origin = f"liquid-mandate/{w.assembly}"
        assert witness_cli("add-log", "--data-dir", str(wdir), origin, KEY.public_hex).returncode == 0
        req = urllib.request.Request(url + "/add-checkpoint", data=f"old 0\n\n{checkpoint}".encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

        short = data_dir_with_key(tmp_path / "short")
        with pytest.raises(RestoreRefused, match=f"witness {name} cosigned size {len(lines)}"):
            await restore(short, str(write_log(tmp_path / "short.jsonl", lines[:-1])))
        only_key_left(short)
        whole = data_dir_with_key(tmp_path / "whole")
        done = await restore(whole, str(write_log(tmp_path / "whole.jsonl", lines)))
        assert done.checkpoint == checkpoint
