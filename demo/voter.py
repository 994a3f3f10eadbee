"""The demo assembly's present: a ballot now and then on the open motions,
by the demo members' own keys, so that live tallies move while someone
watches (and the SSE stream of docs/SPEC.md section 9 has something to say).
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

from ballots.box import BallotBox
from ballots.errors import Refused
from ballots.statements import Malformed
from client.author import Author
from client.cli import CliError, read_key_file
from crypto.signing import KeyPair
from demo.seed import CHOICES

log = logging.getLogger(__name__)


def load_member_keys(keys_dir: Path) -> dict[str, KeyPair]:
    """pseudonym -> key of every readable seed file in ``keys_dir/members``."""
    keys = {}
    for path in sorted((keys_dir / "members").glob("*.key")):
        try:
            keys[path.stem] = read_key_file(path)
        except (CliError, ValueError):
            log.warning("skipping unreadable demo key %s", path)
    return keys


async def keep_voting(
    box: BallotBox,
    keys_dir: Path,
    *,
    interval: float = 5.0,
    rng_seed: int | None = None,
    stop: asyncio.Event | None = None,
    max_votes: int | None = None,
) -> int:
    """Post a ballot every ``interval`` seconds or so (randomly 0.5x to 1.5x),
    by a random demo member on a random open motion: mostly votes, sometimes a
    changed mind, now and then a withdrawal. Reads the members' keys from
    ``keys_dir/members``, so it works as well after a restart of the server.

    Runs until ``stop`` is set, ``max_votes`` ballots were accepted, or the
    task is cancelled; returns the number of accepted ballots. A refused
    ballot (the motion just closed, a seq taken by the member's own client)
    is logged and skipped."""
    rng = random.Random(rng_seed)
    keys = list(load_member_keys(keys_dir).values())
    stop = stop or asyncio.Event()
    accepted = 0
    while not stop.is_set() and (max_votes is None or accepted < max_votes):
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval * rng.uniform(0.5, 1.5))
            break
        except TimeoutError:
            pass
        state = box.state
        now = box.clock()
        motions = sorted(m.id for m in state.motions.values() if m.close_index is None and m.opens <= now < m.closes)
        active = [k for k in keys if state.is_active(k.public_hex)]
        if not motions or not active or not state.assembly_id:
            continue
        motion, key = rng.choice(motions), rng.choice(active)
        current = state.ballots.get(motion, {}).get(key.public_hex)
        choice: str | None = rng.choices(CHOICES, weights=(5, 4, 1))[0]
        if current is not None and rng.random() < 0.2:
            choice = None
        author = Author(key, state.seqs.get(key.public_hex, 0))
        try:
            await box.append(author.sign("ballot", state.assembly_id, motion=motion, choice=choice))
        except (Refused, Malformed) as e:
            log.info("demo ballot refused: %s", e)
            continue
        accepted += 1
    return accepted
