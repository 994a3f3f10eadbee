"""The live system at N members (issue 16): build an assembly through the
ballot box once, then measure, in one run and beside a baseline, the close-
time tally, the live update after one ballot, a real server.py's start-up
(from the projection tables, then from the state snapshot its stop wrote),
memory, reads under ingest, ingest with SSE listeners and a polling page,
bytes on disk, and 1 vs 2 server processes on PostgreSQL.

    python bench/scale.py [--members 100000] [--out bench/out] [--ballots 2000] [--clients 64]
                          [--pg-members 20000] [--no-pg | --pg-only] [--pg-rounds 2]

The assembly: `--members` members (each an invite and an enrol), 13 topics
in a tree, a roster of 577 deputies, one open motion `m` in a leaf topic;
30 % vote on it, half delegate, in chains of up to three hops over scopes of
the tree (`*`, the root topic, the motion's own leaf, a sibling leaf that
does not count for `m`), with one in ten of some classes in two-member
cycles; the rest do nothing. About 2.8 entries per member, like the probe
of the issue. Built once into `--out/scale-N/` (SQLite) and copied for each
run, since the ingest writes to it.

Baselines, same run: the full resolution (delegation.resolve, what every
read and close did before) beside the live counts; the trivial aiohttp
ceiling beside server.py; no listeners beside 100 SSE listeners and a page
polling the motion every `--poll-interval` seconds (0.1: ten times a second,
more often than any page; the web UI itself polls nothing, it listens) from
a process of its own, and beside the same listeners with a poller in this
process that sends its next GET as soon as the last one answered ("flood",
the poller of the first runs of this bench).
`sse_ingest_ratio` is loaded / none; the flood's ratio is reported beside
it. The last line is one line of figures:
`members=N close_tally_s=X live_update_ms=Y get_motion_p99_ms=Z sse_ingest_ratio=R startup_s=S rss_mib=M`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tally  # noqa: E402
from ballots.box import BallotBox  # noqa: E402
from ballots.closing import counts, electorate, seed, tally_options  # noqa: E402
from ballots.live import LiveTallies  # noqa: E402
from ballots.state import AssemblyState, Member, Motion, Topic, apply  # noqa: E402
from ballots.statements import Kind, Statement, format_time  # noqa: E402
from bench.ingest import NO_EDGE_LIMITS, TRIVIAL, free_port, pct, post, wait_up, writer_figures  # noqa: E402
from client.author import code_hash  # noqa: E402
from crypto.signing import KeyPair, statement_message  # noqa: E402
from delegation import resolve  # noqa: E402
from tests.big_assembly import Signer, append_all  # noqa: E402

DEPUTIES = 577
TOPICS = (
    [("gov", None)] + [(f"b{i}", "gov") for i in range(4)] + [(f"b{i}l{j}", f"b{i}") for i in range(4) for j in (0, 1)]
)
LEAF, SIBLING = "b0l0", "b0l1"


def role(i: int) -> str:
    """What member i does: vote (30 %), delegate (50 %) or nothing (20 %)."""
    r = i % 10
    return "vote" if r < 3 else ("idle" if r < 5 else "delegate")


def plan_delegation(i: int, n: int, rnd: random.Random) -> tuple[str, int]:
    """(scope, target) of delegating member i: chains 7 -> 6 -> 5 -> a
    voter, 9 -> 8 -> a voter; one 8 in ten makes a two-member cycle with its 9."""
    r, base = i % 10, i - i % 10
    scope = rnd.choice(["*", "topic:gov", f"topic:{LEAF}", f"topic:{LEAF}", f"topic:{SIBLING}"])
    if r == 5:
        return scope, base + rnd.randrange(3)
    if r in (6, 7):
        return scope, i - 1
    if r == 8:
        return scope, (base + 9) if (i // 10) % 10 == 0 and base + 9 < n else base + 1
    return scope, base + 8


def seeds(n: int) -> Iterator[bytes]:
    rnd = random.Random(16)
    for _ in range(n):
        yield rnd.randbytes(32)


async def build(data_dir: Path, n: int) -> dict[str, Any]:
    """The assembly of the module docstring, through BallotBox.append."""
    t0 = time.perf_counter()
    tmp = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    server_key = KeyPair(random.Random(1).randbytes(32))
    (tmp / "server.key").write_text(server_key.seed.hex() + "\n")
    os.chmod(tmp / "server.key", 0o600)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{(tmp / 'liquid-mandate.db').resolve()}", server_key)
    rnd = random.Random(17)
    founder = Signer(b"\x01" * 32)
    try:
        genesis = {
            "v": 1,
            "assembly": "",
            "kind": "assembly",
            "author": founder.public,
            "seq": 1,
            "name": f"Scale {n}",
            "organizers": [founder.public],
            "server": server_key.public_hex,
            "rules": {"method": "largest_remainder", "quorum": 0, "no_quorum": "abstain"},
        }
        founder.seq = 1
        await box.append(
            {"statement": genesis, "signature": founder.key.sign(statement_message(genesis)).signature.hex()}
        )
        asm = box.state.assembly_id
        assert asm is not None
        people = [Signer(s) for s in seeds(n)]

        def enrolments() -> Iterator[dict[str, Any]]:
            for i, p in enumerate(people):
                code = f"code-{i}"
                yield founder.sign(asm, "invite", code_hash=code_hash(code), note="")
                yield p.sign(asm, "enroll", code=code, name=f"m{i}")

        await append_all(box, enrolments())
        for tid, parent in TOPICS:
            await box.append(founder.sign(asm, "topic", id=tid, title=tid, description="", parent=parent))
        voters = [i for i in range(n) if role(i) == "vote"]
        await box.append(founder.sign(asm, "deputies", roster=[people[i].public for i in voters[:DEPUTIES]]))
        now = datetime.now(UTC)
        await box.append(
            founder.sign(
                asm,
                "motion",
                id="m",
                topic=LEAF,
                title="Budget",
                summary="The budget.",
                url="",
                quorum=None,
                opens=format_time(now - timedelta(hours=1)),
                closes=format_time(now + timedelta(days=365)),
            )
        )

        def activity() -> Iterator[dict[str, Any]]:
            for i, p in enumerate(people):
                if role(i) == "delegate":
                    scope, to = plan_delegation(i, n, rnd)
                    if to < n and to != i:
                        yield p.sign(asm, "delegate", scope=scope, to=people[to].public)
                elif role(i) == "vote":
                    yield p.sign(asm, "ballot", motion="m", choice=rnd.choice(("yes", "yes", "no", "abstain")))

        await append_all(box, activity())
        size = box.state.size
    finally:
        await box.aclose()
    tmp.rename(data_dir)
    meta = {"members": n, "entries": size, "build_s": round(time.perf_counter() - t0, 1)}
    (data_dir / "meta.json").write_text(json.dumps(meta))
    return meta


def idle_ballots(n: int, asm: str, start: int, count: int) -> list[dict[str, Any]]:
    """Ballots of idle members (seq 2: their enrol was seq 1), from the
    `start`-th idle member on; each run takes fresh ones."""
    idle = [i for i in range(n) if role(i) == "idle"][start : start + count]
    want = set(idle)
    out = []
    for i, key_seed in enumerate(seeds(n)):
        if i in want:
            s = Signer(key_seed)
            s.seq = 1
            out.append(s.sign(asm, "ballot", motion="m", choice=random.choice(("yes", "no", "abstain"))))
    return out


def med_ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 3)


class Clocks:
    """Wall and CPU time of the same calls: on a shared, loaded machine the
    CPU time of single-threaded work is the figure that does not depend on
    the neighbours; both are reported."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._t = self._c = 0.0

    def __enter__(self) -> Clocks:
        self._t, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)

    def figures(self, name: str) -> dict[str, float]:
        return {
            f"{name}_median_ms": med_ms(self.wall),
            f"{name}_p99_ms": round(pct(self.wall, 0.99) * 1000, 3),
            f"{name}_cpu_median_ms": med_ms(self.cpu),
        }


