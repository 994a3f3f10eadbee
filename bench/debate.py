"""Benchmark of the bill page's arguments: the server time to render the
first page of a bill's debate (GET /api/motions/{id}/comments) when the bill
has 10^4 arguments (docs/PERFORMANCE.md, "Deliberation").

The assembly, built through the real ballot box on SQLite (rate limit off):
MEMBERS members, one bill, N comments on it: a third of them replies to a
random earlier comment (so threads have depth and reply counts differ),
stances drawn at random, texts of 20 to 400 characters. Then, for each
stance and for "all", the handler's own work is timed: the page of threads
strongest first (``ballots.deliberation.thread_page``), the texts of that
page read from SQL (``BallotBox.text_of``), the JSON document
(``page_view`` + ``motion_debate``) and its encoding. That is everything the
handler does between the request and the response body. The same run times
a bill of N / 100 comments (the ratio shows how the page grows with the
debate) and ``GET /api/motions/{id}`` (``views.motion_detail``), the bill
page's other request, as a baseline.

    nice .venv/bin/python bench/debate.py --comments 10000 --runs 30

The last line is `first_page_ms=X small_ms=Y motion_ms=Z`: medians, X for
the 10^4 bill over the four first pages, Y for the small bill, Z the baseline.

With ``--http`` it then starts a real ``server.py`` process on the same
database and times the same four first pages as a client sees them (one
keep-alive connection, the whole body read), beside ``GET /healthz`` on
that server, the floor of any request; that line is
`http_first_page_ms=X http_small_ms=Y http_healthz_ms=Z`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ballots import deliberation as D  # noqa: E402
from ballots import views  # noqa: E402
from ballots.box import BallotBox  # noqa: E402
from ballots.statements import format_time  # noqa: E402
from bench.ingest import free_port  # noqa: E402
from client.author import Author, code_hash, comment, genesis, new_code  # noqa: E402
from serving.keyfile import load_server_key  # noqa: E402
from serving.restore import DB_FILE  # noqa: E402

STANCES = (None, "for", "against", "neutral")
WORDS = "le loyer la ville vélo offre prix logement public rue école travail 😀 oui non".split()


async def build(box: BallotBox, members: int, bills: dict[str, int], rnd: random.Random) -> None:
    founder = Author()
    await box.append(genesis(founder, server=box.server_hex))
    asm = box.state.assembly_id
    people = []
    for _ in range(members):
        code = new_code()
        await box.append(founder.sign("invite", asm, code_hash=code_hash(code), note=""))
        a = Author()
        await box.append(a.sign("enroll", asm, code=code, name=f"m{len(people)}"))
        people.append(a)
    await box.append(founder.sign("topic", asm, id="city", title="City", description="", parent=None))
    now = datetime.now(UTC)
    for bill in bills:
        await box.append(
            founder.sign(
                "motion",
                asm,
                id=bill,
                topic="city",
                title=bill,
                summary="A bill.",
                url="",
                opens=format_time(now - timedelta(hours=1)),
                closes=format_time(now + timedelta(days=30)),
                quorum=None,
            )
        )
    for bill, n in bills.items():
        done = 0
        while done < n:
            wave = min(len(people), n - done)  # one comment per member per wave: seqs stay in order
            known = list(box.state.comments_on.get(f"motion:{bill}", []))
            batch = []
            for who in people[:wave]:
                reply = rnd.choice(known) if known and rnd.random() < 0.33 else None
                text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 60)))
                stance = rnd.choice(["for", "against", "neutral"])
                batch.append(comment(who, asm, text, motion=bill, stance=stance, reply_to=reply))
            await asyncio.gather(*(box.append(s) for s in batch))
            done += wave


async def first_page(box: BallotBox, bill: str, stance: str | None) -> bytes:
    """What the handler of GET /api/motions/{bill}/comments does (serving/deliberation.py)."""
    page = D.thread_page(box.state, D.target_of("motion", bill), stance=stance, offset=0, limit=20)
    texts = await box.text_of(page.indexes())
    body = D.page_view(box.state, page, texts)
    body.update(D.motion_debate(box.state, bill))
    return json.dumps(body).encode()


async def timed(runs: int, fn) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--comments", type=int, default=10_000)
    p.add_argument("--members", type=int, default=200)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--http", action="store_true", help="also time the pages through a real server.py process")
    a = p.parse_args()
    rnd = random.Random(a.seed)
    small = max(1, a.comments // 100)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        key = load_server_key(data)
        box = await BallotBox.open(f"sqlite+aiosqlite:///{data / DB_FILE}", key, comment_rate=None)
        try:
            t0 = time.perf_counter()
            await build(box, a.members, {"big-bill": a.comments, "small-bill": small}, rnd)
            print(f"built {box.size} entries ({a.comments} + {small} comments) in {time.perf_counter() - t0:.1f} s")
            big: list[float] = []
            for stance in STANCES:
                runs = await timed(a.runs, lambda s=stance: first_page(box, "big-bill", s))
                size = len(await first_page(box, "big-bill", stance))
                print(f"big bill, stance {stance or 'all'}: median {statistics.median(runs):.1f} ms, "
                      f"p90 {sorted(runs)[int(0.9 * len(runs))]:.1f} ms, {size / 1024:.0f} KiB")  # fmt: skip
                big += runs
            small_runs = await timed(a.runs, lambda: first_page(box, "small-bill", None))
            now = datetime.now(UTC)

            async def detail() -> None:
                json.dumps(views.motion_detail(box.state, "big-bill", now))

            base = await timed(a.runs, detail)
        finally:
            await box.aclose()
        x, y, z = statistics.median(big), statistics.median(small_runs), statistics.median(base)
        print(f"ratio big / small = {x / y:.1f}, big / motion detail = {x / z:.1f}")
        print(f"first_page_ms={x:.1f} small_ms={y:.1f} motion_ms={z:.3f}")
        if a.http:
            await over_http(data, a.runs)


async def over_http(data: Path, runs: int) -> None:
    """The same first pages through a real server process (docs/PERFORMANCE.md)."""
    import aiohttp

    port = free_port()
    argv = [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            t0 = time.perf_counter()
            while True:  # the server loads the log after it listens: /readyz says when it is done
                try:
                    async with session.get(base + "/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if proc.poll() is not None or time.perf_counter() - t0 > 600:
                    raise RuntimeError("server.py did not come up")
                await asyncio.sleep(0.1)
            print(f"server.py up in {time.perf_counter() - t0:.1f} s")

            async def get(path: str) -> None:
                async with session.get(base + path) as r:
                    await r.read()
                    assert r.status == 200, (path, r.status)

            big: list[float] = []
            for stance in STANCES:
                query = "" if stance is None else f"?stance={stance}"
                got = await timed(runs, lambda q=query: get(f"/api/motions/big-bill/comments{q}"))
                print(f"over HTTP, big bill, stance {stance or 'all'}: median {statistics.median(got):.1f} ms")
                big += got
            small = await timed(runs, lambda: get("/api/motions/small-bill/comments"))
            floor = await timed(runs, lambda: get("/healthz"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    x, y, z = statistics.median(big), statistics.median(small), statistics.median(floor)
    print(f"http_first_page_ms={x:.1f} http_small_ms={y:.1f} http_healthz_ms={z:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
