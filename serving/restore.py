"""``python server.py restore --data-dir DIR SOURCE`` (docs/SPEC.md section 13):
build a server's database from an export, a backup copy, or the server a
mirror follows.

The log is the source of truth and it is public, so anyone who kept a copy
holds a backup; a restore trusts none of it. Every entry is replayed
through the box's own rules (``ballots.rules.check``, the signature, close
first, the hash chain), the database is written in one transaction, and the
start-up ``--full-check`` (``BallotBox.check_stored``) runs inside that
transaction before it commits. On SQLite the database is built in a
temporary file renamed into place only once committed; on PostgreSQL the
one transaction is the guarantee. Either way a refused restore leaves
nothing behind.

The parts beside the log (comment texts, cosigned checkpoints) are each
checked against the replayed log by their restorer (``PART_RESTORERS``)
and written in the same transaction, so the restored server serves the same
texts and the same cosignatures. Only the server can sign new checkpoints,
so its key file must already be in DIR and match the genesis. A log shorter than what the policy's
witnesses last cosigned is refused: serving it would fork the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

from ballots import errors as E
from ballots import schema as T
from ballots import sql, upgrade
from ballots.box import BallotBox
from ballots.paths import ClosedPaths
from ballots.projection import all_rows
from ballots.rules import check, due_motions
from ballots.state import AssemblyState, apply
from ballots.statements import Kind, format_time, parse_signed, parse_time
from ballots.texts import TextRecordError, text_rows
from crypto import merkle
from crypto.canonical import CanonicalError, parse_canonical
from crypto.chain import GENESIS_PREV
from crypto.checkpoint import (
    Checkpoint,
    CheckpointError,
    origin_for,
    parse_checkpoint_text,
    parse_note,
    sign_checkpoint,
    split_notes,
    verify_note,
)
from crypto.checkpoint import key_id as checkpoint_key_id
from crypto.signing import KeyPair, SignatureInvalid, statement_message, verify
from serving.cosigning import SIZE_TYPE, PolicyError, WitnessPolicy, request_body
from serving.export import Export, read_source
from serving.keyfile import KEY_FILE
from witness.cosignature import CosignatureError, CosignatureInvalid, parse_line, verify_line

DB_FILE = "liquid-mandate.db"
ENTRY_FIELDS = {"index", "prev", "received", "statement", "signature"}
INSERT_CHUNK = 5_000
WITNESS_TIMEOUT = 5.0


class RestoreRefused(Exception):
    """A restore that must not happen; ``index`` is the first bad entry, if any."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(f"entry {index}: {message}" if index is not None else message)
        self.index = index


@dataclass(frozen=True, slots=True)
class Restored:
    """What was restored: the checkpoint the restored server serves."""

    size: int
    root: bytes
    checkpoint: str
    database: str
    # Comments restored without their text: the export had no .texts.jsonl
    # part (a plain log). Their redactions need none: the log holds them.
    texts_missing: int = 0


@dataclass
class Replayed:
    """The log replayed through the rules: the rows to write and the state."""

    state: AssemblyState = field(default_factory=AssemblyState)
    frontier: merkle.CompactRange = field(default_factory=merkle.CompactRange)
    entries: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    head_hash: bytes = b""
    received: str = ""
    policy: dict[str, Any] | None = None  # the last `witnesses` statement, if any
    policies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # every one: (index, fields)
    # Rows of the tables beside the log, staged by the part restorers (PART_RESTORERS).
    beside: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)


