"""The `witnesses` statement (DESIGN 9.1, docs/SPEC.md sections 3 and 4): the
box accepts a policy and folds it into the state and its projection, refuses
every broken rule with its own code and writes nothing, and the verifier
reports the same broken rules at their index in a log that holds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import verify_cli
from ballots import errors as E
from ballots.box import BallotBox
from ballots.statements import Malformed
from client.author import Author
from serving.cosigning import WitnessPolicy
from tests.test_box_rules import refused
from tests.verifier_logs import Scenario, build_scenario, checkpoint_note, entries, new_entry, rechain, write_log
from tests.world import World

K1, K2, K3 = "a1" * 32, "b2" * 32, "c3" * 32


def cosigners(n: int = 3) -> list[dict[str, str]]:
    keys = [K1, K2, K3, "d4" * 32, "e5" * 32][:n]
    return [
        {"name": f"witness.example/w{i}", "key": k, "url": f"http://127.0.0.1:{7380 + i}"} for i, k in enumerate(keys)
    ]


def policy(**changes: Any) -> dict[str, Any]:
    return {"cosigners": cosigners(), "quorum": 2, "grace": 10, **changes}


@pytest.fixture
async def w(world: World) -> World:
    await world.enroll(1)
    return world


async def test_policy_is_accepted_and_replaces_the_previous_one(w: World, db_url: str) -> None:
    first = await w.box.append(w.org("witnesses", **policy()))
    assert w.box.state.witnesses is not None
    assert w.box.state.witnesses.to_json() == {"index": first.index, **policy()}
    second = await w.box.append(w.org("witnesses", **policy(cosigners=cosigners(1), quorum=1, grace=60)))
    assert w.box.state.witnesses.to_json() == {
        "index": second.index,
        "cosigners": cosigners(1),
        "quorum": 1,
        "grace": 60,
    }
    # The submitter reads the same fields (serving.cosigning).
    assert WitnessPolicy.from_json(w.box.state.witnesses.to_json()).quorum == 1
    # The projection holds it across a restart, and a rebuild gives the same.
    want = w.box.state.witnesses
    again = await BallotBox.open(db_url, w.server_key, clock=w.clock)
    try:
        assert again.state.witnesses == want
        assert (await again.rebuild()).witnesses == want
    finally:
        await again.aclose()


async def test_a_member_cannot_set_the_policy(w: World) -> None:
    m = w.members[0]
    await refused(w, m.sign("witnesses", w.assembly, **policy()), E.NotOrganizer)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"cosigners": [], "quorum": 1}, "no cosigner"),
        ({"cosigners": [{**cosigners(1)[0], "name": "has space"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "name": "a+b"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "name": "nbsp\u00a0x"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "name": "ideographic\u3000space"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "name": "tab\tx"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "name": "nul\x00"}], "quorum": 1}, "key name"),
        ({"cosigners": [{**cosigners(1)[0], "url": "ftp://w.example"}], "quorum": 1}, "https:// or http://"),
        ({"cosigners": [{**cosigners(1)[0], "url": "w.example"}], "quorum": 1}, "https:// or http://"),
        ({"cosigners": [cosigners(2)[0], {**cosigners(2)[1], "name": cosigners(2)[0]["name"]}]}, "same name"),
        ({"cosigners": [cosigners(2)[0], {**cosigners(2)[1], "key": K1}]}, "same key"),
    ],
)
async def test_bad_cosigners_are_refused(w: World, changes: dict[str, Any], match: str) -> None:
    await refused(w, w.org("witnesses", **policy(**changes)), E.BadWitnesses, match)


@pytest.mark.parametrize(("n", "quorum"), [(3, 1), (2, 1), (4, 2), (1, 0), (3, 0), (3, 4), (1, 2)])
async def test_a_quorum_that_is_not_a_majority_is_refused(w: World, n: int, quorum: int) -> None:
    await refused(w, w.org("witnesses", **policy(cosigners=cosigners(n), quorum=quorum)), E.QuorumNotMajority)


@pytest.mark.parametrize(("n", "quorum"), [(1, 1), (2, 2), (3, 2), (3, 3), (4, 3), (5, 3)])
async def test_every_majority_is_accepted(w: World, n: int, quorum: int) -> None:
    await w.box.append(w.org("witnesses", **policy(cosigners=cosigners(n), quorum=quorum)))
    assert w.box.state.witnesses is not None and w.box.state.witnesses.quorum == quorum


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"grace": 0}, "grace"),
        ({"grace": 61}, "grace"),
        ({"grace": True}, "grace"),
        ({"quorum": "2"}, "quorum"),
        ({"quorum": -1}, "quorum"),
        ({"cosigners": {"a": 1}}, "cosigners"),
        ({"cosigners": [{**cosigners(1)[0], "weight": 1}]}, "weight"),
        ({"cosigners": [{"name": "w", "key": K1}]}, "url"),
        ({"cosigners": [{**cosigners(1)[0], "key": "A1" * 32}]}, "key"),
        ({"cosigners": [{**cosigners(1)[0], "name": ""}]}, "name"),
    ],
)
async def test_malformed_policies(w: World, changes: dict[str, Any], match: str) -> None:
    await refused(w, w.org("witnesses", **policy(**changes)), Malformed, match)


async def test_refusal_is_problem_json_over_http(w: World) -> None:
    from serving.problems import problem_response

    try:
        await w.box.append(w.org("witnesses", **policy(quorum=1)))
    except E.QuorumNotMajority as exc:
        resp = problem_response(exc)
    else:
        raise AssertionError("not refused")
    assert resp.status == 422 and resp.content_type == "application/problem+json"
    assert b"quorum_not_majority" in resp.body  # type: ignore[operator]


# -- the verifier -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("witnesses"))


def _with_policy(sc: Scenario, body: dict[str, Any], author: Author | None = None) -> list[bytes]:
    """The scenario's log plus one `witnesses` entry signed by ``author``."""
    es = entries(sc.lines)
    who = author or sc.founder
    seq = max(e["statement"]["seq"] for e in es if e["statement"]["author"] == who.public) + 1
    st = {"v": 1, "assembly": sc.assembly, "kind": "witnesses", "author": who.public, "seq": seq, **body}
    es.append(new_entry(st, who.key, es[-1]["received"]))
    return rechain(es)


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], sc: Scenario, lines: list[bytes]) -> tuple[int, Any]:
    import json

    log = write_log(tmp_path / "log.jsonl", lines)
    (tmp_path / "cp.txt").write_text(checkpoint_note(lines, sc.server_key, sc.assembly), encoding="utf-8")
    code = verify_cli.main([str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_verifier_accepts_a_good_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str], sc: Scenario) -> None:
    code, rep = _verify(tmp_path, capsys, sc, _with_policy(sc, policy()))
    # The policy comes after the scenario's closes, which it cannot govern:
    # they are not judged (docs/SPEC.md 14.3), and nothing fails.
    from tests.verifier_logs import unwitnessed_only

    assert unwitnessed_only(code, rep), (rep["failures"], rep["skipped"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (policy(quorum=1), "quorum_not_majority"),
        (policy(quorum=4), "quorum_not_majority"),
        (policy(cosigners=[], quorum=0), "bad_witnesses"),
        (policy(cosigners=[{**cosigners(1)[0], "name": "a b"}], quorum=1), "bad_witnesses"),
        (policy(cosigners=[{**cosigners(1)[0], "name": "a+b"}], quorum=1), "bad_witnesses"),
        (policy(cosigners=[{**cosigners(1)[0], "url": "gopher://x"}], quorum=1), "bad_witnesses"),
        (policy(cosigners=[cosigners(2)[0], {**cosigners(2)[1], "key": K1}]), "bad_witnesses"),
        (policy(cosigners=[cosigners(2)[0], {**cosigners(2)[1], "name": cosigners(2)[0]["name"]}]), "bad_witnesses"),
        (policy(grace=0), "malformed"),
        (policy(grace=61), "malformed"),
    ],
)
def test_verifier_reports_a_broken_policy_at_its_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sc: Scenario, body: dict[str, Any], code: str
) -> None:
    lines = _with_policy(sc, body)
    exit_code, rep = _verify(tmp_path, capsys, sc, lines)
    assert exit_code == 1
    assert [(f["check"], f["index"], f["code"]) for f in rep["failures"]] == [("rules", len(lines) - 1, code)]


def test_verifier_reports_a_member_setting_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sc: Scenario
) -> None:
    lines = _with_policy(sc, policy(), author=sc.members[0])
    exit_code, rep = _verify(tmp_path, capsys, sc, lines)
    assert exit_code == 1
    assert [(f["index"], f["code"]) for f in rep["failures"]] == [(len(lines) - 1, "not_organizer")]
