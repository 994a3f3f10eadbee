"""Logs for the verifier's tests (tests only, never imported by verify_cli.py).

A scenario is built through the real ballot box, so its `close` and `result`
entries are the server's own; the tools below then tamper with a log and
re-seal it (re-sign a statement, re-chain the hashes, sign a fresh checkpoint)
so that a test can break exactly one check at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ballots.box import BallotBox
from ballots.closing import result_statement
from ballots.errors import Refused
from ballots.state import AssemblyState, apply
from ballots.statements import format_time, parse_statement
from client.author import Author, code_hash, genesis, new_code
from crypto import merkle
from crypto.canonical import canonical_bytes
from crypto.chain import GENESIS_PREV
from crypto.checkpoint import Checkpoint, origin_for, sign_checkpoint
from crypto.signing import KeyPair, sign_statement
from tests.world import Clock
from vocabulary import Kind
from witness.cosignature import cosign

SERVER_SEED = bytes(range(32))
_BOX_KINDS = frozenset(k.value for k in Kind)


@dataclass
class Scenario:
    lines: list[bytes]
    checkpoint: str  # the box's latest signed note
    since: str  # an earlier signed note (after the first close)
    server_key: KeyPair
    founder: Author
    members: list[Author]
    codes: list[str]
    assembly: str
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entries(self) -> list[dict[str, Any]]:
        return entries(self.lines)

    def index(self, kind: str, **match: Any) -> int:
        return index_of(self.entries(), kind, **match)


class Builder:
    """A founder, members with their invitation codes, and the real box."""

    def __init__(self, box: BallotBox, clock: Clock, server_key: KeyPair) -> None:
        self.box, self.clock, self.server_key = box, clock, server_key
        self.founder = Author()
        self.members: list[Author] = []
        self.codes: list[str] = []
        self.assembly = ""

    async def found(self, **rules: Any) -> None:
        await self.box.append(genesis(self.founder, server=self.server_key.public_hex, **rules))
        self.assembly = self.box.state.assembly_id

    async def org(self, kind: str, **fields: Any) -> Any:
        return await self.box.append(self.founder.sign(kind, self.assembly, **fields))

    async def enroll(self, n: int) -> None:
        for _ in range(n):
            code = new_code()
            await self.org("invite", code_hash=code_hash(code), note="")
            a = Author()
            await self.box.append(a.sign("enroll", self.assembly, code=code, name=f"m{len(self.members)}"))
            self.members.append(a)
            self.codes.append(code)

    async def topic(self, id: str, parent: str | None = None) -> None:
        await self.org("topic", id=id, title=id.title(), description="", parent=parent)

    async def motion(self, id: str, topic: str, *, closes: float, quorum: int | None = None) -> None:
        await self.org(
            "motion",
            id=id,
            topic=topic,
            title=id,
            summary="A bill.",
            url="",
            opens=format_time(self.clock.t),
            closes=format_time(self.clock.t + timedelta(seconds=closes)),
            quorum=quorum,
        )

    async def vote(self, who: int, motion: str, choice: str | None) -> Any:
        return await self.box.append(self.members[who].sign("ballot", self.assembly, motion=motion, choice=choice))

    async def delegate(self, who: int, scope: str, to: int | str | None) -> Any:
        target = self.members[to].public if isinstance(to, int) else to
        return await self.box.append(self.members[who].sign("delegate", self.assembly, scope=scope, to=target))

    async def lines(self) -> list[bytes]:
        return await self.box.export()


async def _scenario(db: Path) -> Scenario:
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    try:
        b = Builder(box, clock, key)
        await b.found(quorum=20)
        await b.enroll(8)
        await b.topic("city")
        await b.topic("housing", "city")
        await b.topic("culture")
        await b.motion("housing-bill", "housing", closes=60)
        await b.motion("culture-bill", "culture", closes=120, quorum=90)
        await b.motion("open-bill", "city", closes=3600)
        await b.org("deputies", roster=[m.public for m in b.members[:5]])
        receipts = {"ballot": (await b.vote(0, "housing-bill", "yes")).to_json()}
        await b.vote(1, "housing-bill", "no")
        await b.delegate(2, "*", 0)
        receipts["delegate"] = (await b.delegate(3, "topic:city", 2)).to_json()
        await b.delegate(4, "motion:housing-bill", 5)
        await b.delegate(5, "topic:housing", 4)  # 4 <-> 5: a cycle on housing-bill
        await b.delegate(6, "*", 7)
        await b.vote(7, "housing-bill", "abstain")
        await b.org("expel", member=b.members[7].public, reason="left")  # 6 -> 7: a dead end
        await b.delegate(6, "topic:culture", "self")
        clock.advance(seconds=61)
        await box.close_due()
        since = box.checkpoint_text
        await b.vote(0, "culture-bill", "abstain")
        await b.vote(1, "culture-bill", "yes")
        await b.vote(1, "culture-bill", None)  # withdrawn: back to the delegation (none)
        receipts["open"] = (await b.vote(2, "open-bill", "no")).to_json()
        clock.advance(seconds=60)
        await box.close_due()
        return Scenario(
            await b.lines(), box.checkpoint_text, since, key, b.founder, b.members, b.codes, b.assembly, receipts
        )
    finally:
        await box.aclose()


def build_scenario(tmp: Path) -> Scenario:
    return asyncio.run(_scenario(tmp / "scenario.db"))


async def random_assembly(db: Path, rnd: random.Random) -> tuple[list[bytes], str]:
    """A random assembly driven through the real box: members, a topic tree,
    motions, delegations (chains, cycles, self, removals), ballots, expulsions
    and rosters, then every motion closed. Refused statements are skipped."""
    clock, key = Clock(), KeyPair(SERVER_SEED)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{db}", key, clock=clock)
    try:
        b = Builder(box, clock, key)
        await b.found(
            method=rnd.choice(["largest_remainder", "dhondt", "sainte_lague"]),
            quorum=rnd.choice([0, 0, 30, 60, 100]),
            no_quorum=rnd.choice(["abstain", "no"]),
        )
        n = rnd.randint(2, 9)
        await b.enroll(n)
        topics: list[str] = []
        for t in range(rnd.randint(1, 3)):
            await b.topic(f"t{t}", rnd.choice([None, *topics]))
            topics.append(f"t{t}")
        motions = [f"m{i}" for i in range(rnd.randint(1, 3))]
        for i, m in enumerate(motions):
            await b.motion(m, rnd.choice(topics), closes=100 + 10 * i, quorum=rnd.choice([None, 0, 50]))
        await b.org("deputies", roster=[a.public for a in rnd.sample(b.members, rnd.randint(1, n))])
        scopes = ["*", *(f"topic:{t}" for t in topics), *(f"motion:{m}" for m in motions)]
        for _ in range(rnd.randint(0, 4 * n)):
            who = rnd.randrange(n)
            try:
                r = rnd.random()
                if r < 0.45:
                    await b.vote(who, rnd.choice(motions), rnd.choice(["yes", "no", "abstain", "yes", None]))
                elif r < 0.93:
                    to = rnd.choice([rnd.randrange(n), rnd.randrange(n), "self", None])
                    await b.delegate(who, rnd.choice(scopes), to)
                elif r < 0.97:
                    await b.org("expel", member=b.members[who].public, reason="gone")
                else:
                    live = [a.public for a in b.members if box.state.is_active(a.public)]
                    await b.org("deputies", roster=rnd.sample(live, rnd.randint(1, len(live))) if live else [])
            except Refused:
                pass
        clock.advance(seconds=200)
        await box.close_due()
        return await b.lines(), box.checkpoint_text
    finally:
        await box.aclose()


# -- tampering tools ----------------------------------------------------------


def entries(lines: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def dump(es: list[dict[str, Any]]) -> list[bytes]:
    return [canonical_bytes(e) for e in es]


def rechain(es: list[dict[str, Any]]) -> list[bytes]:
    """Renumber and re-link every entry (as a dishonest server would) and
    return the canonical lines."""
    prev = GENESIS_PREV
    out = []
    for i, e in enumerate(es):
        e["index"], e["prev"] = i, prev
        data = canonical_bytes(e)
        prev = hashlib.sha256(data).hexdigest()
        out.append(data)
    return out


def reseal(es: list[dict[str, Any]], server_key: KeyPair, *, keep: frozenset[int] = frozenset()) -> list[bytes]:
    """Re-chain like ``rechain`` and also recompute and re-sign every result
    (with the server's own code) except those at the indexes in ``keep``, as
    a dishonest server rewriting its history would."""
    state = AssemblyState()
    prev = GENESIS_PREV
    out = []
    for i, e in enumerate(es):
        st = e["statement"]
        if st["kind"] == "result" and i not in keep:
            header = {k: st[k] for k in ("v", "assembly", "kind", "author", "seq")}
            e["statement"] = result_statement(state, st["motion"], header)
            resign(e, server_key)
        e["index"], e["prev"] = i, prev
        data = canonical_bytes(e)
        prev = hashlib.sha256(data).hexdigest()
        if st["kind"] in _BOX_KINDS:  # a kind the box does not know yet (built by hand) leaves the tally alone
            apply(state, parse_statement(e["statement"]), index=i, entry_hash=prev)
        out.append(data)
    return out


def resign(entry: dict[str, Any], key: KeyPair) -> None:
    entry["signature"] = sign_statement(key, entry["statement"])["signature"]


def new_entry(statement: dict[str, Any], key: KeyPair, received: str) -> dict[str, Any]:
    signed = sign_statement(key, statement)
    return {"index": 0, "prev": "", "received": received, **signed}


def checkpoint_note(
    lines: list[bytes], key: KeyPair, assembly: str, size: int | None = None, root: bytes | None = None
) -> str:
    """A checkpoint of the first ``size`` lines signed by ``key``."""
    size = len(lines) if size is None else size
    if root is None:
        root = merkle.root([merkle.leaf_hash(x) for x in lines[:size]])
    return sign_checkpoint(Checkpoint(origin_for(assembly), size, root), key)


def index_of(es: list[dict[str, Any]], kind: str, **match: Any) -> int:
    for e in es:
        st = e["statement"]
        if st["kind"] == kind and all(st.get(k) == v for k, v in match.items()):
            return e["index"]
    raise LookupError(f"no {kind} entry matching {match}")


def unwitnessed_only(code: int, report: dict[str, Any]) -> bool:
    """A log with closes but no witness policy (SPEC 14.3): nothing failed and
    the only check not passed is ``witnessed_closes``, skipped because no
    policy governs its closes (exit 3, never 0)."""
    not_passed = {c: s for c, s in report["checks"].items() if s != "passed"}
    return (
        code == 3
        and report["failures"] == []
        and not_passed == {"witnessed_closes": "skipped"}
        and report["skipped"]["witnessed_closes"].startswith("no witness policy")
    )


def write_log(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    return path


# -- witness policies and cosigned checkpoints (SPEC 14) ---------------------------


def policy_fields(cosigners: list[tuple[str, KeyPair]], quorum: int, grace: int) -> dict[str, Any]:
    return {
        "cosigners": [{"name": n, "key": k.public_hex, "url": f"http://127.0.0.1:1/{n}"} for n, k in cosigners],
        "quorum": quorum,
        "grace": grace,
    }


def insert_statement(
    es: list[dict[str, Any]], at: int, author: Author, statement: dict[str, Any], server_key: KeyPair
) -> list[bytes]:
    """Insert ``statement`` (signed by ``author``, seq right after their
    previous one) as entry ``at``; the author's later statements are re-signed
    with their seq moved up by one, then the log is resealed (results
    recomputed by the server's code), as a server writing it would have."""
    es = [dict(e, statement=dict(e["statement"])) for e in es]
    before = [e["statement"]["seq"] for e in es[:at] if e["statement"]["author"] == author.public]
    st = {
        "v": 1,
        "assembly": es[1]["statement"]["assembly"],
        "author": author.public,
        "seq": (before[-1] if before else 0) + 1,
        **statement,
    }
    for e in es[at:]:
        if e["statement"]["author"] == author.public:
            e["statement"]["seq"] += 1
            resign(e, author.key)
    es.insert(at, new_entry(st, author.key, es[at - 1]["received"]))
    return reseal(es, server_key)


def with_policy(
    sc: Scenario, cosigners: list[tuple[str, KeyPair]], *, quorum: int, grace: int = 10, at: int | None = None
) -> list[bytes]:
    """The scenario's log with a `witnesses` policy inserted before its first
    motion (or at entry ``at``)."""
    es = sc.entries()
    at = index_of(es, "motion") if at is None else at
    fields = {"kind": "witnesses", **policy_fields(cosigners, quorum, grace)}
    return insert_statement(es, at, sc.founder, fields, sc.server_key)


def cosigned_note(
    lines: list[bytes],
    key: KeyPair,
    assembly: str,
    cosigners: list[tuple[str, KeyPair, int]],
    size: int | None = None,
) -> str:
    """A server-signed checkpoint of the first ``size`` lines, with one
    cosignature/v1 line per (name, key, POSIX timestamp), made by the witness
    package's own code."""
    note = checkpoint_note(lines, key, assembly, size)
    body = note.split("\n\n", 1)[0] + "\n"
    return note + "".join(cosign(body, k, n, ts) for n, k, ts in cosigners)


def closes_floor(lines: list[bytes], motion: str) -> int:
    """floor(closes) of ``motion``, in POSIX seconds."""
    from datetime import datetime

    for e in entries(lines):
        st = e["statement"]
        if st["kind"] == "motion" and st["id"] == motion:
            return int(datetime.fromisoformat(st["closes"].replace("Z", "+00:00")).timestamp())
    raise LookupError(motion)


async def import_log(url: str, lines: list[bytes], key: KeyPair, assembly: str) -> None:
    """Store ``lines`` as a database's log, as a restore from an export would:
    the entries, their Merkle nodes and a signed head, with the tables
    created and the projections left empty (``python server.py rebuild``
    fills them). The ballot box's checks are not run here: opening or
    rebuilding the box does that."""
    from ballots import schema as T
    from ballots import sql

    engine = sql.make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(T.metadata.create_all)
            frontier, nodes = merkle.CompactRange(), {}
            for line in lines:
                for level, idx, h in frontier.append(merkle.leaf_hash(line)):
                    nodes[(level, idx)] = h
            rows = []
            for i, line in enumerate(lines):
                st = json.loads(line)["statement"]
                rows.append(
                    {
                        "idx": i,
                        "hash": hashlib.sha256(line).digest(),
                        "data": line,
                        "kind": st["kind"],
                        "author": st["author"],
                    }
                )
            await sql.write_batch(conn, rows, nodes, {}, set())
            root = frontier.root()
            await sql.write_head(
                conn,
                {
                    "size": len(lines),
                    "head_hash": hashlib.sha256(lines[-1]).digest(),
                    "root": root,
                    "received": json.loads(lines[-1])["received"],
                    "checkpoint": sign_checkpoint(Checkpoint(origin_for(assembly), len(lines), root), key),
                },
            )
    finally:
        await engine.dispose()
