"""Comment texts in a restore (docs/SPEC.md sections 13.2 and 14.2): an
export's `.texts.jsonl` part is restored beside the log, each record checked
against the replayed log; a text that does not hash to its comment, a
redaction the log does not hold, or a comment without a record refuses the
restore, and nothing is written."""

from __future__ import annotations

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
