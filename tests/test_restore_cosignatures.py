"""Cosigned checkpoints in a restore (docs/SPEC.md sections 13.1 and 13.2):
an export's `.checkpoints` part (what GET /api/checkpoints serves, page by
page) is checked against the replayed log and written with it, so that the
restored server serves the same cosignatures; a part that does not fit the
log refuses the restore with nothing written. A mirror restoring from a
server that serves less than the witnesses cosigned is refused too."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ballots.box import BallotBox
from client.author import comment
from crypto import merkle
from crypto.checkpoint import Checkpoint, origin_for, sign_checkpoint, split_notes
from crypto.signing import KeyPair
from serving.backup import backup
from serving.export import Export
from serving.restore import DB_FILE, RestoreRefused, replay, restore, stage_parts
from serving.witnessing import CosignatureStore, Witnessing
from tests.processes import ROOT, running_server
from tests.test_restore import KEY, data_dir_with_key, only_key_left, write_log
from tests.test_witness_support import running_witness, witness_cli
from tests.world import Clock, World
from witness.cosignature import cosign

FAST = {"min_interval": 0.05, "backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 2.0}
NOWHERE = "http://127.0.0.1:9"  # a closed port: the synthetic witnesses cannot be asked


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return bytes(r.read()).decode("utf-8")


def sizes_of(notes: list[str]) -> list[int]:
    return [int(n.split("\n", 2)[1]) for n in notes]


def cosigned_lines(note: str) -> list[str]:
    return note.split("\n\n", 1)[1].splitlines(keepends=True)[1:]


async def grow(w: World) -> None:
    """A topic, a motion closed with its result: several entries, nothing left open."""
    a, b = w.members[:2]
    await w.topic("budget")
    await w.motion("m1", "budget", closes=60)
    await w.vote(a, "m1", "yes")
    await w.vote(b, "m1", "no")
    w.clock.advance(seconds=120)
    await w.box.close_due()


# -- from real witnesses, through real servers ---------------------------------


async def witnessed_log(db: Path, witnesses: list[dict[str, str]], dirs: list[Path], stale: Path) -> tuple[int, int]:
    """A log under a policy of the two running witnesses, cosigned by both as
    it grows; ``stale`` gets a copy of the database part way (with the
    cosignatures it held then). Returns (the copy's size, the final size)."""
    clock = Clock()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", KEY, clock=clock)
    witnessing = Witnessing(box, **FAST)
    try:
        w = World(box, clock, KEY)
        await w.found()
        for d in dirs:
            added = await asyncio.to_thread(
                witness_cli, "add-log", "--data-dir", str(d), origin_for(w.assembly), KEY.public_hex
            )
            assert added.returncode == 0, added.stderr
        await witnessing.start()
        await box.append(w.org("witnesses", cosigners=witnesses, quorum=2, grace=5))
        await w.enroll(3)
        await cosigned_by_both(witnessing, box.size)
        with sqlite3.connect(db) as src, sqlite3.connect(stale) as dst:
            src.backup(dst)
        stale_size = box.size
        await grow(w)
        await cosigned_by_both(witnessing, box.size)
        return stale_size, box.size
    finally:
        await witnessing.aclose()
        await box.aclose()


async def cosigned_by_both(witnessing: Witnessing, size: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while witnessing.submitter is None:
        assert time.monotonic() < deadline, "the submitter never started"
        await asyncio.sleep(0.02)
    assert await witnessing.submitter.wait_cosigned(size, 2, timeout), witnessing.status()


async def served_by(data_dir: Path, sizes: list[int]) -> tuple[dict[int, str], str]:
    """What the routes of a server on ``data_dir`` would serve: the notes of
    ``sizes`` (GET /api/checkpoints?size=N) and the latest (GET /api/checkpoint)."""
    box = await BallotBox.open(f"sqlite+aiosqlite:///{data_dir / DB_FILE}", KEY, full_check=True)
    try:
        witnessing = Witnessing(box)
        return {n: await witnessing.checkpoint(n) for n in sizes}, await witnessing.checkpoint()
    finally:
        await box.aclose()


def test_an_export_of_a_witnessed_server_restores_its_cosignatures(tmp_path: Path) -> None:
    """Two real witnesses cosign the log as it grows; `liquid-mandate export`
    writes the .checkpoints part; restored from the file and from the URL,
    the server serves the very notes the original serves, at every size. A
    server whose copy stopped short of what the witnesses cosigned cannot
    be restored from."""
    from client.cli import main as cli_main

    names = ["witness.example/one", "witness.example/two"]
    with (
        running_witness(tmp_path / "w1", names[0]) as (url1, _p1),
        running_witness(tmp_path / "w2", names[1]) as (url2, _p2),
    ):
        dirs = [tmp_path / "w1", tmp_path / "w2"]
        keys = [witness_cli("key", "--data-dir", str(d)).stdout.split("\n")[0].split(" ")[1] for d in dirs]
        cosigners = [{"name": n, "key": k, "url": u} for n, k, u in zip(names, keys, [url1, url2])]
        original = data_dir_with_key(tmp_path / "original")
        stale = data_dir_with_key(tmp_path / "stale")
        stale_size, size = asyncio.run(witnessed_log(original / DB_FILE, cosigners, dirs, stale / DB_FILE))

        with running_server(original) as url:
            export = tmp_path / "export.jsonl"
            assert cli_main(["--server", url, "export", "-o", str(export)]) == 0
            part = export.with_name("export.jsonl.checkpoints").read_text()
            notes = split_notes(part)
            sizes = sizes_of(notes)
            assert sizes == sorted(set(sizes)) and {stale_size, size} <= set(sizes), sizes
            assert len(cosigned_lines(notes[-1])) == 2
            # The part is a --checkpoint file for the verifier: every cosignature checks.
            report = subprocess.run(
                [sys.executable, str(ROOT / "verify_cli.py"), str(export), "--json", "--jobs", "1"]
                + ["--checkpoint", str(export.with_name("export.jsonl.checkpoints"))],
                capture_output=True,
                text=True,
                timeout=60,
            )
            doc = json.loads(report.stdout)
            assert doc["checks"]["cosignatures"] == doc["checks"]["forks"] == "passed", report.stdout
            n_lines = sum(len(cosigned_lines(n)) for n in notes)
            assert doc["witnesses"]["cosignatures"] == {"checked": n_lines, "valid": n_lines, "ignored_unknown": []}
            served = {n: get(f"{url}/api/checkpoints?size={n}") for n in sizes}
            assert [served[n] for n in sizes] == notes  # the part is the notes as served, byte for byte

            latest = get(f"{url}/api/checkpoint")
            target = data_dir_with_key(tmp_path / "from-file")
            assert asyncio.run(restore(target, str(export))).size == size
            with running_server(target, log=tmp_path / "from-file.log") as restored:
                assert {n: get(f"{restored}/api/checkpoints?size={n}") for n in sizes} == served
                assert get(f"{restored}/api/checkpoints") == part
                assert get(f"{restored}/api/checkpoint") == latest
            # A mirror, from the URL (what the routes serve, read in process here: one server less).
            target = data_dir_with_key(tmp_path / "from-url")
            assert asyncio.run(restore(target, url)).size == size
            assert asyncio.run(served_by(target, sizes)) == (served, latest)

        # The copy made part way serves a shorter log than the witnesses cosigned:
        # a mirror restoring from it would fork the log.
        with running_server(stale, log=tmp_path / "stale.log") as stale_url:
            target = data_dir_with_key(tmp_path / "from-stale")
            with pytest.raises(RestoreRefused, match=f"cosigned size {size}, the export holds {stale_size} entries"):
                asyncio.run(restore(target, stale_url))
            only_key_left(target)


# -- synthetic cosignatures: every refusal, fast --------------------------------

WITNESS_KEYS = [KeyPair(bytes([60 + i]) * 32) for i in range(3)]
NAMES = ["witness.example/a", "witness.example/b", "witness.example/c"]
TS = 1_800_000_000


async def synthetic(tmp: Path) -> tuple[list[bytes], dict[int, str], str]:
    """A log whose policy names witnesses a and b, and notes of three of its
    sizes cosigned by them (the witness's own signing code, their own keys).
    Returns (lines, {size: note}, origin)."""
    clock = Clock()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp / 'original.db'}", KEY, clock=clock)
    try:
        w = World(box, clock, KEY)
        await w.found()
        policy = [{"name": n, "key": k.public_hex, "url": NOWHERE} for n, k in zip(NAMES[:2], WITNESS_KEYS)]
        await box.append(w.org("witnesses", cosigners=policy, quorum=2, grace=5))
        a, b = await w.enroll(2)
        await grow(w)
        # Comments, one redacted: a database copy carries their texts too.
        await w.motion("m2", "budget", closes=3600)
        kept = await box.append(comment(a, w.assembly, "Kept.", motion="m2", stance="for"))
        gone = await box.append(comment(b, w.assembly, "Erased.", motion="m2", reply_to=kept.index))
        await box.append(b.sign("redact", w.assembly, entry=gone.index, reason="mine"))
        lines = await box.export()
        origin = origin_for(w.assembly)
        notes = {}
        store = CosignatureStore(box.engine)
        for size in (3, 6, len(lines)):
            note = sign_checkpoint(Checkpoint(origin, size, await box.root_at(size)), KEY)
            body = note.split("\n\n", 1)[0] + "\n"
            cosigned = [cosign(body, k, n, TS + size) for n, k in zip(NAMES[:2], WITNESS_KEYS)]
            notes[size] = note + "".join(cosigned)
            for n, k, line in zip(NAMES, WITNESS_KEYS, cosigned):  # as the server keeps them
                await store.add(size, n, k.public_hex, line, TS + size)
        return lines, notes, origin
    finally:
        await box.aclose()


def write_part(export: Path, notes: list[str]) -> None:
    export.with_name(export.name + ".checkpoints").write_text("\n".join(notes))


async def test_synthetic_cosignatures_are_restored_and_served(tmp_path: Path) -> None:
    lines, notes, _ = await synthetic(tmp_path)
    export = write_log(tmp_path / "export.jsonl", lines)
    write_part(export, list(notes.values()))
    target = data_dir_with_key(tmp_path / "restored")
    await restore(target, str(export), unreachable_ok=True)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
    try:
        witnessing = Witnessing(box)
        assert {n: await witnessing.checkpoint(n) for n in notes} == notes
        assert await witnessing.checkpoints(1, 100) == list(notes.values())
        assert await witnessing.store.cosigned([(NAMES[0], WITNESS_KEYS[0].public_hex)]) == {NAMES[0]: len(lines)}
    finally:
        await box.aclose()


async def test_a_backup_copy_restores_its_texts_and_cosignatures(tmp_path: Path) -> None:
    """A `server.py backup` copy holds the texts and cosignatures beside its
    log: restored through the same checks as an export's parts; a copy
    whose cosignature row was changed is refused, nothing written."""
    lines, notes, _ = await synthetic(tmp_path)
    db = f"sqlite:///{tmp_path / 'original.db'}"
    copy = backup(tmp_path, tmp_path / "copy.db", db_url=db).path
    box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp_path / 'original.db'}", KEY)
    texts = await box.texts(0)
    await box.aclose()
    assert len(texts) == 2 and texts[1]["redacted"] is True
    target = data_dir_with_key(tmp_path / "restored")
    done = await restore(target, str(copy), unreachable_ok=True)
    assert done.size == len(lines)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
    try:
        witnessing = Witnessing(box)
        assert {n: await witnessing.checkpoint(n) for n in notes} == notes
        assert await box.texts(0) == texts
    finally:
        await box.aclose()

    first = min(notes)
    with sqlite3.connect(copy) as con:
        (line,) = con.execute(
            "SELECT line FROM cosignatures WHERE size = ? AND witness = ?", (first, NAMES[1])
        ).fetchone()
        con.execute("UPDATE cosignatures SET line = ? WHERE line = ?", (_flip(line), line))
    bad = data_dir_with_key(tmp_path / "bad")
    with pytest.raises(RestoreRefused, match="note 1: cosignature: .*does not verify"):
        await restore(bad, str(copy), unreachable_ok=True)
    only_key_left(bad)


