"""The verifier and the server agree: random assemblies run through the real
ballot box (SQLite, a clock that moves only when told), then the verifier's
recomputed results equal the server's `result` entries and the verdict is 0."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import verify_cli as V
from tests.verifier_logs import entries, random_assembly, write_log


@settings(max_examples=20, deadline=None, derandomize=False)
@given(st.integers(0, 2**32 - 1))
def test_verifier_agrees_with_the_ballot_box(seed: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lines, note = asyncio.run(random_assembly(tmp / "box.db", random.Random(seed)))
        log = write_log(tmp / "log.jsonl", lines)
        (tmp / "cp.txt").write_text(note)
        server = entries(lines)[0]["statement"]["server"]  # the server key, as GET /api/server gives it
        v = V.Verifier(
            V.Source(str(log)),
            checkpoint_files=[str(tmp / "cp.txt")],
            receipt_paths=[],
            since_file=None,
            jobs=1,
            progress=False,
            server_key=server,
        )
        v.run()
        # No witness policy: each close is not judged (SPEC 14.3), nothing else.
        assert v.failures == [] and set(v.skipped) <= {"witnessed_closes"}, (v.failures, v.skipped)
        assert v.exit_code() == (3 if v.replay.closings else 0)
        ref = V.Verifier(
            V.Source(str(log)),
            checkpoint_files=[str(tmp / "cp.txt")],
            receipt_paths=[],
            since_file=None,
            jobs=1,
            progress=False,
            fast=False,
            server_key=server,
        )
        ref.run()
        assert ref.as_json() == v.as_json(), "the reference path (--no-fast) agrees"
        results = [e["statement"] for e in entries(lines) if e["statement"]["kind"] == "result"]
        assert results, "every motion is closed, so every motion has a result"
        for server in results:
            mine = v.replay.motions[server["motion"]].result
            assert mine == {k: server[k] for k in mine}
