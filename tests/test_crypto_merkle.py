"""crypto/merkle.py against the transparency-dev vectors, the RFC 9162
reference generators, and hypothesis-made trees."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import merkle
from crypto.merkle import CompactRange, ProofError

VECTORS = Path(__file__).resolve().parent / "vectors" / "merkle"

# Where this verifier is deliberately stricter than transparency-dev/merkle:
# that vector passes two 12-byte "roots", and RFC 9162 hashes are 32 bytes, so
# a length check comes before any comparison here (STYLE.md habit 2).
STRICTER = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": "has 12 bytes, want 32",
}


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


def _cases(kind: str) -> list:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no vectors under {VECTORS / kind}"
    out = []
    for f in files:
        case = json.loads(f.read_text())
        rel = f.relative_to(VECTORS).as_posix()
        out.append(pytest.param(rel, case, id=f"{rel}: {case['desc']}"))
    return out


@pytest.mark.parametrize("rel,case", _cases("inclusion"))
def test_inclusion_vector(rel: str, case: dict) -> None:
    args = dict(
        leaf_hash=_b64(case["leafHash"]),
        index=case["leafIdx"],
        size=case["treeSize"],
        proof=[_b64(p) for p in case["proof"] or []],
        root=_b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(**args)
    else:
        merkle.verify_inclusion(**args)


@pytest.mark.parametrize("rel,case", _cases("consistency"))
def test_consistency_vector(rel: str, case: dict) -> None:
    args = dict(
        size1=case["size1"],
        size2=case["size2"],
        proof=[_b64(p) for p in case["proof"] or []],
        root1=_b64(case["root1"]),
        root2=_b64(case["root2"]),
    )
    if rel in STRICTER:
        assert not case["wantErr"]
        with pytest.raises(ProofError, match=STRICTER[rel]):
            merkle.verify_consistency(**args)
    elif case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(**args)
    else:
        merkle.verify_consistency(**args)


# The vectors' eight leaves are the RFC 6962 test leaves of the Go code, not
# the single bytes 0x00, 0x01, ... that tests/vectors/README.md describes.
RFC6962_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]


def test_vectors_are_over_the_rfc6962_test_leaves() -> None:
    case = json.loads((VECTORS / "inclusion/2/happy-path.json").read_text())
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in RFC6962_LEAVES]
    assert _b64(case["leafHash"]) == leaves[5]
    assert _b64(case["root"]) == merkle.root(leaves)
    assert [_b64(p) for p in case["proof"]] == merkle.inclusion_proof(5, 8, leaves)


# --- Trees made by hypothesis. ---


@cache
def _leaves(n: int) -> tuple[bytes, ...]:
    return tuple(merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n))


@cache
def _roots(n: int) -> tuple[bytes, ...]:
    return tuple(merkle.root(_leaves(n)[:k]) for k in range(n + 1))


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8 % len(b)] ^= 1 << bit % 8
    return bytes(b)


def _shape(index: int, size: int) -> list[bool]:
    """For each inclusion proof hash, leaf level first: is it on the left?"""
    out = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        out.append(index >= lo + k)
        lo, hi = (lo + k, hi) if index >= lo + k else (lo, lo + k)
    return out[::-1]


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=sizes)
def test_inclusion_proofs_verify_and_resist_changes(data: st.DataObject, n: int) -> None:
    leaves, root = _leaves(n), _roots(n)[n]
    i = data.draw(st.integers(0, n - 1), label="index")
    proof = merkle.inclusion_proof(i, n, leaves)
    assert len(proof) == merkle.inclusion_proof_length(i, n)
    merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=n, proof=proof, root=root)

    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(ProofError, match="calculated root"):
        merkle.verify_inclusion(leaf_hash=_flip(leaves[i], bit), index=i, size=n, proof=proof, root=root)
    with pytest.raises(ProofError, match="calculated root"):
        merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=n, proof=proof, root=_flip(root, bit))
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        bad = proof[:j] + [_flip(proof[j], bit)] + proof[j + 1 :]
        with pytest.raises(ProofError, match="calculated root"):
            merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=n, proof=bad, root=root)
        with pytest.raises(ProofError, match="want"):
            merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=n, proof=proof[:-1], root=root)
    with pytest.raises(ProofError, match="want"):
        merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=n, proof=proof + [root], root=root)

    other = data.draw(st.integers(0, 2 * n), label="other index")
    if other != i:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaf_hash=leaves[i], index=other, size=n, proof=proof, root=root)
    # A proof commits to the shape of the path, not to the size: another size
    # with the same shape passes, which is why checkpoints sign size and root
    # together. Any other shape fails.
    size2 = data.draw(st.integers(1, 2 * n), label="other size")
    same_shape = i < size2 and _shape(i, size2) == _shape(i, n)
    try:
        merkle.verify_inclusion(leaf_hash=leaves[i], index=i, size=size2, proof=proof, root=root)
        assert same_shape
    except ProofError:
        assert not same_shape


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=sizes)
def test_consistency_proofs_verify_and_resist_changes(data: st.DataObject, n: int) -> None:
    leaves, roots = _leaves(n), _roots(n)
    m = data.draw(st.integers(1, n), label="size1")
    proof = merkle.consistency_proof(m, n, leaves)
    if m < n:
        assert len(proof) == merkle.consistency_proof_length(m, n)
    merkle.verify_consistency(size1=m, size2=n, proof=proof, root1=roots[m], root2=roots[n])

    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(ProofError, match="root"):
        merkle.verify_consistency(size1=m, size2=n, proof=proof, root1=_flip(roots[m], bit), root2=roots[n])
    with pytest.raises(ProofError, match="root"):
        merkle.verify_consistency(size1=m, size2=n, proof=proof, root1=roots[m], root2=_flip(roots[n], bit))
    if m < n:
        with pytest.raises(ProofError, match="root"):  # swapped roots
            merkle.verify_consistency(size1=m, size2=n, proof=proof, root1=roots[n], root2=roots[m])
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        bad = proof[:j] + [_flip(proof[j], bit)] + proof[j + 1 :]
        with pytest.raises(ProofError, match="calculated root"):
            merkle.verify_consistency(size1=m, size2=n, proof=bad, root1=roots[m], root2=roots[n])
    # Claimed for other sizes, with those sizes' true roots, the proof passes
    # only where it is the true proof of those sizes.
    m2 = data.draw(st.integers(1, n), label="other size1")
    n2 = data.draw(st.integers(m2, n), label="other size2")
    if (m2, n2) != (m, n):
        try:
            merkle.verify_consistency(size1=m2, size2=n2, proof=proof, root1=roots[m2], root2=roots[n2])
            assert proof == merkle.consistency_proof(m2, n2, leaves)
        except ProofError:
            assert proof != merkle.consistency_proof(m2, n2, leaves)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 200))
def test_frontier_root_and_stored_nodes(n: int) -> None:
    leaves, roots = _leaves(n), _roots(n)
    cr = CompactRange()
    assert cr.root() == merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    stored: dict[tuple[int, int], bytes] = {}
    for k, leaf in enumerate(leaves):
        completed = cr.append(leaf)
        assert completed[0] == (0, k, leaf)
        for level, idx, h in completed:
            assert h == merkle.root(leaves[idx << level : (idx + 1) << level])
            stored[(level, idx)] = h
        assert cr.size == k + 1
        assert cr.root() == roots[k + 1]
        assert merkle.fold_subtrees([stored[key] for key in merkle.subtree_root_plan(k + 1)]) == roots[k + 1]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_plans_assemble_the_reference_proofs(data: st.DataObject, n: int) -> None:
    leaves, roots = _leaves(n), _roots(n)
    cr, stored = CompactRange(), {}
    for leaf in leaves:
        stored.update(((lv, i), h) for lv, i, h in cr.append(leaf))
    i = data.draw(st.integers(0, n - 1), label="index")
    plan = merkle.inclusion_proof_plan(i, n)
    assert merkle.assemble(plan, stored) == merkle.inclusion_proof(i, n, leaves)
    assert sum(len(e) > 1 for e in plan) <= 1  # at most one folded right edge
    m = data.draw(st.integers(1, n), label="size1")
    plan = merkle.consistency_proof_plan(m, n)
    assert merkle.assemble(plan, stored) == merkle.consistency_proof(m, n, leaves)
    assert len({k for e in plan for k in e}) <= 2 * n.bit_length() + 2
    assert merkle.assemble([merkle.subtree_root_plan(m)], stored) == [roots[m]]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=sizes)
def test_a_range_rebuilt_from_its_stored_frontier_goes_on_as_the_original(data: st.DataObject, n: int) -> None:
    """What a start from a snapshot does (issue 16): the frontier read back
    from the stored nodes is the range itself; it has the same root and
    grows to the same roots."""
    leaves, roots = _leaves(n), _roots(n)
    k = data.draw(st.integers(0, n), label="size")
    cr, stored = CompactRange(), {}
    for leaf in leaves[:k]:
        stored.update(((lv, i), h) for lv, i, h in cr.append(leaf))
    back = CompactRange.from_frontier(k, [stored[key] for key in merkle.subtree_root_plan(k)])
    assert back.size == k and back.root() == cr.root() == roots[k]
    for j, leaf in enumerate(leaves[k:], start=k + 1):
        back.append(leaf)
        assert back.root() == roots[j]
    with pytest.raises(ProofError):  # 3 leaves are two subtrees (2 + 1), not one
        CompactRange.from_frontier(3, [roots[1]])


@settings(deadline=None)
@given(size=st.integers(1, 2**62), data=st.data())
def test_inclusion_plans_tile_the_tree_at_any_size(size: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, size - 1))
    plan = merkle.inclusion_proof_plan(i, size)
    assert len(plan) == merkle.inclusion_proof_length(i, size)
    ranges = sorted([(i, i + 1)] + [(idx << lv, (idx + 1) << lv) for e in plan for lv, idx in e])
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert len({k for e in plan for k in e}) <= 2 * size.bit_length()


@settings(deadline=None)
@given(size2=st.integers(2, 2**62), data=st.data())
def test_consistency_plan_length_matches_at_any_size(size2: int, data: st.DataObject) -> None:
    size1 = data.draw(st.integers(1, size2 - 1))
    plan = merkle.consistency_proof_plan(size1, size2)
    assert len(plan) == merkle.consistency_proof_length(size1, size2)
    assert len({k for e in plan for k in e}) <= 2 * size2.bit_length()


# --- Every refusal, with its message. ---

H = bytes(32)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(leaf_hash=H, index=1, size=1, proof=[], root=H), "index 1 is beyond the tree"),
        (dict(leaf_hash=H, index=0, size=0, proof=[], root=H), "index 0 is beyond the tree"),
        (dict(leaf_hash=H, index=-1, size=1, proof=[], root=H), "index is -1, want a non-negative"),
        (dict(leaf_hash=H, index=True, size=2, proof=[H], root=H), "index is True"),
        (dict(leaf_hash=H[:31], index=0, size=1, proof=[], root=H), "leaf hash has 31 bytes, want 32"),
        (dict(leaf_hash="00" * 32, index=0, size=1, proof=[], root=H), "leaf hash is str, want bytes"),
        (dict(leaf_hash=H, index=0, size=1, proof=[], root=H + b"\0"), "root has 33 bytes, want 32"),
        (dict(leaf_hash=H, index=0, size=4, proof=[H], root=H), "proof has 1 hashes, want 2"),
        (dict(leaf_hash=H, index=0, size=2, proof=[b""], root=H), r"proof\[0\] has 0 bytes, want 32"),
        (dict(leaf_hash=H, index=0, size=2, proof=H, root=H), "proof is bytes, want a list"),
    ],
)
def test_verify_inclusion_refusals(kwargs: dict, match: str) -> None:
    with pytest.raises(ProofError, match=match):
        merkle.verify_inclusion(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(size1=2, size2=1, proof=[], root1=H, root2=H), "size1 2 is greater than size2 1"),
        (dict(size1=0, size2=0, proof=[], root1=merkle.EMPTY_ROOT, root2=merkle.EMPTY_ROOT), "size1 is 0"),
        (dict(size1=0, size2=3, proof=[H], root1=H, root2=H), "size1 is 0"),
        (dict(size1=3, size2=3, proof=[H], root1=H, root2=H), "proof has 1 hashes, want 0"),
        (dict(size1=3, size2=3, proof=[], root1=H, root2=b"\1" * 32), "sizes are equal but root1"),
        (dict(size1=1, size2=2, proof=[], root1=H, root2=H), "proof has 0 hashes, want 1"),
        (dict(size1=1, size2=2, proof=[H], root1=H[:4], root2=H), "root1 has 4 bytes, want 32"),
        (dict(size1=-1, size2=2, proof=[H], root1=H, root2=H), "size1 is -1"),
    ],
)
def test_verify_consistency_refusals(kwargs: dict, match: str) -> None:
    with pytest.raises(ProofError, match=match):
        merkle.verify_consistency(**kwargs)


def test_plan_and_frontier_refusals() -> None:
    with pytest.raises(ProofError, match="index 5 is beyond the tree"):
        merkle.inclusion_proof_plan(5, 5)
    with pytest.raises(ProofError, match="want 0 < size1 0 <= size2 3"):
        merkle.consistency_proof_plan(0, 3)
    with pytest.raises(ProofError, match="stored node \\(0, 3\\) is missing"):
        merkle.assemble(merkle.inclusion_proof_plan(2, 4), {})
    with pytest.raises(ProofError, match="not aligned"):
        merkle.range_keys(1, 3)
    with pytest.raises(ProofError, match="leaf hash has 3 bytes, want 32"):
        CompactRange().append(b"abc")
    with pytest.raises(ProofError, match="want 0 <= index 2 < size 2"):
        merkle.inclusion_proof(2, 2, [H, H])