async def in_process(db: Path, n: int) -> dict[str, Any]:
    """Close-time tally and live update, in this process, live vs full."""
    key = KeyPair(bytes.fromhex((db.parent / "server.key").read_text().strip()))
    open_clock = Clocks()
    with open_clock:
        box = await BallotBox.open(f"sqlite+aiosqlite:///{db.resolve()}", key)
    try:
        figures = measure_state(box.state)
    finally:
        await box.aclose()
    return {"box_open_s": round(open_clock.wall[0], 2), "box_open_cpu_s": round(open_clock.cpu[0], 2), **figures}


def synthetic_state(n: int) -> tuple[AssemblyState, dict[str, Any]]:
    """The same assembly as `build`, folded straight into an AssemblyState
    (no signatures, no SQL): for the pure figures at sizes the box cannot
    be filled with in the time at hand. Then the live resolution is built
    as at start-up (timed)."""
    rnd = random.Random(17)
    state = AssemblyState(
        size=1, assembly_id="a" * 64, rules=dict(method="largest_remainder", quorum=0, no_quorum="abstain")
    )
    keys = [random.Random(i).randbytes(32).hex() for i in range(n)]
    for i, k in enumerate(keys):
        state.members[k] = Member(k, f"m{i}", True, 2 * i + 2, "")
        state.seqs[k] = 1
    for tid, parent in TOPICS:
        state.topics[tid] = Topic(tid, tid, "", parent, 0)
    voters = [i for i in range(n) if role(i) == "vote"]
    state.roster = tuple(keys[i] for i in voters[:DEPUTIES])
    now = datetime.now(UTC)
    state.motions["m"] = Motion(
        "m", LEAF, "Budget", "", "", now - timedelta(hours=1), now + timedelta(days=365), None, 0
    )
    box: dict[str, str] = {}
    state.ballots["m"] = box
    for i, k in enumerate(keys):
        if role(i) == "delegate":
            scope, to = plan_delegation(i, n, rnd)
            if to < n and to != i:
                state.settings[k] = {scope: keys[to]}
        elif role(i) == "vote":
            box[k] = rnd.choice(("yes", "yes", "no", "abstain"))
    c = Clocks()
    with c:
        LiveTallies.attach(state)
    return state, {"live_build_s": round(c.wall[0], 2), "live_build_cpu_s": round(c.cpu[0], 2)}


