"""The server's signing key (docs/SPEC.md section 2): one seed file in the
data directory, created on first start and never overwritten, because every
checkpoint and every close and result entry is signed with it."""

from __future__ import annotations

import os
from pathlib import Path

from crypto.signing import KeyPair

KEY_FILE = "server.key"


def load_server_key(data_dir: Path) -> KeyPair:
    """The server key in ``data_dir/server.key`` (the seed as hex), created
    with mode 0600 on first start. Raises ValueError if the file holds no seed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        key = KeyPair.generate()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.seed.hex() + "\n")
        return key
    return KeyPair.from_seed_hex(path.read_text().strip())