def _flip(line: str) -> str:
    """The same line with one bit of its signature changed."""
    prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    return f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def _tamper(change: str, notes: dict[int, str], origin: str) -> tuple[list[str], str]:
    """The part's notes with one ``change``, and the refusal it must bring."""
    sizes = list(notes)
    good = list(notes.values())
    first = good[0]
    text, sigs = first.split("\n\n", 1)
    server_line, line_a, line_b = sigs.splitlines(keepends=True)
    body = text + "\n"
    if change == "cosignature":
        return [f"{text}\n\n{server_line}{line_a}{_flip(line_b)}", *good[1:]], "does not verify"
    if change == "not-in-the-policy":
        intruder = cosign(body, WITNESS_KEYS[2], NAMES[2], TS)
        return [f"{text}\n\n{server_line}{line_a}{intruder}", *good[1:]], "not a cosigner of the witness policy"
    if change == "root":
        other = sign_checkpoint(Checkpoint(origin, sizes[0], bytes(32)), KEY)
        return [other + line_a + line_b, *good[1:]], "is not the replayed log's"
    if change == "server-signature":
        return [f"{text}\n\n{_flip(server_line)}{line_a}{line_b}", *good[1:]], "the server's signature"
    if change == "no-server-line":
        return [f"{text}\n\n{line_a}{line_b}", *good[1:]], "first signature line is not the server's"
    if change == "another-origin":
        other = sign_checkpoint(Checkpoint("liquid-mandate/" + "ab" * 32, sizes[0], bytes(32)), KEY)
        return [other, *good[1:]], "is not this log's"
    if change == "beyond-the-log":
        big = sizes[-1] + 1
        return [*good, sign_checkpoint(Checkpoint(origin, big, bytes(32)), KEY)], f"size {big}: the log has"
    if change == "not-ascending":
        return [good[1], good[0], *good[2:]], "want each size once, ascending"
    if change == "cut-short":
        return [*good[:-1], good[-1][:-20]], "not a checkpoint note"
    raise AssertionError(change)


