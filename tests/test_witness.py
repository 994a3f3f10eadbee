"""The witness over real HTTP (aiohttp test server): every status C2SP
tlog-witness prescribes, each refusal leaving the state unchanged, and the
cosignatures checked by the independent cosignature/v1 of
tests/test_witness_support.py."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import nacl.exceptions
import pytest

from crypto.checkpoint import sign_note
from crypto.merkle import EMPTY_ROOT
from crypto.signing import KeyPair
from tests.test_witness_support import Log, independent_verify
from witness.app import create_app
from witness.rules import Latest
from witness.store import WitnessStore

NAME = "witness.example/w1"
WITNESS_KEY = KeyPair(bytes([9]) * 32)


class Clock:
    """Whole seconds that a test moves by hand."""

    def __init__(self, now: int = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def log() -> Log:
    return Log().grow(5)


@pytest.fixture
def wclock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "witness.db"


@pytest.fixture
async def client(aiohttp_client, db_path: Path, log: Log, wclock: Clock):
    store = WitnessStore.open(db_path)
    store.init_name(NAME)
    store.add_log(log.origin, log.key.public_bytes)
    return await aiohttp_client(create_app(store, WITNESS_KEY, NAME, clock=wclock))


def latest(db_path: Path, origin: str) -> Latest | None:
    store = WitnessStore.open(db_path)
    try:
        return store.latest(origin)
    finally:
        store.close()


async def submit(client, body: bytes) -> tuple[int, str, str]:
    r = await client.post("/add-checkpoint", data=body)
    return r.status, r.content_type, await r.text()


async def test_first_checkpoint_with_old_size_zero_is_cosigned(client, log: Log, wclock: Clock, db_path: Path):
    status, ctype, text = await submit(client, log.body(0))
    assert status == 200, text
    assert ctype == "text/plain"
    body = log.checkpoint().text()
    assert independent_verify(text, body, NAME, WITNESS_KEY.public_bytes) == wclock.now
    assert latest(db_path, log.origin) == Latest(5, log.root())


async def test_consistent_growth_is_cosigned_with_the_new_time(client, log: Log, wclock: Clock, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    log.grow(8)
    wclock.now += 7
    status, _, text = await submit(client, log.body(5))
    assert status == 200, text
    assert independent_verify(text, log.checkpoint().text(), NAME, WITNESS_KEY.public_bytes) == wclock.now
    assert latest(db_path, log.origin) == Latest(13, log.root())


async def test_the_same_checkpoint_again_is_cosigned_again(client, log: Log, wclock: Clock):
    assert (await submit(client, log.body(0)))[0] == 200
    wclock.now += 1
    status, _, text = await submit(client, log.body(5))
    assert status == 200, text
    assert independent_verify(text, log.checkpoint().text(), NAME, WITNESS_KEY.public_bytes) == wclock.now


async def test_unknown_origin_is_404(client, db_path: Path):
    stranger = Log(origin="other.example/log").grow(3)
    status, _, text = await submit(client, stranger.body(0))
    assert status == 404 and "unknown origin" in text
    assert latest(db_path, stranger.origin) is None


async def test_checkpoint_signed_by_another_key_is_403(client, log: Log, db_path: Path):
    forged = log.note(key=KeyPair(bytes([8]) * 32))  # same key name, another key: an unknown key
    status, _, text = await submit(client, log.body(0, note=forged))
    assert status == 403 and "no signature" in text
    assert latest(db_path, log.origin) is None


async def test_a_failing_signature_of_the_trusted_key_rejects_the_note(client, log: Log, db_path: Path):
    good = log.note()
    text_part, sig_line = good.split("\n\n")
    raw = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    raw[-1] ^= 1  # same key id, broken signature
    bad_line = f"\u2014 {log.origin} {base64.b64encode(bytes(raw)).decode()}\n"
    status, _, _ = await submit(client, log.body(0, note=f"{text_part}\n\n{sig_line}{bad_line}"))
    assert status == 403
    assert latest(db_path, log.origin) is None


async def test_foreign_signatures_are_ignored(client, log: Log):
    # A second, unknown signer on the note (a mirror, say) changes nothing.
    extra = sign_note(log.checkpoint().text(), KeyPair(bytes([3]) * 32), "mirror.example/m")
    note = log.note() + extra.split("\n\n")[1]
    status, _, text = await submit(client, log.body(0, note=note))
    assert status == 200, text


async def test_old_size_above_the_checkpoint_is_400(client, log: Log, db_path: Path):
    status, _, text = await submit(client, log.body(6, 5, proof=[]))
    assert status == 400 and "above the checkpoint size" in text
    assert latest(db_path, log.origin) is None


@pytest.mark.parametrize(
    "body, why",
    [
        (b"", "no newline"),
        (b"new 0\n\n", "not 'old <size>'"),
        (b"old 05\n\n", "leading zeros"),
        (b"old -1\n\n", "leading zeros"),
        (b"old 0\n", "no empty line"),
        (b"old 0\nnot base64!\n\n", "proof line 0 is not standard base64"),
        (b"old 0\n" + base64.b64encode(bytes(31)) + b"\n\n", "has 31 bytes, want 32"),
        (b"old 0\n" + (base64.b64encode(bytes(32)) + b"\n") * 64 + b"\n", "more than 63 lines"),
        (b"old 0\n\nlog.example/test\n5\n", "no blank line"),
        (b"\xff\xfe", "not UTF-8"),
        (b"old 99999999999999999999\n\n", "above 2^63 - 1"),
    ],
)
async def test_malformed_bodies_are_400(client, body: bytes, why: str, db_path: Path, log: Log):
    status, _, text = await submit(client, body)
    assert status == 400 and why in text
    assert latest(db_path, log.origin) is None


@pytest.mark.parametrize(
    "text, why",
    [
        ("log.example/test\n5\n", "want at least 3"),
        ("log.example/test\n05\n{root}\n", "leading zeros"),
        ("log.example/test\n5\nAAAA\n", "has 3 bytes, want 32"),
    ],
)
async def test_malformed_checkpoint_text_is_400(client, log: Log, text: str, why: str):
    note = sign_note(text.format(root=base64.b64encode(log.root()).decode()), log.key, log.origin)
    status, _, body = await submit(client, b"old 0\n\n" + note.encode())
    assert status == 400 and why in body


async def test_old_size_other_than_the_last_cosigned_is_409_with_that_size(client, log: Log, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    log.grow(3)
    for old in (0, 3, 6):
        status, ctype, text = await submit(client, log.body(old, proof=log.proof(old, 8) if old else []))
        assert (status, ctype, text) == (409, "text/x.tlog.size", "5\n")
    assert latest(db_path, log.origin) == Latest(5, log.root(5))


async def test_same_size_with_another_root_is_409(client, log: Log, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    fork = log.fork(3, 2)  # size 5 again, another root
    status, ctype, text = await submit(client, fork.body(5))
    assert (status, ctype, text) == (409, "text/x.tlog.size", "5\n")
    assert latest(db_path, log.origin) == Latest(5, log.root())


async def test_a_fork_is_never_cosigned_bad_proof_is_422(client, log: Log, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    fork = log.fork(3, 6)  # size 9, diverging after leaf 3
    status, _, text = await submit(client, fork.body(5))
    assert status == 422 and "consistency proof from 5 to 9" in text
    assert latest(db_path, log.origin) == Latest(5, log.root())


async def test_proofs_of_the_wrong_shape_are_422(client, log: Log, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    log.grow(4)
    good = log.proof(5, 9)
    for proof, why in [
        (good[:-1], "want"),
        (good + [bytes(32)], "want"),
        ([bytes(32)] * len(good), "calculated root1"),
    ]:
        status, _, text = await submit(client, log.body(5, proof=proof))
        assert status == 422 and why in text, text
    assert latest(db_path, log.origin) == Latest(5, log.root(5))


async def test_old_size_zero_needs_an_empty_proof(client, log: Log, db_path: Path):
    status, _, text = await submit(client, log.body(0, proof=[bytes(32)]))
    assert status == 422 and "want none" in text
    assert latest(db_path, log.origin) is None


async def test_empty_tree_checkpoint(client, db_path: Path):
    empty = Log()
    assert empty.root(0) == EMPTY_ROOT
    status, _, text = await submit(client, empty.body(0))
    assert status == 200, text
    assert independent_verify(text, empty.checkpoint().text(), NAME, WITNESS_KEY.public_bytes)
    assert latest(db_path, empty.origin) == Latest(0, EMPTY_ROOT)
    empty.grow(2)
    assert (await submit(client, empty.body(0)))[0] == 200  # from size 0, the proof is empty


async def test_extension_lines_are_cosigned_with_the_body(client, log: Log):
    body = log.checkpoint().text() + "extension line\n"
    note = sign_note(body, log.key, log.origin)
    status, _, text = await submit(client, b"old 0\n\n" + note.encode())
    assert status == 200, text
    independent_verify(text, body, NAME, WITNESS_KEY.public_bytes)
    with pytest.raises(nacl.exceptions.BadSignatureError):  # the three lines alone are not what was cosigned
        independent_verify(text, log.checkpoint().text(), NAME, WITNESS_KEY.public_bytes)


async def test_two_submissions_at_once_one_wins(client, log: Log, db_path: Path):
    assert (await submit(client, log.body(0)))[0] == 200
    last = 5
    for _ in range(10):
        a, b = Log(log.origin, log.key, list(log.leaves)).grow(3), Log(log.origin, log.key, list(log.leaves)).grow(7)
        ra, rb = await asyncio.gather(submit(client, a.body(last)), submit(client, b.body(last)))
        statuses = sorted([ra[0], rb[0]])
        assert statuses == [200, 409], (ra, rb)
        winner = a if ra[0] == 200 else b
        loser_reply = rb if ra[0] == 200 else ra
        assert loser_reply[2] == f"{len(winner.leaves)}\n"
        assert latest(db_path, log.origin) == Latest(len(winner.leaves), winner.root())
        log, last = winner, len(winner.leaves)


async def test_get_root_shows_the_key(client):
    r = await client.get("/")
    lines = (await r.text()).splitlines()
    assert lines[0] == f"{NAME} {WITNESS_KEY.public_hex}"
    assert lines[1].startswith(NAME + "+")


async def test_an_oversized_body_is_refused(client, log: Log, db_path: Path):
    status, _, _ = await submit(client, log.body(0) + b"x" * 70_000)
    assert status == 413
    assert latest(db_path, log.origin) is None


def test_witness_imports_only_crypto_of_the_project():
    # DESIGN section 1: witness/ may import crypto, never ballots or the server.
    import ast

    project = {"ballots", "delegation", "tally", "server", "serving", "client", "verify_cli", "web"}
    root = Path(__file__).resolve().parents[1] / "witness"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in project, f"{path.name} imports {name}"
