"""Signature checks in worker processes beside the event loop (issue 16).

Why processes and not threads: PyNaCl releases the GIL during a check, but
a thread must take it back to return, and a busy event loop keeps it for up
to the interpreter's switch interval (5 ms). A worker process has a GIL of
its own; the loop only writes a batch to its pipe and reads one byte per
signature back, with no thread of its own. (The 0.34 x inline once measured
for one thread at 10^6 was measured while the start's put-off checks ran;
threads were not measured again. One worker process: 1.01 x inline at 640
members, 1.05-1.12 x at 10^6, docs/PERFORMANCE.md.)

Protocol on the worker's stdin and stdout, both ways a 4-byte big-endian
length then that many bytes. A request is a run of records: 32 key bytes,
64 signature bytes, a 4-byte message length and the message. The answer
has one byte per record, 1 when the signature verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from crypto.signing import SignatureInvalid, verify_raw

log = logging.getLogger(__name__)

MAX_RECORDS = 256  # per request: the other workers get the rest of a burst
_LEN = struct.Struct(">I")
_ROOT = Path(__file__).resolve().parents[1]


def _checks(body: bytes) -> bytes:
    """One answer byte per record of a request."""
    out = bytearray()
    at = 0
    while at < len(body):
        key, sig = body[at : at + 32], body[at + 32 : at + 96]
        (n,) = _LEN.unpack_from(body, at + 96)
        message = body[at + 100 : at + 100 + n]
        at += 100 + n
        try:
            verify_raw(key, message, sig)
            out.append(1)
        except SignatureInvalid:
            out.append(0)
    return bytes(out)


def _record(public_key: bytes, message: bytes, signature: bytes) -> bytes:
    return public_key + signature + _LEN.pack(len(message)) + message


def serve(rd: BinaryIO, wr: BinaryIO) -> None:
    """The worker: answer requests until the server closes the pipe."""
    while True:
        head = rd.read(4)
        if len(head) < 4:
            return
        (n,) = _LEN.unpack(head)
        answer = _checks(rd.read(n))
        wr.write(_LEN.pack(len(answer)) + answer)
        wr.flush()


@dataclass
class _Worker:
    proc: asyncio.subprocess.Process
    inflight: list[tuple[bytes, asyncio.Future[bool]]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    alive: bool = True


class VerifierPool:
    """``await pool.check(key, message, signature)``: True when it verifies.
    A worker that dies is logged, and its checks (and all later ones, once
    none is left) are done inline: a check is never lost nor guessed."""

    def __init__(self) -> None:
        self._workers: list[_Worker] = []
        self._pending: list[tuple[bytes, asyncio.Future[bool]]] = []

    @classmethod
    async def start(cls, workers: int) -> VerifierPool:
        pool = cls()
        for _ in range(workers):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ballots.verifiers",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=_ROOT,
            )
            w = _Worker(proc)
            w.reader = asyncio.create_task(pool._read(w), name="verifier-reader")
            pool._workers.append(w)
        return pool

    @property
    def alive(self) -> int:
        return sum(w.alive for w in self._workers)

    async def check(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        if not self.alive:
            return _inline(_record(public_key, message, signature))
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((_record(public_key, message, signature), fut))
        self._pump()
        return await fut

    def _pump(self) -> None:
        """Hand what waits to the idle workers, one request each."""
        for w in self._workers:
            if not self._pending:
                return
            if w.alive and not w.inflight:
                w.inflight, self._pending = self._pending[:MAX_RECORDS], self._pending[MAX_RECORDS:]
                body = b"".join(r for r, _ in w.inflight)
                assert w.proc.stdin is not None
                w.proc.stdin.write(_LEN.pack(len(body)) + body)

    async def _read(self, w: _Worker) -> None:
        assert w.proc.stdout is not None
        try:
            while True:
                (n,) = _LEN.unpack(await w.proc.stdout.readexactly(4))
                answer = await w.proc.stdout.readexactly(n)
                done, w.inflight = w.inflight, []
                for ok, (_, fut) in zip(answer, done, strict=True):
                    if not fut.done():
                        fut.set_result(ok == 1)
                self._pump()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            if w.alive:
                log.error("signature worker %s stopped (%r); its checks run inline", w.proc.pid, exc)
        finally:
            w.alive = False
            if w.proc.returncode is None:  # a worker that broke the protocol: stop it
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
            for record, fut in w.inflight + ([] if self.alive else self._pending):
                if not fut.done():
                    fut.set_result(_inline(record))
            w.inflight = []
            if not self.alive:
                self._pending = []
            self._pump()

    async def aclose(self) -> None:
        for w in self._workers:
            w.alive = False
            if w.proc.stdin is not None:
                w.proc.stdin.close()
        for w in self._workers:
            try:
                await asyncio.wait_for(w.proc.wait(), 5)
            except TimeoutError:
                w.proc.kill()
                await w.proc.wait()
            if w.reader is not None:
                w.reader.cancel()
                try:
                    await w.reader
                except asyncio.CancelledError:
                    pass


def _inline(record: bytes) -> bool:
    return _checks(record) == b"\x01"


if __name__ == "__main__":
    # The server decides when its workers stop: it closes their pipe (and a
    # server that dies closes it too). A Ctrl-C, or systemd's SIGTERM to the
    # whole unit, must not stop them while it still sends checks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
