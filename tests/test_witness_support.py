"""Shared pieces of the witness and cosigning tests (this file holds no test;
it is named test_witness_* because that is the witness helper's file space).

- ``Log``: a small RFC 9162 log with its own key that signs checkpoints, as
  the server does (crypto.checkpoint), and makes add-checkpoint bodies;
- ``independent_verify``: C2SP ``cosignature/v1`` written again from the
  tlog-cosignature and signed-note texts alone, with hashlib, base64 and
  PyNaCl; it imports nothing of witness/ on purpose;
- ``running_witness``: a real ``python -m witness`` process.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nacl.signing

from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.merkle import consistency_proof, leaf_hash, root
from crypto.signing import KeyPair
from tests.processes import ROOT, free_port, stop_server


@dataclass
class Log:
    """A log of ``n`` leaves ``b"leaf i"`` under ``origin``, signed by ``key``."""

    origin: str = "log.example/test"
    key: KeyPair = field(default_factory=lambda: KeyPair(bytes([7]) * 32))
    leaves: list[bytes] = field(default_factory=list)

    def grow(self, n: int, tag: bytes = b"") -> Log:
        start = len(self.leaves)
        self.leaves += [leaf_hash(b"leaf %d" % i + tag) for i in range(start, start + n)]
        return self

    def fork(self, at: int, n: int) -> Log:
        """Another log with the same key and origin, equal to this one up to
        ``at`` leaves, then ``n`` different leaves: a split view."""
        other = Log(self.origin, self.key, self.leaves[:at])
        return other.grow(n, tag=b" forked")

    def root(self, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        return root(self.leaves[:size])

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.leaves) if size is None else size
        return Checkpoint(self.origin, size, self.root(size))

    def note(self, size: int | None = None, key: KeyPair | None = None) -> str:
        return sign_checkpoint(self.checkpoint(size), key or self.key)

    def proof(self, old: int, new: int) -> list[bytes]:
        if old == 0 or old == new:
            return []
        return consistency_proof(old, new, self.leaves[:new])

    def body(
        self, old: int, size: int | None = None, *, proof: list[bytes] | None = None, note: str | None = None
    ) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = self.proof(old, size) if proof is None else proof
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        return f"old {old}\n{lines}\n{note or self.note(size)}".encode()


# --- cosignature/v1, from the C2SP text alone (do not import witness/ here) ---


def independent_key_id(name: str, public_key: bytes, sig_type: int = 0x04) -> bytes:
    """signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4];
    tlog-cosignature: the type of Ed25519 cosignatures is 0x04."""
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([sig_type]) + public_key).digest()[:4]


def independent_verify(line: str, body: str, name: str, public_key: bytes) -> int:
    """The timestamp of ``line`` once it is a valid cosignature/v1 by (name,
    key) over the checkpoint ``body``; raises AssertionError or PyNaCl's
    BadSignatureError otherwise."""
    dash = "\u2014 "
    if not line.startswith(dash) or not line.endswith("\n"):
        raise AssertionError(f"not a signature line: {line!r}")
    got_name, b64 = line[len(dash) : -1].split(" ")
    if got_name != name:
        raise AssertionError(f"name {got_name!r}, want {name!r}")
    raw = base64.b64decode(b64, validate=True)
    # 32-bit key ID, then timestamped_signature: u64 big-endian timestamp, 64-byte Ed25519.
    if len(raw) != 4 + 8 + 64:
        raise AssertionError(f"{len(raw)} bytes, want 76")
    if raw[:4] != independent_key_id(name, public_key):
        raise AssertionError("key id does not match")
    timestamp = int.from_bytes(raw[4:12], "big")
    if timestamp >= 2**63:
        raise AssertionError("timestamp above 2^63 - 1")
    message = b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + body.encode()
    nacl.signing.VerifyKey(public_key).verify(message, raw[12:])
    return timestamp


# --- a real witness process ---


def start_witness(
    data_dir: Path, name: str, *, port: int | None = None, timeout: float = 20
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``python -m witness`` and return (URL, process) once it answers."""
    port = free_port() if port is None else port
    log = data_dir.parent / f"{data_dir.name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "witness", "--data-dir", str(data_dir), "--port", str(port), "--name", name],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=1) as r:
                if r.status == 200:
                    return url, proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("the witness did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.05)


def witness_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "witness", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@contextmanager
def running_witness(data_dir: Path, name: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, proc = start_witness(data_dir, name)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            stop_server(proc)


def post(url: str, body: bytes) -> tuple[int, str, str]:
    """(status, content type, body text) of a POST to ``url/add-checkpoint``."""
    req = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get_content_type(), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), e.read().decode()
