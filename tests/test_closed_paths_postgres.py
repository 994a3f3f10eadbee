"""tests/test_closed_paths.py's ballot-box tests on a real PostgreSQL server
(tests/pg.py): the vote paths of a closed motion stored with its close, read
back, rebuilt, upgraded and restored as on SQLite."""

from __future__ import annotations

import pytest

from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.test_closed_paths import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_an_upgrade_and_a_restore_rebuild_the_snapshots,
    test_the_box_answers_a_closed_motion_as_of_its_close,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(pg_url: str) -> str:  # noqa: F811
    """Overrides conftest's SQLite URL: the imported tests run on PostgreSQL."""
    return pg_url