def replay(lines: list[bytes], server_hex: str) -> Replayed:
    """Check every line as the box checked it when it appended the entry
    (docs/SPEC.md sections 4 and 5) and collect what to write. Raises
    RestoreRefused at the first bad entry."""
    r = Replayed()
    fresh: dict[str, ClosedPaths] = {}  # each closed motion's vote paths as of its close (ballots.paths)
    r.state.fresh_paths = fresh
    prev, last = GENESIS_PREV, None
    for i, data in enumerate(lines):
        try:
            entry = parse_canonical(data)
        except CanonicalError as e:
            raise RestoreRefused(f"not a canonical JSON entry: {e}", i) from None
        if not isinstance(entry, dict) or set(entry) != ENTRY_FIELDS:
            raise RestoreRefused(f"an entry has exactly the fields {sorted(ENTRY_FIELDS)}", i)
        if entry["index"] != i:
            raise RestoreRefused(f"index is {entry['index']!r}, want {i}", i)
        if entry["prev"] != prev:
            raise RestoreRefused(f"prev is not the hash of entry {i - 1}" if i else "prev of genesis is not zeros", i)
        try:
            received = parse_time(entry["received"])
            if format_time(received) != entry["received"]:
                raise ValueError("not in the canonical form")
        except (ValueError, TypeError) as e:
            raise RestoreRefused(f"received {entry['received']!r}: {e}", i) from None
        if last is not None and received < last:
            raise RestoreRefused("received is before the previous entry's", i)
        try:
            signed = parse_signed({"statement": entry["statement"], "signature": entry["signature"]})
        except E.Malformed as e:
            raise RestoreRefused(f"malformed statement: {e}", i) from None
        st = signed.statement
        if i == 0 and st.kind is Kind.ASSEMBLY and st["server"] != server_hex:
            raise RestoreRefused(
                f"the genesis names server {st['server']}, but the key file holds {server_hex}: "
                "restore with the key file of the server that signed this log"
            )
        try:
            verify(st.author, statement_message(st.raw), signed.signature)
        except SignatureInvalid:
            raise RestoreRefused("the signature does not verify with the author's key", i) from None
        due = due_motions(r.state, received)
        if due and st.kind not in (Kind.CLOSE, Kind.RESULT):
            raise RestoreRefused(f"motion {due[0]!r} was due to close before this entry (close first)", i)
        try:
            check(r.state, st, received, server_key=server_hex)
        except E.Refused as e:
            raise RestoreRefused(f"refused by the rules ({e.code}): {e}", i) from None
        digest = hashlib.sha256(data).digest()
        apply(r.state, st, index=i, entry_hash=digest.hex(), received=entry["received"])
        for motion_id, snap in fresh.items():
            r.beside.setdefault(T.closed_path_data, []).append({"motion": motion_id, "data": snap.compressed()})
        fresh.clear()
        for level, idx, h in r.frontier.append(merkle.leaf_hash(data)):
            r.nodes[(level, idx)] = h
        r.entries.append({"idx": i, "hash": digest, "data": data, "kind": str(st.kind), "author": st.author})
        if str(st.kind) == "witnesses":
            r.policy = dict(st.raw)
            r.policies.append((i, r.policy))
        prev, last, r.head_hash, r.received = digest.hex(), received, digest, entry["received"]
    return r


# -- the parts beside the log -------------------------------------------------------

PartRestorer = Callable[[bytes, Replayed], None]
# suffix (serving.export.SIBLINGS) -> the function that checks that part
# against the replayed log and stages it in ``Replayed.beside``, written in
# the restore's one transaction. An export that holds a part without a
# function here is refused rather than restored without it.


def _texts(raw: bytes, r: Replayed) -> None:
    """Comment texts and salts (docs/SPEC.md section 15.2): each checked
    against its comment's text_hash, one record per comment of the log."""
    try:
        r.beside[T.texts] = text_rows(raw, r.state)
    except TextRecordError as e:
        raise RestoreRefused(f"the .texts.jsonl part: {e}", e.index) from None


def _policy_at(r: Replayed, size: int) -> dict[str, Any] | None:
    """The witness policy in force at checkpoint ``size``: the last
    `witnesses` entry among its ``size`` entries (docs/SPEC.md section 13.2)."""
    found = None
    for index, policy in r.policies:
        if index >= size:
            break
        found = policy
    return found


