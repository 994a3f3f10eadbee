"""Benchmark of the crypto layer, each figure beside the raw PyNaCl verify
rate measured in the same run (so that figures from different machines or
loads can be compared through the ratio).

- encode+parse: ``canonical_bytes`` then ``parse`` of a typical signed ballot
  envelope (the statement of DESIGN section 3 and its 128-hex signature);
- sign: ``sign_statement`` (canonical bytes, domain prefix, Ed25519);
- verify: ``verify_statement`` (hex checks, canonical bytes, Ed25519);
- merkle append: ``CompactRange.append`` of precomputed leaf hashes, keeping
  the completed nodes as the ballot box does;
- raw verify: ``nacl.signing.VerifyKey.verify`` of a prebuilt key, 64-byte
  signature and the same message ``verify_statement`` checks.

Each repetition times every measurement once, interleaved, for about
``--seconds`` each; the figures are the medians over ``--repeat`` repetitions.

    nice .venv/bin/python bench/crypto.py --repeat 7 --seconds 1

The last line is ``encode_parse_per_s=.. sign_per_s=.. verify_per_s=..
merkle_append_per_s=.. raw_verify_per_s=..``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nacl.signing  # noqa: E402

from crypto.canonical import canonical_bytes, parse  # noqa: E402
from crypto.merkle import CompactRange  # noqa: E402
from crypto.signing import KeyPair, sign_statement, statement_message, verify_statement  # noqa: E402

KEY = KeyPair(bytes(range(32)))
STATEMENT = {"v": 1, "assembly": hashlib.sha256(b"assembly").hexdigest(), "kind": "ballot",
             "author": KEY.public_hex, "seq": 12, "motion": "housing-bill-2026", "choice": "yes"}
SIGNED = sign_statement(KEY, STATEMENT)


def _rate(op: Callable[[int], None], seconds: float) -> float:
    """Operations per second of ``op(n)`` (which does n operations), with n
    grown until one call lasts at least ``seconds``."""
    n = 64
    while True:
        t0 = time.perf_counter()
        op(n)
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n / dt
        n = max(n * 2, int(n * seconds / max(dt, 1e-6) * 1.1))


def encode_parse(n: int) -> None:
    for _ in range(n):
        parse(canonical_bytes(SIGNED))


def sign(n: int) -> None:
    for _ in range(n):
        sign_statement(KEY, STATEMENT)


def verify(n: int) -> None:
    for _ in range(n):
        verify_statement(SIGNED)


_VK = nacl.signing.VerifyKey(KEY.public_bytes)
_MSG = statement_message(STATEMENT)
_SIG = bytes.fromhex(SIGNED["signature"])


def raw_verify(n: int) -> None:
    for _ in range(n):
        _VK.verify(_MSG, _SIG)


_LEAVES = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(1 << 16)]


def merkle_append(n: int) -> None:
    cr, stored = CompactRange(), {}
    leaves = _LEAVES
    for i in range(n):
        for level, idx, h in cr.append(leaves[i & 0xFFFF]):
            stored[(level, idx)] = h
        if len(stored) > 1 << 18:  # bound memory as a store would flush
            stored.clear()


MEASURES = {"encode_parse": encode_parse, "sign": sign, "verify": verify,
            "merkle_append": merkle_append, "raw_verify": raw_verify}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="repetitions; figures are medians")
    ap.add_argument("--seconds", type=float, default=1.0, help="target seconds per measurement")
    args = ap.parse_args(argv)
    runs: dict[str, list[float]] = {k: [] for k in MEASURES}
    for r in range(args.repeat):
        for name, op in MEASURES.items():
            runs[name].append(_rate(op, args.seconds))
        print(f"repetition {r + 1}/{args.repeat}: "
              + " ".join(f"{k}={v[-1]:.0f}" for k, v in runs.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in runs.items()}
    raw = med["raw_verify"]
    for name, rate in med.items():
        spread = (max(runs[name]) - min(runs[name])) / rate * 100
        print(f"{name:>14}: {rate:>12,.0f} /s  ({rate / raw:6.2f} x raw verify; spread {spread:.0f}%)")
    print(" ".join(f"{k}_per_s={med[k]:.0f}" for k in MEASURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
