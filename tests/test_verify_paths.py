"""The speed machinery (part two of verify_cli.py) changes no verdict: on
valid and tampered logs, the default path and ``--no-fast`` (part one only)
give the same report, failure by failure, so the same first failing index."""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify_cli as V
from tests.verifier_logs import (
    Scenario,
    build_scenario,
    checkpoint_note,
    entries,
    new_entry,
    rechain,
    reseal,
    unwitnessed_only,
    write_log,
)

_DIR = tempfile.TemporaryDirectory(prefix="verify-paths-")


@lru_cache(maxsize=1)
def scenario() -> Scenario:
    return build_scenario(Path(_DIR.name))


def report(lines: list[bytes], raw: bytes | None, fast: bool, sc: Scenario) -> dict[str, Any]:
    d = Path(_DIR.name) / "run"  # the same place for both paths: reasons name the checkpoint file
    d.mkdir(exist_ok=True)
    log, cp = d / "log.jsonl", d / "cp.txt"
    if raw is None:
        write_log(log, lines)
    else:
        log.write_bytes(raw)
    cp.write_text(sc.checkpoint, encoding="utf-8")
    v = V.Verifier(
        V.Source(str(log)),
        checkpoint_files=[str(cp)],
        receipt_paths=[],
        since_file=None,
        jobs=1,
        progress=False,
        fast=fast,
    )
    v.run()
    rep = v.as_json()
    failures = rep["failures"]
    first = min((f["index"] for f in failures if f["index"] is not None), default=None)
    return {
        "exit": rep["exit"],
        "failures": failures,
        "motions": rep["motions"],
        "kinds": rep["kinds"],
        "members": rep["members"],
        "first": first,
    }


def _tamper(sc: Scenario, data: st.DataObject) -> tuple[str, list[bytes], bytes | None]:
    lines = list(sc.lines)
    n = len(lines)
    how = data.draw(
        st.sampled_from(
            [
                "none",
                "flip",
                "drop",
                "swap",
                "duplicate",
                "truncate",
                "no_newline",
                "revote",
                "upper",
                "rechained_drop",
                "new_ballot",
            ]
        )
    )
    k = data.draw(st.integers(0, n - 1))
    raw = None
    if how == "flip":
        line = bytearray(lines[k])
        pos = data.draw(st.integers(0, len(line) - 1))
        line[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != 10))
        lines[k] = bytes(line)
    elif how == "drop":
        del lines[k]
    elif how == "rechained_drop":
        es = entries(lines)
        del es[max(k, 1)]
        lines = rechain(es)
    elif how == "swap" and k + 1 < n:
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
    elif how == "duplicate":
        lines.insert(k, lines[k])
    elif how == "truncate":
        lines = lines[: k + 1]
    elif how == "no_newline":
        raw = b"".join(x + b"\n" for x in lines[: k + 1])[:-1]
    elif how == "revote":
        es = entries(lines)
        ballots = [e["index"] for e in es if e["statement"]["kind"] == "ballot"]
        b = data.draw(st.sampled_from(ballots))
        es[b]["statement"]["choice"] = data.draw(st.sampled_from(["yes", "no", "abstain", None]))
        lines = reseal(es, sc.server_key)  # the results follow; the member's signature breaks
    elif how == "new_ballot":
        # A rightly signed, rightly chained ballot that may break a rule
        # (seq, membership, motion, window, close first): the fast path's tests.
        es = entries(lines)
        at = data.draw(st.integers(1, n))
        who = data.draw(st.sampled_from(sc.members))
        seq = data.draw(st.sampled_from([1, who.seq, who.seq + 1, who.seq + 7]))
        motion = data.draw(st.sampled_from(["housing-bill", "culture-bill", "open-bill", "no-bill"]))
        received = (
            es[at - 1]["received"]
            if at < n and data.draw(st.booleans())
            else data.draw(
                st.sampled_from(
                    [es[0]["received"], es[at - 1]["received"], es[-1]["received"], "2099-01-01T00:00:00.000000Z"]
                )
            )
        )
        statement = {
            "v": 1,
            "assembly": sc.assembly,
            "kind": "ballot",
            "author": who.public,
            "seq": seq,
            "motion": motion,
            "choice": data.draw(st.sampled_from(["yes", "no", "abstain", None])),
        }
        es.insert(at, new_entry(statement, who.key, received))
        lines = rechain(es)
    elif how == "upper":
        text = lines[k].decode()
        hexes = [j for j, c in enumerate(text) if c in "abcdef"]
        j = data.draw(st.sampled_from(hexes))
        lines[k] = (text[:j] + text[j].upper() + text[j + 1 :]).encode()
    return how, lines, raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_and_reference_paths_agree(data: st.DataObject) -> None:
    sc = scenario()
    how, lines, raw = _tamper(sc, data)
    fast, ref = report(lines, raw, True, sc), report(lines, raw, False, sc)
    assert fast == ref, how
    if lines == sc.lines and raw is None:
        assert fast["exit"] == 3 and fast["failures"] == []  # no witness policy: closes not judged


def test_reference_path_finds_each_kind_of_problem() -> None:
    """--no-fast is not a path that passes everything: it reports a forged
    ballot signature (checked in process, with the public binding) and a
    tampered line, at their index."""
    sc = scenario()
    es = entries(sc.lines)
    i = next(e["index"] for e in es if e["statement"]["kind"] == "ballot")
    es[i]["signature"] = ("0" if es[i]["signature"][0] != "0" else "1") + es[i]["signature"][1:]
    lines = rechain(es)
    ref = report(lines, None, False, sc)
    assert ref["exit"] == 1 and ref["first"] == i
    assert {(f["check"], f["code"]) for f in ref["failures"] if f["index"] == i} == {("signatures", "bad_signature")}
    assert ref == report(lines, None, True, sc)


def test_no_fast_flag_uses_part_one_only(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    def not_here(*args: Any) -> Any:
        raise AssertionError("--no-fast reached the speed machinery")

    for name in ("ballot_fast_path", "read_canonical", "SignatureChecker", "verify_batch", "_flat_entry_ints_ok"):
        monkeypatch.setattr(V, name, not_here)
    monkeypatch.setattr(V.FastMode, "__init__", not_here)
    sc = scenario()
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    (tmp_path / "cp.txt").write_text(checkpoint_note(sc.lines, sc.server_key, sc.assembly))
    code = V.main([str(log), "--no-fast", "--json", "--quiet", "--checkpoint", str(tmp_path / "cp.txt")])
    rep = json.loads(capsys.readouterr().out)
    assert unwitnessed_only(code, rep) and rep["entries"] == len(sc.lines)
