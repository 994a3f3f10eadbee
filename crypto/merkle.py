"""RFC 9162 Merkle tree: hashes, proof verification, and the pieces a log needs
to serve proofs at scale (docs/SPEC.md sections 6 and 11).

Leaf hash ``SHA-256(0x00 || data)``, node hash ``SHA-256(0x01 || left || right)``
(RFC 9162 section 2.1.1). The verifiers follow RFC 9162 sections 2.1.3.2 and
2.1.4.2 and are strict: every hash is 32 bytes and a proof has exactly the
length its sizes call for, so a proof is accepted in one form only.

Storage model: a log keeps the hash of every *perfect subtree* it completes,
keyed ``(level, index)``; the subtree at level L, index i covers leaves
``[i * 2**L, (i + 1) * 2**L)`` and level 0 is the leaf hash itself.
``CompactRange.append`` reports the nodes each append completes. Any proof
element, and the root of any earlier size, is either one perfect subtree or the
fold (``fold_subtrees``) of a few of them, so the ``*_plan`` functions say which
keys to load and ``assemble`` turns the loaded hashes into the proof: O(log n)
lookups per proof. The reference generators (``root``, ``inclusion_proof``,
``consistency_proof``) are the RFC's recursive definitions, O(n), for tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH(), RFC 9162 section 2.1.1

Key = tuple[int, int]  # (level, index at level) of a perfect subtree
Plan = list[list[Key]]  # per proof element, in RFC order: the subtrees it folds


class ProofError(ValueError):
    """A proof, hash or size does not satisfy RFC 9162 (malformed or not holding)."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of the leaf data ``data``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash of two child hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(name: str, h: object) -> None:
    if not isinstance(h, (bytes, bytearray)):
        raise ProofError(f"{name} is {type(h).__name__}, want bytes")
    if len(h) != HASH_SIZE:
        raise ProofError(f"{name} has {len(h)} bytes, want {HASH_SIZE}")


def _check_size(name: str, n: object) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ProofError(f"{name} is {n!r}, want a non-negative integer")


def _check_proof(proof: object, want: int) -> None:
    if not isinstance(proof, (list, tuple)):
        raise ProofError(f"proof is {type(proof).__name__}, want a list of hashes")
    if len(proof) != want:
        raise ProofError(f"proof has {len(proof)} hashes, want {want}")
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)


def _ctz(n: int) -> int:
    return (n & -n).bit_length() - 1


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf ``index`` in a tree of
    ``size`` leaves (requires ``0 <= index < size``). The path from the leaf
    climbs the levels where ``index`` and ``size - 1`` differ (``inner``);
    above them, it meets a left sibling at every set bit of ``index`` (border)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def consistency_proof_length(size1: int, size2: int) -> int:
    """Number of hashes in the consistency proof from ``size1`` to ``size2``
    (requires ``0 < size1 < size2``): the inclusion path of the old tree's last
    leaf in the new tree, without the levels inside the last perfect subtree of
    the old tree (``shift``), plus that subtree's hash unless it is the whole
    old tree."""
    shift = _ctz(size1)
    seeded = 0 if size1 == 1 << shift else 1
    return seeded + inclusion_proof_length(size1 - 1, size2) - shift


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves
    whose root is ``root``, following RFC 9162 section 2.1.3.2.

    Requires 32-byte hashes, ``0 <= index < size`` and a proof of exactly the
    length the sizes call for. Raises ProofError otherwise or when the
    calculated root differs from ``root``; returns None when the proof holds."""
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise ProofError(f"index {index} is beyond the tree: want index < size {size}")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof(proof, inclusion_proof_length(index, size))
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:  # unreachable after the length check; kept as the RFC's step 4a
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if r != root:
        raise ProofError(f"calculated root {r.hex()}, want {bytes(root).hex()}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size2`` leaves with root ``root2`` extends the
    tree of ``size1`` leaves with root ``root1``, following RFC 9162 section
    2.1.4.2.

    Refuses ``size1 > size2`` and ``size1 == 0`` (an empty tree is consistent
    with anything, so such a check proves nothing). Equal sizes need an empty
    proof and equal roots. Requires 32-byte hashes and a proof of exactly the
    length the sizes call for. Raises ProofError; returns None when it holds."""
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 > size2:
        raise ProofError(f"size1 {size1} is greater than size2 {size2}: want size1 <= size2")
    if size1 == 0:
        raise ProofError("size1 is 0: a consistency proof from the empty tree proves nothing, want size1 >= 1")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    if size1 == size2:
        _check_proof(proof, 0)
        if root1 != root2:
            raise ProofError(f"sizes are equal but root1 {bytes(root1).hex()} differs from root2 {bytes(root2).hex()}")
        return
    _check_proof(proof, consistency_proof_length(size1, size2))
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of 2: the old root is the seed
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # unreachable after the length check; kept as the RFC's step 6a
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if fr != root1:
        raise ProofError(f"calculated root1 {fr.hex()}, want {bytes(root1).hex()}")
    if sr != root2:
        raise ProofError(f"calculated root2 {sr.hex()}, want {bytes(root2).hex()}")


# --- Reference generators: RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1, O(n). ---


