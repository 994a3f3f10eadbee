"""A small assembly to drive the ballot box in tests: a clock that only moves
when told, a founder, members, topics and motions, built through the real
append path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ballots.box import BallotBox
from ballots.statements import format_time
from client.author import Author, code_hash, genesis, new_code
from crypto.signing import KeyPair

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


def at(clock: Clock, **kw: float) -> str:
    return format_time(clock.t + timedelta(**kw))


@dataclass
class World:
    box: BallotBox
    clock: Clock
    server_key: KeyPair
    founder: Author = field(default_factory=Author)
    members: list[Author] = field(default_factory=list)
    assembly: str = ""

    async def found(self, **rules: Any) -> None:
        receipt = await self.box.append(genesis(self.founder, server=self.server_key.public_hex, **rules))
        self.assembly = self.box.state.assembly_id
        assert receipt.index == 0

    def org(self, kind: str, **fields: Any) -> dict[str, Any]:
        return self.founder.sign(kind, self.assembly, **fields)

    async def enroll(self, n: int, prefix: str = "m") -> list[Author]:
        fresh = []
        for _ in range(n):
            code = new_code()
            await self.box.append(self.org("invite", code_hash=code_hash(code), note=""))
            a = Author()
            await self.box.append(a.sign("enroll", self.assembly, code=code, name=f"{prefix}{len(self.members)}"))
            self.members.append(a)
            fresh.append(a)
        return fresh

    async def topic(self, id: str, parent: str | None = None) -> None:
        await self.box.append(self.org("topic", id=id, title=id.title(), description="", parent=parent))

    async def motion(
        self, id: str, topic: str, *, opens: float = 0, closes: float = 3600, quorum: int | None = None
    ) -> None:
        await self.box.append(
            self.org(
                "motion",
                id=id,
                topic=topic,
                title=id,
                summary="A bill.",
                url="",
                opens=at(self.clock, seconds=opens),
                closes=at(self.clock, seconds=closes),
                quorum=quorum,
            )
        )

    async def vote(self, who: Author, motion: str, choice: str | None) -> Any:
        return await self.box.append(who.sign("ballot", self.assembly, motion=motion, choice=choice))

    async def delegate(self, who: Author, scope: str, to: Author | str | None) -> Any:
        target = to.public if isinstance(to, Author) else to
        return await self.box.append(who.sign("delegate", self.assembly, scope=scope, to=target))
