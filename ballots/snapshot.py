"""The box's state as a clean stop left it (issue 16), so that the
next start need not rebuild them from millions of projection rows.

A snapshot is a cache, never a source: the log and the projection tables
stay the truth, and the start-up checks them after it is ready instead of
before (docs/SPEC.md section 9, "Start-up"). It is only loaded when all of
this holds, checked in this order:

- it is MAC-ed (keyed BLAKE2b-256, a key derived from the server key):
  nobody without that key can make the server load a state of their
  choosing, and pickle is never handed bytes whose MAC fails;
- it was written by this very code (a hash of the source of the packages
  that define and fold the state): another version's is ignored, never
  half-understood;
- the log still holds the entry it ends at, with the same hash (a log
  restored, rewritten or shortened since makes it unusable), and at most
  ``MAX_TAIL`` entries were appended after it (they are replayed).

Layout: ``MAGIC``, then code hash (32 bytes), log size (8, big-endian),
hash of the last entry (32), MAC (32) over those three and the payload, then
the payload: the pickled state (its live tallies included).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import pickle
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

from ballots.state import AssemblyState

MAGIC = b"liquid-mandate state snapshot v2\n"
_KEY_LABEL = b"liquid-mandate/state-snapshot/v1\n"
_HEADER = len(MAGIC) + 32 + 8 + 32 + 32
# More entries than this after the snapshot, and the projections load faster
# than the replay (about 30 us an entry against 1.5 us a projection row).
MAX_TAIL = 100_000
# The code whose classes the payload holds, or whose rules folded it.
_CODE = ("ballots", "delegation", "tally", "crypto", "vocabulary.py")


class Unusable(Exception):
    """The snapshot cannot be used (and why): the start-up then loads the
    projections as it always did."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    size: int
    head_hash: bytes  # of entry size - 1 (zeros for an empty log)
    state: AssemblyState


def snapshot_key(server_seed: bytes) -> bytes:
    """The MAC key: derived from the server's private seed, used for nothing else."""
    return hashlib.sha256(_KEY_LABEL + server_seed).digest()


@functools.cache
def code_hash() -> bytes:
    """SHA-256 over the path and bytes of every source file in ``_CODE``."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for name in _CODE:
        top = root / name
        files = [top] if top.is_file() else sorted(top.rglob("*.py"))
        for f in files:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.digest()


def _mac(key: bytes, header: bytes, payload: bytes | memoryview) -> bytes:
    m = blake2b(key=key, digest_size=32)
    m.update(header)
    m.update(payload)
    return m.digest()


def write(path: Path, key: bytes, size: int, head_hash: bytes, state: AssemblyState) -> int:
    """Write the snapshot atomically (a temporary file, fsync, rename), mode
    0600; returns its size in bytes."""
    payload = pickle.dumps(state, protocol=5)
    fields = code_hash() + size.to_bytes(8, "big") + head_hash
    data = MAGIC + fields + _mac(key, fields, payload)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return len(data) + len(payload)


def peek(path: Path) -> tuple[int, bytes]:
    """(size, hash of the last entry) as the header says, unchecked: enough
    to tell a stale snapshot before reading the rest. Raises Unusable."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER)
    except FileNotFoundError:
        raise Unusable("there is none") from None
    if len(head) < _HEADER or not head.startswith(MAGIC):
        raise Unusable("it is not a snapshot of this format")
    at = len(MAGIC) + 32
    if head[len(MAGIC) : at] != code_hash():
        raise Unusable("it was written by another version of the server")
    return int.from_bytes(head[at : at + 8], "big"), head[at + 8 : at + 40]


class _FrameReader:
    """The payload as a file whose methods are Python code. The C unpickler
    calls ``read`` once a frame (64 KiB at protocol 5), and a call into
    Python code is where the interpreter can hand the GIL over: the event
    loop answers ``/healthz`` while a thread unpickles, where
    ``pickle.loads`` of one buffer held the GIL for seconds at 10^6 members."""

    def __init__(self, data: bytes, start: int) -> None:
        self._data = data
        self._at = start
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        end = len(self._data) if n < 0 else min(len(self._data), self._at + n)
        out = self._data[self._at : end]
        self._at = end
        return out

    def readinto(self, buf: memoryview) -> int:
        chunk = self.read(len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)

    def readline(self) -> bytes:
        nl = self._data.find(b"\n", self._at)
        return self.read(-1 if nl < 0 else nl + 1 - self._at)


def read(path: Path, key: bytes) -> Snapshot:
    """The snapshot at ``path``, its MAC checked before anything is
    unpickled. Raises Unusable."""
    size, head_hash = peek(path)
    raw = path.read_bytes()
    data = memoryview(raw)
    fields, mac, payload = data[len(MAGIC) : _HEADER - 32], data[_HEADER - 32 : _HEADER], data[_HEADER:]
    if not hmac.compare_digest(_mac(key, bytes(fields), payload), bytes(mac)):
        raise Unusable("its MAC does not verify (written under another server key, or altered)")
    state = pickle.Unpickler(_FrameReader(raw, _HEADER)).load()
    if not isinstance(state, AssemblyState):
        raise Unusable("it does not hold a state")
    return Snapshot(size, head_hash, state)
