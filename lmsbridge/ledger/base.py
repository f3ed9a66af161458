"""The ledger's base: one database, its transactions and migrations, and the stamping of audited rows.

Every command runs in ONE transaction (``with ledger.transaction() as tx:``): all of it is written or
none of it, also when the process is killed half-way (SQLite's WAL journal; PostgreSQL's transactions).
A nested ``transaction()`` is a savepoint inside the outer one. Methods that write open their own
transaction, which joins the caller's when there is one. Reads return frozen models, never rows.

Audited rows (shares, completions, messages, certificate notices; ``lmsbridge.ledger.rows``) are stamped
as they are written, and the stamps go into the next event the transaction appends (``append_event``:
the workflow's ``request``/``approve``/``publish``/``revoke``, the sync's ``sync.completions``). Rows
written with no event after them get one event by lmsbridge just before COMMIT (``<table>.recorded``),
so no audited row is committed without an event vouching for it, and ``verify`` checks the rows as
well as the chain.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypedDict, TypeVar

from pydantic import ValidationError

from lmsbridge.domain import Label, ShareFlow
from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger import audit, migrations
from lmsbridge.ledger.chain import StoredEvent, details_text
from lmsbridge.ledger.database import MEMORY, Database, Dialect, Location, connect, parse_location
from lmsbridge.ledger.errors import LedgerNotFoundError
from lmsbridge.ledger.locks import LockHolder
from lmsbridge.ledger.models import (
    Event,
    LedgerModel,
    RowStamp,
)
from lmsbridge.ledger.rows import (
    SYSTEM_ACTOR,
    AuditedTable,
    parse_stamps,
    stamps_text,
)
from lmsbridge.ledger.rows import stamp as stamp_row

M = TypeVar("M", bound=LedgerModel)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> str:
    """A time as stored: ISO-8601 in UTC. Naive times are refused (they are a bug: which zone?)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise LedgerError("naive datetime given to the ledger; times must be timezone-aware")
    return value.astimezone(UTC).isoformat()


def _dt(value: object) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _dt_or_none(value: object) -> datetime | None:
    return None if value is None or value == "" else _dt(value)


def _value(value: object) -> object:
    return value.value if isinstance(value, ShareFlow | Label) else value


class ShareChanges(TypedDict, total=False):
    """What may change on a share besides its state: the borrower's course, once it exists; and, when a
    revoked or rejected share is requested again, what that request says (its flow, who asked, where the
    request went, the course's licence then)."""

    borrower_course_id: int | None
    borrower_course_shortname: str | None
    flow: str
    initiator: str
    contact_point: str
    licence_at_share: str


_SHARE_CHANGES = frozenset(ShareChanges.__annotations__)


class RunLock:
    """A held run lock. ``heartbeat()`` tells other hosts the holder is alive (PostgreSQL; no-op on SQLite)."""

    def __init__(self, holder: LockHolder, beat: Callable[[], None]) -> None:
        self.holder = holder
        self._beat = beat

    @property
    def name(self) -> str:
        return self.holder.name

    def heartbeat(self) -> None:
        self._beat()


