from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from ballots.box import BallotBox
from crypto.signing import KeyPair
from tests.world import Clock, World

ROOT = Path(__file__).resolve().parents[1]

# The machine is shared and noisy: a property holds or fails whatever the
# wall clock says, so no example is failed for being slow.
settings.register_profile("liquid-mandate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("liquid-mandate")

VECTORS = ROOT / "tests" / "vectors"
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server_key() -> KeyPair:
    return KeyPair(bytes(range(32)))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The box's database: SQLite on disk here; tests/test_postgres.py overrides it."""
    return f"sqlite+aiosqlite:///{tmp_path / 'box.db'}"


@pytest.fixture
async def box(db_url: str, clock: Clock, server_key: KeyPair) -> AsyncIterator[BallotBox]:
    b = await BallotBox.open(db_url, server_key, clock=clock)
    yield b
    await b.aclose()


@pytest.fixture
async def world(box: BallotBox, clock: Clock, server_key: KeyPair) -> World:
    w = World(box, clock, server_key)
    await w.found()
    return w


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, one per test module (tests/browser.py:
    missing, it skips, or fails when CI=true)."""
    from tests.browser import launch, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
