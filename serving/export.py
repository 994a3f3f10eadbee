"""Reading an export (docs/SPEC.md section 13): the log, a plain JSON Lines
file, and what lives beside it in sibling files named after it. A plain
log is an export with nothing beside it.

    EXPORT                the log: one canonical entry per line (GET /api/log)
    EXPORT.texts.jsonl    comment texts and salts, as GET /api/texts serves them
    EXPORT.checkpoints    cosigned checkpoint notes, as GET /api/checkpoints serves them

Each sibling is read as is from a file, and page after page from a live
server (``PAGERS``); adding a part is one entry in ``SIBLINGS`` and one in
``PAGERS``. A source is a log file, a server's
base URL (a mirror restoring the server it follows) or a database copy made
by ``server.py backup`` (SQLite, read for its entries).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.canonical import canonical_bytes
from crypto.checkpoint import split_notes

SQLITE_MAGIC = b"SQLite format 3\x00"
PAGE = 10_000  # entries per GET /api/log (the server's maximum)
TEXT_PAGE = 10_000  # records per GET /api/texts (the server's maximum; its default is only 1,000)
CHECKPOINT_PAGE = 1_000  # notes per GET /api/checkpoints (the server's maximum; its default is 100)
TIMEOUT = 30.0


class ExportError(ValueError):
    """An export that cannot be read at all (missing, not a log, a server that does not answer)."""


@dataclass(frozen=True, slots=True)
class Export:
    """The log's lines (canonical entry bytes, no newline) and the raw bytes
    of each sibling part present, by suffix."""

    lines: list[bytes]
    parts: dict[str, bytes] = field(default_factory=dict)
    # A database copy's rows that serving.restore renders as a part itself
    # (``cosignatures``: (size, line), under notes it signs again).
    copied: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


# suffix -> the API path a live server serves the same bytes at. The parts
# are kept byte for byte; what a restore does with each is serving.restore's.
SIBLINGS: dict[str, str] = {
    ".texts.jsonl": "/api/texts",
    ".checkpoints": "/api/checkpoints",
}


def split_lines(raw: bytes, what: str) -> list[bytes]:
    """The non-empty lines of a JSON Lines body; refuses a last line cut short."""
    if raw and not raw.endswith(b"\n"):
        raise ExportError(f"{what} does not end in a newline: cut short?")
    return [line for line in raw.split(b"\n") if line]


def read_source(source: str) -> Export:
    """The export at ``source``: an http(s) URL, a database copy, or a log file and its siblings."""
    if source.startswith(("http://", "https://")):
        return fetch_export(source)
    path = Path(source)
    if not path.is_file():
        raise ExportError(f"{source}: no such file")
    with path.open("rb") as f:
        magic = f.read(len(SQLITE_MAGIC))
    if magic == SQLITE_MAGIC:
        return read_database_copy(path)
    lines = split_lines(path.read_bytes(), str(path))
    parts = {}
    for suffix in SIBLINGS:
        sibling = path.with_name(path.name + suffix)
        if sibling.is_file():
            parts[suffix] = sibling.read_bytes()
    return Export(lines, parts)


# The rows of a copy that serving.restore renders itself (it needs the
# server key to sign their notes again): table -> the query.
COPIED = {"cosignatures": "SELECT size, line FROM cosignatures ORDER BY size, witness, key, timestamp, line"}


def read_database_copy(path: Path) -> Export:
    """The entries of a SQLite database (a ``server.py backup`` copy),
    read-only, and its comment texts as the ``.texts.jsonl`` part (DESIGN
    section 11: text and salt are part of any backup), which the restore
    checks like an export's; its cosignature rows as ``copied`` (a table
    the copy's schema version did not have yet is empty)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT data FROM entries ORDER BY idx").fetchall()
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            texts = (
                {int(i): (t, s) for i, t, s in con.execute("SELECT idx, text, salt FROM comment_texts")}
                if "comment_texts" in tables
                else {}
            )
            copied = {t: [tuple(r) for r in con.execute(q)] if t in tables else [] for t, q in COPIED.items()}
        finally:
            con.close()
    except sqlite3.Error as e:
        raise ExportError(f"{path}: not a Liquid Mandate database: {e}") from None
    lines = [bytes(d) for (d,) in rows]
    part = _text_records(lines, texts)
    return Export(lines, {} if part is None else {".texts.jsonl": part}, copied=copied)