class LedgerBase:
    """One ledger database. Safe to share between threads of one process (writes are serialised)."""

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = _utcnow, migrate: bool = True,
                 read_only: bool = False) -> None:
        self._db = database
        #: Every write refused (``transaction`` raises): what ``--dry-run`` opens.
        self._read_only = read_only
        self._clock = clock
        self._file_path = database.location if database.dialect == "sqlite" and database.location != MEMORY else None
        self._lock = threading.RLock()
        self._depth = 0
        #: Stamps of the audited rows written in the open transaction that no event carries yet. Only ever
        #: appended to or replaced (by ``append_event``), so a savepoint's mark is (the list, its length).
        self._stamps: list[RowStamp] = []
        self._memory_locks: set[str] = set()
        #: PostgreSQL: the schema advisory-lock keys are made in (``LockState.advisory_key``), once asked.
        self._advisory_scope: str | None = None
        #: PostgreSQL: the advisory keys of the shares this ledger's run has claimed (``LockState.claim_share``).
        self._claims: set[int] = set()
        if migrate and not read_only:
            self.migrate()

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str], *, clock: Callable[[], datetime] = _utcnow,
             busy_timeout: float = 30.0, create: bool = True, read_only: bool = False) -> Self:
        """Open (and create or migrate) a ledger: a file path, ``sqlite:///path``, ``:memory:`` or
        ``postgresql://user@host/db``. With ``create=False`` a missing SQLite file is an error instead.
        ``read_only`` (a dry run): the ledger must exist and be up to date, and nothing is written to it, not
        even a migration."""
        location: Location = parse_location(os.fspath(url_or_path))
        create = create and not read_only
        if not create and location.dialect == "sqlite" and not location.is_memory and not Path(location.target).exists():
            raise LedgerNotFoundError(Message("ledger.missing", where=location.target))
        database = connect(location, busy_timeout=busy_timeout)
        try:
            ledger = cls(database, clock=clock, read_only=read_only)
            pending = ledger.pending_migrations() if read_only else []
            if pending:
                raise LedgerError(Message("ledger.needs_upgrade", where=database.location, names=", ".join(pending)))
            return ledger
        except BaseException:
            database.close()
            raise

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    @property
    def location(self) -> str:
        """Where the ledger is: a file path, ``:memory:``, or a URL without its password."""
        return self._db.location

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None (memory, PostgreSQL)."""
        return Path(self._file_path) if self._file_path else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        return self._clock()

    # -- transactions and migrations -----------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Self]:
        """All or nothing. Yields the ledger; an exception rolls back everything written inside.

        Nested, it is a savepoint: the inner block's writes are undone on its exception, the outer goes on.
        """
        if self._read_only:
            raise LedgerError(Message("ledger.read_only", where=self.location))
        with self._lock:
            depth = self._depth
            savepoint = f"lmsbridge_{depth}"
            if depth == 0:
                self._db.begin()
                self._stamps = []
            else:
                self._db.execute(f"SAVEPOINT {savepoint}")
            stamps, stamped = self._stamps, len(self._stamps)
            self._depth += 1
            try:
                yield self
                if depth == 0:
                    self._vouch_for_the_rest()
            except BaseException:
                self._depth -= 1
                # The rows the block stamped are undone with it; the stamps an event inside it took are back.
                del stamps[stamped:]
                self._stamps = stamps if depth else []
                with contextlib.suppress(LedgerError):
                    if depth == 0:
                        self._db.rollback()
                    else:
                        self._db.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                        self._db.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            self._depth -= 1
            if depth > 0:
                self._db.execute(f"RELEASE SAVEPOINT {savepoint}")
                return
            try:
                self._db.commit()
            except BaseException:
                with contextlib.suppress(LedgerError):
                    self._db.rollback()
                raise

    def _vouch_for_the_rest(self) -> None:
        """Audited rows written with no event after them (a message recorded, a share made without one):
        one event by lmsbridge in the same transaction carries their stamps."""
        if not self._stamps:
            return
        latest = {(s.table, s.ref): s for s in self._stamps}.values()
        counts: dict[str, int] = {}
        for item in latest:
            counts[item.table] = counts.get(item.table, 0) + 1
        shares = {item.share_id for item in latest}
        self.append_event(share_id=shares.pop() if len(shares) == 1 else None, actor=SYSTEM_ACTOR,
                          action=f"{next(iter(counts))}.recorded" if len(counts) == 1 else "rows.recorded",
                          details={"rows": counts})

    def _write_audited(self, table: AuditedTable, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        """One statement ending in ``RETURNING *`` on an audited table: stamp each row it wrote, as stored."""
        with self.transaction():
            rows = self._db.execute(sql, params).rows
            self._stamps.extend(stamp_row(table, row) for row in rows)
            return rows

    def _execute(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return self._db.execute(sql, params).rows

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        """One statement in a transaction (the caller's, or its own); returns the rows it changed."""
        with self.transaction():
            return self._db.execute(sql, params).rowcount

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied (each in its own transaction, in order); return their names."""
        with self._lock:
            if self._depth:
                raise LedgerError("migrations cannot run inside a transaction")
            if self._read_only:
                raise LedgerError(Message("ledger.read_only", where=self.location))
            return migrations.migrate(self._db, _ts(self.now()))

    def backup_to(self, path: str | os.PathLike[str]) -> None:
        """A consistent copy of a SQLite ledger as it is now (``VACUUM INTO``); PostgreSQL has pg_dump."""
        if self.dialect != "sqlite":
            raise LedgerError(Message("ledger.backup_sqlite_only"))
        with self._lock:
            if self._depth:
                raise LedgerError("a backup cannot be taken inside a transaction")
            self._db.execute("VACUUM INTO ?", (os.fspath(path),))

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return migrations.applied(self._db)

    def pending_migrations(self) -> list[str]:
        """The migrations this version has that the ledger has not had yet (all of them for an empty file)."""
        try:
            done = set(self.applied_migrations())
        except LedgerError:  # no migrations table: nothing was ever applied
            done = set()
        return [m.name for m in migrations.MIGRATIONS if m.name not in done]

    @staticmethod
    def _model(cls: type[M], row: Mapping[str, Any]) -> M:
        try:
            return cls.model_validate(dict(row))
        except ValidationError as exc:
            detail = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise LedgerError(Message("ledger.unreadable_row", kind=cls.__name__, detail=detail)) from exc

    # -- events ------------------------------------------------------------------------------------------

    def append_event(self, *, share_id: str | None, actor: str, action: str, at: datetime | None = None,
                     details: Mapping[str, Any] | None = None) -> Event:
        """Append to the hash-chained log. Call it inside the transaction of the change it records.

        The event carries the stamps of the audited rows written before it in the transaction (the share
        just created or moved, the completions just recorded), and vouches for them."""
        if not actor.strip() or not action.strip():
            raise LedgerError("an event needs an actor and an action")
        body = details_text(details)
        when = _ts(at or self.now())
        with self.transaction():
            taken = list({(s.table, s.ref): s for s in self._stamps}.values())
            self._stamps = []  # a new list: a savepoint rolled back restores the old one (see transaction)
            written = audit.write_event(self._db, share_id=share_id, at=when, actor=actor, action=action,
                                        details=body, row_digests=stamps_text(taken))
        return self._event(written)

    def _event(self, stored: StoredEvent) -> Event:
        try:
            details = json.loads(stored.details)
            rows = parse_stamps(stored.row_digests)
        except ValueError as exc:
            raise LedgerError(Message("ledger.unreadable_event", seq=stored.seq)) from exc
        return self._model(Event, {"seq": stored.seq, "share_id": stored.share_id, "at": _dt(stored.at),
                                   "actor": stored.actor, "action": stored.action, "details": details,
                                   "prev_hash": stored.prev_hash, "hash": stored.hash, "rows": rows})

    def events(self, share_id: str | None = None, *, after_seq: int = 0, limit: int | None = None,
               actions: Sequence[str] | None = None) -> list[Event]:
        """Events in seq order: all, or one share's, or those of ``actions``; ``after_seq``/``limit`` page
        through a long log."""
        sql = "SELECT * FROM events WHERE seq > ?"
        params: list[object] = [after_seq]
        if share_id is not None:
            sql += " AND share_id = ?"
            params.append(share_id)
        if actions is not None:
            sql += " AND action IN (" + ", ".join("?" for _ in actions) + ")" if actions else " AND 1 = 0"
            params.extend(actions)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            self._event(StoredEvent(seq=int(r["seq"]), share_id=r["share_id"], at=str(r["at"]), actor=str(r["actor"]),
                                    action=str(r["action"]), details=str(r["details"]),
                                    prev_hash=str(r["prev_hash"]), hash=str(r["hash"]),
                                    row_digests=str(r["row_digests"] or "")))
            for r in self._execute(sql, params)
        ]
