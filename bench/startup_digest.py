"""What the start-up check's keyed digest of the projections costs
(ballots/integrity.py, docs/SECURITY.md "Storage"): CPU to read every
projection row of a database, and CPU to digest them, on a database that
bench/web_pages.py or bench/scale.py built.

    .venv/bin/python bench/startup_digest.py DATA_DIR/liquid-mandate.db [--repeat 3]

Prints one line: rows, read CPU, digest CPU (median of the repeats), per row.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import create_engine, select

from ballots import integrity
from ballots import schema as T


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    engine = create_engine(f"sqlite:///{a.database}")
    with engine.connect() as conn:
        t0 = time.process_time()
        rows = {t: [dict(r) for r in conn.execute(select(t)).mappings()] for t in T.PROJECTIONS}
        read = time.process_time() - t0
    n = sum(len(v) for v in rows.values())
    key = integrity.digest_key(bytes(32))
    times = []
    for _ in range(a.repeat):
        t0 = time.process_time()
        integrity.digest_of(key, rows)
        times.append(time.process_time() - t0)
    digest = statistics.median(times)
    print(f"rows={n} read_cpu_s={read:.2f} digest_cpu_s={digest:.2f} per_row_us={digest / n * 1e6:.2f}")


if __name__ == "__main__":
    main()