def _text_records(lines: list[bytes], texts: dict[int, tuple[str, str]]) -> bytes | None:
    """The records GET /api/texts would serve (docs/SPEC.md 15.2) for the
    comments of ``lines``, from a copy's texts table: a redacted comment's
    record is rebuilt from its `redact` entry, whose row the redaction
    deleted. A comment with neither is left out, so that the restore refuses
    the copy rather than lose its text. None when the log has no comment."""
    comments: list[int] = []
    redactions: dict[int, tuple[str, int]] = {}
    for line in lines:
        try:
            entry = json.loads(line)
            st = entry["statement"]
            if st["kind"] == "comment":
                comments.append(entry["index"])
            elif st["kind"] == "redact":
                redactions.setdefault(st["entry"], (st["reason"], entry["index"]))
        except (ValueError, KeyError, TypeError):
            continue  # the restore's replay refuses this entry, at its index
    if not comments:
        return None
    out = []
    for i in comments:
        if i in redactions:
            reason, by = redactions[i]
            out.append(canonical_bytes({"index": i, "redacted": True, "reason": reason, "redact": by}))
        elif i in texts:
            text, salt = texts[i]
            out.append(canonical_bytes({"index": i, "text": text, "salt": salt}))
    return b"".join(line + b"\n" for line in out)


def _get(url: str, *, absent: tuple[int, ...] = (404,)) -> bytes | None:
    """The body of a GET, None on a status in ``absent`` (a route this server does not have)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return bytes(r.read())
    except urllib.error.HTTPError as e:
        if e.code in absent:
            return None
        raise ExportError(f"GET {url}: HTTP {e.code}") from None
    except OSError as e:
        raise ExportError(f"GET {url}: {e}") from None


def fetch_export(base_url: str) -> Export:
    """The whole log of the server at ``base_url``, page by page, and each
    sibling part its routes serve."""
    base = base_url.rstrip("/")
    lines: list[bytes] = []
    while True:
        page = _get(f"{base}/api/log?from={len(lines)}&limit={PAGE}")
        if page is None:
            raise ExportError(f"{base} has no /api/log: not a Liquid Mandate server")
        got = split_lines(page, f"GET /api/log?from={len(lines)}")
        if not got:
            break
        lines += got
    parts = {}
    for suffix, pages in PAGERS.items():
        body = pages(base)
        if body is not None:
            parts[suffix] = body
    return Export(lines, parts)


def _fetch_texts(base: str) -> bytes | None:
    """Every record of GET /api/texts, page after page (docs/SPEC.md 15.2:
    the next page starts after the last record's index, an empty page ends
    the list); None when the server has no such route. One GET would stop
    at the server's default of 1,000 records, and the restore would then
    refuse the export for its comments without a record."""
    out: list[bytes] = []
    start = 0
    while True:
        page = _get(f"{base}/api/texts?from={start}&limit={TEXT_PAGE}", absent=(400, 404))
        if page is None:
            if out:
                raise ExportError(f"GET {base}/api/texts?from={start}: gone after {len(out)} records")
            return None
        got = split_lines(page, f"GET /api/texts?from={start}")
        if not got:
            return b"".join(line + b"\n" for line in out)
        out += got
        try:
            start = int(json.loads(got[-1])["index"]) + 1
        except (ValueError, KeyError, TypeError):
            raise ExportError(f"GET {base}/api/texts?from={start}: a record without an index") from None


def _fetch_checkpoints(base: str) -> bytes | None:
    """Every cosigned checkpoint of GET /api/checkpoints, page after page
    (docs/SPEC.md 13.1: notes ascending by size, a blank line between two,
    as one page would hold them; the next page starts after the last size);
    None when the server has no such route."""
    url = f"{base}/api/checkpoints"
    notes: list[str] = []
    start = 1
    while True:
        page = _get(f"{url}?from={start}&limit={CHECKPOINT_PAGE}", absent=(400, 404))
        if page is None:
            return None
        got = split_notes(page.decode("utf-8", "replace"))
        if not got:
            return "\n".join(notes).encode("utf-8")
        notes += got
        size = got[-1].split("\n", 2)[1]
        if not size.isdigit() or int(size) < start:
            raise ExportError(f"GET {url}?from={start}: a note of size {size!r}, want one of at least {start}")
        start = int(size) + 1


# suffix -> how to read all of that part from a live server (its base URL)
PAGERS = {".texts.jsonl": _fetch_texts, ".checkpoints": _fetch_checkpoints}
