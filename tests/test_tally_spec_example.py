"""The worked example of docs/SPEC-tally.md, recomputed from the file itself:
the first JSON block is the input, the second the result document."""

from __future__ import annotations

import json
import re
from pathlib import Path

from delegation import Electorate
from tally import close_motion

SPEC = Path(__file__).resolve().parent.parent / "docs" / "SPEC-tally.md"


def test_spec_worked_example():
    blocks = re.findall(r"```json\n(.*?)```", SPEC.read_text(), re.S)
    assert len(blocks) == 2, f"found {len(blocks)} json blocks, want 2"
    given, want = (json.loads(b) for b in blocks)
    e = Electorate(given["members"], given["chain"], given["settings"], given["ballots"])
    got = close_motion(e, motion=given["motion"], roster=given["roster"],
                       method=given["method"], quorum=given["quorum"],
                       no_quorum=given["no_quorum"], close_hash=bytes.fromhex(given["close"]))
    assert got == want