def measure_state(state: AssemblyState) -> dict[str, Any]:
    """Close-time tally (live counts vs full resolution), live update after
    a ballot, a withdrawal and a delegation change, on one state."""
    close_hash = bytes(32)
    live_close, full_close = Clocks(), Clocks()
    for _ in range(5):
        with live_close:
            r = close_hash  # a stand-in for the close's reveal: the cost is the same
            doc = tally.result_document(
                counts(state, "m"),
                motion="m",
                close_hash=close_hash,
                seed=seed(state, "m", r),
                **tally_options(state, "m"),
            )
        with full_close:
            ref_doc = tally.close_motion(
                electorate(state, "m"), motion="m", close_hash=close_hash, reveal=r, **tally_options(state, "m")
            )
        assert doc == ref_doc
    assert state.live is not None
    idle = [k for i, k in enumerate(state.live.keys) if role(i) == "idle"]
    rnd = random.Random(5)
    updates = Clocks()
    # One ballot, then its withdrawal, by idle members, through apply: the
    # state's live resolution is updated in place (nothing is written).
    for k in rnd.sample(idle, min(400, len(idle))):
        for choice in (rnd.choice(("yes", "no")), None):
            seq = state.seqs.get(k, 0) + 1
            st = Statement(1, state.assembly_id or "", Kind.BALLOT, k, seq, {"motion": "m", "choice": choice}, {})
            with updates:
                apply(state, st, index=state.size, entry_hash="00" * 32)
                c = counts(state, "m")
    # And a delegation change: a delegating member re-points at a voter.
    voters = [k for i, k in enumerate(state.live.keys) if role(i) == "vote"]
    moves = Clocks()
    for k in rnd.sample([k for i, k in enumerate(state.live.keys) if role(i) == "delegate"], 200):
        seq = state.seqs.get(k, 0) + 1
        body = {"scope": "*", "to": rnd.choice(voters)}
        st = Statement(1, state.assembly_id or "", Kind.DELEGATE, k, seq, body, {})
        with moves:
            apply(state, st, index=state.size, entry_hash="00" * 32)
            c = counts(state, "m")
    full_reads = Clocks()
    for _ in range(3):
        with full_reads:
            ref = resolve(electorate(state, "m")).counts
    assert ref == c, (ref, c)
    return {
        **live_close.figures("close_tally_live"),
        **full_close.figures("close_tally_full"),
        **updates.figures("live_update_ballot"),
        **moves.figures("live_update_delegate"),
        **full_reads.figures("full_resolution"),
        "counts": c.as_dict(),
    }


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def start_server(
    data_dir: Path, port: int, db_url: str | None = None, verify_processes: int = 0, log: Path | None = None
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--data-dir", str(data_dir)]
    argv += ["--verify-processes", str(verify_processes), *NO_EDGE_LIMITS]
    if db_url:
        argv += ["--db-url", db_url]
    out = subprocess.DEVNULL if log is None else open(log, "ab")  # noqa: SIM115 (the child holds it)
    return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


CHECKED = "the checks put off by the start from the snapshot passed"


async def put_off_checks_done(log: Path, since: int, timeout: float = 900) -> float:
    """Seconds until the server's log (from byte ``since``) says the checks a
    start from the snapshot put off have passed."""
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        if CHECKED in log.read_text(errors="replace")[since:]:
            return time.perf_counter() - t
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the put-off checks did not pass in {timeout} s")


async def timed_up(session: aiohttp.ClientSession, base: str, timeout: float = 600) -> float:
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        try:
            async with session.get(base + "/readyz") as r:
                if r.status == 200:
                    return time.perf_counter() - t
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not come up in {timeout} s")


async def probe(session: aiohttp.ClientSession, url: str, times: int = 15) -> float:
    lat = []
    for _ in range(times):
        t = time.perf_counter()
        async with session.get(url) as r:
            await r.read()
            assert r.status == 200, url
        lat.append(time.perf_counter() - t)
    return med_ms(lat)


async def ingest(
    session: aiohttp.ClientSession, bases: list[str], envelopes: list[dict[str, Any]], clients: int
) -> tuple[float, list[float]]:
    """`clients` concurrent clients post `envelopes` (spread over `bases`);
    returns (statements per second, latencies)."""
    parts = [envelopes[i::clients] for i in range(clients)]
    lat: list[float] = []

    async def client(c: int, mine: list[dict[str, Any]]) -> None:
        base = bases[c % len(bases)]
        for env in mine:
            t = time.perf_counter()
            await post(session, base, env)
            lat.append(time.perf_counter() - t)

    t = time.perf_counter()
    await asyncio.gather(*(client(c, p) for c, p in enumerate(parts)))
    return len(envelopes) / (time.perf_counter() - t), lat


async def with_listeners(
    session: aiohttp.ClientSession,
    base: str,
    envelopes: list[dict[str, Any]],
    clients: int,
    listeners: int,
    poll_interval: float,
) -> tuple[float, list[float], list[float], int]:
    """Ingest with `listeners` SSE streams open and one page polling the
    motion, a GET every `poll_interval` seconds (0: as soon as the previous
    one answered): (rate, post latencies, GET latencies, tally events the
    listeners got)."""
    got = [0]
    stop = asyncio.Event()
    ready = 0

    async def listen() -> None:
        # Each listener stands for a browser elsewhere: it counts the tally
        # events in whatever chunk arrives instead of parsing line by line,
        # so that the 100 of them cost this process (and the two cores the
        # server shares with it) little. (Line by line, as first written, the
        # listeners' own CPU starved the 64 posting clients: docs/PERFORMANCE.md.)
        nonlocal ready
        marker, tail = b"\nevent: tally\n", b"\n"
        async with session.get(base + "/api/events", timeout=aiohttp.ClientTimeout(total=None)) as r:
            ready += 1
            async for chunk in r.content.iter_any():
                data = tail + chunk
                got[0] += data.count(marker)
                tail = data[-(len(marker) - 1) :]
                if stop.is_set():
                    return

    gets: list[float] = []

    async def poll() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            async with session.get(base + "/api/motions/m") as r:
                await r.read()
            gets.append(time.perf_counter() - t)

    tasks = [asyncio.create_task(listen()) for _ in range(listeners)]
    while ready < listeners:
        await asyncio.sleep(0.05)
    # The page polling at an interval is a process of its own (a browser
    # elsewhere): its GETs' latency is then the server's, not that of this
    # process's loop, busy with 64 clients and 100 listeners.
    page = None
    if listeners and poll_interval:
        page = subprocess.Popen(
            [sys.executable, "-c", PAGE, base + "/api/motions/m", str(poll_interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        await asyncio.sleep(0.5)  # its imports
    poller = asyncio.create_task(poll()) if listeners and not poll_interval else None
    rate, lat = await ingest(session, [base], envelopes, clients)
    stop.set()
    if poller:
        await poller
    if page is not None:
        out, _ = await asyncio.to_thread(page.communicate, b"")
        gets = json.loads(out)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return rate, lat, gets, got[0]


# A page polling a URL every INTERVAL seconds until its stdin closes; prints
# the latencies (seconds) as JSON.
PAGE = """
import asyncio, json, sys, threading, time
import aiohttp
url, interval = sys.argv[1], float(sys.argv[2])
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
async def main():
    out = []
    async with aiohttp.ClientSession() as s:
        while not done.is_set():
            t = time.perf_counter()
            async with s.get(url) as r:
                await r.read()
            out.append(time.perf_counter() - t)
            await asyncio.sleep(max(0.0, t + interval - time.perf_counter()))
    print(json.dumps(out))
asyncio.run(main())
"""


async def ceiling(session: aiohttp.ClientSession, envelopes: list[dict[str, Any]], clients: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", TRIVIAL, str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(session, base)
        rate, _ = await ingest(session, [base], envelopes, clients)
        return rate
    finally:
        proc.terminate()
        proc.wait()


def disk_usage(db: Path, entries: int) -> dict[str, Any]:
    """Bytes per entry, and which tables and indexes take them (SQLite dbstat)."""
    size = db.stat().st_size
    out: dict[str, Any] = {"file_bytes": size, "bytes_per_entry": round(size / entries)}
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            out["by_table"] = {name: round(b / entries) for name, b in rows}
            avg = conn.execute("SELECT AVG(LENGTH(data)) FROM entries").fetchone()[0]
            out["entry_data_avg_bytes"] = round(avg)
    except sqlite3.Error as e:  # dbstat is a compile-time option of SQLite
        out["by_table"] = f"unavailable: {e}"
    return out


async def postgres_processes(n: int, clients: int, ballots: int, rounds: int = 2) -> dict[str, Any]:
    """1 vs 2 server processes on one PostgreSQL database (an assembly of
    `n` members built there through the box): ballots per second, same run."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.pg import pg_bindir  # noqa: PLC0415

    bindir = pg_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL binaries"}
    base = Path(tempfile.mkdtemp(prefix="lm-scale-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd  # noqa: PLC0415

        u = pwd.getpwnam("postgres")
        os.chown(base, u.pw_uid, u.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = base / "data"
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} -c max_connections=200"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w", "start"],
        check=True,
        capture_output=True,
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        work = base / "srv"
        await build(work, n)
        # build() wrote SQLite; replay its log into PostgreSQL through the box.
        from ballots.statements import parse_signed  # noqa: PLC0415, F401

        key = KeyPair(bytes.fromhex((work / "server.key").read_text().strip()))
        src = await BallotBox.open(f"sqlite+aiosqlite:///{(work / 'liquid-mandate.db').resolve()}", key)
        lines = await src.export(0, None)
        await src.aclose()
        (work / "liquid-mandate.db").unlink()
        dst = await BallotBox.open(url, key)
        # The server's own entries (the motion's `commit`) the box appends by itself again, the same.
        envs = [e for e in map(json.loads, lines) if e["statement"]["author"] != key.public_hex]
        await append_all(dst, iter({"statement": e["statement"], "signature": e["signature"]} for e in envs))
        asm = dst.state.assembly_id or ""
        await dst.aclose()
        result: dict[str, Any] = {"members": n}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            offset = 0
            for run, count in enumerate((1, 2) * rounds):
                ports = [free_port() for _ in range(count)]
                logs = [base / f"server-{run}-{i}.log" for i in range(count)]
                procs = [start_server(work, p, url, log=lg) for p, lg in zip(ports, logs, strict=True)]
                bases = [f"http://127.0.0.1:{p}" for p in ports]
                for b in bases:
                    await timed_up(session, b)
                envelopes = idle_ballots(n, asm, offset, ballots)
                if len(envelopes) < ballots:
                    raise SystemExit(
                        f"--pg-members {n} has too few idle members for {2 * rounds} runs of {ballots} ballots"
                    )
                offset += ballots
                cpu0 = [cpu_s(p.pid) for p in procs]
                before = [await writer_figures(session, b) for b in bases]
                t = time.perf_counter()
                rate, _ = await ingest(session, bases, envelopes, clients)
                wall = time.perf_counter() - t
                cpu = sum(cpu_s(p.pid) - c for p, c in zip(procs, cpu0, strict=True))
                after = [await writer_figures(session, b) for b in bases]
                for p in procs:
                    p.terminate()
                    p.wait()
                procs = []
                locked = sum(x["lock_seconds"] - y["lock_seconds"] for x, y in zip(after, before, strict=True))
                batches = sum(x["batches"] - y["batches"] for x, y in zip(after, before, strict=True))
                result.setdefault(f"ballots_per_batch_{count}", []).append(round(ballots / batches, 1))
                result.setdefault(f"processes_{count}", []).append(round(rate))
                # Amdahl's bound of this code: the write lock is held by one process at a time.
                result.setdefault(f"lock_ms_per_ballot_{count}", []).append(round(1000 * locked / ballots, 3))
                result.setdefault(f"lock_busy_fraction_{count}", []).append(round(locked / wall, 2))
                result.setdefault(f"server_cpu_ms_per_ballot_{count}", []).append(round(1000 * cpu / ballots, 3))
        r1, r2 = statistics.median(result["processes_1"]), statistics.median(result["processes_2"])
        result["ratio_2_to_1"] = round(r2 / r1, 2)
        lock_ms = statistics.median(result["lock_ms_per_ballot_2"])
        result["lock_bound_per_s"] = round(1000 / lock_ms) if lock_ms else None
        return result
    finally:
        for p in procs:
            p.terminate()
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


async def main_async(a: argparse.Namespace) -> None:
    n = a.members
    if a.synthetic:
        print(f"load average before: {os.getloadavg()}", flush=True)
        state, built = synthetic_state(n)
        figures = {"members": n, **built, **measure_state(state)}
        print("synthetic state (no box, no server):", json.dumps(figures), flush=True)
        print(f"rss of this process: {rss_mib(os.getpid())} MiB; load average after: {os.getloadavg()}")
        print(
            f"members={n} close_tally_s={figures['close_tally_live_median_ms'] / 1000:.4f} "
            f"live_update_ms={figures['live_update_ballot_median_ms']:.3f} get_motion_p99_ms=nan "
            "sse_ingest_ratio=nan startup_s=nan rss_mib=nan"
        )
        return
    if a.pg_only:
        pg = await postgres_processes(a.pg_members, a.clients, a.pg_ballots or a.ballots, a.pg_rounds)
        print("postgres:", json.dumps(pg), flush=True)
        print(f"load average after: {os.getloadavg()}", flush=True)
        return
    data_dir = (a.out / f"scale-{n}").resolve()
    if not (data_dir / "meta.json").exists():
        print(f"building {n} members into {data_dir} ...", flush=True)
        await build(data_dir, n)
    meta = json.loads((data_dir / "meta.json").read_text())
    print("assembly:", json.dumps(meta), flush=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="lm-scale-", dir=a.out))
    try:
        shutil.copy(data_dir / "server.key", work / "server.key")
        os.chmod(work / "server.key", 0o600)
        shutil.copy(data_dir / "liquid-mandate.db", work / "liquid-mandate.db")
        db = work / "liquid-mandate.db"
        disk = disk_usage(db, meta["entries"])
        print("disk:", json.dumps(disk), flush=True)
        inproc = await in_process(db, n)
        print("in process:", json.dumps(inproc), flush=True)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "server.log"
        # A first start from the projections (no snapshot yet), the baseline;
        # its stop writes the state snapshot the measured start then loads.
        proc = start_server(work, port, log=log)
        async with aiohttp.ClientSession() as session:
            cold = await timed_up(session, base)
        cold_rss, cold_cpu = rss_mib(proc.pid), cpu_s(proc.pid)
        t = time.perf_counter()
        proc.terminate()
        proc.wait()
        stop_s = time.perf_counter() - t
        snap_mib = round((work / "state.snapshot").stat().st_size / 2**20, 1)
        print(
            f"start-up from the projections {cold:.2f} s wall, {cold_cpu:.2f} s CPU, RSS {cold_rss} MiB; "
            f"stop {stop_s:.2f} s (state snapshot {snap_mib} MiB written)",
            flush=True,
        )
        since = log.stat().st_size
        proc = start_server(work, port, log=log)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                startup = await timed_up(session, base)
                rss, startup_cpu = rss_mib(proc.pid), cpu_s(proc.pid)
                print(
                    f"server start-up from the snapshot {startup:.2f} s wall, {startup_cpu:.2f} s CPU, RSS {rss} MiB",
                    flush=True,
                )
                checked = startup + await put_off_checks_done(log, since)
                print(
                    f"the put-off checks passed {checked:.2f} s after the start; CPU then {cpu_s(proc.pid):.2f} s, "
                    f"RSS {rss_mib(proc.pid)} MiB",
                    flush=True,
                )
                async with session.get(base + "/api/server") as r:
                    asm = (await r.json())["assembly"]
                probes = {
                    "get_motion_ms": await probe(session, base + "/api/motions/m"),
                    "members_limit10_ms": await probe(session, base + "/api/members?limit=10"),
                    "log_page_ms": await probe(session, base + "/api/log?from=1000&limit=100"),
                }
                print("probes alone (median):", json.dumps(probes), flush=True)
                offset, runs = 0, {"none": [], "loaded": [], "flood": []}
                gets: dict[str, list[float]] = {"loaded": [], "flood": []}
                events = 0
                for which in ("none", "loaded", "flood", "none", "loaded", "flood"):
                    envs = idle_ballots(n, asm, offset, a.ballots)
                    if len(envs) < a.ballots:
                        raise SystemExit(f"not enough idle members for {a.ballots} ballots per run")
                    offset += a.ballots
                    listeners = 0 if which == "none" else 100
                    interval = a.poll_interval if which == "loaded" else 0.0
                    cpu0 = cpu_s(proc.pid)
                    rate, lat, g, ev = await with_listeners(session, base, envs, a.clients, listeners, interval)
                    cpu_ms = (cpu_s(proc.pid) - cpu0) * 1000 / len(envs)
                    if which != "none":
                        gets[which] += g
                    events += ev
                    runs[which].append((rate, cpu_ms))
                    print(
                        f"ingest {which}: {rate:.0f}/s p50 {pct(lat, 0.5) * 1000:.1f} ms "
                        f"p99 {pct(lat, 0.99) * 1000:.1f} ms; server CPU {cpu_ms:.2f} ms/ballot; "
                        f"GETs {len(g)} (median {pct(g, 0.5) * 1000 if g else 0:.1f} ms); tally events {ev}",
                        flush=True,
                    )
                ceil = await ceiling(session, idle_ballots(n, asm, 0, a.ballots), a.clients)
                rss_after = rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        none = statistics.median(r for r, _ in runs["none"])
        loaded = statistics.median(r for r, _ in runs["loaded"])
        cpu_none = statistics.median(c for _, c in runs["none"])
        cpu_loaded = statistics.median(c for _, c in runs["loaded"])
        flood = statistics.median(r for r, _ in runs["flood"])
        cpu_flood = statistics.median(c for _, c in runs["flood"])
        get_p99 = pct(gets["loaded"], 0.99) * 1000 if gets["loaded"] else float("nan")
        flood_p99 = pct(gets["flood"], 0.99) * 1000 if gets["flood"] else float("nan")
        workers: list[float] = []
        if a.verify_ab:
            # The same ingest (no listeners) on a server checking signatures in one worker process.
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            since = log.stat().st_size
            proc = start_server(work, port, verify_processes=1, log=log)
            try:
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                    await timed_up(session, base)
                    # Like the runs above: after the checks a start from the snapshot puts off, which
                    # take the loop's spare turns for a minute at 10^6 (the thread's 0.34 was measured
                    # during them).
                    await put_off_checks_done(log, since)
                    for _ in range(2):
                        envs = idle_ballots(n, asm, offset, a.ballots)
                        if len(envs) < a.ballots:  # (it crashed on an empty run: 4 runs took every idle member)
                            raise SystemExit(
                                f"not enough idle members for 8 runs of {a.ballots} ballots: --no-verify-ab"
                            )
                        offset += a.ballots
                        rate, lat = await ingest(session, [base], envs, a.clients)
                        workers.append(rate)
                        print(f"ingest none, --verify-processes 1: {rate:.0f}/s p99 {pct(lat, 0.99) * 1000:.1f} ms")
            finally:
                proc.terminate()
                proc.wait()
        summary = {
            "ingest_none_per_s": round(none),
            "ingest_loaded_per_s": round(loaded),
            "sse_ingest_ratio": round(loaded / none, 2),
            "server_cpu_ms_per_ballot_none": round(cpu_none, 3),
            "server_cpu_ms_per_ballot_loaded": round(cpu_loaded, 3),
            "sse_cpu_ratio": round(cpu_none / cpu_loaded, 2),
            "poll_interval_s": a.poll_interval,
            "ingest_flood_per_s": round(flood),
            "flood_ingest_ratio": round(flood / none, 2),
            "server_cpu_ms_per_ballot_flood": round(cpu_flood, 3),
            "startup_cpu_s": round(startup_cpu, 2),
            "startup_from_projections_s": round(cold, 2),
            "startup_from_projections_cpu_s": round(cold_cpu, 2),
            "rss_from_projections_mib": cold_rss,
            "stop_s": round(stop_s, 2),
            "snapshot_mib": snap_mib,
            "put_off_checks_done_s": round(checked, 2),
            "ceiling_per_s": round(ceil),
            "ratio_to_ceiling": round(none / ceil, 2),
            "get_motion_under_ingest_median_ms": round(pct(gets["loaded"], 0.5) * 1000, 1) if gets["loaded"] else None,
            "get_motion_under_ingest_p99_ms": round(get_p99, 1),
            "get_motion_flood_median_ms": round(pct(gets["flood"], 0.5) * 1000, 1) if gets["flood"] else None,
            "get_motion_flood_p99_ms": round(flood_p99, 1),
            "gets_loaded": len(gets["loaded"]),
            "gets_flood": len(gets["flood"]),
            "rss_after_mib": rss_after,
            "ingest_verify_process_per_s": round(statistics.median(workers)) if workers else None,
            "verify_process_ratio": round(statistics.median(workers) / none, 2) if workers else None,
        }
        print("summary:", json.dumps(summary), flush=True)
        if not a.no_pg:
            pg = await postgres_processes(a.pg_members, a.clients, a.pg_ballots or a.ballots, a.pg_rounds)
            print("postgres:", json.dumps(pg), flush=True)
        print(f"load average after: {os.getloadavg()}", flush=True)
        print(
            f"members={n} close_tally_s={inproc['close_tally_live_median_ms'] / 1000:.4f} "
            f"live_update_ms={inproc['live_update_ballot_median_ms']:.3f} get_motion_p99_ms={get_p99:.1f} "
            f"sse_ingest_ratio={loaded / none:.2f} startup_s={startup:.2f} rss_mib={rss:.0f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--ballots", type=int, default=2000, help="ballots per ingest run")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument(
        "--poll-interval", type=float, default=0.1, help="seconds between the polling page's GETs (0: back to back)"
    )
    p.add_argument("--pg-members", type=int, default=20_000)
    p.add_argument("--pg-ballots", type=int, default=None, help="ballots per PostgreSQL run (default --ballots)")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--pg-only", action="store_true", help="only the 1 vs 2 processes on PostgreSQL")
    p.add_argument("--pg-rounds", type=int, default=2, help="rounds of (1 process, 2 processes) on PostgreSQL")
    p.add_argument(
        "--synthetic", action="store_true", help="only the pure figures, on a state folded without the box or a server"
    )
    p.add_argument(
        "--verify-ab",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also ingest on a server with --verify-processes 1",
    )
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(a))


if __name__ == "__main__":
    main()
