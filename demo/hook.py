"""``python server.py --demo`` / ``--demo-if-empty`` (and so ``make run``):
seed the demo on an empty log, resume it on a log that holds it, keep it
voting, and print where to look."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ballots.box import BallotBox
from demo.seed import DemoInfo, seed_demo
from demo.voter import keep_voting

log = logging.getLogger(__name__)


def demo_hook(settings: Any) -> Callable[[BallotBox], Awaitable[None]]:
    """For ``python server.py --demo`` / ``--demo-if-empty``: the coroutine the
    server awaits once its box is open. On an empty log it seeds the demo
    (keys in ``<data dir>/demo-keys``); on a log that already holds the demo it
    only resumes; in both cases it starts ``keep_voting`` as a background task
    and prints where to look. ``--demo`` (``settings.demo == "always"``) on a
    log that is not empty raises RuntimeError: it would mix the demo into a
    real assembly.

    Reads ``settings.data_dir``, ``settings.host``, ``settings.port`` and
    ``settings.demo``."""
    keys_dir = Path(settings.data_dir) / "demo-keys"
    url = f"http://{settings.host}:{settings.port}"

    async def box_ready(box: BallotBox) -> None:
        if box.state.size == 0:
            info = await seed_demo(box, clock_now=box.clock(), keys_dir=keys_dir)
            _announce(url, info, box.size)
        elif settings.demo == "always":
            raise RuntimeError(
                f"--demo needs an empty data directory; {settings.data_dir} holds "
                f"{box.state.size} entries (use --demo-if-empty to resume a demo)"
            )
        elif not (keys_dir / "organizer.key").exists():
            log.info("the log is not empty and holds no demo: not seeding, not voting")
            return
        task = asyncio.create_task(keep_voting(box, keys_dir), name="demo-voter")
        _background.add(task)
        task.add_done_callback(_background.discard)

    return box_ready


_background: set[asyncio.Task[int]] = set()  # strong references: the loop keeps only weak ones


def _announce(url: str, info: DemoInfo, size: int) -> None:
    example = next(iter(sorted(info.members)))
    # The interpreter that runs the server has PyNaCl: name it, relative when it can be.
    python = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable
    bindir = os.path.dirname(python)
    cli = os.path.join(bindir, "liquid-mandate") if bindir else "liquid-mandate"
    print(
        f"Demo assembly seeded: {size} entries, {len(info.members)} members, motions "
        f"{', '.join(info.motions)}.\n"
        f"  web UI:         {url}/\n"
        f"  demo keys:      {info.keys_dir} (organizer: {info.organizer_key})\n"
        f"  vote by hand:   {cli} --server {url} vote --key {info.member_key(example)} "
        f"{info.open[0]} yes\n"
        f"  verify the log: {python} verify_cli.py {url}",
        flush=True,
    )
