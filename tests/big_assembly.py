"""A large assembly for the web UI tests that need five-digit counts:
some 20,000 members, most of them voting on one open bill, a few delegating to
members who do not vote (lost at a dead end).

Built through the real append path (``ballots.box.BallotBox.append``, every
signature checked, every rule applied) into a data directory that
``server.py`` then serves. Statements are signed with PyNaCl directly (one
key derivation per member) and appended concurrently, so the box's writer
commits them in groups; each author's statements go in in seq order because
``append`` queues synchronously, in call order.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.signing

from ballots.box import BallotBox
from ballots.statements import format_time
from client.author import code_hash, new_code
from crypto.signing import KeyPair, statement_message

CHUNK = 4096  # appends in flight at once


@dataclass(frozen=True)
class BigAssembly:
    data_dir: Path
    members: int
    motion: str
    ballots: dict[str, int]  # choice -> number of direct ballots
    delegations: int
    build_seconds: float


class Signer:
    """A member's key that signs statements with its own seq, bare PyNaCl:
    building 10^5 or 10^6 members through the box (here and in
    bench/scale.py) wants nothing slower. Slots: 10^6 of them are kept."""

    __slots__ = ("key", "public", "seq")

    def __init__(self, seed: bytes) -> None:
        self.key = nacl.signing.SigningKey(seed)
        self.public = self.key.verify_key.encode().hex()
        self.seq = 0

    def sign(self, assembly: str, kind: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        st = {"v": 1, "assembly": assembly, "kind": kind, "author": self.public, "seq": self.seq, **fields}
        return {"statement": st, "signature": self.key.sign(statement_message(st)).signature.hex()}


async def append_all(box: BallotBox, envelopes: Iterable[dict[str, Any]]) -> None:
    """Append in flights of CHUNK: the box's group commit gathers them."""
    batch: list[dict[str, Any]] = []
    for env in envelopes:
        batch.append(env)
        if len(batch) == CHUNK:
            await asyncio.gather(*(box.append(e) for e in batch))
            batch = []
    if batch:
        await asyncio.gather(*(box.append(e) for e in batch))


def _signers(rnd: random.Random, members: int) -> tuple[Signer, list[Signer]]:
    founder = Signer(rnd.randbytes(32))
    return founder, [Signer(rnd.randbytes(32)) for _ in range(members)]


def signers(members: int, seed: int = 13) -> tuple[Signer, list[Signer]]:
    """The founder's and the members' keys of an assembly ``build`` made
    with these ``members`` and ``seed`` (seq 0: set ``seq`` from the
    server before signing), so that a benchmark can act in it."""
    return _signers(random.Random(seed), members)


def _write_server_key(data_dir: Path) -> KeyPair:
    """The key file server.py reads (``load_server_key``): seed hex, mode 0600."""
    key = KeyPair(os.urandom(32))
    fd = os.open(data_dir / "server.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.seed.hex() + "\n")
    return key


async def build(
    data_dir: Path, members: int = 20_000, voting: float = 0.9, delegating: float = 0.05, seed: int = 13
) -> BigAssembly:
    """Founds the assembly, enrolls ``members``, opens bill ``budget`` for a
    week, has ``voting`` of them vote (yes / no / abstain drawn with weights
    60 / 30 / 10) and ``delegating`` of the others delegate to a member who
    neither votes nor delegates."""
    t0 = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    server_key = _write_server_key(data_dir)
    box = await BallotBox.open(f"sqlite+aiosqlite:///{(data_dir / 'liquid-mandate.db').resolve()}", server_key)
    rnd = random.Random(seed)
    try:
        founder, people = _signers(rnd, members)
        genesis = {
            "v": 1,
            "assembly": "",
            "kind": "assembly",
            "author": founder.public,
            "seq": 1,
            "name": "Grande assemblée",
            "organizers": [founder.public],
            "server": server_key.public_hex,
            "rules": {"method": "largest_remainder", "quorum": 0, "no_quorum": "abstain"},
        }
        founder.seq = 1
        await box.append(
            {"statement": genesis, "signature": founder.key.sign(statement_message(genesis)).signature.hex()}
        )
        asm = box.state.assembly_id

        def enrolments() -> Iterator[dict[str, Any]]:
            for i, p in enumerate(people):
                code = new_code()
                yield founder.sign(asm, "invite", code_hash=code_hash(code), note="")
                yield p.sign(asm, "enroll", code=code, name=f"m{i}")

        await append_all(box, enrolments())
        now = datetime.now(UTC)
        await box.append(founder.sign(asm, "topic", id="finance", title="Finances", description="", parent=None))
        await box.append(
            founder.sign(
                asm,
                "motion",
                id="budget",
                topic="finance",
                title="Budget 2027",
                summary="The yearly budget.",
                url="",
                quorum=None,
                opens=format_time(now - timedelta(hours=1)),
                closes=format_time(now + timedelta(days=7)),
            )
        )
        counts = {"yes": 0, "no": 0, "abstain": 0}
        voters = people[: int(members * voting)]
        rest = people[len(voters) :]
        sinks = rest[len(rest) // 2 :]  # never vote, never delegate
        delegators = rest[: min(len(rest) // 2, int(members * delegating))]

        def votes() -> Iterator[dict[str, Any]]:
            for p in voters:
                choice = rnd.choices(("yes", "no", "abstain"), weights=(60, 30, 10))[0]
                counts[choice] += 1
                yield p.sign(asm, "ballot", motion="budget", choice=choice)
            for i, p in enumerate(delegators):
                yield p.sign(asm, "delegate", scope="*", to=sinks[i % len(sinks)].public)

        await append_all(box, votes())
        # genesis, invite + enroll each, topic, motion and its commit (docs/SPEC.md section 16), then the rest
        assert box.state.size == 1 + 2 * members + 3 + len(voters) + len(delegators)
    finally:
        await box.aclose()
    return BigAssembly(data_dir, members, "budget", counts, len(delegators), time.perf_counter() - t0)