def _checkpoints(raw: bytes, r: Replayed) -> None:
    """Cosigned checkpoints (docs/SPEC.md section 13.2): each note a
    checkpoint of this log (origin, a size it has, the root of the replayed
    tree at that size) signed by the server's key, every other line a valid
    ``cosignature/v1`` of a cosigner of the policy in force at that size;
    sizes ascending. Staged as the rows of the ``cosignatures`` table."""

    def refuse(n: int, why: str) -> RestoreRefused:
        return RestoreRefused(f"the .checkpoints part, note {n + 1}: {why}")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RestoreRefused("the .checkpoints part is not UTF-8") from None
    origin = origin_for(r.state.assembly_id or "")
    server_key = bytes.fromhex(r.state.server or "")
    rows: list[dict[str, Any]] = []
    last = 0
    for n, note in enumerate(split_notes(text)):
        try:
            body, signatures = parse_note(note)
            cp = parse_checkpoint_text(body)
        except CheckpointError as e:
            raise refuse(n, f"not a checkpoint note: {e}") from None
        if cp.origin != origin:
            raise refuse(n, f"origin {cp.origin!r} is not this log's {origin!r}")
        if not 1 <= cp.size <= r.state.size:
            raise refuse(n, f"size {cp.size}: the log has {r.state.size} entries")
        if cp.size <= last:
            raise refuse(n, f"size {cp.size} after size {last}: want each size once, ascending")
        last = cp.size
        root = merkle.fold_subtrees([r.nodes[k] for k in merkle.subtree_root_plan(cp.size)])
        if cp.root != root:
            raise refuse(n, f"the root of size {cp.size} is not the replayed log's")
        lines = note[len(body) + 1 :].splitlines(keepends=True)
        if (signatures[0].name, signatures[0].key_id) != (origin, checkpoint_key_id(origin, server_key)):
            raise refuse(n, "its first signature line is not the server's")
        try:
            verify_note(body + "\n" + lines[0], public_key=server_key, name=origin)
        except CheckpointError as e:
            raise refuse(n, f"the server's signature: {e}") from None
        policy = _policy_at(r, cp.size)
        keys = {c["name"]: c["key"] for c in policy["cosigners"]} if policy is not None else {}
        for line in lines[1:]:
            try:
                name = parse_line(line).name
                if name not in keys:
                    raise CosignatureInvalid(
                        f"{name} is not a cosigner of the witness policy in force at size {cp.size}"
                        if policy is not None
                        else f"no witness policy is in force at size {cp.size}"
                    )
                cos = verify_line(line, body, name=name, public_key=bytes.fromhex(keys[name]))
            except CosignatureError as e:
                raise refuse(n, f"cosignature: {e}") from None
            rows.append({"size": cp.size, "witness": name, "key": keys[name], "line": line, "timestamp": cos.timestamp})
    r.beside[T.cosignatures] = rows


PART_RESTORERS: dict[str, PartRestorer] = {".texts.jsonl": _texts, ".checkpoints": _checkpoints}


def parts_of_copy(export: Export, r: Replayed, key: KeyPair) -> dict[str, bytes]:
    """The ``.checkpoints`` part the server of a database copy would have
    served, rendered from the copy's cosignature rows (docs/SPEC.md section
    13.3): each size's lines, every one kept, under the note signed again
    from the replayed root, so that a copy goes through the same checks as
    an export. (Its texts part is read by serving.export.)"""
    by_size: dict[int, list[str]] = {}
    for size, line in export.copied.get("cosignatures", []):
        by_size.setdefault(int(size), []).append(str(line))
    if not by_size:
        return {}
    origin = origin_for(r.state.assembly_id or "")
    notes = []
    for size, lines in sorted(by_size.items()):
        if not 1 <= size <= r.state.size:
            raise RestoreRefused(f"the copy holds cosignatures of size {size}; its log has {r.state.size} entries")
        root = merkle.fold_subtrees([r.nodes[k] for k in merkle.subtree_root_plan(size)])
        notes.append(sign_checkpoint(Checkpoint(origin, size, root), key) + "".join(lines))
    return {".checkpoints": "\n".join(notes).encode("utf-8")}


