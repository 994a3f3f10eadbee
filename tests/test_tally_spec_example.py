"""The worked example of docs/SPEC.md section 10, recomputed from the file itself:
the first JSON block is the input (with its seed given), the second the
result document."""

from __future__ import annotations

import json
import re
from pathlib import Path

from delegation import Electorate, resolve
from tally import result_document

SPEC = Path(__file__).resolve().parent.parent / "docs" / "SPEC.md"


def test_spec_worked_example():
    blocks = re.findall(r"```example-tally\n(.*?)```", SPEC.read_text(), re.S)
    assert len(blocks) == 2, f"found {len(blocks)} example-tally blocks, want 2"
    given, want = (json.loads(b) for b in blocks)
    e = Electorate(given["members"], given["chain"], given["settings"], given["ballots"])
    got = result_document(
        resolve(e).counts,
        motion=given["motion"],
        roster=given["roster"],
        method=given["method"],
        quorum=given["quorum"],
        no_quorum=given["no_quorum"],
        close_hash=bytes.fromhex(given["close"]),
        seed=bytes.fromhex(given["seed"]),
    )
    assert got == want