def _split(n: int) -> int:
    """The largest power of 2 smaller than ``n`` (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over the given leaf hashes (RFC 9162 section 2.1.1); the empty tree
    has root SHA-256 of the empty string."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return bytes(leaf_hashes[0])
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def inclusion_proof(index: int, size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[size]) over the first ``size`` of ``leaf_hashes``."""
    if not 0 <= index < size <= len(leaf_hashes):
        raise ProofError(f"want 0 <= index {index} < size {size} <= leaves {len(leaf_hashes)}")
    return _path(index, list(leaf_hashes[:size]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return _path(m, d[:k]) + [root(d[k:])]
    return _path(m - k, d[k:]) + [root(d[:k])]


def consistency_proof(size1: int, size2: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(size1, D[size2]) over the first ``size2`` of ``leaf_hashes``;
    empty for equal sizes. Requires ``0 < size1 <= size2``."""
    if not 0 < size1 <= size2 <= len(leaf_hashes):
        raise ProofError(f"want 0 < size1 {size1} <= size2 {size2} <= leaves {len(leaf_hashes)}")
    return _subproof(size1, list(leaf_hashes[:size2]), True)


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [root(d)]
    k = _split(n)
    if m <= k:
        return _subproof(m, d[:k], b) + [root(d[k:])]
    return _subproof(m - k, d[k:], False) + [root(d[:k])]


# --- Perfect subtrees: the frontier, and proofs from stored nodes. ---


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 hash of consecutive perfect subtrees given left to right in
    strictly decreasing size, as every plan element and frontier lists them:
    ``node_hash(h0, node_hash(h1, ... node_hash(h[-2], h[-1])))``, i.e. fold
    from the right. One hash is itself; no hash is the empty root."""
    if not hashes:
        return EMPTY_ROOT
    acc = bytes(hashes[-1])
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_keys(start: int, end: int) -> list[Key]:
    """The perfect subtrees that make up leaves ``[start, end)``, largest
    first. Requires ``start`` aligned as RFC 9162's recursion aligns every
    range: a multiple of the smallest power of 2 >= ``end - start``."""
    keys: list[Key] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise ProofError(f"range start {start} is not aligned to 2^{level}")
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def subtree_root_plan(size: int) -> list[Key]:
    """Keys whose ``fold_subtrees`` is the root of the tree of ``size`` leaves
    (the frontier at that size); empty for size 0 (root = EMPTY_ROOT)."""
    _check_size("size", size)
    return range_keys(0, size)


def inclusion_proof_plan(index: int, size: int) -> Plan:
    """For each hash of the inclusion proof of ``index`` in ``size`` (RFC
    order: leaf level first), the perfect subtrees it folds. At most one
    element, the right edge of a tree whose size is not a power of 2, has
    more than one key. Requires ``0 <= index < size``."""
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise ProofError(f"index {index} is beyond the tree: want index < size {size}")
    plan: Plan = []
    lo, hi = 0, size
    while hi - lo > 1:  # the descent of PATH, root first
        mid = lo + _split(hi - lo)
        if index < mid:
            plan.append(range_keys(mid, hi))
            hi = mid
        else:
            plan.append(range_keys(lo, mid))
            lo = mid
    plan.reverse()
    return plan


def consistency_proof_plan(size1: int, size2: int) -> Plan:
    """For each hash of the consistency proof from ``size1`` to ``size2`` (RFC
    order), the perfect subtrees it folds. Requires ``0 < size1 <= size2``;
    equal sizes give an empty plan."""
    _check_size("size1", size1)
    _check_size("size2", size2)
    if not 0 < size1 <= size2:
        raise ProofError(f"want 0 < size1 {size1} <= size2 {size2}")
    plan: Plan = []
    lo, hi, complete = 0, size2, True  # SUBPROOF(m, D[lo:hi], b) with m = size1 - lo
    while size1 != hi:
        mid = lo + _split(hi - lo)
        if size1 <= mid:
            plan.append(range_keys(mid, hi))
            hi = mid
        else:
            plan.append(range_keys(lo, mid))
            lo, complete = mid, False
    if not complete:
        plan.append(range_keys(lo, hi))
    plan.reverse()
    return plan


def assemble(plan: Plan, nodes: Mapping[Key, bytes]) -> list[bytes]:
    """The proof hashes of ``plan`` from the stored subtree hashes ``nodes``.
    Raises ProofError when a needed node is missing or not 32 bytes."""
    proof: list[bytes] = []
    for element in plan:
        hashes = []
        for key in element:
            h = nodes.get(key)
            if h is None:
                raise ProofError(f"stored node {key} is missing")
            _check_hash(f"stored node {key}", h)
            hashes.append(h)
        proof.append(fold_subtrees(hashes))
    return proof


class CompactRange:
    """The frontier of an append-only tree: the hashes of the perfect subtrees
    that make up ``[0, size)``, largest first (one per set bit of ``size``).
    ``append`` is O(1) amortised (O(log n) at worst), ``root`` is O(log n)."""

    __slots__ = ("_size", "_hashes")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_frontier(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """The range of ``size`` leaves from its frontier: the hashes of the
        subtrees ``subtree_root_plan(size)`` names, in that order (stored
        nodes, so that a start need not re-read every leaf)."""
        _check_size("size", size)
        if len(hashes) != len(subtree_root_plan(size)):
            raise ProofError(f"a frontier of size {size} has {len(subtree_root_plan(size))} hashes, not {len(hashes)}")
        for h in hashes:
            _check_hash("frontier hash", h)
        r = cls()
        r._size, r._hashes = size, [bytes(h) for h in hashes]
        return r

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf. Returns the perfect subtrees this append
        completes, as ``(level, index, hash)``, starting with the leaf itself
        at level 0, so that the caller can store them for proofs."""
        _check_hash("leaf hash", leaf_hash)
        h, level, index = bytes(leaf_hash), 0, self._size
        completed = [(0, index, h)]
        while index & 1:  # a right child: merge with its left sibling
            h = node_hash(self._hashes.pop(), h)
            level, index = level + 1, index >> 1
            completed.append((level, index, h))
        self._hashes.append(h)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """The RFC 9162 root of the tree of ``size`` leaves."""
        return fold_subtrees(self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"
