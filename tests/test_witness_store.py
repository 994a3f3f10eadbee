"""The witness's rule and its SQLite state: each refusal branch, the atomic
check-and-update under real concurrency (two connections, two threads), and
a hypothesis run comparing the store with a naive model of what a witness
may cosign."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import Checkpoint
from crypto.merkle import EMPTY_ROOT
from tests.test_witness_support import Log
from witness.rules import Latest, OldSizeTooLarge, ProofInvalid, SizeConflict, check_advance
from witness.store import InvariantBroken, StoreError, WitnessStore, parse_key_hex

ORIGIN = "log.example/test"


def test_rule_refusals_name_their_reason():
    log = Log().grow(8)
    last = Latest(5, log.root(5))
    with pytest.raises(OldSizeTooLarge, match="old size 9 is above the checkpoint size 8"):
        check_advance(last, old_size=9, checkpoint=log.checkpoint(), proof=[])
    with pytest.raises(SizeConflict, match="not the size last cosigned, 5") as e:
        check_advance(last, old_size=4, checkpoint=log.checkpoint(), proof=log.proof(4, 8))
    assert e.value.last_size == 5
    with pytest.raises(SizeConflict, match="not the size last cosigned, 0"):
        check_advance(None, old_size=5, checkpoint=log.checkpoint(), proof=log.proof(5, 8))
    with pytest.raises(SizeConflict, match="cosigned with another root"):
        check_advance(last, old_size=5, checkpoint=log.fork(2, 3).checkpoint(), proof=[])
    with pytest.raises(ProofInvalid, match="between equal sizes has 1 hashes"):
        check_advance(last, old_size=5, checkpoint=log.checkpoint(5), proof=[bytes(32)])
    with pytest.raises(ProofInvalid, match="from size 0 has 1 hashes"):
        check_advance(None, old_size=0, checkpoint=log.checkpoint(), proof=[bytes(32)])
    with pytest.raises(ProofInvalid, match="empty tree's root"):
        check_advance(None, old_size=0, checkpoint=Checkpoint(ORIGIN, 0, bytes(32)), proof=[])
    with pytest.raises(ProofInvalid, match="consistency proof from 5 to 8"):
        check_advance(last, old_size=5, checkpoint=log.checkpoint(), proof=log.proof(4, 8))
    check_advance(last, old_size=5, checkpoint=log.checkpoint(), proof=log.proof(5, 8))
    check_advance(None, old_size=0, checkpoint=Checkpoint(ORIGIN, 0, EMPTY_ROOT), proof=[])


def test_store_commands_refuse_bad_input(tmp_path: Path):
    store = WitnessStore.open(tmp_path / "w.db")
    with pytest.raises(StoreError, match="witness name"):
        store.init_name("has space")
    assert store.init_name("w.example/a") == "w.example/a"
    with pytest.raises(StoreError, match="belongs to witness 'w.example/a'"):
        store.init_name("w.example/b")
    with pytest.raises(StoreError, match="origin"):
        store.add_log("a+b", bytes(32))
    with pytest.raises(StoreError, match="32 bytes"):
        store.add_log(ORIGIN, bytes(31))
    with pytest.raises(StoreError, match="64 lowercase hex"):
        parse_key_hex("AB" * 32)
    assert store.add_log(ORIGIN, bytes(32)) is True
    assert store.add_log(ORIGIN, bytes(32)) is False
    assert store.log_keys(ORIGIN) == (bytes(32),)
    assert store.logs() == [(ORIGIN, bytes(32), None)]
    store.close()


def test_the_database_refuses_a_second_root_for_a_size(tmp_path: Path):
    # Defence in depth: even if the rule let a fork through, the cosigned
    # table would refuse a second root for one size.
    log = Log().grow(4)
    store = WitnessStore.open(tmp_path / "w.db")
    store.add_log(ORIGIN, log.key.public_bytes)
    store.advance(old_size=0, checkpoint=log.checkpoint(), proof=[], note="n", timestamp=1)
    store._conn.execute("DELETE FROM latest")  # pretend the witness forgot its latest checkpoint
    fork = log.fork(1, 3)
    with pytest.raises(InvariantBroken, match="size 4 was cosigned with another root"):
        store.advance(old_size=0, checkpoint=fork.checkpoint(), proof=[], note="n", timestamp=2)
    assert store.cosigned_sizes(ORIGIN) == [(4, log.root())]
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute("INSERT INTO cosigned VALUES (?, 4, ?, 3)", (ORIGIN, fork.root()))
    store.close()


def test_durability_settings(tmp_path: Path):
    store = WitnessStore.open(tmp_path / "w.db")
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_two_connections_at_once_cannot_roll_the_log_back(tmp_path: Path):
    """The race of tlog-witness: A (to size N) and B (to N + K) both start from
    the same last size. With the check and the update in one BEGIN IMMEDIATE
    transaction, exactly one succeeds and the other sees the winner's size."""
    path = tmp_path / "w.db"
    base = Log().grow(5)
    setup = WitnessStore.open(path)
    setup.add_log(ORIGIN, base.key.public_bytes)
    setup.advance(old_size=0, checkpoint=base.checkpoint(), proof=[], note="n", timestamp=0)
    setup.close()
    stores = [WitnessStore.open(path), WitnessStore.open(path)]
    last = base
    for round_ in range(20):
        small = Log(ORIGIN, base.key, list(last.leaves)).grow(1)
        large = Log(ORIGIN, base.key, list(last.leaves)).grow(4)
        old = len(last.leaves)
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def run(which: str, store: WitnessStore, log: Log) -> None:
            barrier.wait()
            try:
                store.advance(
                    old_size=old,
                    checkpoint=log.checkpoint(),
                    proof=log.proof(old, len(log.leaves)),
                    note="n",
                    timestamp=round_,
                )
                results[which] = "ok"
            except SizeConflict as e:
                results[which] = e.last_size

        threads = [
            threading.Thread(target=run, args=("small", stores[0], small)),
            threading.Thread(target=run, args=("large", stores[1], large)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [w for w, r in results.items() if r == "ok"]
        assert len(winners) == 1, results
        winner = small if winners == ["small"] else large
        loser = "large" if winners == ["small"] else "small"
        assert results[loser] == len(winner.leaves)
        assert stores[0].latest(ORIGIN) == Latest(len(winner.leaves), winner.root())
        last = winner
    sizes = stores[0].cosigned_sizes(ORIGIN)
    assert [s for s, _ in sizes] == sorted({s for s, _ in sizes})
    for s in stores:
        s.close()


# --- the store against a naive model ---

# A submission: which view of the log (0 honest, 1 and 2 forks diverging at
# leaf 3 and 6), the size, the old size the client claims, and whether the
# proof is tampered with.
submission = st.tuples(st.integers(0, 2), st.integers(0, 24), st.integers(0, 24), st.booleans())


@settings(max_examples=60)
@given(st.lists(submission, min_size=1, max_size=25))
def test_store_matches_the_model(tmp_path_factory, subs):
    honest = Log().grow(24)
    views = [honest, honest.fork(3, 21), honest.fork(6, 18)]
    store = WitnessStore.open(tmp_path_factory.mktemp("w") / "w.db")
    store.add_log(ORIGIN, honest.key.public_bytes)
    # Model: the leaves last cosigned (None: never). A witness accepts exactly
    # when the old size is the last size, the new size is not smaller, the
    # proof is the honest one, and the view extends what it cosigned.
    cosigned: list[bytes] | None = None
    history: dict[int, bytes] = {}
    for view_i, size, old, tamper in subs:
        view = views[view_i]
        proof = view.proof(old, size) if old <= size else []
        if tamper and proof:
            proof = [bytes(32)] + proof[1:]
        last_size = 0 if cosigned is None else len(cosigned)
        prefix_ok = cosigned is None or view.leaves[:last_size] == cosigned
        want = old <= size and old == last_size and prefix_ok and not (tamper and proof)
        try:
            store.advance(old_size=old, checkpoint=view.checkpoint(size), proof=proof, note="n", timestamp=0)
            got = True
        except (OldSizeTooLarge, SizeConflict, ProofInvalid):
            got = False
        assert got == want, (view_i, size, old, tamper, last_size)
        if got:
            cosigned = view.leaves[:size]
            assert history.setdefault(size, view.root(size)) == view.root(size)
    assert dict(store.cosigned_sizes(ORIGIN)) == history
    store.close()
