"""The ledger: shares, the hash-chained event log, sync cursors, completions, failures, runs, messages.

Every command runs in ONE transaction (``with ledger.transaction() as tx:``): all of it is written or
none of it, also when the process is killed half-way (SQLite's WAL journal; PostgreSQL's transactions).
A nested ``transaction()`` is a savepoint inside the outer one. Methods that write open their own
transaction, which joins the caller's when there is one. Reads return frozen models, never rows.

Audited rows (shares, completions, messages, certificate notices; ``lmsbridge.ledger.rows``) are stamped
as they are written, and the stamps go into the next event the transaction appends (``append_event``:
the workflow's ``request``/``approve``/``publish``/``revoke``, the sync's ``sync.completions``). Rows
written with no event after them get one event by lmsbridge just before COMMIT (``<table>.recorded``),
so no audited row is committed without an event vouching for it, and ``verify`` checks the rows as
well as the chain. Cursors, failed items, sync runs and run locks are operational state: not stamped.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from pydantic import ValidationError
from typing_extensions import Unpack

from lmsbridge.domain import Label, ShareFlow
from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger import audit, migrations
from lmsbridge.ledger.chain import ChainHead, StoredEvent, check_chain, details_text
from lmsbridge.ledger.database import MEMORY, Database, Dialect, Location, connect, parse_location
from lmsbridge.ledger.errors import LedgerConstraintError, LedgerNotFoundError, LockedError, ShareStateError
from lmsbridge.ledger.locks import FileLock, LockHolder, check_lock_name, pid_alive
from lmsbridge.ledger.models import (
    FAILURE_KINDS,
    RUN_STATUSES,
    SHARE_STATES,
    SHARE_TRANSITIONS,
    CertificateNotice,
    Completion,
    Event,
    FailedItem,
    FailureKind,
    LedgerModel,
    RowStamp,
    RunStatus,
    SentMessage,
    Share,
    SyncCursor,
    SyncRun,
    VerifyReport,
    is_pseudonym,
)
from lmsbridge.ledger.rows import (
    AUDITED,
    CERTIFICATE_NOTICES,
    COMPLETIONS,
    MESSAGES,
    SHARES,
    SYSTEM_ACTOR,
    UNREADABLE,
    AuditedTable,
    check_rows,
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
    """What may change on a share besides its state: the borrower's course, once it exists."""

    borrower_course_id: int | None
    borrower_course_shortname: str | None


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


