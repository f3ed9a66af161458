"""The two databases a ledger can live in: a SQLite file (default) and PostgreSQL (psycopg 3, optional).

One small surface (``execute``/``begin``/``commit``/``rollback``) over both, so the ledger writes its SQL
once with ``?`` placeholders. Every driver exception leaves here as a ``LedgerError`` (``raise … from``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.errors import LedgerConstraintError
from lmsbridge.ledger.locks import create_private

Dialect = Literal["sqlite", "postgresql"]
MEMORY = ":memory:"

#: Key of the PostgreSQL advisory lock that serialises the ledger's write transactions (as SQLite's
#: ``BEGIN IMMEDIATE`` does): the event chain needs one writer at a time. Arbitrary, stable.
PG_WRITE_LOCK_KEY = 0x4C4D5342  # "LMSB"


#: libpq keepalives: this side notices a server that went silent.
CLIENT_KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                                     "keepalives_count": 3}
#: The server's keepalives for this session (settable by any user): it notices a client that went silent.
SERVER_KEEPALIVES: dict[str, int] = {"tcp_keepalives_idle": 60, "tcp_keepalives_interval": 10,
                                     "tcp_keepalives_count": 6}


@dataclass(frozen=True)
class Rows:
    """The result of one statement: its rows as dicts (column → value) and the count of rows it changed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rowcount: int = -1

    def first(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None


class Database(Protocol):
    """What the ledger needs of a database connection."""

    dialect: Dialect
    #: Where it is, for messages: a path, or a URL without its password.
    location: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Location:
    """A parsed ledger address."""

    dialect: Dialect
    #: A file path or ``:memory:`` (sqlite), or the connection URL (postgresql).
    target: str

    @property
    def is_memory(self) -> bool:
        return self.dialect == "sqlite" and self.target == MEMORY


def parse_location(url_or_path: str | Path) -> Location:
    """Accept a path, ``sqlite:///relative``, ``sqlite:////absolute``, ``:memory:`` or ``postgresql://…``."""
    text = str(url_or_path).strip()
    if text in (MEMORY, "sqlite://", "sqlite:///:memory:", "sqlite://:memory:"):
        return Location("sqlite", MEMORY)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return Location("postgresql", "postgresql://" + text.split("://", 1)[1])
    if scheme == "sqlite":
        # SQLAlchemy's convention: three slashes and a relative path, four for an absolute one.
        rest = text.split("://", 1)[1]
        if not rest.startswith("/") or rest == "/":
            raise LedgerError(Message("ledger.bad_url", url=text))
        return Location("sqlite", str(Path(rest[1:]).expanduser()))
    if scheme:
        raise LedgerError(Message("ledger.bad_url", url=redact(text)))
    if not text:
        raise LedgerError(Message("ledger.bad_url", url="''"))
    return Location("sqlite", str(Path(text).expanduser()))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<ledger url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def connect(location: Location, *, busy_timeout: float = 30.0) -> Database:
    if location.dialect == "postgresql":
        return PostgresDatabase(location.target, busy_timeout=busy_timeout)
    return SqliteDatabase(location.target, busy_timeout=busy_timeout)


class SqliteDatabase:
    """A SQLite file in WAL mode with foreign keys on; writers queue for ``busy_timeout`` seconds."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        self.location = path
        try:
            if path != MEMORY:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                # Owner-only from the start (pseudonyms, the audit trail): SQLite gives its -wal and -shm files
                # the database file's mode.
                create_private(path)
            # isolation_level=None: no implicit transactions; the ledger says BEGIN/COMMIT itself.
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path != MEMORY:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise LedgerError(Message("ledger.open_failed", where=path, reason=f"journal_mode={mode}"))
                # FULL: a commit that returned survives a power cut too, not only a crash of the process.
                self._conn.execute("PRAGMA synchronous = FULL")
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(Message("ledger.open_failed", where=path, reason=exc)) from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        try:
            cursor = self._conn.execute(sql, tuple(params))
            rows = [dict(row) for row in cursor.fetchall()] if cursor.description else []
            return Rows(rows, cursor.rowcount)
        except sqlite3.IntegrityError as exc:
            raise LedgerConstraintError(Message("ledger.constraint", where=self.location, reason=exc)) from exc
        except sqlite3.Error as exc:
            raise LedgerError(Message("ledger.query_failed", where=self.location, reason=exc)) from exc

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now, so two writers queue instead of failing at their first write.
        self.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()


class PostgresDatabase:
    """PostgreSQL through psycopg 3 (the ``postgres`` extra); imported only when a ledger URL asks for it."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.location = redact(url)
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise LedgerError(Message("ledger.no_psycopg")) from exc
        self._psycopg: Any = psycopg
        try:
            # autocommit: no implicit transactions; the ledger says BEGIN/COMMIT itself, as with SQLite.
            self._conn: Any = psycopg.connect(url, autocommit=True, row_factory=dict_row,
                                              connect_timeout=max(1, int(busy_timeout)), **CLIENT_KEEPALIVES)
            self._conn.execute(f"SET lock_timeout = '{int(busy_timeout * 1000)}ms'")
            self._conn.execute("SET TIME ZONE 'UTC'")
            # The server drops a dead client's session, and with it its advisory locks (run locks, share
            # claims), about two minutes after the client's host went silent (the default is hours).
            for setting, value in SERVER_KEEPALIVES.items():
                self._conn.execute(f"SET {setting} = {value}")
        except psycopg.Error as exc:
            raise LedgerError(Message("ledger.open_failed", where=self.location, reason=_first_line(exc))) from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        psycopg = self._psycopg
        try:
            cursor = self._conn.execute(_pg_placeholders(sql), tuple(params) or None)
            rows = [dict(row) for row in cursor.fetchall()] if cursor.description else []
            return Rows(rows, cursor.rowcount)
        except psycopg.IntegrityError as exc:
            raise LedgerConstraintError(
                Message("ledger.constraint", where=self.location, reason=_first_line(exc))
            ) from exc
        except psycopg.Error as exc:
            raise LedgerError(Message("ledger.query_failed", where=self.location, reason=_first_line(exc))) from exc

    def begin(self) -> None:
        self.execute("BEGIN")
        try:
            self.execute("SELECT pg_advisory_xact_lock(?)", (PG_WRITE_LOCK_KEY,))
        except BaseException:
            # Waited past lock_timeout (or interrupted): end the aborted transaction, or every later
            # statement on this connection fails with "current transaction is aborted".
            self.rollback()
            raise

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(LedgerError):
            self.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def _pg_placeholders(sql: str) -> str:
    # The ledger's SQL has no literal '?' or '%'; psycopg wants %s.
    return sql.replace("?", "%s")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