CHANGES = [
    "cosignature",
    "not-in-the-policy",
    "root",
    "server-signature",
    "no-server-line",
    "another-origin",
    "beyond-the-log",
    "not-ascending",
    "cut-short",
]


async def test_every_part_that_does_not_fit_the_log_is_refused(tmp_path: Path) -> None:
    lines, notes, origin = await synthetic(tmp_path)
    replayed = replay(lines, KEY.public_hex)
    stage_parts(Export(lines, {".checkpoints": "\n".join(notes.values()).encode()}), replayed)  # the good part
    for change in CHANGES:
        bad, why = _tamper(change, notes, origin)
        r = replay(lines, KEY.public_hex)
        with pytest.raises(RestoreRefused, match=why) as caught:
            stage_parts(Export(lines, {".checkpoints": "\n".join(bad).encode()}), r)
        assert ".checkpoints part" in str(caught.value), change
    # A cosignature on a checkpoint taken before any policy was in force.
    r = replay(lines, KEY.public_hex)
    root1 = merkle.fold_subtrees([r.nodes[k] for k in merkle.subtree_root_plan(1)])
    early = sign_checkpoint(Checkpoint(origin, 1, root1), KEY)
    early += cosign(early.split("\n\n", 1)[0] + "\n", WITNESS_KEYS[0], NAMES[0], TS)
    with pytest.raises(RestoreRefused, match="no witness policy is in force at size 1"):
        stage_parts(Export(lines, {".checkpoints": early.encode()}), r)


def test_a_tampered_cosignature_refuses_the_restore_with_nothing_written(tmp_path: Path) -> None:
    """The command line: exit 1, the reason, and nothing in the data directory."""
    lines, notes, origin = asyncio.run(synthetic(tmp_path))
    export = write_log(tmp_path / "export.jsonl", lines)
    bad, _ = _tamper("cosignature", notes, origin)
    write_part(export, bad)
    target = data_dir_with_key(tmp_path / "restored")
    r = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "restore", "--data-dir", str(target)]
        + ["--ignore-unreachable-witnesses", str(export)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "nothing written" in r.stderr and "note 1: cosignature" in r.stderr and "does not verify" in r.stderr
    only_key_left(target)
