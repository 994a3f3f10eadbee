"""The witness's Ed25519 key: created on first start in the data directory,
mode 0600, and refused later if anyone else may read it (docs/SPEC.md section 14)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from crypto.signing import KeyPair

KEY_FILE = "witness.key"
DB_FILE = "witness.db"


class KeyFileError(ValueError):
    """The key file is unreadable, malformed, or readable by group or others."""


def load_or_create_key(data_dir: Path) -> KeyPair:
    """The key in ``data_dir/witness.key`` (the 32-byte seed in hex), created
    with mode 0600 when missing. The file and its directory are fsynced, so a
    crash right after the first cosignature cannot lose the key that made it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)
    key = KeyPair.generate()
    with os.fdopen(fd, "w") as f:
        f.write(key.seed.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key


def load_key(data_dir: Path) -> KeyPair:
    """The existing key of ``data_dir``; KeyFileError when there is none."""
    path = data_dir / KEY_FILE
    if not path.exists():
        raise KeyFileError(f"{path} does not exist: start the witness once with --name to create it")
    return _load(path)


def _load(path: Path) -> KeyPair:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path} has mode {mode:04o}: others may read the witness key, want 0600")
    try:
        return KeyPair.from_seed_hex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        raise KeyFileError(f"{path} does not hold a 32-byte seed in hex") from None
