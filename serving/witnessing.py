"""The server uses its witnesses (docs/SPEC.md sections 9 and 14,
"Witnesses"): the cosignatures kept per checkpoint size, the checkpoints
served with them, and the ``CosigningSubmitter`` driven by the log.

- The policy is the log's latest `witnesses` statement (the box's state);
  when a new one is appended the submitter gets it (``set_policy``), and the
  first one starts it. Beside it, the submitter serves the witnesses of every
  earlier policy that still governs a close not witnessed yet
  (serving.witness_targets, docs/SPEC.md section 14.2), until it is.
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
from serving.cosigning import Cosigner, CosigningSubmitter, PolicyError, WitnessPolicy
from serving.witness_targets import LotteryAt, Target, governing, lotteries_of, pending, submission_targets
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
        return {name: size for (name, _), size in (await self.cosigned_pairs(cosigners)).items()}

    async def cosigned_pairs(self, cosigners: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The largest size held for each (name, key hex) pair that has one."""
        c = T.cosignatures.c
        out = {}
        async with self.engine.connect() as conn:
            for name, key_hex in cosigners:
                size = (
                    await conn.execute(select(func.max(c.size)).where(c.witness == name, c.key == key_hex))
                ).scalar()
                if size is not None:
                    out[(name, key_hex)] = int(size)
        return out

    async def witnessed_to(self, index: int, cosigners: Iterable[tuple[str, str]], quorum: int) -> int | None:
        """The largest size above ``index`` with lines of at least ``quorum``
        of the given (name, key hex) cosigners, or None: a closing entry at
        any index below it is witnessed under them (serving.witness_targets)."""
        return await self._quorum_size(index, cosigners, quorum, largest=True)

    async def covering(self, index: int, cosigners: Iterable[tuple[str, str]], quorum: int) -> int | None:
        """The smallest size above ``index`` with lines of at least ``quorum``
        of the given (name, key hex) cosigners, or None."""
        return await self._quorum_size(index, cosigners, quorum, largest=False)

    async def _quorum_size(
        self, index: int, cosigners: Iterable[tuple[str, str]], quorum: int, *, largest: bool
    ) -> int | None:
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
                    .order_by(c.size.desc() if largest else c.size)
                    .limit(1)
                )
            ).scalar()

    async def policies(self, after: int, upto: int) -> list[Witnesses]:
        """Every `witnesses` entry of the log with ``after`` < index <=
        ``upto``, ascending: the policies the log set there."""
        e = T.entries.c
        q = select(e.idx, e.data).where(e.idx > after, e.idx <= upto, e.kind == "witnesses").order_by(e.idx)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [_policy(int(idx), bytes(data)) for idx, data in rows]

    async def policy_before(self, index: int) -> Witnesses | None:
        """The last `witnesses` entry of the log before entry ``index`` (the
        policy in force there), read from the entries table, or None. Scans
        back from ``index`` by kind: called once per lottery whose policy
        was replaced since (``Witnessing.policy_for`` keeps the answer)."""
        e = T.entries.c
        q = select(e.idx, e.data).where(e.idx < index, e.kind == "witnesses").order_by(e.idx.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        return None if row is None else _policy(int(row[0]), bytes(row[1]))


def _policy(index: int, data: bytes) -> Witnesses:
    st = parse(data)["statement"]
    return Witnesses(index, tuple(dict(c) for c in st["cosigners"]), st["quorum"], st["grace"])


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


def _cosigner(t: Target) -> Cosigner:
    return Cosigner(t.name, bytes.fromhex(t.key), t.url)


def _parsed(policy: Witnesses) -> WitnessPolicy | None:
    try:
        return WitnessPolicy.from_json(policy.to_json())
    except PolicyError as e:  # the box's rules are stricter; kept as a guard
        log.error("witness policy at entry %d not usable: %s", policy.index, e)
        return None


class Witnessing:
    """The box's witnesses: start with ``start()`` once the box is open, stop
    with ``aclose()`` before it closes. ``submitter_options`` go to
    ``CosigningSubmitter`` (timeout, min_interval, backoff_*).

    Whom it submits to is ``serving.witness_targets.submission_targets``
    (docs/SPEC.md section 14.2): the policy in force and every earlier policy
    that still governs a lottery whose close is not witnessed yet. It is
    derived from the log (every `witnesses` entry, read from the entries
    table) and the cosignatures table, at start and again whenever the
    policy changes or a witness of such an earlier policy cosigns, so a
    restart, or another server process on the same database, derives the
    same set."""

    def __init__(self, box: BallotBox, *, allowed_hosts: Iterable[str] | None = None, **submitter_options: Any):
        self.box = box
        self.store = CosignatureStore(box.engine)
        self.allowed_hosts = None if allowed_hosts is None else tuple(allowed_hosts)
        self._options = submitter_options
        self.submitter: CosigningSubmitter | None = None
        self._policy_index: int | None = None  # the policy in force the submitter was last given
        self._closed = False
        # Every `witnesses` entry up to the policy in force, ascending; the
        # lotteries an earlier policy governs and may still have to witness
        # (lottery -> its commit's index); the targets last derived; the
        # (name, key hex) pairs of the earlier policies still served.
        self._policies: list[Witnesses] = []
        self._watched: dict[str, int] = {}
        self._targets: tuple[Target, ...] = ()
        self._owing: frozenset[tuple[str, str]] = frozenset()
        self._refreshing: asyncio.Task[None] | None = None
        self._again = False
        self._urgent = False  # a close came while the targets were being derived
        # The policy governing each closed lottery whose policy was since replaced
        # (never changes: the log only grows), and the closing entries by index
        # as of the log size ``_closings_at``.
        self._governing: dict[str, Witnesses | None] = {}
        self._closings: dict[int | None, str] = {}
        self._closings_at = -1

    async def start(self) -> None:
        self.box.listeners.append(self._on_entries)
        await self._refresh()

    async def aclose(self) -> None:
        self._closed = True
        if self._on_entries in self.box.listeners:
            self.box.listeners.remove(self._on_entries)
        if self._refreshing is not None:
            await asyncio.gather(self._refreshing, return_exceptions=True)
        if self.submitter is not None:
            await self.submitter.aclose()

    @property
    def targets(self) -> tuple[Target, ...]:
        """The witnesses submitted to, as last derived (see the class)."""
        return self._targets

    # --- driven by the log ---

    def _on_entries(self, entries: list[dict[str, Any]]) -> None:
        """A batch was committed (the box's listener; never waits)."""
        urgent = any(e["statement"]["kind"] in URGENT_KINDS for e in entries)
        policy = self.box.state.witnesses
        # Compared with the state, not the batch: a policy another server
        # process appended reaches this one by catching up, without a batch.
        if policy is not None and policy.index != self._policy_index:
            # A new policy: whom to submit to is derived first, and only then
            # is anyone told (``_apply``), so that no witness is dropped before
            # it is known to be done, and none that is done gets this checkpoint.
            self._urgent = self._urgent or urgent
            self._refresh_soon()
            return
        if self.submitter is not None:
            self.submitter.log_grew()
            if urgent:
                self.submitter.submit_now()

    def _refresh_soon(self) -> None:
        if self._closed:
            return
        self._again = True
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while self._again and not self._closed:
            self._again = False
            try:
                await self._refresh()
            except Exception:  # the database is briefly unavailable: the next trigger retries
                log.exception("witness targets not derived")

    async def _refresh(self) -> None:
        """Derive the targets from the log and the cosignatures, and give them
        to the submitter (starting it with the first policy)."""
        state = self.box.state
        current = state.witnesses
        if current is None or self._closed:
            return
        known = self._policies[-1].index if self._policies else -1
        if known != current.index:
            self._policies += await self.store.policies(known, current.index)
            if not self._policies or self._policies[-1].index != current.index:  # the guard of a torn read
                self._policies.append(current)
            self._watched = {x.lottery: x.governed_before for x in lotteries_of(state, before=current.index)}
        lotteries = [self._lottery_at(name, before) for name, before in self._watched.items()]
        witnessed_to = {}
        lowest: dict[int, int] = {}  # earlier policy -> the lowest index of a close it governs
        for x in lotteries:
            p = governing(self._policies, x.governed_before)
            if p is not None and p.index != current.index and x.closed_at is not None:
                lowest[p.index] = min(lowest.get(p.index, x.closed_at), x.closed_at)
        for p in self._policies:
            if p.index in lowest:
                witnessed_to[p.index] = await self.store.witnessed_to(lowest[p.index], _pairs(p), p.quorum) or 0
        owed = pending(self._policies, lotteries, witnessed_to)
        self._watched = {name: before for name, before in self._watched.items() if name in owed}
        targets = submission_targets(self._policies, lotteries, witnessed_to)
        self._owing = frozenset((t.name, t.key) for t in targets if t.earlier_policies)
        await self._apply(current, targets)

    def _lottery_at(self, lottery: str, before: int) -> LotteryAt:
        state = self.box.state
        if lottery.startswith(MOTION_PREFIX):
            closed = state.motions[lottery[len(MOTION_PREFIX) :]].close_index
        else:
            closed = state.draws[lottery[len(DRAW_PREFIX) :]].drawn_index
        return LotteryAt(lottery, before, closed)

    async def _apply(self, current: Witnesses, targets: tuple[Target, ...]) -> None:
        if self.box.state.witnesses is not current:  # a policy came meanwhile: derive again, for it
            self._refresh_soon()
            return
        parsed = _parsed(current)
        if parsed is None or self._closed:
            return
        earlier = [_cosigner(t) for t in targets if not t.current]
        if self.submitter is None:
            cosigned = await self.store.cosigned_pairs((t.name, t.key) for t in targets)
            submitter = CosigningSubmitter(
                parsed,
                latest_checkpoint=self._latest,
                consistency_proof=self._proof,
                store_cosignature=self._store,
                allowed_hosts=self.allowed_hosts,
                cosigned={(name, bytes.fromhex(key)): size for (name, key), size in cosigned.items()},
                **self._options,
            )
            if self._closed:
                return
            submitter.set_policy(parsed, earlier)
            await submitter.start()
            self.submitter = submitter
        else:
            self.submitter.set_policy(parsed, earlier)  # keeps the workers of unchanged witnesses
        self._targets = targets
        self._policy_index = current.index
        self.submitter.log_grew()  # the signals held back while a new policy was derived
        if self._urgent:
            self._urgent = False
            self.submitter.submit_now()
        if self.box.state.witnesses is not current:  # a policy came while the submitter started
            self._refresh_soon()

    # --- the submitter's callbacks ---

    async def _latest(self) -> tuple[str, int]:
        note = self.box.checkpoint_text
        return note, int(note.split("\n", 2)[1])

    async def _proof(self, old: int, new: int) -> list[bytes]:
        proof, _, _ = await self.box.consistency_proof(old, new)
        return proof

    async def _store(self, size: int, name: str, line: str) -> None:
        """Keep a line the submitter verified, under the key of a policy of
        the log whose name and key id it carries (the policy in force, or an
        earlier one still served)."""
        try:
            cos = parse_line(line)
        except CosignatureError as e:
            log.warning("cosignature of %s not kept: %s", name, e)
            return
        policies = [*self._policies, *((self.box.state.witnesses,) if self.box.state.witnesses else ())]
        keys = {c["key"] for p in policies for c in p.cosigners if c["name"] == name}
        key_hex = next((k for k in sorted(keys) if key_id(name, bytes.fromhex(k)) == cos.key_id), None)
        if key_hex is None:
            log.warning("cosignature of %s not kept: no policy of the log holds its key", name)
            return
        await self.store.add(size, name, key_hex, line, cos.timestamp)
        if (name, key_hex) in self._owing:  # it may have witnessed the last close it owed
            self._refresh_soon()

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
        """The organizer page's JSON (GET /api/witnesses): the policy in
        force's cosigners, then the earlier policies' witnesses still served
        (``current`` false), each with the earlier policies it serves and
        the lotteries they owe (docs/SPEC.md section 9)."""
        policy = self.box.state.witnesses
        states = {}
        if self.submitter is not None:
            states = {(c.name, c.key.hex()): s for c, s in self.submitter.statuses()}
        targets = {(t.name, t.key): t for t in self._targets}
        listed = [(c["name"], c["key"], c["url"]) for c in (policy.cosigners if policy is not None else ())]
        extra = [(t.name, t.key, t.url) for t in self._targets if (t.name, t.key) not in {x[:2] for x in listed}]
        witnesses = []
        for n, (name, key, url) in enumerate((*listed, *extra)):
            s, t = states.get((name, key)), targets.get((name, key))
            witnesses.append(
                {
                    "name": name,
                    "key": key,
                    "url": url,
                    **(asdict(s) if s else {}),
                    "current": n < len(listed),
                    "earlier_policies": list(t.earlier_policies) if t else [],
                    "lotteries": list(t.lotteries) if t else [],
                }
            )
        return {
            "policy": None if policy is None else policy.to_json(),
            "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts),
            "size": self.box.size,
            "witnesses": witnesses,
        }

    def render_metrics(self) -> str:
        return "" if self.submitter is None else self.submitter.render_metrics()
