"""The texts of comments, which travel beside the signed envelope and are
stored off the log (docs/SPEC.md section 15.2): the log holds only
``text_hash`` = SHA-256(salt || UTF-8 text), so that a `redact` can erase a
text while the log, and every checkpoint signed over it, stay intact.

Pure: the ballot box calls ``split_submission`` and ``check_text`` before it
queues a comment, and ``RatePolicy.check`` in its writer; the verifier has
its own copy of the hash rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ballots import errors as E
from ballots.errors import BadValue, MissingField, UnknownField, WrongType
from ballots.state import AssemblyState
from ballots.statements import Signed, Statement, parse_time
from vocabulary import Kind

SALT_BYTES = 16
MAX_TEXT = 4_000  # code points
TEXT_FIELDS = ("text", "salt")
_SALT_HEX = re.compile(r"[0-9a-f]{32}\Z")


@dataclass(frozen=True, slots=True)
class CommentText:
    """A comment's text and the salt (hex) its ``text_hash`` was made with."""

    text: str
    salt: str


def text_hash(salt: bytes, text: str) -> str:
    """SHA-256(salt || UTF-8 text), hex: a comment's ``text_hash``."""
    return hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


def split_submission(obj: Any) -> tuple[Any, CommentText | None]:
    """Separate ``text`` and ``salt`` from a submitted envelope
    ``{"statement", "signature", "text", "salt"}``: the envelope as signed,
    and the text if one came (both fields, or neither; their formats are
    checked by ``check_text``). Raises Malformed for one without the other."""
    if not isinstance(obj, dict) or not any(k in obj for k in TEXT_FIELDS):
        return obj, None
    for k in TEXT_FIELDS:
        if k not in obj:
            raise MissingField("envelope", f"missing field {k!r} beside {TEXT_FIELDS[1 - TEXT_FIELDS.index(k)]!r}")
    text, salt = obj["text"], obj["salt"]
    if not isinstance(text, str) or not isinstance(salt, str):
        raise WrongType("text", "text and salt are strings")
    envelope = {k: v for k, v in obj.items() if k not in TEXT_FIELDS}
    return envelope, CommentText(text, salt)


def check_text(signed: Signed, text: CommentText | None) -> None:
    """A comment comes with its text, which has 1 to 4,000 code points and,
    with its 16-byte salt, hashes to the statement's ``text_hash``; no other
    kind carries a text. Raises Malformed, BadTextLength or TextHashMismatch."""
    st = signed.statement
    if st.kind is not Kind.COMMENT:
        if text is not None:
            raise UnknownField("envelope", f"only a comment carries a text, not a {st.kind}")
        return
    if text is None:
        raise MissingField("envelope", "a comment comes with its 'text' and 'salt'")
    if not _SALT_HEX.match(text.salt):
        raise BadValue("salt", f"want {SALT_BYTES} random bytes as {2 * SALT_BYTES} lowercase hex digits")
    if not 1 <= len(text.text) <= MAX_TEXT:
        raise E.BadTextLength(f"the text has {len(text.text)} characters, want 1 to {MAX_TEXT}")
    if text_hash(bytes.fromhex(text.salt), text.text) != st["text_hash"]:
        raise E.TextHashMismatch("SHA-256(salt || UTF-8 text) is not the statement's text_hash")


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """At most ``count`` comments per member in any ``seconds`` (measured on
    `received`). The server's policy, not a rule of the log: the verifier
    does not replay it, and an operator may change it (docs/SPEC.md 15.3)."""

    count: int = 6
    seconds: int = 60

    def check(self, state: AssemblyState, st: Statement, received: datetime) -> None:
        """Raises RateLimited when ``st``, a comment received at ``received``,
        would be the author's ``count + 1``-th within ``seconds``."""
        if st.kind is not Kind.COMMENT:
            return
        mine = state.comments_by.get(st.author, [])
        if len(mine) < self.count:
            return
        oldest = state.comments[mine[-self.count]].received
        if oldest is not None and parse_time(oldest) > received - timedelta(seconds=self.seconds):
            raise E.RateLimited(
                f"at most {self.count} comments in {self.seconds} seconds; "
                f"the next one is accepted from {oldest[:19]}Z + {self.seconds} s"
            )


class TextRecordError(ValueError):
    """A text record of an export that does not fit its log (docs/SPEC.md 15.2)."""

    def __init__(self, why: str, index: int | None = None) -> None:
        super().__init__(why)
        self.index = index


def text_rows(raw: bytes, state: AssemblyState) -> list[dict[str, Any]]:
    """The rows of the texts table for the records of GET /api/texts in
    ``raw`` (JSON Lines), checked against the log's ``state``: one record for
    each comment, its text (1 to 4,000 code points, hashing to the comment's
    text_hash) or its redaction (the one the log holds). Raises
    TextRecordError: a restore must not keep a text the log does not vouch
    for, nor silently lose one."""
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise TextRecordError(f"line {n} is not JSON") from None
        i = rec.get("index") if isinstance(rec, dict) else None
        c = state.comments.get(i) if isinstance(i, int) and not isinstance(i, bool) else None
        if c is None or i in seen:
            raise TextRecordError(f"line {n}: not the first record of a comment entry", i)
        seen.add(c.index)
        if set(rec) == {"index", "redacted", "reason", "redact"}:
            if rec["redacted"] is not True or c.redacted_by != rec["redact"] or c.reason != rec["reason"]:
                raise TextRecordError("a redaction record the log's redact entry does not match", i)
            continue
        if set(rec) != {"index", "text", "salt"} or c.redacted_by is not None:
            raise TextRecordError("want a text record, or the redaction record of a redacted comment", i)
        text, salt = rec["text"], rec["salt"]
        if not isinstance(text, str) or not isinstance(salt, str) or not _SALT_HEX.match(salt):
            raise TextRecordError("text is not a string or salt not 32 lowercase hex digits", i)
        if not 1 <= len(text) <= MAX_TEXT or text_hash(bytes.fromhex(salt), text) != c.text_hash:
            raise TextRecordError(
                "the text does not hash to the comment's text_hash, or its length is out of bounds", i
            )
        rows.append({"idx": c.index, "text": text, "salt": salt})
    missing = [i for i in state.comments if i not in seen]
    if missing:
        raise TextRecordError(f"{len(missing)} comments have no record, the first at entry {missing[0]}", missing[0])
    return rows
