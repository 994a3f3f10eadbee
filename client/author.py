"""An author of statements: a key pair and the next seq to use.

Shared by the command line, the demo, the benchmarks and the tests, so that
every statement is built the one way the SPEC describes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ballots.state import code_hash
from ballots.texts import SALT_BYTES, text_hash
from crypto.signing import KeyPair, sign_statement

# code_hash is the rules' own (ballots.state), named here too for the authors of invitations.
__all__ = ["Author", "code_hash", "comment", "genesis", "new_code"]


@dataclass(slots=True)
class Author:
    key: KeyPair = field(default_factory=KeyPair.generate)
    seq: int = 0

    @property
    def public(self) -> str:
        return self.key.public_hex

    def sign(self, kind: str, assembly: str, **fields: Any) -> dict[str, Any]:
        """A signed statement of ``kind`` with the next seq (the seq is
        consumed even if the server later refuses the statement)."""
        self.seq += 1
        statement = {"v": 1, "assembly": assembly, "kind": kind, "author": self.public, "seq": self.seq, **fields}
        return sign_statement(self.key, statement)


def comment(
    author: Author,
    assembly: str,
    text: str,
    *,
    motion: str | None = None,
    proposal: str | None = None,
    stance: str = "neutral",
    reply_to: int | None = None,
    salt: bytes | None = None,
) -> dict[str, Any]:
    """A signed `comment` with its text and salt beside the envelope, ready
    for POST /api/statements (docs/SPEC.md section 15.2). The salt is 16
    fresh random bytes unless given."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    signed = author.sign(
        "comment",
        assembly,
        motion=motion,
        proposal=proposal,
        stance=stance,
        reply_to=reply_to,
        text_hash=text_hash(salt, text),
    )
    return {**signed, "text": text, "salt": salt.hex()}


def new_code() -> str:
    """A fresh invitation code: 128 random bits, readable and easy to type."""
    raw = secrets.token_hex(16)
    return "-".join(raw[i : i + 4] for i in range(0, 32, 4))


def genesis(
    founder: Author,
    *,
    server: str,
    name: str = "Assemblée",
    organizers: list[str] | None = None,
    method: str = "largest_remainder",
    quorum: int = 0,
    no_quorum: str = "abstain",
) -> dict[str, Any]:
    return founder.sign(
        "assembly",
        "",
        name=name,
        organizers=organizers or [founder.public],
        server=server,
        rules={"method": method, "quorum": quorum, "no_quorum": no_quorum},
    )
