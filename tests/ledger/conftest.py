"""Every ledger test runs on SQLite; the ones taking ``ledger_url`` run on PostgreSQL too when a server is
given (``LMSBRIDGE_TEST_PG_URL=postgresql://…``, psycopg installed). Each PostgreSQL test gets a schema of
its own, dropped afterwards. With ``LMSBRIDGE_TEST_PG_REQUIRED=1`` (CI, once it has started a server) a
server that cannot be used fails those tests instead of skipping them."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from lmsbridge.ledger import Ledger
from tests.ledger.support import NOW

# Read at import: the root conftest clears LMSBRIDGE_* from the environment of each test.
PG_URL = os.environ.get("LMSBRIDGE_TEST_PG_URL", "")
PG_REQUIRED = os.environ.get("LMSBRIDGE_TEST_PG_REQUIRED", "") == "1"
HAVE_PSYCOPG = importlib.util.find_spec("psycopg") is not None


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    if not HAVE_PSYCOPG:
        return "psycopg 3 is not installed (pip install 'lmsbridge[postgres]')"
    if not PG_URL:
        return "no PostgreSQL server given: set LMSBRIDGE_TEST_PG_URL=postgresql://user@host/db"
    return None


def _cannot(reason: str) -> NoReturn:
    if PG_REQUIRED:
        pytest.fail(f"LMSBRIDGE_TEST_PG_REQUIRED=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = postgres_unavailable()
    if reason:
        _cannot(reason)
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        _cannot(f"PostgreSQL at LMSBRIDGE_TEST_PG_URL does not answer: {str(exc).splitlines()[0]}")
    return PG_URL


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    import psycopg

    schema = f"lmsbridge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_schema(pg_server, schema)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


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
