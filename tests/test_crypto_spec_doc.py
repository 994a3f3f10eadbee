"""docs/SPEC.md section 11.6: every value of the worked example is recomputed from
the document's own fenced blocks, so the example cannot drift from the code."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from crypto import checkpoint as ck
from crypto import merkle
from crypto.signing import KeyPair

DOC = Path(__file__).resolve().parents[1] / "docs" / "SPEC.md"


def _blocks() -> dict[str, str]:
    found = dict(re.findall(r"^```(example-(?:values|note))\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S))
    assert set(found) == {"example-values", "example-note"}
    return found


def _values() -> dict[str, str]:
    values = {}
    for line in _blocks()["example-values"].splitlines():
        name, sep, value = line.partition(": ")
        assert sep, f"line {line!r} is not 'name: value'"
        values[name] = value
    return values


def _hashes(s: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in s.split(", ")]


@pytest.fixture(scope="module")
def v() -> dict[str, str]:
    return _values()


def test_tree_values(v: dict[str, str]) -> None:
    leaves = [merkle.leaf_hash(d) for d in _hashes(v["leaf_data"])]
    assert leaves == [bytes.fromhex(v[f"leaf_hash_{i}"]) for i in range(3)]
    assert merkle.node_hash(leaves[0], leaves[1]).hex() == v["node_1_0"]
    assert merkle.root(leaves[:2]).hex() == v["root_2"]
    root = merkle.root(leaves)
    assert root.hex() == v["root_3"]
    assert merkle.node_hash(bytes.fromhex(v["node_1_0"]), leaves[2]) == root
    assert base64.b64encode(root).decode() == v["root_3_base64"]


def test_proof_values(v: dict[str, str]) -> None:
    leaves = [merkle.leaf_hash(d) for d in _hashes(v["leaf_data"])]
    roots = {n: bytes.fromhex(v[f"root_{n}"]) for n in (2, 3)}
    for index in (0, 2):
        proof = _hashes(v[f"inclusion_proof_{index}_3"])
        assert merkle.inclusion_proof(index, 3, leaves) == proof
        merkle.verify_inclusion(leaf_hash=leaves[index], index=index, size=3, proof=proof, root=roots[3])
    for size1 in (1, 2):
        proof = _hashes(v[f"consistency_proof_{size1}_3"])
        assert merkle.consistency_proof(size1, 3, leaves) == proof
        root1 = leaves[0] if size1 == 1 else roots[2]
        merkle.verify_consistency(size1=size1, size2=3, proof=proof, root1=root1, root2=roots[3])


def test_key_values(v: dict[str, str]) -> None:
    key = KeyPair(bytes.fromhex(v["seed"]))
    assert key.public_hex == v["public_key"]
    assert v["origin"] == ck.origin_for("0" * 64)
    assert ck.key_id(v["origin"], key.public_bytes).hex() == v["key_id"]
    assert ck.verifier_key_string(v["origin"], key.public_bytes) == v["verifier_key"]
    assert ck.parse_verifier_key(v["verifier_key"]) == (v["origin"], key.public_bytes)


def test_note_is_byte_for_byte_the_signed_checkpoint(v: dict[str, str]) -> None:
    note = _blocks()["example-note"]
    key = KeyPair(bytes.fromhex(v["seed"]))
    cp = ck.Checkpoint(v["origin"], 3, bytes.fromhex(v["root_3"]))
    assert ck.sign_checkpoint(cp, key) == note  # Ed25519 is deterministic
    assert ck.open_checkpoint(note, public_key=key.public_bytes, name=v["origin"]) == cp
    blob = base64.b64decode(note.rsplit(" ", 1)[1])
    assert blob[:4].hex() == v["key_id"]
    assert note.encode("utf-8").count(b"\n\n\xe2\x80\x94 ") == 1


def test_prose_examples_of_plans() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "`(2,0)`, `(1,2)`, `(0,6)`" in text
    assert merkle.subtree_root_plan(7) == [(2, 0), (1, 2), (0, 6)]
    assert "`[(0,3)]`, `[(1,0)]`,\n`[(1,2), (0,6)]`" in text
    assert merkle.inclusion_proof_plan(2, 7) == [[(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]
