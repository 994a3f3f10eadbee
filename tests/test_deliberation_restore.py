"""Comment texts in a restore (docs/SPEC.md sections 13.2 and 14.2): an
export's `.texts.jsonl` part is restored beside the log, each record checked
against the replayed log; a text that does not hash to its comment, a
redaction the log does not hold, or a comment without a record refuses the
restore, and nothing is written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ballots.box import BallotBox
from client.author import comment
from crypto.canonical import canonical_bytes
from serving.restore import DB_FILE, RestoreRefused, restore
from tests.test_restore import KEY, data_dir_with_key, only_key_left, write_log
from tests.world import Clock, World


async def debate_export(tmp: Path) -> tuple[Path, list[dict]]:
    clock = Clock()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{tmp / 'original.db'}", KEY, clock=clock)
    w = World(box, clock, KEY)
    await w.found()
    a, b = await w.enroll(2)
    await w.topic("t")
    await w.motion("m", "t")
    r1 = await box.append(comment(a, w.assembly, "Kept, with an accent: é.", motion="m", stance="for"))
    r2 = await box.append(comment(b, w.assembly, "Erased.", motion="m", reply_to=r1.index))
    await box.append(b.sign("redact", w.assembly, entry=r2.index, reason="mine"))
    lines, texts = await box.export(), await box.texts(0)
    await box.aclose()
    export = write_log(tmp / "export.jsonl", lines)
    return export, texts


def write_texts(export: Path, records: list[dict]) -> None:
    export.with_name(export.name + ".texts.jsonl").write_bytes(b"".join(canonical_bytes(r) + b"\n" for r in records))


async def test_texts_are_restored_beside_the_log(tmp_path: Path) -> None:
    export, texts = await debate_export(tmp_path)
    write_texts(export, texts)
    target = data_dir_with_key(tmp_path / "restored")
    await restore(target, str(export))
    box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
    try:
        assert await box.texts(0) == texts
        assert texts[0]["text"] == "Kept, with an accent: é." and texts[1]["redacted"] is True
        assert box.state.comments[texts[0]["index"]].received is not None
    finally:
        await box.aclose()


@pytest.mark.parametrize("change", ["tampered", "missing", "false-redaction", "not-a-comment"])
async def test_texts_that_do_not_fit_the_log_refuse_the_restore(tmp_path: Path, change: str) -> None:
    export, texts = await debate_export(tmp_path)
    first = texts[0]
    if change == "tampered":
        texts[0] = {**first, "text": "Changed."}
    elif change == "missing":
        texts = texts[1:]
    elif change == "false-redaction":
        texts[0] = {"index": first["index"], "redacted": True, "reason": "x", "redact": first["index"] + 1}
    else:
        texts.append({"index": 1, "text": "x", "salt": "00" * 16})
    write_texts(export, texts)
    target = data_dir_with_key(tmp_path / "restored")
    with pytest.raises(RestoreRefused, match="texts.jsonl part"):
        await restore(target, str(export))
    only_key_left(target)
    assert json.loads(json.dumps(texts))  # the records stayed JSON: the refusal is about their content


async def many_comments(db: Path, n: int) -> list[dict]:
    """An assembly whose bill has ``n`` comments (rate limit off), one redacted; its text records."""
    clock = Clock()
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", KEY, clock=clock, comment_rate=None)
    try:
        w = World(box, clock, KEY)
        await w.found()
        people = await w.enroll(25)
        await w.topic("t")
        await w.motion("m", "t")
        for start in range(0, n, len(people)):  # one comment per member per wave: each one's seqs stay in order
            wave = people[: min(len(people), n - start)]
            done = await asyncio.gather(
                *(box.append(comment(p, w.assembly, f"arg {start + i}", motion="m")) for i, p in enumerate(wave))
            )
        last = max(done, key=lambda r: r.index)
        author = wave[done.index(last)]
        await box.append(author.sign("redact", w.assembly, entry=last.index, reason="mine"))
        return await box.texts(0, 10_000)
    finally:
        await box.aclose()


def test_a_mirror_restores_every_page_of_texts_from_the_url(tmp_path: Path, monkeypatch) -> None:
    """Restoring from a server's URL reads GET /api/texts page after page: a
    single GET stops at the server's default of 1,000 records, and the
    restore would then refuse the export (comments without a record)."""
    from serving import export as X
    from tests.processes import running_server

    original = data_dir_with_key(tmp_path / "original")
    texts = asyncio.run(many_comments(original / DB_FILE, 1001))
    monkeypatch.setattr(X, "TEXT_PAGE", 400)  # three pages, the last one short
    with running_server(original) as url:
        assert X.fetch_export(url).parts[".texts.jsonl"] == b"".join(canonical_bytes(r) + b"\n" for r in texts)
        target = data_dir_with_key(tmp_path / "mirror")
        asyncio.run(restore(target, url))

    async def restored() -> list[dict]:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
        try:
            return await box.texts(0, 10_000)
        finally:
            await box.aclose()

    assert len(texts) == 1001 and texts[-1]["redacted"] is True and asyncio.run(restored()) == texts


def test_a_backup_copy_restores_its_texts(tmp_path: Path) -> None:
    """``server.py backup`` copies the texts table with the log; restoring
    the copy restores the texts (a redacted one as its redaction), and a
    copy whose texts table lost a row is refused, nothing written."""
    import sqlite3

    from serving.backup import backup

    original = data_dir_with_key(tmp_path / "original")
    texts = asyncio.run(many_comments(original / DB_FILE, 30))
    copy = backup(original, tmp_path / "copy.db").path
    target = data_dir_with_key(tmp_path / "restored")
    asyncio.run(restore(target, str(copy)))

    async def restored() -> list[dict]:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
        try:
            return await box.texts(0)
        finally:
            await box.aclose()

    assert len(texts) == 30 and texts[-1]["redacted"] is True and texts[0]["text"] == "arg 0"
    assert asyncio.run(restored()) == texts
    con = sqlite3.connect(copy)
    con.execute("DELETE FROM comment_texts WHERE idx = ?", (texts[3]["index"],))
    con.commit()
    con.close()
    again = data_dir_with_key(tmp_path / "again")
    with pytest.raises(RestoreRefused, match="texts.jsonl part"):
        asyncio.run(restore(again, str(copy)))
    only_key_left(again)


def test_a_plain_log_restores_without_texts_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain log (no .texts.jsonl beside it) is an export with nothing
    beside it (SPEC 13.2): it is restored, its redactions are still served
    (the log holds them), and the restore says how many texts it lacks."""
    from serving.ops_commands import run_restore
    from serving.settings import Settings

    export, texts = asyncio.run(debate_export(tmp_path))
    target = data_dir_with_key(tmp_path / "restored")
    assert run_restore(Settings(data_dir=target, target=str(export))) == 0
    err = capsys.readouterr().err
    assert "warning: the source has no comment texts" in err and ": 1 comments are restored without" in err

    async def restored() -> list[dict]:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{target / DB_FILE}", KEY, full_check=True)
        try:
            return await box.texts(0)
        finally:
            await box.aclose()

    assert asyncio.run(restored()) == [t for t in texts if t.get("redacted")]
    write_texts(export, texts)  # with its texts beside it: no warning
    again = data_dir_with_key(tmp_path / "again")
    assert run_restore(Settings(data_dir=again, target=str(export))) == 0
    assert "warning" not in capsys.readouterr().err