def stage_parts(export: Export, replayed: Replayed) -> None:
    for suffix, raw in sorted(export.parts.items()):
        restorer = PART_RESTORERS.get(suffix)
        if restorer is None:
            raise RestoreRefused(
                f"the export holds a {suffix!r} part, which this version cannot restore yet; "
                "restoring without it would lose it"
            )
        restorer(raw, replayed)


# -- witnesses ----------------------------------------------------------------


async def witness_sizes(policy: WitnessPolicy, note: str) -> dict[str, int | str]:
    """Ask each cosigner of ``policy`` the size it last cosigned for this
    log: ``old 0`` and no proof, with ``note``; a witness that knows a
    larger size answers 409 ``text/x.tlog.size`` with it (C2SP
    tlog-witness). Per cosigner name, that size (0 when it accepted, or
    does not know the log) or why it could not be asked."""
    out: dict[str, int | str] = {}
    timeout = aiohttp.ClientTimeout(total=WITNESS_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        for c in policy.cosigners:
            try:
                async with session.post(
                    c.url.rstrip("/") + "/add-checkpoint",
                    data=request_body(0, [], note),
                    allow_redirects=False,
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                ) as resp:
                    body = (await resp.content.read(64)).decode("ascii", "replace")
                    if resp.status == 409 and resp.content_type == SIZE_TYPE and body[:-1].isdigit():
                        out[c.name] = int(body[:-1])
                    elif resp.status in (200, 404):  # cosigned from 0, or the log is unknown to it
                        out[c.name] = 0
                    else:
                        out[c.name] = f"HTTP {resp.status}: {body.strip()[:60]}"
            except (aiohttp.ClientError, TimeoutError) as e:
                out[c.name] = f"{type(e).__name__}: {e}"
    return out


async def check_witnesses(replayed: Replayed, note: str, *, unreachable_ok: bool) -> None:
    """Refuse a log shorter than what a witness of the policy cosigned."""
    if replayed.policy is None:
        return
    try:
        policy = WitnessPolicy.from_json(replayed.policy)
    except (PolicyError, KeyError) as e:
        raise RestoreRefused(f"the log's witness policy cannot be read: {e}") from None
    size = replayed.state.size
    for name, answer in (await witness_sizes(policy, note)).items():
        if isinstance(answer, int) and answer > size:
            raise RestoreRefused(
                f"witness {name} cosigned size {answer}, the export holds {size} entries: "
                "serving it would fork the log; restore from a complete copy"
            )
        if isinstance(answer, str) and not unreachable_ok:
            raise RestoreRefused(
                f"witness {name} could not be asked its size ({answer}); "
                "retry, or pass --ignore-unreachable-witnesses if it is gone for good"
            )


# -- writing ------------------------------------------------------------------


async def _write(conn: Any, r: Replayed, checkpoint: str, key: KeyPair) -> None:
    """Everything in the caller's transaction, then the start-up full check on it."""
    await upgrade.prepare(conn)
    for chunk in sql.chunks(r.entries, INSERT_CHUNK):
        await conn.execute(insert(T.entries), chunk)
    nodes = [{"level": lv, "idx": i, "hash": h} for (lv, i), h in r.nodes.items()]
    for chunk in sql.chunks(nodes, INSERT_CHUNK):
        await conn.execute(insert(T.nodes), chunk)
    for table, rows in [*all_rows(r.state).items(), *r.beside.items()]:
        for chunk in sql.chunks(rows, INSERT_CHUNK):
            await conn.execute(insert(table), chunk)
    await sql.write_head(
        conn,
        {
            "size": r.state.size,
            "head_hash": r.head_hash,
            "root": r.frontier.root(),
            "received": r.received,
            "checkpoint": checkpoint,
        },
    )
    box = BallotBox(conn.engine, key, lambda: datetime.now())  # only its start-up check runs
    box.full_check = True
    try:
        await box.check_stored(conn)
    except E.LogCorrupted as e:
        raise RestoreRefused(f"the full check failed on the written log: {e}") from None


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


async def _write_sqlite(final: Path, r: Replayed, checkpoint: str, key: KeyPair) -> None:
    if final.exists():
        raise RestoreRefused(f"{final} already exists: a restore never overwrites a database; move it away first")
    tmp = final.with_name(final.name + ".restoring")
    for p in _sqlite_files(tmp):
        p.unlink(missing_ok=True)  # left by a restore that was killed
    engine = sql.make_engine(f"sqlite+aiosqlite:///{tmp}")
    try:
        try:
            async with engine.begin() as conn:
                await _write(conn, r, checkpoint, key)
        finally:
            await engine.dispose()
        con = sqlite3.connect(tmp)  # fold the write-ahead log in: one file to rename
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
        for p in _sqlite_files(tmp)[1:]:
            p.unlink(missing_ok=True)
        os.replace(tmp, final)
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        for p in _sqlite_files(tmp):
            p.unlink(missing_ok=True)
        raise


async def _write_shared(url: str, r: Replayed, checkpoint: str, key: KeyPair) -> None:
    engine = sql.make_engine(url)
    try:
        async with engine.begin() as conn:
            await sql.pg_lock(conn)
            await upgrade.prepare(conn)
            if (await conn.execute(T.head.select())).first() is not None:
                raise RestoreRefused("the database already holds a log: a restore never overwrites one")
            await _write(conn, r, checkpoint, key)
    finally:
        await engine.dispose()


def read_key(data_dir: Path) -> KeyPair:
    """The server key already in ``data_dir`` (never created here)."""
    path = data_dir / KEY_FILE
    if not path.is_file():
        raise RestoreRefused(
            f"no server key at {path}: only the server that signed the log can sign its new checkpoints; "
            "put its server.key there (mode 0600) first"
        )
    try:
        return KeyPair.from_seed_hex(path.read_text().strip())
    except ValueError as e:
        raise RestoreRefused(f"{path} holds no server key: {e}") from None


async def restore(data_dir: Path, source: str, *, db_url: str | None = None, unreachable_ok: bool = False) -> Restored:
    """Restore ``source`` (a log file and its siblings, a backup copy, or a
    server's URL) into ``data_dir``'s database (or ``db_url``). Raises
    RestoreRefused, or serving.export.ExportError when ``source`` cannot be read."""
    key = read_key(data_dir)
    export = await asyncio.to_thread(read_source, source)
    if not export.lines:
        raise RestoreRefused(f"{source} holds no entries")
    r = await asyncio.to_thread(replay, export.lines, key.public_hex)
    if r.state.size == 0 or r.state.server != key.public_hex:
        raise RestoreRefused("the log does not begin with a genesis naming this server")
    if export.copied:
        export = Export(export.lines, {**export.parts, **parts_of_copy(export, r, key)})
    stage_parts(export, r)
    root = r.frontier.root()
    checkpoint = sign_checkpoint(Checkpoint(origin_for(r.state.assembly_id or ""), r.state.size, root), key)
    await check_witnesses(r, checkpoint, unreachable_ok=unreachable_ok)
    if db_url is None or db_url.startswith("sqlite"):
        final = data_dir / DB_FILE if db_url is None else Path(db_url.split(":///", 1)[1])
        await _write_sqlite(final, r, checkpoint, key)
        where = str(final)
    else:
        await _write_shared(db_url, r, checkpoint, key)
        where = db_url.split("@")[-1]
    missing = (
        0 if ".texts.jsonl" in export.parts else sum(1 for c in r.state.comments.values() if c.redacted_by is None)
    )
    return Restored(r.state.size, root, checkpoint, where, missing)
