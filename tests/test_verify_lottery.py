"""The verifier's lottery checks (docs/SPEC.md section 16): the commit right
after every motion, the reveal that opens it, and the seed of every result,
on the scenario log and on the same log tampered with, re-signed and
re-chained as a server holding its own key would; each failure names its
index."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import tally
from tests.test_verify import check_log, failed, run
from tests.verifier_logs import (
    Scenario,
    build_scenario,
    entries,
    new_entry,
    reseal,
    resign,
    unwitnessed_only,
    write_log,
)


@pytest.fixture(scope="session")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario-lottery"))


def codes(rep: dict) -> set[tuple[str, int | None]]:
    return {(f["code"], f["index"]) for f in rep["failures"]}


def test_every_motion_is_committed_and_every_seed_follows_the_formula(tmp_path, capsys, sc):
    """Recomputed here from the SPEC's words, not from either implementation."""
    es = entries(sc.lines)
    closes = 0
    for i, e in enumerate(es):
        st = e["statement"]
        if st["kind"] == "motion":
            commit = es[i + 1]["statement"]
            r = tally.lottery_secret(sc.server_key.seed, sc.assembly, f"motion:{st['id']}")
            assert (commit["kind"], commit["lottery"]) == ("commit", f"motion:{st['id']}")
            assert commit["hash"] == hashlib.sha256(r).hexdigest()
        if st["kind"] == "close":
            closes += 1
            result = es[i + 1]["statement"]
            r = bytes.fromhex(st["reveal"])
            assert r == tally.lottery_secret(sc.server_key.seed, sc.assembly, f"motion:{st['motion']}")
            # The counted ballots, as the log stands at the close (active members only).
            active: set[str] = set()
            ballots: dict[str, str] = {}
            for x in es[:i]:
                s = x["statement"]
                if s["kind"] == "enroll":
                    active.add(s["author"])
                elif s["kind"] == "expel":
                    active.discard(s["member"])
                elif s["kind"] == "ballot" and s["motion"] == st["motion"]:
                    if s["choice"] is None:
                        ballots.pop(s["author"], None)
                    else:
                        ballots[s["author"]] = s["choice"]
            items = sorted(
                hashlib.sha256(bytes.fromhex(k) + c.encode()).digest() for k, c in ballots.items() if k in active
            )
            d = hashlib.sha256(b"".join(items)).digest()
            seed = hashlib.sha256(b"liquid-mandate/v1/lottery\n" + r + d).digest()
            assert result["seed"] == seed.hex()
            assert result["close"] == hashlib.sha256(sc.lines[i]).hexdigest()
            order = sorted(
                (x["deputy"] for x in result["instructions"]),
                key=lambda k: hashlib.sha256(seed + bytes.fromhex(k)).digest(),
            )
            told = {x["deputy"]: x["choice"] for x in result["instructions"]}
            seats = result["seats"]
            assert [told[k] for k in order] == ["yes"] * seats["yes"] + ["no"] * seats["no"] + ["abstain"] * seats[
                "abstain"
            ]
    assert closes == 2
    code, rep = check_log(tmp_path, capsys, sc, sc.lines)
    assert unwitnessed_only(code, rep), rep["failures"]  # no witness policy here: closes not judged (SPEC 14)


def test_missing_commit(tmp_path, capsys, sc):
    es = entries(sc.lines)
    m = sc.index("motion", id="culture-bill")
    del es[m + 1]
    close = next(
        i for i, e in enumerate(es) if e["statement"]["kind"] == "close" and e["statement"]["motion"] == "culture-bill"
    )
    lines = reseal(es, sc.server_key, keep=frozenset({close + 1}))
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1
    assert ("bad_commit", m + 1) in codes(rep) and ("bad_reveal", close) in codes(rep), rep["failures"]


def test_commit_out_of_place(tmp_path, capsys, sc):
    """The motion's commit moved one entry later: the entry after the motion
    is not its commit, and the commit no longer follows its motion."""
    es = entries(sc.lines)
    m = sc.index("motion", id="open-bill")
    es[m + 1], es[m + 2] = es[m + 2], es[m + 1]
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key))
    assert code == 1
    assert ("bad_commit", m + 1) in codes(rep) and ("bad_commit", m + 2) in codes(rep), rep["failures"]


def test_second_commit_of_one_lottery(tmp_path, capsys, sc):
    es = entries(sc.lines)
    c = sc.index("commit", lottery="motion:open-bill")
    extra = dict(es[c]["statement"], seq=es[-1]["statement"]["seq"] + 1)
    es.append(new_entry(extra, sc.server_key, es[-1]["received"]))
    lines = reseal(es, sc.server_key)
    code, rep = check_log(tmp_path, capsys, sc, lines)
    assert code == 1 and codes(rep) == {("bad_commit", len(lines) - 1)}, rep["failures"]


@pytest.mark.parametrize("what", ["reveal", "commit"])
def test_reveal_that_does_not_open_its_commit(tmp_path, capsys, sc, what):
    """A server that changes r after the votes (a new reveal, results
    recomputed and re-signed), or that committed to another r: the close is
    refused at its index, whatever the results say."""
    es = entries(sc.lines)
    c = sc.index("close", motion="housing-bill")
    other = hashlib.sha256(b"another r").hexdigest()
    if what == "reveal":
        es[c]["statement"]["reveal"] = other
        resign(es[c], sc.server_key)
    else:
        k = sc.index("commit", lottery="motion:housing-bill")
        es[k]["statement"]["hash"] = hashlib.sha256(bytes.fromhex(other)).hexdigest()
        resign(es[k], sc.server_key)
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key, keep=frozenset({c + 1})))
    assert code == 1 and ("bad_reveal", c) in codes(rep), rep["failures"]
    assert all(i >= c for _, i in codes(rep))


def test_result_with_another_seed(tmp_path, capsys, sc):
    """The old rule (the close hash as the seed) or any seed of the server's
    choosing: the result's seed, and the instructions it drew, are refused."""
    es = entries(sc.lines)
    i = sc.index("result", motion="housing-bill")
    st = es[i]["statement"]
    seed = bytes.fromhex(st["close"])
    st["seed"] = seed.hex()
    st["instructions"] = tally.instructions(seed, [x["deputy"] for x in st["instructions"]], st["seats"])
    resign(es[i], sc.server_key)
    code, rep = check_log(tmp_path, capsys, sc, reseal(es, sc.server_key, keep=frozenset({i})))
    assert code == 1 and failed(rep) == {("results", i)}, rep["failures"]
    assert "field 'seed'" in " ".join(f["reason"] for f in rep["failures"])


def test_export_verifies_from_a_file(tmp_path: Path, capsys, sc):
    code, rep = run(capsys, str(write_log(tmp_path / "x.jsonl", sc.lines)))
    assert code == 3  # no checkpoint given: skipped, never passed
    assert rep["failures"] == []
