"""The PostgreSQL server tests may use: ``LMSBRIDGE_TEST_PG_URL=postgresql://…`` (psycopg installed). Each test
that takes ``pg_url`` gets a schema of its own, dropped afterwards. With ``LMSBRIDGE_TEST_PG_REQUIRED=1`` (CI,
once it has started a server) a server that cannot be used fails those tests instead of skipping them. A
conftest makes the fixtures its folder's by importing them."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pytest

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


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    import psycopg

    schema = f"lmsbridge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(pg_server, schema)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


__all__ = ["pg_server", "pg_url", "postgres_unavailable", "with_schema"]
