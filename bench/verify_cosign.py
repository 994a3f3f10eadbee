"""Benchmark of the verifier's cosignature checks (verify_cli.py, SPEC 14.1).

- line: what verify_cli does for each cosignature line of a note it reads:
  parse the note (``Checkpoint``, shared by the note's lines), find the
  witness by name and key id, and ``check_cosignature`` (76-byte blob,
  timestamp, Ed25519 over ``cosignature/v1\\ntime <ts>\\n`` + body);
- raw: the same messages and signatures through PyNaCl's
  ``crypto_sign_open`` binding, which is what ``check_signature`` calls: the
  floor of a line's cost;
- run: whole verifier runs (``Verifier.run`` on the SPEC-style scenario with
  a witness policy) with a --checkpoint file of ``--notes`` cosigned notes
  (3 lines each) of growing sizes; timed are the steps the notes cost, the
  checkpoint check (server signatures, against the log) and the witness step
  (cosignatures, forks, the time rule), per cosignature line.

line and raw alternate in slices so that their ratio holds on a loaded
machine. Figures are medians over ``--repeat`` repetitions.

    nice .venv/bin/python bench/verify_cosign.py --repeat 5 --notes 300

The last line is ``line_per_s=.. raw_per_s=.. run_line_per_s=..``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nacl.bindings  # noqa: E402

import verify_cli  # noqa: E402
from crypto.signing import KeyPair  # noqa: E402
from tests.verifier_logs import (  # noqa: E402
    build_scenario,
    checkpoint_note,
    closes_floor,
    cosigned_note,
    entries,
    index_of,
    with_policy,
    write_log,
)
from witness.cosignature import cosign  # noqa: E402

WITNESSES = [(f"bench.example/w{k}", KeyPair(bytes([k + 40]) * 32)) for k in range(3)]


def _notes_for_lines(n: int) -> list[str]:
    log = KeyPair(bytes([7]) * 32)
    out = []
    for i in range(n):
        note = checkpoint_note([bytes([i % 256, i // 256])], log, "00" * 32)
        body = note.split("\n\n")[0] + "\n"
        out.append(note + "".join(cosign(body, k, name, 1_800_000_000 + i) for name, k in WITNESSES))
    return out


def bench_lines(seconds: float, repeat: int) -> tuple[list[float], list[float]]:
    notes = _notes_for_lines(256)
    known = {name: [k.public_bytes] for name, k in WITNESSES}
    parsed = [verify_cli.Checkpoint(n, "bench") for n in notes]
    raw = []
    for cp in parsed:
        for name, _kid, rest in cp.signatures[1:]:
            ts = int.from_bytes(rest[:8], "big")
            raw.append((rest[8:] + verify_cli.cosignature_message(cp.text, ts), known[name][0]))

    def line_op(rounds: int) -> int:
        done = 0
        for r in range(rounds):
            cp = verify_cli.Checkpoint(notes[r & 255], "bench")
            for name, kid, rest in cp.signatures:
                keys = [k for k in known.get(name, []) if verify_cli.cosigner_key_id(name, k) == kid]
                if keys:
                    verify_cli.check_cosignature(kid + rest, cp.text, keys[0])
                    done += 1
        return done

    def raw_op(rounds: int) -> int:
        for r in range(rounds):
            for j in range(3):
                sm, pk = raw[(3 * r + j) % len(raw)]
                nacl.bindings.crypto_sign_open(sm, pk)
        return 3 * rounds

    line_rates, raw_rates = [], []
    for _ in range(repeat):
        acc = {"l": [0, 0.0], "r": [0, 0.0]}
        for _slice in range(5):
            for op, key in ((line_op, "l"), (raw_op, "r")):
                t0, n = time.perf_counter(), 0
                while time.perf_counter() - t0 < seconds / 5:
                    n += op(200)
                acc[key][0] += n
                acc[key][1] += time.perf_counter() - t0
        line_rates.append(acc["l"][0] / acc["l"][1])
        raw_rates.append(acc["r"][0] / acc["r"][1])
    return line_rates, raw_rates


def bench_run(n_notes: int, repeat: int) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-verify-cosign-"))
    sc = build_scenario(tmp)
    lines = with_policy(sc, WITNESSES, quorum=2, grace=10)
    es = entries(lines)
    hc = index_of(es, "close", motion="housing-bill")
    fh, fc = closes_floor(lines, "housing-bill"), closes_floor(lines, "culture-bill")
    log = write_log(tmp / "log.jsonl", lines)
    notes = []
    for i in range(n_notes):
        size = hc + 2 + (i * (len(lines) - hc - 2)) // max(1, n_notes - 1)
        # Distinct timestamps (within the grace) keep every note distinct.
        ts = (fh if size <= index_of(es, "close", motion="culture-bill") else fc) + 1 + i % 8
        notes.append(cosigned_note(lines, sc.server_key, sc.assembly, [(n, k, ts) for n, k in WITNESSES], size))
    notes = list(dict.fromkeys(notes))  # a note given twice is read once
    (tmp / "notes.txt").write_text("\n".join(notes))
    (tmp / "one.txt").write_text(checkpoint_note(lines, sc.server_key, sc.assembly))

    spent = [0.0]

    def timed(fn):  # type: ignore[no-untyped-def]
        def wrapper(self):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return fn(self)
            finally:
                spent[0] += time.perf_counter() - t0

        return wrapper

    verify_cli.Verifier._check_checkpoints = timed(verify_cli.Verifier._check_checkpoints)  # type: ignore[method-assign]
    verify_cli.Verifier._check_witnesses = timed(verify_cli.Verifier._check_witnesses)  # type: ignore[method-assign]

    def once(cp: str) -> tuple[float, verify_cli.Verifier]:
        spent[0] = 0.0
        v = verify_cli.Verifier(
            verify_cli.Source(str(log)),
            checkpoint_files=[str(tmp / cp)],
            receipt_paths=[],
            since_file=None,
            jobs=1,
            progress=False,
        )
        v.run()
        return spent[0], v

    rates = []
    for _ in range(repeat):
        t, v = once("notes.txt")
        assert v.exit_code() == 0, (v.failures, v.skipped)
        assert v.witness_report["cosignatures"]["valid"] == 3 * len(notes)
        rates.append(3 * len(notes) / t)
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0, help="per repetition, split in slices")
    p.add_argument("--notes", type=int, default=300, help="cosigned notes (3 lines each) in a whole run")
    a = p.parse_args()
    lr, rr = bench_lines(a.seconds, a.repeat)
    print("line/s", [round(x) for x in lr], "raw/s", [round(x) for x in rr])
    runs = bench_run(a.notes, a.repeat)
    print("run lines/s", [round(x) for x in runs])
    print(
        f"line_per_s={statistics.median(lr):.0f} raw_per_s={statistics.median(rr):.0f} "
        f"ratio={statistics.median(lr) / statistics.median(rr):.2f} run_line_per_s={statistics.median(runs):.0f}"
    )


if __name__ == "__main__":
    main()
