"""Benchmark of the crypto layer, each figure beside the raw PyNaCl verify
rate measured in the same run (so that figures from different machines or
loads can be compared through the ratio).

- encode+parse: ``canonical_bytes`` then ``parse`` of a typical signed ballot
  envelope (the statement of docs/SPEC.md section 3 and its 128-hex signature);
- sign: ``sign_statement`` (canonical bytes, domain prefix, Ed25519);
- verify: ``verify_statement`` (hex checks, canonical bytes, Ed25519);
- merkle append: ``CompactRange.append`` of precomputed leaf hashes, keeping
  the completed nodes as the ballot box does;
- raw verify: ``nacl.signing.VerifyKey.verify`` of a prebuilt key, 64-byte
  signature and the same message ``verify_statement`` checks.

Each measurement runs for about ``--seconds`` in five slices that alternate
with slices of raw verify, so both rates see the same load on a shared
machine; each repetition gives a rate and a ratio to raw verify, and the
figures are the medians over ``--repeat`` repetitions. On a loaded machine the
ratio is the steadier figure.

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
STATEMENT = {
    "v": 1,
    "assembly": hashlib.sha256(b"assembly").hexdigest(),
    "kind": "ballot",
    "author": KEY.public_hex,
    "seq": 12,
    "motion": "housing-bill-2026",
    "choice": "yes",
}
SIGNED = sign_statement(KEY, STATEMENT)


def _count(op: Callable[[int], None], seconds: float) -> tuple[int, float]:
    """Run ``op(n)`` (n operations) with n grown until one call lasts at least
    ``seconds``; return (operations, elapsed) of that call."""
    n = 32
    while True:
        t0 = time.perf_counter()
        op(n)
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n, dt
        n = max(n * 2, int(n * seconds / max(dt, 1e-6) * 1.1))


def _paired(op: Callable[[int], None], seconds: float, slices: int = 5) -> tuple[float, float]:
    """(rate of op, rate of raw verify), measured in alternating slices so
    that both see the same load on a shared machine."""
    ops = raw = 0
    t_op = t_raw = 0.0
    for _ in range(slices):
        n, dt = _count(op, seconds / slices)
        ops, t_op = ops + n, t_op + dt
        n, dt = _count(raw_verify, seconds / slices)
        raw, t_raw = raw + n, t_raw + dt
    return ops / t_op, raw / t_raw


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


# Each is timed in slices alternating with raw_verify; the raw_verify figure
# is the median of all those paired raw measurements.
MEASURES = {"encode_parse": encode_parse, "sign": sign, "verify": verify, "merkle_append": merkle_append}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="repetitions; figures are medians")
    ap.add_argument("--seconds", type=float, default=1.0, help="target seconds per measurement")
    args = ap.parse_args(argv)
    rates: dict[str, list[float]] = {k: [] for k in [*MEASURES, "raw_verify"]}
    ratios: dict[str, list[float]] = {k: [] for k in MEASURES}
    for r in range(args.repeat):
        for name, op in MEASURES.items():
            rate, raw = _paired(op, args.seconds)
            rates[name].append(rate)
            ratios[name].append(rate / raw)
            rates["raw_verify"].append(raw)
        print(
            f"repetition {r + 1}/{args.repeat}: " + " ".join(f"{k}={v[-1]:.0f}" for k, v in rates.items()),
            file=sys.stderr,
        )
    med = {k: statistics.median(v) for k, v in rates.items()}
    for name in MEASURES:
        q = statistics.quantiles(ratios[name], n=4) if len(ratios[name]) > 1 else ratios[name] * 3
        print(
            f"{name:>14}: {med[name]:>12,.0f} /s  median {statistics.median(ratios[name]):7.2f} x raw verify"
            f" (quartiles {q[0]:.2f}-{q[2]:.2f})"
        )
    print(f"{'raw_verify':>14}: {med['raw_verify']:>12,.0f} /s  (median of the paired measurements)")
    print(" ".join(f"{k}_per_s={med[k]:.0f}" for k in rates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
