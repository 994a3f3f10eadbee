"""docs/SPEC.md section 15.2, recomputed from the document itself: the text
hash of the example, and the two shapes of a text record, which are the ones
the ballot box serves."""

from __future__ import annotations

import re

from ballots.texts import text_hash
from client.author import comment
from crypto.canonical import canonical_bytes, parse_canonical
from tests.conftest import ROOT
from tests.world import World


def example() -> dict[str, str]:
    text = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^```example-text\n(.*?)^```$", text, re.M | re.S)
    return dict(line.split(": ", 1) for line in block.splitlines())


def test_text_hash_example_is_what_the_code_computes() -> None:
    v = example()
    assert text_hash(bytes.fromhex(v["salt"]), v["text"]) == v["text_hash"]
    record = parse_canonical(v["record"].encode())
    assert canonical_bytes(record).decode() == v["record"]
    assert (record["text"], record["salt"]) == (v["text"], v["salt"])
    redacted = parse_canonical(v["redacted"].encode())
    assert canonical_bytes(redacted).decode() == v["redacted"]


async def test_the_box_serves_records_of_the_spec_shapes(world: World) -> None:
    v = example()
    await world.enroll(1)
    await world.topic("t")
    await world.motion("m", "t")
    m = world.members[0]
    r = await world.box.append(comment(m, world.assembly, v["text"], motion="m", salt=bytes.fromhex(v["salt"])))
    assert r.entry["statement"]["text_hash"] == v["text_hash"]
    (kept,) = await world.box.texts(r.index)
    assert kept.keys() == parse_canonical(v["record"].encode()).keys()
    assert kept == {"index": r.index, "text": v["text"], "salt": v["salt"]}
    await world.box.append(m.sign("redact", world.assembly, entry=r.index, reason="asked by its author"))
    (gone,) = await world.box.texts(r.index)
    assert gone.keys() == parse_canonical(v["redacted"].encode()).keys()
    assert gone == {"index": r.index, "redacted": True, "reason": "asked by its author", "redact": r.index + 1}
