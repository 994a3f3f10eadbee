"""The witness's HTTP interface: C2SP tlog-witness ``POST /add-checkpoint``
(docs/SPEC.md section 14), with exactly the statuses the specification gives:

- 400 the body is malformed, or the old size is above the checkpoint's size;
- 404 the checkpoint's origin is not a log this witness accepts;
- 403 no signature of a key trusted for the origin verifies (or one of them
  fails: signed-note says to reject the whole note then);
- 409 the old size is not the size last cosigned, or the sizes are equal and
  the roots differ; the body is that size in decimal and a newline, with
  ``Content-Type: text/x.tlog.size``;
- 422 the consistency proof does not hold;
- 200 one ``cosignature/v1`` line, after the new state is on disk.

``GET /`` answers the two lines of ``python -m witness key`` (name and key,
then the verifier key), so an operator can read the key off a running witness.

Database calls run in one worker thread: the event loop never waits for an
fsync, and the store sees one caller at a time (its transactions also hold
across processes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from crypto.checkpoint import CheckpointError, parse_note, verify_note
from crypto.checkpoint import key_id as note_key_id
from crypto.signing import KeyPair
from witness.cosignature import cosign, vkey
from witness.request import RequestMalformed, parse_request
from witness.rules import OldSizeTooLarge, ProofInvalid, SizeConflict
from witness.store import WitnessStore

MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with 100 signatures fit in well under this
SIZE_TYPE = "text/x.tlog.size"

log = logging.getLogger("witness")
T = TypeVar("T")

STORE = web.AppKey("store", WitnessStore)
KEY = web.AppKey("key", KeyPair)
NAME = web.AppKey("name", str)
CLOCK = web.AppKey("clock", Callable[[], int])
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)


def wall_clock() -> int:
    """Whole POSIX seconds, as cosignature timestamps are."""
    return int(time.time())


def key_lines(name: str, key: KeyPair) -> str:
    """``NAME KEYHEX`` then the C2SP verifier key, each on its own line."""
    return f"{name} {key.public_hex}\n{vkey(name, key.public_bytes)}\n"


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message.rstrip("\n") + "\n", content_type="text/plain")


def _signed_by_trusted_key(note: str, origin: str, keys: tuple[bytes, ...]) -> bool:
    """True when a signature of one of ``keys`` (key name = origin) verifies and
    none of their signature lines fails."""
    _text_part, signatures = parse_note(note)
    present = {(s.name, s.key_id) for s in signatures}
    verified = False
    for k in keys:
        if (origin, note_key_id(origin, k)) not in present:
            continue
        try:
            verify_note(note, public_key=k, name=origin)
        except CheckpointError:
            return False
        verified = True
    return verified


async def _in_worker(app: web.Application, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[EXECUTOR], lambda: fn(*args, **kwargs))


async def add_checkpoint(request: web.Request) -> web.Response:
    app = request.app
    try:
        req = parse_request(await request.read())
    except RequestMalformed as e:
        return _text(400, f"malformed request: {e}")
    cp = req.checkpoint
    keys = await _in_worker(app, app[STORE].log_keys, cp.origin)
    if not keys:
        return _text(404, f"unknown origin {cp.origin!r}")
    if not _signed_by_trusted_key(req.note, cp.origin, keys):
        return _text(403, f"no signature of a key trusted for {cp.origin!r} verifies")
    timestamp = app[CLOCK]()
    try:
        await _in_worker(
            app,
            app[STORE].advance,
            old_size=req.old_size,
            checkpoint=cp,
            proof=req.proof,
            note=req.note,
            timestamp=timestamp,
        )
    except OldSizeTooLarge as e:
        return _text(400, str(e))
    except SizeConflict as e:
        return web.Response(status=409, text=f"{e.last_size}\n", content_type=SIZE_TYPE)
    except ProofInvalid as e:
        log.warning("bad consistency proof for %s: %s", cp.origin, e)
        return _text(422, str(e))
    line = cosign(req.body, app[KEY], app[NAME], timestamp)
    return web.Response(status=200, text=line, content_type="text/plain")


async def index(request: web.Request) -> web.Response:
    return web.Response(text=key_lines(request.app[NAME], request.app[KEY]), content_type="text/plain")


def create_app(
    store: WitnessStore, key: KeyPair, name: str, *, clock: Callable[[], int] = wall_clock
) -> web.Application:
    """The witness application over an open ``store``. ``clock`` gives the
    cosignature timestamps (whole POSIX seconds); tests pass a fixed one.
    The store is closed with the app."""
    app = web.Application(client_max_size=MAX_BODY)
    app[STORE] = store
    app[KEY] = key
    app[NAME] = name
    app[CLOCK] = clock

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="witness-db")
        yield
        app[EXECUTOR].shutdown(wait=True)
        store.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/add-checkpoint", add_checkpoint)
    app.router.add_get("/", index)
    return app
