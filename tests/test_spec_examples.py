"""docs/SPEC.md section 12, recomputed from the document itself: the key, the
statement's canonical bytes, its signature, the entry and its hash."""

from __future__ import annotations

import hashlib
import re

from crypto.canonical import canonical_bytes, parse_canonical
from crypto.chain import entry_hash
from crypto.signing import KeyPair, sign_statement, statement_message, verify
from tests.conftest import ROOT


def example() -> dict[str, str]:
    text = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^```example-statement\n(.*?)^```$", text, re.M | re.S)
    return dict(line.split(": ", 1) for line in block.splitlines())


def test_statement_example_is_what_the_code_computes() -> None:
    v = example()
    key = KeyPair.from_seed_hex(v["seed"])
    assert key.public_hex == v["public_key"]
    statement = parse_canonical(v["statement"].encode())
    assert canonical_bytes(statement).decode() == v["statement"]
    assert hashlib.sha256(statement_message(statement)).hexdigest() == v["message_sha256"]
    assert sign_statement(key, statement)["signature"] == v["signature"]  # Ed25519 is deterministic
    verify(v["public_key"], statement_message(statement), v["signature"])
    entry = parse_canonical(v["entry"].encode())
    assert entry["statement"] == statement and entry["signature"] == v["signature"]
    assert entry_hash(entry).hex() == v["entry_hash"]
