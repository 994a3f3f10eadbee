"""docs/SPEC.md sections 15.2 and 15.4, recomputed from the document itself:
the text hash of the example, the two shapes of a text record, which are
the ones the ballot box serves, and the worked example of the order of
arguments (strongest first)."""

from __future__ import annotations

import re

from ballots import deliberation as D
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


def order_example() -> tuple[list[tuple[int, int | None, str]], dict[str, str]]:
    text = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^```example-debate-order\n(.*?)^```$", text, re.M | re.S)
    rows, facts = [], {}
    for line in block.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            facts[key] = value
        else:
            index, reply, stance = line.split()
            rows.append((int(index), None if reply == "-" else int(reply), stance))
    return rows, facts


async def test_the_order_example_is_what_the_box_serves(world: World) -> None:
    """SPEC 15.4's worked example, posted through the box: the example's
    indexes stand for the entries the box gives the comments, in order."""
    rows, facts = order_example()
    world.box.comment_rate = None
    await world.enroll(2)
    await world.topic("t")
    await world.motion("m", "t")
    real: dict[int, int] = {}
    for n, (index, reply, stance) in enumerate(rows):
        who = world.members[n % 2]
        signed = comment(who, world.assembly, f"c{index}", motion="m", stance=stance, reply_to=real.get(reply))
        real[index] = (await world.box.append(signed)).index
    named = {v: k for k, v in real.items()}
    page = D.thread_page(world.box.state, "motion:m", stance=None, offset=0, limit=20)
    counts = ", ".join(f"{s} {page.counts[s]}" for s in ("for", "against", "neutral"))
    assert counts == facts["counts"]
    assert " ".join(str(named[top]) for top, _, _ in page.threads) == facts["all"]
    only_for = D.thread_page(world.box.state, "motion:m", stance="for", offset=0, limit=20)
    assert " ".join(str(named[top]) for top, _, _ in only_for.threads) == facts["for"]
    ten = next(shown for top, shown, _ in page.threads if named[top] == 10)
    assert " ".join(f"{named[i]}/{d}" for i, d in ten) == facts["replies of 10"]
