"""``python server.py backup DEST`` (docs/SPEC.md section 13): a consistent
copy of the SQLite database while the server runs.

SQLite's online backup API copies the pages under one read transaction, so
the copy is the database as of one commit however many ballots arrive
meanwhile (the server's WAL mode lets it go on writing). The copy is
written beside DEST and renamed into place, so DEST is always a whole
backup. PostgreSQL has its own tool: the README gives the pg_dump command.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from serving.restore import DB_FILE


class BackupError(RuntimeError):
    """A backup that cannot be made (no database, PostgreSQL, an unwritable DEST)."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int  # entries in the copy


def backup(data_dir: Path, dest: Path, *, db_url: str | None = None) -> Backup:
    """Copy ``data_dir``'s database to ``dest`` (atomically replaced)."""
    if db_url is not None and not db_url.startswith("sqlite"):
        raise BackupError(
            "backup copies the embedded SQLite database; for PostgreSQL use pg_dump "
            "(README, 'Running it for real': pg_dump --format=custom --file=DEST DBNAME)"
        )
    src = data_dir / DB_FILE if db_url is None else Path(db_url.split(":///", 1)[1])
    if not src.is_file():
        raise BackupError(f"no database at {src}")
    dest = dest / "liquid-mandate-backup.db" if dest.is_dir() else dest
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(src, timeout=30)
        try:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)  # every page in one step: one read transaction, one commit's state
                target.execute("PRAGMA journal_mode=DELETE")  # a single file, no -wal beside it
                row = target.execute("SELECT size FROM head WHERE id = 1").fetchone()
            finally:
                target.close()
        finally:
            source.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except sqlite3.Error as e:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"cannot copy {src}: {e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Backup(dest, 0 if row is None else int(row[0]))