class Ledger:
    """One ledger database. Safe to share between threads of one process (writes are serialised)."""

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = _utcnow, migrate: bool = True) -> None:
        self._db = database
        self._clock = clock
        self._file_path = database.location if database.dialect == "sqlite" and database.location != MEMORY else None
        self._lock = threading.RLock()
        self._depth = 0
        #: Stamps of the audited rows written in the open transaction that no event carries yet. Only ever
        #: appended to or replaced (by ``append_event``), so a savepoint's mark is (the list, its length).
        self._stamps: list[RowStamp] = []
        self._memory_locks: set[str] = set()
        if migrate:
            self.migrate()

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str], *, clock: Callable[[], datetime] = _utcnow,
             busy_timeout: float = 30.0, create: bool = True) -> Ledger:
        """Open (and create or migrate) a ledger: a file path, ``sqlite:///path``, ``:memory:`` or
        ``postgresql://user@host/db``. With ``create=False`` a missing SQLite file is an error instead."""
        location: Location = parse_location(os.fspath(url_or_path))
        if not create and location.dialect == "sqlite" and not location.is_memory and not Path(location.target).exists():
            raise LedgerNotFoundError(Message("ledger.missing", where=location.target))
        database = connect(location, busy_timeout=busy_timeout)
        try:
            return cls(database, clock=clock)
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

    def __enter__(self) -> Ledger:
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
    def transaction(self) -> Iterator[Ledger]:
        """All or nothing. Yields the ledger; an exception rolls back everything written inside.

        Nested, it is a savepoint: the inner block's writes are undone on its exception, the outer goes on.
        """
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
            return migrations.migrate(self._db, _ts(self.now()))

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return migrations.applied(self._db)

    @staticmethod
    def _model(cls: type[M], row: Mapping[str, Any]) -> M:
        try:
            return cls.model_validate(dict(row))
        except ValidationError as exc:
            detail = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise LedgerError(Message("ledger.unreadable_row", kind=cls.__name__, detail=detail)) from exc

    # -- shares ----------------------------------------------------------------------------------------

    def _share(self, row: Mapping[str, Any]) -> Share:
        data = dict(row)
        data["created_at"] = _dt(data["created_at"])
        data["updated_at"] = _dt(data["updated_at"])
        return self._model(Share, data)

    def _next_share_id(self) -> str:
        # Zero-padded, so the longest-then-greatest id is the last one (S-9999 < S-10000).
        rows = self._execute("SELECT id FROM shares WHERE id LIKE 'S-%' ORDER BY LENGTH(id) DESC, id DESC LIMIT 1")
        last = int(str(rows[0]["id"])[2:]) if rows and str(rows[0]["id"])[2:].isdigit() else 0
        return f"S-{last + 1:04d}"

    def create_share(
        self,
        *,
        flow: ShareFlow | str,
        owner_platform: str,
        owner_course_id: int | None,
        owner_course_shortname: str,
        owner_org: str,
        borrower_platform: str,
        borrower_org: str,
        initiator: str,
        licence_at_share: str,
        label: Label | str,
        owner_support: str,
        borrower_support: str,
        contact_point: str,
        request_key: str,
        borrower_course_id: int | None = None,
        borrower_course_shortname: str | None = None,
        now: datetime | None = None,
    ) -> Share:
        """Record a new share in state ``requested`` with the next id (S-0001, S-0002 …).

        The request key is unique: asking again for the same thing finds the share
        (``find_share_by_request_key``) instead of making a second one; here a repeat is refused.
        """
        when = _ts(now or self.now())
        flow_value = ShareFlow(flow).value
        with self.transaction():
            existing = self.find_share_by_request_key(request_key)
            if existing is not None:
                raise LedgerConstraintError(Message("ledger.duplicate_request", id=existing.id, key=request_key))
            share_id = self._next_share_id()
            values: dict[str, object] = {
                "id": share_id, "flow": flow_value, "state": "requested",
                "owner_platform": owner_platform, "owner_course_id": owner_course_id,
                "owner_course_shortname": owner_course_shortname, "owner_org": owner_org,
                "borrower_platform": borrower_platform, "borrower_course_id": borrower_course_id,
                "borrower_course_shortname": borrower_course_shortname, "borrower_org": borrower_org,
                "initiator": initiator, "licence_at_share": licence_at_share, "label": _value(label),
                "owner_support": owner_support, "borrower_support": borrower_support,
                "contact_point": contact_point, "request_key": request_key,
                "created_at": when, "updated_at": when,
            }
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            return self._one_share(share_id, self._write_audited(
                SHARES, f"INSERT INTO shares ({columns}) VALUES ({marks}) RETURNING *", tuple(values.values())))

    def _one_share(self, share_id: str, rows: Sequence[Mapping[str, Any]]) -> Share:
        """The share row a write returned (the write lock keeps it there between the check and the write)."""
        if len(rows) != 1:
            raise LedgerNotFoundError(Message("ledger.no_share", id=share_id))
        return self._share(rows[0])

    def get_share(self, share_id: str) -> Share | None:
        rows = self._execute("SELECT * FROM shares WHERE id = ?", (share_id,))
        return self._share(rows[0]) if rows else None

    def require_share(self, share_id: str) -> Share:
        """The share, or ``LedgerNotFoundError`` naming it."""
        share = self.get_share(share_id)
        if share is None:
            raise LedgerNotFoundError(Message("ledger.no_share", id=share_id))
        return share

    def find_share_by_request_key(self, request_key: str) -> Share | None:
        rows = self._execute("SELECT * FROM shares WHERE request_key = ?", (request_key,))
        return self._share(rows[0]) if rows else None

    def list_shares(self, state: str | None = None, platform: str | None = None) -> list[Share]:
        """Shares in id order; ``state`` filters by state, ``platform`` by owner or borrower platform."""
        sql = "SELECT * FROM shares WHERE 1 = 1"
        params: list[object] = []
        if state:
            sql += " AND state = ?"
            params.append(state)
        if platform:
            sql += " AND (owner_platform = ? OR borrower_platform = ?)"
            params += [platform, platform]
        return [self._share(row) for row in self._execute(sql + " ORDER BY LENGTH(id), id", params)]

    def update_share_state(self, share_id: str, new_state: str, *, now: datetime | None = None,
                           **changes: Unpack[ShareChanges]) -> Share:
        """Move a share to ``new_state`` (only along ``SHARE_TRANSITIONS``), optionally setting the borrower's
        course in the same write. Record the event for it with ``append_event`` in the same transaction."""
        if new_state not in SHARE_STATES:
            raise LedgerError(f"unknown share state {new_state!r} (known: {', '.join(SHARE_STATES)})")
        target = new_state
        unknown = set(changes) - _SHARE_CHANGES
        if unknown:
            raise LedgerError(f"cannot change {', '.join(sorted(unknown))} of a share")
        when = _ts(now or self.now())
        with self.transaction():
            share = self.require_share(share_id)
            allowed = SHARE_TRANSITIONS[share.state]
            if target not in allowed:
                following: str | Message = ", ".join(sorted(allowed)) or Message("ledger.transition.none")
                raise ShareStateError(
                    Message("ledger.transition", id=share_id, current=share.state, target=target, next=following),
                    share_id=share_id, current=share.state, target=target,
                )
            sets = ["state = ?", "updated_at = ?", *(f"{key} = ?" for key in changes)]
            params = [target, when, *changes.values(), share_id, share.state]
            # The state in the WHERE makes the check and the write one step.
            return self._one_share(share_id, self._write_audited(
                SHARES, f"UPDATE shares SET {', '.join(sets)} WHERE id = ? AND state = ? RETURNING *", params))

    def set_borrower_course(self, share_id: str, course_id: int | None, shortname: str | None, *,
                            now: datetime | None = None) -> Share:
        """Link the borrower's course (the copy or the link) to the share, without changing its state."""
        when = _ts(now or self.now())
        with self.transaction():
            self.require_share(share_id)
            return self._one_share(share_id, self._write_audited(
                SHARES, "UPDATE shares SET borrower_course_id = ?, borrower_course_shortname = ?, updated_at = ? "
                "WHERE id = ? RETURNING *", (course_id, shortname, when, share_id)))

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

    def events(self, share_id: str | None = None, *, after_seq: int = 0, limit: int | None = None) -> list[Event]:
        """Events in seq order: all, or one share's; ``after_seq``/``limit`` page through a long log."""
        sql = "SELECT * FROM events WHERE seq > ?"
        params: list[object] = [after_seq]
        if share_id is not None:
            sql += " AND share_id = ?"
            params.append(share_id)
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

    def verify(self) -> VerifyReport:
        """Walk the chain from the first event and name the first edited, deleted, moved or inserted one;
        over an intact chain, compare every audited row with the last event that vouches for it and name
        each row that differs, that no event vouches for, or that an event vouches for and is gone."""
        with self.transaction():  # one consistent view of the events, the head and the rows
            stored = audit.stored_events(self._db)
            head_rows = self._execute("SELECT seq, hash FROM chain_head WHERE id = 1")
            current = {name: audit.audited_rows(self._db, table) for name, table in AUDITED.items()}
        head = ChainHead(int(head_rows[0]["seq"]), str(head_rows[0]["hash"])) if head_rows else None
        report = check_chain(stored, head)
        if not report.ok:
            return report
        check = check_rows(stored, current)
        if check.unreadable_seq is not None:
            return report.model_copy(update={"ok": False, "first_bad_seq": check.unreadable_seq,
                                             "problem_code": UNREADABLE,
                                             "problem": Message("ledger.verify.stamps_unreadable", seq=check.unreadable_seq)})
        if not check.problems:
            return report.model_copy(update={"rows": check.rows})
        first = check.problems[0]
        return report.model_copy(update={"ok": False, "rows": check.rows, "row_problems": check.problems,
                                         "first_bad_seq": first.seq, "problem_code": first.code,
                                         "problem": first.problem})

    # -- messages ------------------------------------------------------------------------------------------

    def record_message(self, *, key: str, kind: str, to: str, subject: str, message_id: str, path: str,
                       now: datetime | None = None) -> bool:
        """Record a message written (an e-mail in the outbox …) once per key. True if it was new."""
        return len(self._write_audited(
            MESSAGES,
            "INSERT INTO messages (key, kind, recipient, subject, message_id, path, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING *",
            (key, kind, to, subject, message_id, path, _ts(now or self.now())),
        )) == 1

    def find_message(self, key: str) -> SentMessage | None:
        rows = self._execute("SELECT * FROM messages WHERE key = ?", (key,))
        return self._message(rows[0]) if rows else None

    def messages(self, kind: str | None = None) -> list[SentMessage]:
        sql, params = "SELECT * FROM messages", []
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", [kind]
        return [self._message(row) for row in self._execute(sql + " ORDER BY created_at, key", params)]

    def _message(self, row: Mapping[str, Any]) -> SentMessage:
        data = dict(row)
        data["to"] = data.pop("recipient")
        data["created_at"] = _dt(data["created_at"])
        return self._model(SentMessage, data)

    # -- sync cursors -----------------------------------------------------------------------------------

    def get_cursor(self, share_id: str) -> datetime | None:
        rows = self._execute("SELECT cursor FROM sync_cursors WHERE share_id = ?", (share_id,))
        return _dt(rows[0]["cursor"]) if rows else None

    def cursors(self) -> list[SyncCursor]:
        return [
            self._model(SyncCursor, {"share_id": r["share_id"], "cursor": _dt(r["cursor"]),
                                     "updated_at": _dt(r["updated_at"])})
            for r in self._execute("SELECT * FROM sync_cursors ORDER BY share_id")
        ]

    def set_cursor(self, share_id: str, value: datetime, run_started_at: datetime, *,
                   now: datetime | None = None) -> datetime:
        """Advance a share's sync cursor and return the value stored.

        Never past ``run_started_at`` (a later value is cut down to it: what changed during the run is
        read again next time) and never backwards (an earlier value leaves the cursor as it is).
        """
        wanted = min(_dt(_ts(value)), _dt(_ts(run_started_at)))
        stamp = _ts(now or self.now())
        with self.transaction():
            current = self.get_cursor(share_id)
            if current is not None and wanted <= current:
                return current
            self._write("INSERT INTO sync_cursors (share_id, cursor, updated_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (share_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                        (share_id, _ts(wanted), stamp))
        return wanted

    # -- completions ------------------------------------------------------------------------------------

    @staticmethod
    def _pseudonym(learner_key: str) -> str:
        if not is_pseudonym(learner_key):
            raise LedgerError(Message("ledger.not_pseudonym"))
        return learner_key

    def record_completion(self, *, share_id: str, learner_key: str, owner_activity: str, borrower_activity: str,
                          time_completed: datetime | None, synced_at: datetime | None = None) -> bool:
        """Record that a learner (pseudonym) completed an owner's activity. True if new; a re-run is a no-op."""
        return len(self._write_audited(
            COMPLETIONS,
            "INSERT INTO completions (share_id, learner_key, owner_activity, borrower_activity, time_completed, "
            "synced_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (share_id, learner_key, owner_activity) DO NOTHING "
            "RETURNING *",
            (share_id, self._pseudonym(learner_key), owner_activity, borrower_activity,
             _ts(time_completed) if time_completed else None, _ts(synced_at or self.now())),
        )) == 1

    def is_recorded(self, share_id: str, learner_key: str, owner_activity: str) -> bool:
        return bool(self._execute(
            "SELECT 1 AS x FROM completions WHERE share_id = ? AND learner_key = ? AND owner_activity = ?",
            (share_id, learner_key, owner_activity),
        ))

    def recorded_activities(self, share_id: str, learner_key: str) -> set[str]:
        rows = self._execute("SELECT owner_activity FROM completions WHERE share_id = ? AND learner_key = ?",
                             (share_id, learner_key))
        return {str(r["owner_activity"]) for r in rows}

    def completed_learners(self, share_id: str, required_activities: Collection[str] | None = None) -> set[str]:
        """Learners with a recorded completion on the share; with ``required_activities``, only those who
        have every one of them recorded."""
        rows = self._execute("SELECT learner_key, owner_activity FROM completions WHERE share_id = ?", (share_id,))
        done: dict[str, set[str]] = {}
        for row in rows:
            done.setdefault(str(row["learner_key"]), set()).add(str(row["owner_activity"]))
        if required_activities is None:
            return set(done)
        required = set(required_activities)
        return {learner for learner, activities in done.items() if required <= activities}

    def completions(self, share_id: str | None = None) -> list[Completion]:
        sql, params = "SELECT * FROM completions", []
        if share_id is not None:
            sql, params = sql + " WHERE share_id = ?", [share_id]
        out = []
        for row in self._execute(sql + " ORDER BY share_id, learner_key, owner_activity", params):
            data = dict(row)
            data["time_completed"] = _dt_or_none(data["time_completed"])
            data["synced_at"] = _dt(data["synced_at"])
            out.append(self._model(Completion, data))
        return out

    # -- failed items -----------------------------------------------------------------------------------

    def record_failure(self, *, share_id: str, item_kind: FailureKind | str, item_key: str, reason: str,
                       now: datetime | None = None) -> FailedItem:
        """Note that an item failed (again): the first time at 1 attempt, then +1 with the latest reason."""
        if item_kind not in FAILURE_KINDS:
            raise LedgerError(f"unknown failed item kind {item_kind!r} (known: {', '.join(FAILURE_KINDS)})")
        stamp = _ts(now or self.now())
        with self.transaction():
            self._write(
                "INSERT INTO failed_items (share_id, item_kind, item_key, reason, attempts, first_failed_at, "
                "last_failed_at) VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (share_id, item_kind, item_key) DO UPDATE "
                "SET reason = excluded.reason, attempts = failed_items.attempts + 1, "
                "last_failed_at = excluded.last_failed_at",
                (share_id, item_kind, item_key, reason, stamp, stamp),
            )
            (failure,) = self.list_failures(share_id, item_kind=item_kind, item_key=item_key)
        return failure

    def clear_failure(self, *, share_id: str, item_kind: str, item_key: str) -> bool:
        """Forget a failed item (it went through). True if there was one."""
        return self._write("DELETE FROM failed_items WHERE share_id = ? AND item_kind = ? AND item_key = ?",
                           (share_id, item_kind, item_key)) == 1

    def list_failures(self, share_id: str | None = None, *, item_kind: str | None = None,
                      item_key: str | None = None) -> list[FailedItem]:
        sql, params = "SELECT * FROM failed_items WHERE 1 = 1", list[object]()
        for column, value in (("share_id", share_id), ("item_kind", item_kind), ("item_key", item_key)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        out = []
        for row in self._execute(sql + " ORDER BY share_id, item_kind, item_key", params):
            data = dict(row)
            data["first_failed_at"] = _dt(data["first_failed_at"])
            data["last_failed_at"] = _dt(data["last_failed_at"])
            out.append(self._model(FailedItem, data))
        return out

    # -- sync runs --------------------------------------------------------------------------------------

    def _run(self, row: Mapping[str, Any]) -> SyncRun:
        data = dict(row)
        data["started_at"] = _dt(data["started_at"])
        data["finished_at"] = _dt_or_none(data["finished_at"])
        data["counts"] = json.loads(data["counts"])
        return self._model(SyncRun, data)

    def start_run(self, started_at: datetime | None = None) -> SyncRun:
        rows = self._insert_returning("INSERT INTO sync_runs (started_at, status, counts) VALUES (?, 'running', '{}') "
                                      "RETURNING *", (_ts(started_at or self.now()),))
        return self._run(rows[0])

    def _insert_returning(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        with self.transaction():
            return self._execute(sql, params)

    def finish_run(self, run_id: int, *, status: RunStatus | str, counts: Mapping[str, Any],
                   finished_at: datetime | None = None) -> SyncRun:
        """Close a running run with its outcome (ok, partial, failed) and its counts."""
        if status not in RUN_STATUSES or status == "running":
            raise LedgerError(f"a run finishes as ok, partial or failed, not {status!r}")
        body = details_text(counts)
        with self.transaction():
            changed = self._write("UPDATE sync_runs SET status = ?, counts = ?, finished_at = ? "
                                  "WHERE id = ? AND status = 'running'",
                                  (status, body, _ts(finished_at or self.now()), run_id))
            if changed != 1:
                raise LedgerNotFoundError(Message("ledger.no_run", id=run_id))
            return self._run(self._execute("SELECT * FROM sync_runs WHERE id = ?", (run_id,))[0])

    def last_run(self, status: RunStatus | None = None) -> SyncRun | None:
        """The latest run (by start), or the latest with ``status``."""
        sql, params = "SELECT * FROM sync_runs", list[object]()
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        rows = self._execute(sql + " ORDER BY started_at DESC, id DESC LIMIT 1", params)
        return self._run(rows[0]) if rows else None

    def runs(self, limit: int = 20) -> list[SyncRun]:
        rows = self._execute("SELECT * FROM sync_runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))
        return [self._run(row) for row in rows]

    # -- certificate notices ------------------------------------------------------------------------------

    def record_certificate_notice(self, *, course_key: str, learner_key: str, due_date: date,
                                  now: datetime | None = None) -> bool:
        """Note a «what you still miss» notice for one learner and due date. True if it was not sent before."""
        return len(self._write_audited(
            CERTIFICATE_NOTICES,
            "INSERT INTO certificate_notices (course_key, learner_key, due_date, sent_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (course_key, learner_key, due_date) DO NOTHING RETURNING *",
            (course_key, self._pseudonym(learner_key), due_date.isoformat(), _ts(now or self.now())),
        )) == 1

    def certificate_notice_sent(self, course_key: str, learner_key: str, due_date: date) -> bool:
        return bool(self._execute(
            "SELECT 1 AS x FROM certificate_notices WHERE course_key = ? AND learner_key = ? AND due_date = ?",
            (course_key, learner_key, due_date.isoformat()),
        ))

    def certificate_notices(self, course_key: str | None = None) -> list[CertificateNotice]:
        sql, params = "SELECT * FROM certificate_notices", list[object]()
        if course_key is not None:
            sql, params = sql + " WHERE course_key = ?", [course_key]
        return [
            self._model(CertificateNotice, {**row, "due_date": date.fromisoformat(str(row["due_date"])),
                                            "sent_at": _dt(row["sent_at"])})
            for row in self._execute(sql + " ORDER BY course_key, due_date, learner_key", params)
        ]

    # -- run lock ---------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def acquire_lock(self, name: str, *, stale_after: timedelta = timedelta(minutes=10)) -> Iterator[RunLock]:
        """Hold the run lock ``name`` for the block, or fail at once with ``LockedError`` when another
        process holds it. A dead holder's lock is taken over (``stale_after``: PostgreSQL, other hosts)."""
        check_lock_name(name)
        if self._depth:
            raise LedgerError(Message("ledger.lock_in_transaction"))
        holder = LockHolder.me(name, self.now())
        if self._db.dialect == "postgresql":
            with self._row_lock(holder, stale_after) as lock:
                yield lock
        elif self._file_path is None:
            with self._memory_lock(holder) as lock:
                yield lock
        else:
            file_lock = FileLock(f"{self._file_path}.{name}.lock", holder)
            file_lock.acquire()
            try:
                yield RunLock(holder, lambda: None)
            finally:
                file_lock.release()

    @contextlib.contextmanager
    def _memory_lock(self, holder: LockHolder) -> Iterator[RunLock]:
        # A :memory: ledger lives in this process only, so the lock does too.
        with self._lock:
            if holder.name in self._memory_locks:
                raise holder.locked_error()
            self._memory_locks.add(holder.name)
        try:
            yield RunLock(holder, lambda: None)
        finally:
            self._memory_locks.discard(holder.name)

    @contextlib.contextmanager
    def _row_lock(self, holder: LockHolder, stale_after: timedelta) -> Iterator[RunLock]:
        with self.transaction():
            rows = self._execute("SELECT * FROM run_locks WHERE name = ?", (holder.name,))
            if rows:
                current = LockHolder(holder.name, int(rows[0]["pid"]), str(rows[0]["host"]),
                                     str(rows[0]["acquired_at"]))
                if not self._stale(current, _dt(rows[0]["heartbeat_at"]), stale_after):
                    raise current.locked_error()
                self._write("DELETE FROM run_locks WHERE name = ?", (holder.name,))
            stamp = _ts(self.now())
            self._write("INSERT INTO run_locks (name, pid, host, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
                        (holder.name, holder.pid, holder.host, stamp, stamp))

        def beat() -> None:
            changed = self._write("UPDATE run_locks SET heartbeat_at = ? WHERE name = ? AND pid = ? AND host = ?",
                                  (_ts(self.now()), holder.name, holder.pid, holder.host))
            if changed != 1:
                rows = self._execute("SELECT pid, host FROM run_locks WHERE name = ?", (holder.name,))
                pid, host = (rows[0]["pid"], rows[0]["host"]) if rows else ("?", "?")
                raise LockedError(Message("ledger.lock_lost", name=holder.name, pid=pid, host=host))

        try:
            yield RunLock(holder, beat)
        finally:
            with contextlib.suppress(LedgerError):
                self._write("DELETE FROM run_locks WHERE name = ? AND pid = ? AND host = ?",
                            (holder.name, holder.pid, holder.host))

    def _stale(self, current: LockHolder, heartbeat_at: datetime, stale_after: timedelta) -> bool:
        """On this host a holder is gone when its pid is; another host's, when its heartbeat is old."""
        if current.host == socket.gethostname():
            return current.pid != os.getpid() and not pid_alive(current.pid)
        return self.now() - heartbeat_at > stale_after
