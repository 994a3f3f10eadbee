"""The operator's commands of ``server.py`` besides serving: ``restore`` and
``backup`` (docs/SPEC.md section 13). Each prints one line on success and a
clear ``error:`` line (exit 1) otherwise."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from serving.backup import BackupError, backup
from serving.export import ExportError
from serving.restore import RestoreRefused, restore
from serving.settings import Settings


def run_restore(settings: Settings) -> int:
    assert settings.target is not None
    try:
        done = asyncio.run(
            restore(
                settings.data_dir,
                settings.target,
                db_url=settings.db_url,
                unreachable_ok=settings.ignore_unreachable_witnesses,
            )
        )
    except (RestoreRefused, ExportError) as e:
        print(f"error: restore refused, nothing written: {e}", file=sys.stderr)
        return 1
    print(f"restored {done.size} entries into {done.database}; checkpoint root {done.root.hex()}")
    if done.texts_missing:
        print(
            f"warning: the source has no comment texts (no .texts.jsonl beside the log): {done.texts_missing} "
            "comments are restored without their text (docs/SPEC.md 13.2)",
            file=sys.stderr,
        )
    return 0


def run_backup(settings: Settings) -> int:
    assert settings.target is not None
    try:
        done = backup(settings.data_dir, Path(settings.target), db_url=settings.db_url)
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"backed up {done.size} entries to {done.path}")
    return 0
