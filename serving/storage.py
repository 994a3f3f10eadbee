"""The data directory's permissions (docs/SECURITY.md, "Storage"): the
directory 0700, the SQLite database and its WAL and shared-memory files
0600, whatever the umask, so that no other local user reads the log's
private parts (invitation codes, the server key) or edits the tables.

SQLite creates the ``-wal`` and ``-shm`` files with the database file's
permissions, so creating the database file first, 0600, covers them; files
left by an older version are tightened at every start.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def secure_data_dir(data_dir: Path, sqlite_file: Path | None) -> None:
    """Create ``data_dir`` (0700) and, when the database is SQLite in it,
    its file (0600); tighten what exists already."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(data_dir, DIR_MODE)
    if sqlite_file is None:
        return
    if not sqlite_file.exists():
        os.close(os.open(sqlite_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for suffix in SQLITE_SUFFIXES:
        path = sqlite_file.with_name(sqlite_file.name + suffix)
        if path.exists():
            os.chmod(path, FILE_MODE)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite+aiosqlite:///<path>`` URL, else None."""
    prefix = "sqlite+aiosqlite:///"
    return Path(database_url[len(prefix) :]) if database_url.startswith(prefix) else None
