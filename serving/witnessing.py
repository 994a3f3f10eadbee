"""The server uses its witnesses (docs/SPEC.md sections 9 and 14,
"Witnesses"): the cosignatures kept per checkpoint size, the checkpoints
served with them, and the ``CosigningSubmitter`` driven by the log.

- The policy is the log's latest `witnesses` statement (the box's state);
  when a new one is appended the submitter gets it (``set_policy``), and the
  first one starts it.
- After every committed batch the submitter hears ``log_grew()``; after a
  batch holding a `close` (or a `drawn`) it hears ``submit_now()``. Both only
  set events: a witness that is down or slow never delays an append.
- Every cosignature line a witness returns is stored in the ``cosignatures``
  table, outside the append transaction (it is not part of the log, and a
  rebuild leaves it alone). At start the submitter is told, per witness, the
  largest size it already holds a line of, so it goes on from there.
- A checkpoint of any past size is re-signed from its root (Ed25519 is
  deterministic: the same bytes the box signed then) and served with the
  lines of that size: the server's line first, then one line per cosigner
  key, the earliest (a signed note may not carry two signatures of one key).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ballots import schema as T
from ballots.box import BallotBox
from ballots.state import AssemblyState, Witnesses
from crypto.canonical import parse
from crypto.checkpoint import Checkpoint, sign_checkpoint
from serving.cosigning import CosigningSubmitter, PolicyError, WitnessPolicy
from vocabulary import DRAW_PREFIX, MOTION_PREFIX
from witness.cosignature import CosignatureError, key_id, parse_line

log = logging.getLogger("liquid_mandate.witnessing")

URGENT_KINDS = frozenset({"close", "drawn"})  # docs/SPEC.md section 14: submitted at once after these


class CosignatureStore:
    """The ``cosignatures`` table: every line received, by checkpoint size."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, size: int, witness: str, key_hex: str, line: str, timestamp: int) -> None:
        """Keep one line (a line already held is kept once)."""
        insert = {"sqlite": sqlite_insert, "postgresql": pg_insert}[self.engine.dialect.name]
        row = {"size": size, "witness": witness, "key": key_hex, "line": line, "timestamp": timestamp}
        async with self.engine.begin() as conn:
            await conn.execute(insert(T.cosignatures).values(**row).on_conflict_do_nothing())

    async def lines(self, size: int) -> list[str]:
        """One line per (witness, key) of checkpoint ``size``, the earliest
        timestamp, ordered by witness name, then key."""
        c = T.cosignatures.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.witness, c.key, c.timestamp, c.line)
                .where(c.size == size)
                .order_by(c.witness, c.key, c.timestamp, c.line)
            )
            out, seen = [], set()
            for witness, key, _ts, line in rows:
                if (witness, key) not in seen:
                    seen.add((witness, key))
                    out.append(line)
        return out

    async def sizes(self, start: int, limit: int) -> list[int]:
        """The sizes from ``start`` on that hold at least one line, ascending, at most ``limit``."""
        c = T.cosignatures.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.size).where(c.size >= start).group_by(c.size).order_by(c.size).limit(limit)
            )
            return [int(size) for (size,) in rows]

    async def cosigned(self, cosigners: Iterable[tuple[str, str]]) -> dict[str, int]:
        """The largest size held for each (name, key hex) pair, by name."""
        c = T.cosignatures.c
        out = {}
        async with self.engine.connect() as conn:
            for name, key_hex in cosigners:
                size = (
                    await conn.execute(select(func.max(c.size)).where(c.witness == name, c.key == key_hex))
                ).scalar()
                if size is not None:
                    out[name] = int(size)
        return out

    async def covering(self, index: int, cosigners: Iterable[tuple[str, str]], quorum: int) -> int | None:
        """The smallest size above ``index`` with lines of at least ``quorum``
        of the given (name, key hex) cosigners, or None."""
        c = T.cosignatures.c
        pairs = list(cosigners)
        if not pairs:
            return None
        which = or_(*(and_(c.witness == name, c.key == key_hex) for name, key_hex in pairs))
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(c.size)
                    .where(c.size > index, which)
                    .group_by(c.size)
                    .having(func.count(func.distinct(c.witness)) >= quorum)
                    .order_by(c.size)
                    .limit(1)
                )
            ).scalar()

    async def policy_before(self, index: int) -> Witnesses | None:
        """The last `witnesses` entry of the log before entry ``index`` (the
        policy in force there), read from the entries table, or None. Scans
        back from ``index`` by kind: called once per lottery whose policy
        was replaced since (``Witnessing.policy_for`` keeps the answer)."""
        e = T.entries.c
        q = select(e.idx, e.data).where(e.idx < index, e.kind == "witnesses").order_by(e.idx.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        if row is None:
            return None
        st = parse(bytes(row[1]))["statement"]
        return Witnesses(int(row[0]), tuple(dict(c) for c in st["cosigners"]), st["quorum"], st["grace"])


def governing_index(state: AssemblyState, lottery: str) -> int:
    """The index before which the `witnesses` entry that governs ``lottery``
    lies (docs/SPEC.md section 14.2): its `commit`'s, or in a log without
    a commit for it, its `motion`'s or `draw`'s."""
    committed = state.lotteries.get(lottery)
    if committed is not None:
        return committed.index
    if lottery.startswith(MOTION_PREFIX):
        return state.motions[lottery[len(MOTION_PREFIX) :]].index
    return state.draws[lottery[len(DRAW_PREFIX) :]].index


def _pairs(policy: Witnesses) -> list[tuple[str, str]]:
    return [(c["name"], c["key"]) for c in policy.cosigners]


class Witnessing:
    """The box's witnesses: start with ``start()`` once the box is open, stop
    with ``aclose()`` before it closes. ``submitter_options`` go to
    ``CosigningSubmitter`` (timeout, min_interval, backoff_*)."""

    def __init__(self, box: BallotBox, *, allowed_hosts: Iterable[str] | None = None, **submitter_options: Any):
        self.box = box
        self.store = CosignatureStore(box.engine)
        self.allowed_hosts = None if allowed_hosts is None else tuple(allowed_hosts)
        self._options = submitter_options
        self.submitter: CosigningSubmitter | None = None
        self._policy_index: int | None = None
        self._starting: asyncio.Task[None] | None = None
        self._closed = False
        # The policy governing each closed lottery whose policy was since replaced
        # (never changes: the log only grows), and the closing entries by index
        # as of the log size ``_closings_at``.
        self._governing: dict[str, Witnesses | None] = {}
        self._closings: dict[int | None, str] = {}
        self._closings_at = -1

    async def start(self) -> None:
        self.box.listeners.append(self._on_entries)
        await self._apply_policy()

    async def aclose(self) -> None:
        self._closed = True
        if self._on_entries in self.box.listeners:
            self.box.listeners.remove(self._on_entries)
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        if self.submitter is not None:
            await self.submitter.aclose()

    # --- driven by the log ---

    def _on_entries(self, entries: list[dict[str, Any]]) -> None:
        """A batch was committed (the box's listener; never waits)."""
        kinds = {e["statement"]["kind"] for e in entries}
        if "witnesses" in kinds:
            self._policy_changed()
        if self.submitter is not None:
            self.submitter.log_grew()
            if kinds & URGENT_KINDS:
                self.submitter.submit_now()

    def _policy_changed(self) -> None:
        if self._closed:
            return
        if self.submitter is not None:
            self._set_policy_now()
        elif self._starting is None or self._starting.done():
            self._starting = asyncio.get_running_loop().create_task(self._apply_policy())

    def _current(self) -> WitnessPolicy | None:
        policy = self.box.state.witnesses
        if policy is None or policy.index == self._policy_index:
            return None
        try:
            parsed = WitnessPolicy.from_json(policy.to_json())
        except PolicyError as e:  # the box's rules are stricter; kept as a guard
            log.error("witness policy at entry %d not usable: %s", policy.index, e)
            return None
        self._policy_index = policy.index
        return parsed

    def _set_policy_now(self) -> None:
        parsed = self._current()
        if parsed is not None and self.submitter is not None:
            self.submitter.set_policy(parsed)
            self.submitter.log_grew()

    async def _apply_policy(self) -> None:
        if self.submitter is not None:
            self._set_policy_now()
            return
        policy = self.box.state.witnesses
        parsed = self._current()
        if parsed is None or policy is None or self._closed:
            return
        submitter = CosigningSubmitter(
            parsed,
            latest_checkpoint=self._latest,
            consistency_proof=self._proof,
            store_cosignature=self._store,
            allowed_hosts=self.allowed_hosts,
            cosigned=await self.store.cosigned(_pairs(policy)),
            **self._options,
        )
        await submitter.start()
        self.submitter = submitter
        self._set_policy_now()  # a policy appended while this one was starting

    # --- the submitter's callbacks ---

    async def _latest(self) -> tuple[str, int]:
        note = self.box.checkpoint_text
        return note, int(note.split("\n", 2)[1])

    async def _proof(self, old: int, new: int) -> list[bytes]:
        proof, _, _ = await self.box.consistency_proof(old, new)
        return proof

    async def _store(self, size: int, name: str, line: str) -> None:
        policy = self.box.state.witnesses
        keys = {c["name"]: c["key"] for c in policy.cosigners} if policy is not None else {}
        key_hex = keys.get(name)
        try:
            cos = parse_line(line)
        except CosignatureError as e:
            log.warning("cosignature of %s not kept: %s", name, e)
            return
        if key_hex is None or cos.key_id != key_id(name, bytes.fromhex(key_hex)):
            log.warning("cosignature of %s not kept: the policy changed its key meanwhile", name)
            return
        await self.store.add(size, name, key_hex, line, cos.timestamp)

    # --- what the routes serve ---

    async def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint of ``size`` (default: the latest) with every
        cosignature line held for it. Raises ValueError for a size the log
        does not have (0 included: there is no checkpoint before genesis)."""
        if size is None:
            note = self.box.checkpoint_text
            size = int(note.split("\n", 2)[1])
        else:
            if not 1 <= size <= self.box.size:
                raise ValueError(f"size must be in 1..{self.box.size}, got {size}")
            root = await self.box.root_at(size)
            note = sign_checkpoint(Checkpoint(self.box.origin, size, root), self.box.server_key)
        return note + "".join(await self.store.lines(size))

    async def checkpoints(self, start: int, limit: int) -> list[str]:
        """Every cosigned checkpoint of size >= ``start`` (at most ``limit``),
        ascending, each as ``checkpoint(size)`` serves it: the export's
        ``.checkpoints`` part, page by page (docs/SPEC.md section 13.1)."""
        sizes = [n for n in await self.store.sizes(max(start, 1), limit) if n <= self.box.size]
        return [await self.checkpoint(n) for n in sizes]

    async def covering(self, index: int) -> str | None:
        """The smallest checkpoint of size > ``index`` cosigned by at least
        ``quorum`` witnesses of the policy a verifier applies to entry
        ``index``, or None: for a closing entry (`close`, `drawn`) the policy
        that governs its lottery (docs/SPEC.md section 14.2, fixed at its
        commit: the time rule of 14.3 judges it under that one, not under a
        later policy); for any other entry, a receipt's, the current policy
        (14.5)."""
        policy = await self.policy_for(index)
        if policy is None:
            return None
        size = await self.store.covering(index, _pairs(policy), policy.quorum)
        return None if size is None else await self.checkpoint(size)

    async def policy_for(self, index: int) -> Witnesses | None:
        """The policy under which a verifier judges entry ``index`` (see
        ``covering``): a past one is read from the log once per lottery."""
        state = self.box.state
        current = state.witnesses
        lottery = self._closing_lottery(index)
        if lottery is None or current is None:
            return current
        opened = governing_index(state, lottery)
        if current.index < opened:  # no policy since the commit: the current one governs
            return current
        if lottery not in self._governing:
            self._governing[lottery] = await self.store.policy_before(opened)
        return self._governing[lottery]

    def _closing_lottery(self, index: int) -> str | None:
        """``motion:<id>`` or ``draw:<id>`` when entry ``index`` is the
        `close` of that motion or the `drawn` of that draw, else None."""
        state = self.box.state
        if self._closings_at != state.size:  # O(motions + draws), once per log size
            self._closings = {m.close_index: MOTION_PREFIX + m.id for m in state.motions.values()}
            self._closings.update({d.drawn_index: DRAW_PREFIX + d.id for d in state.draws.values()})
            self._closings.pop(None, None)
            self._closings_at = state.size
        return self._closings.get(index)

    def status(self) -> dict[str, Any]:
        """The organizer page's JSON (GET /api/witnesses)."""
        policy = self.box.state.witnesses
        states = {s.name: s for s in self.submitter.status()} if self.submitter is not None else {}
        witnesses = []
        for c in policy.cosigners if policy is not None else ():
            s = states.get(c["name"])
            witnesses.append({"name": c["name"], "key": c["key"], "url": c["url"], **(asdict(s) if s else {})})
        return {
            "policy": None if policy is None else policy.to_json(),
            "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts),
            "size": self.box.size,
            "witnesses": witnesses,
        }

    def render_metrics(self) -> str:
        return "" if self.submitter is None else self.submitter.render_metrics()
