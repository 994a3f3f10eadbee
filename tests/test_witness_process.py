"""The witness as its users run it: ``python -m witness`` processes, its
commands, its key file, and kill -9 in the middle of submissions."""

from __future__ import annotations

import base64
import os
import random
import signal
import stat
import threading
from pathlib import Path

from tests.test_witness_support import (
    Log,
    independent_key_id,
    independent_verify,
    post,
    running_witness,
    start_witness,
    witness_cli,
)

NAME = "witness.example/w1"


def _key_of(data_dir: Path) -> tuple[str, bytes]:
    r = witness_cli("key", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    first, vkey_line = r.stdout.splitlines()
    name, key_hex = first.split(" ")
    return name, bytes.fromhex(key_hex)


def test_commands_and_first_start(tmp_path: Path):
    data = tmp_path / "w"
    r = witness_cli("key", "--data-dir", str(data))
    assert r.returncode == 2 and "start the witness once" in r.stderr
    log = Log().grow(3)
    with running_witness(data, NAME) as (url, _proc):
        mode = stat.S_IMODE((data / "witness.key").stat().st_mode)
        assert mode == 0o600
        r = witness_cli("key", "--data-dir", str(data))
        assert r.returncode == 0, r.stderr
        first, vkey_line = r.stdout.splitlines()
        name, key_hex = first.split(" ")
        key = bytes.fromhex(key_hex)
        assert name == NAME and len(key) == 32
        v_name, v_id, v_blob = vkey_line.split("+", 2)
        assert (v_name, v_id) == (NAME, independent_key_id(NAME, key).hex())
        assert base64.b64decode(v_blob) == b"\x04" + key
        # Before add-log the origin is unknown; add-log works while it runs.
        assert post(url, log.body(0))[0] == 404
        bad = witness_cli("add-log", "--data-dir", str(data), log.origin, "00" * 31)
        assert bad.returncode == 2 and "64 lowercase hex" in bad.stderr
        bad = witness_cli("add-log", "--data-dir", str(data), "bad origin", log.key.public_hex)
        assert bad.returncode == 2 and "origin" in bad.stderr
        ok = witness_cli("add-log", "--data-dir", str(data), log.origin, log.key.public_hex)
        assert ok.returncode == 0 and "added" in ok.stdout
        again = witness_cli("add-log", "--data-dir", str(data), log.origin, log.key.public_hex)
        assert "already accepted" in again.stdout
        status, _, text = post(url, log.body(0))
        assert status == 200
        independent_verify(text, log.checkpoint().text(), NAME, key)
        listed = witness_cli("logs", "--data-dir", str(data))
        assert listed.stdout.split()[:3] == [log.origin, log.key.public_hex, "3"]
    # The name is part of the key id: a restart under another name is refused.
    r = witness_cli("--data-dir", str(data), "--port", "1", "--name", "witness.example/other")
    assert r.returncode == 2 and "belongs to witness 'witness.example/w1'" in r.stderr
    # A key file others can read is refused.
    os.chmod(data / "witness.key", 0o644)
    r = witness_cli("key", "--data-dir", str(data))
    assert r.returncode == 2 and "want 0600" in r.stderr


def test_kill_9_loses_nothing_that_was_answered(tmp_path: Path):
    """Submissions race a SIGKILL; after each restart the witness still holds
    every checkpoint it answered 200 for (the latest one, or a later one
    whose 200 the kill swallowed), with the same key."""
    data = tmp_path / "w"
    log = Log().grow(1)
    url, proc = start_witness(data, NAME)
    name, key = _key_of(data)
    assert witness_cli("add-log", "--data-dir", str(data), log.origin, log.key.public_hex).returncode == 0
    rng = random.Random(12)
    last_ok = 0
    try:
        for _round in range(4):
            answered: list[int] = []
            stop = threading.Event()

            def client() -> None:
                old = last_ok
                while not stop.is_set():
                    size = len(log.leaves)
                    try:
                        status, _, text = post(url, log.body(old, size))
                    except OSError:
                        return  # the witness is gone
                    if status == 409:
                        old = int(text)
                        continue
                    assert status == 200, text
                    independent_verify(text, log.checkpoint(size).text(), name, key)
                    answered.append(size)
                    old = size
                    log.grow(rng.randint(1, 5))

            t = threading.Thread(target=client)
            t.start()
            threading.Event().wait(rng.uniform(0.3, 0.8))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            stop.set()
            t.join(20)
            assert answered, "no submission was answered before the kill"
            url, proc = start_witness(data, NAME)
            assert _key_of(data) == (name, key)
            status, ctype, text = post(url, log.body(0, answered[-1]))  # old 0: tell me your size
            assert (status, ctype) == (409, "text/x.tlog.size")
            kept = int(text)
            assert kept >= answered[-1]
            # What it kept is a checkpoint of this log: the same size cosigns again.
            status, _, text = post(url, log.body(kept, kept))
            assert status == 200, text
            last_ok = kept
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
