"""Every ledger test runs on SQLite; the ones taking ``ledger_url`` run on PostgreSQL too when a server is
given (``LMSBRIDGE_TEST_PG_URL=postgresql://…``, psycopg installed). Each PostgreSQL test gets a schema of
its own, dropped afterwards. With ``LMSBRIDGE_TEST_PG_REQUIRED=1`` (CI, once it has started a server) a
server that cannot be used fails those tests instead of skipping them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmsbridge.ledger import Ledger
from tests.ledger.support import NOW
from tests.postgres import pg_server, pg_url  # noqa: F401 - the fixtures, for this folder


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh ledger goes: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url, clock=lambda: NOW) as opened:
        yield opened
