"""The worked example of docs/SPEC.md section 16.4 (commit, ballots, close
with its reveal, D, seed, deputy order, instructions), recomputed line by
line from the file itself, with the server's code (tally) and with the
verifier's (verify_cli), which must agree with each other and with the file."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import tally
import verify_cli
from crypto.signing import KeyPair
from delegation import Electorate

SPEC = Path(__file__).resolve().parent.parent / "docs" / "SPEC.md"


def example() -> tuple[dict[str, str], dict]:
    text = SPEC.read_text(encoding="utf-8")
    (values,) = re.findall(r"```example-lottery\n(.*?)```", text, re.S)
    (result,) = re.findall(r"```example-seed-result\n(.*?)```", text, re.S)
    lines = dict(line.split(": ", 1) for line in values.strip().splitlines())
    return lines, json.loads(result)


def key(byte: str) -> str:
    return byte * 32


def test_commit_and_reveal():
    v, _ = example()
    seed = bytes.fromhex(v["server_seed"])
    assert KeyPair(seed).public_hex == v["server_key"]
    r = tally.lottery_secret(seed, v["assembly"], v["lottery"])
    # r as the SPEC words it, with the standard library's HMAC.
    import hmac

    msg = b"liquid-mandate/v1/lottery-secret\n" + v["assembly"].encode() + b"\n" + v["lottery"].encode()
    assert r == hmac.new(seed, msg, hashlib.sha256).digest()
    assert r.hex() == v["r"]
    commit, close = json.loads(v["commit"]), json.loads(v["close"])
    assert commit == {"kind": "commit", "lottery": v["lottery"], "hash": tally.commit_hash(r)}
    assert close["reveal"] == v["r"] and "motion:" + close["motion"] == v["lottery"]
    assert tally.reveal_matches(close["reveal"], commit["hash"])
    assert hashlib.sha256(bytes.fromhex(close["reveal"])).hexdigest() == commit["hash"]


def test_digest_seed_and_order():
    v, _ = example()
    ballots = {key(k[7:]): c for k, c in v.items() if k.startswith("ballot_") and c != "null"}
    items = {k[5:]: bytes.fromhex(x) for k, x in v.items() if k.startswith("item_")}
    assert set(items) == {k[:2] for k in ballots}  # the withdrawn ballot is no item
    for who, item in items.items():
        assert item == tally.ballot_item(key(who), ballots[key(who)])
    d = tally.participants_digest(items.values())
    assert d.hex() == v["D"] == tally.ballots_digest([key(b * 2) for b in "1234"], ballots).hex()
    assert verify_cli.ballots_digest(ballots) == d
    r = bytes.fromhex(v["r"])
    seed = tally.lottery_seed(r, d)
    assert seed.hex() == v["seed"] == verify_cli.lottery_seed(r, d).hex()
    for who in ("11", "22", "33"):
        assert hashlib.sha256(seed + bytes.fromhex(key(who))).hexdigest() == v[f"order_{who}"]
    order = tally.deputy_order(seed, [key(b) for b in ("11", "22", "33")])
    assert [k[:2] for k in order] == v["deputy_order"].split(", ")


def test_result_document_from_both_implementations():
    v, want = example()
    members = [key(b) for b in ("11", "22", "33", "44")]
    ballots = {key(k[7:]): c for k, c in v.items() if k.startswith("ballot_") and c != "null"}
    roster = members[:3]
    e = Electorate(members, ["motion:m1", "topic:t", "*"], {}, ballots)
    got = tally.close_motion(
        e,
        motion="m1",
        roster=roster,
        method="largest_remainder",
        quorum=50,
        no_quorum="abstain",
        close_hash=bytes.fromhex(want["close"]),
        reveal=bytes.fromhex(v["r"]),
    )
    assert got == want
    # The verifier's tally, fed the same state.
    replay = verify_cli.Replay()
    replay.rules = {"method": "largest_remainder", "quorum": 50, "no_quorum": "abstain"}
    replay.active = set(members)
    replay.topics = {"t": None}
    replay.roster = roster
    m = verify_cli.Motion(
        {"id": "m1", "topic": "t", "quorum": None, "opens": "2026-01-01T00:00:00Z", "closes": "2026-01-02T00:00:00Z"}, 5
    )
    m.ballots = {k: (c, 0) for k, c in ballots.items()}
    assert replay.tally(m, bytes.fromhex(want["close"]), bytes.fromhex(v["r"])) == want
