"""SQLite ledger (WAL, named transactional migrations, append-only hash-chained events).

Every command runs in ONE transaction (``with ledger.transaction():``): a crash leaves the previous
state. Events carry ``hash = sha256(canonical JSON of the row + prev_hash)``; ``verify()`` walks the
chain and names the first edited, deleted or inserted row.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from lmsbridge.errors import LedgerError

GENESIS = "0" * 64


class LockedError(LedgerError):
    """Another process holds the lock (e.g. a sync run is already running)."""

    code = "locked"
    exit_code = 1


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise LedgerError("naive datetime given to the ledger; times must be timezone-aware")
    return value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Share(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    flow: str
    state: str
    owner_platform: str
    owner_course_id: int | None
    owner_course_shortname: str
    owner_org: str
    borrower_platform: str
    borrower_course_id: int | None
    borrower_course_shortname: str | None
    borrower_org: str
    initiator: str
    licence_at_share: str
    label: str
    owner_support: str
    borrower_support: str
    contact_point: str
    request_key: str
    created_at: datetime
    updated_at: datetime


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    share_id: str | None
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str = ""


def _hash(seq: int, share_id: str | None, at: str, actor: str, action: str, details: str, prev: str) -> str:
    canonical = json.dumps([seq, share_id, at, actor, action, details, prev], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_shares_and_events",
        """
        CREATE TABLE shares (
            id TEXT PRIMARY KEY, flow TEXT NOT NULL, state TEXT NOT NULL,
            owner_platform TEXT NOT NULL, owner_course_id INTEGER, owner_course_shortname TEXT NOT NULL,
            owner_org TEXT NOT NULL, borrower_platform TEXT NOT NULL, borrower_course_id INTEGER,
            borrower_course_shortname TEXT, borrower_org TEXT NOT NULL, initiator TEXT NOT NULL,
            licence_at_share TEXT NOT NULL, label TEXT NOT NULL, owner_support TEXT NOT NULL,
            borrower_support TEXT NOT NULL, contact_point TEXT NOT NULL, request_key TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY, share_id TEXT, at TEXT NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
        );
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN
            SELECT RAISE(ABORT, 'events are append-only');
        END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN
            SELECT RAISE(ABORT, 'events are append-only');
        END;
        CREATE TABLE messages (
            key TEXT PRIMARY KEY, kind TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL,
            message_id TEXT NOT NULL, path TEXT NOT NULL, created_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0002_sync",
        """
        CREATE TABLE sync_cursors (share_id TEXT PRIMARY KEY REFERENCES shares(id), cursor TEXT NOT NULL,
                                   updated_at TEXT NOT NULL);
        CREATE TABLE completions (
            share_id TEXT NOT NULL REFERENCES shares(id), learner_key TEXT NOT NULL, owner_activity TEXT NOT NULL,
            borrower_activity TEXT NOT NULL, time_completed TEXT, synced_at TEXT NOT NULL,
            PRIMARY KEY (share_id, learner_key, owner_activity)
        );
        CREATE TABLE failed_items (
            share_id TEXT NOT NULL, item_kind TEXT NOT NULL, item_key TEXT NOT NULL, reason TEXT NOT NULL,
            attempts INTEGER NOT NULL, first_failed_at TEXT NOT NULL, last_failed_at TEXT NOT NULL,
            PRIMARY KEY (share_id, item_kind, item_key)
        );
        CREATE TABLE sync_runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
                                status TEXT NOT NULL, counts TEXT NOT NULL);
        CREATE TABLE certificate_notices (course_key TEXT NOT NULL, learner_key TEXT NOT NULL, due_date TEXT NOT NULL,
                                          sent_at TEXT NOT NULL, PRIMARY KEY (course_key, learner_key, due_date));
        """,
    ),
]

ALLOWED_STATES = ("requested", "approved", "published", "revoked", "rejected")


class Ledger:
    """One ledger file. Thread-safe for one process (a lock around the connection)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(f"cannot open the ledger {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self.migrate()

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str]) -> Ledger:
        text = str(url_or_path)
        if text.startswith(("postgresql://", "postgres://")):
            raise LedgerError("PostgreSQL ledgers are not supported by this version: use a SQLite path")
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///") - 1 :] if text.startswith("sqlite:////") else text[len("sqlite:///") :]
        return cls(text)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and migrations ---------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; nested use joins the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            try:
                if outer:
                    self._conn.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")
            except BaseException as exc:
                if outer:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise LedgerError(f"ledger write failed: {exc}") from exc
                raise

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise LedgerError(f"ledger constraint: {exc}") from exc
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger error: {exc}") from exc

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet applied, each in its own transaction, in order."""
        self._exec("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {row["name"] for row in self._exec("SELECT name FROM migrations")}
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                for statement in _statements(sql):
                    self._exec(statement)
                self._exec("INSERT INTO migrations VALUES (?, ?)", (name, _ts(datetime.now(UTC))))
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [row["name"] for row in self._exec("SELECT name FROM migrations ORDER BY rowid")]

    # -- shares ---------------------------------------------------------------------------------------

    def _next_share_id(self) -> str:
        row = self._exec("SELECT COUNT(*) AS n FROM shares").fetchone()
        return f"S-{int(row['n']) + 1:04d}"

    def create_share(self, *, now: datetime, **fields: Any) -> Share:
        share_id = fields.pop("id", None) or self._next_share_id()
        values = {
            "id": share_id,
            "state": fields.pop("state", "requested"),
            "created_at": _ts(now),
            "updated_at": _ts(now),
            **{k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()},
        }
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction():
            self._exec(f"INSERT INTO shares ({columns}) VALUES ({marks})", tuple(values.values()))
        share = self.get_share(share_id)
        assert share is not None
        return share

    def get_share(self, share_id: str) -> Share | None:
        row = self._exec("SELECT * FROM shares WHERE id = ?", (share_id,)).fetchone()
        return Share.model_validate(dict(row)) if row else None

    def find_share_by_request_key(self, key: str) -> Share | None:
        row = self._exec("SELECT * FROM shares WHERE request_key = ?", (key,)).fetchone()
        return Share.model_validate(dict(row)) if row else None

    def list_shares(self, state: str | None = None, platform: str | None = None) -> list[Share]:
        sql = "SELECT * FROM shares WHERE 1=1"
        params: list[Any] = []
        if state:
            sql += " AND state = ?"
            params.append(state)
        if platform:
            sql += " AND (owner_platform = ? OR borrower_platform = ?)"
            params += [platform, platform]
        return [Share.model_validate(dict(r)) for r in self._exec(sql + " ORDER BY id", tuple(params))]

    def update_share_state(self, share_id: str, new_state: str, *, now: datetime, **changes: Any) -> Share:
        if new_state not in ALLOWED_STATES:
            raise LedgerError(f"unknown share state {new_state!r}")
        sets = ["state = ?", "updated_at = ?"]
        params: list[Any] = [new_state, _ts(now)]
        for key, value in changes.items():
            if key not in ("borrower_course_id", "borrower_course_shortname"):
                raise LedgerError(f"cannot change {key} of a share")
            sets.append(f"{key} = ?")
            params.append(value)
        with self.transaction():
            cursor = self._exec(f"UPDATE shares SET {', '.join(sets)} WHERE id = ?", (*params, share_id))
            if cursor.rowcount != 1:
                raise LedgerError(f"no share {share_id}")
        share = self.get_share(share_id)
        assert share is not None
        return share

    # -- events ------------------------------------------------------------------------------------------

    def append_event(
        self, *, share_id: str | None, actor: str, action: str, at: datetime, details: dict[str, Any] | None = None
    ) -> Event:
        body = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
        with self.transaction():
            last = self._exec("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            seq = int(last["seq"]) + 1 if last else 1
            prev = str(last["hash"]) if last else GENESIS
            stamp = _ts(at)
            digest = _hash(seq, share_id, stamp, actor, action, body, prev)
            self._exec("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (seq, share_id, stamp, actor, action, body, prev, digest))
        return Event(seq=seq, share_id=share_id, at=datetime.fromisoformat(stamp), actor=actor, action=action,
                     details=json.loads(body), prev_hash=prev, hash=digest)

    def events(self, share_id: str | None = None) -> list[Event]:
        sql = "SELECT * FROM events"
        params: tuple[str, ...] = ()
        if share_id:
            sql, params = sql + " WHERE share_id = ?", (share_id,)
        out = []
        for row in self._exec(sql + " ORDER BY seq", params):
            data = dict(row)
            data["details"] = json.loads(data["details"])
            out.append(Event.model_validate(data))
        return out

    def verify(self) -> VerifyReport:
        """Walk the chain: an edited, deleted, reordered or inserted row breaks it."""
        prev = GENESIS
        expected_seq = 1
        count = 0
        for row in self._exec("SELECT * FROM events ORDER BY seq"):
            count += 1
            seq = int(row["seq"])
            if seq != expected_seq:
                return VerifyReport(False, count, expected_seq, f"event {expected_seq} is missing (deleted?)")
            if row["prev_hash"] != prev:
                return VerifyReport(False, count, seq, f"event {seq} does not follow event {seq - 1}")
            digest = _hash(seq, row["share_id"], row["at"], row["actor"], row["action"], row["details"], row["prev_hash"])
            if digest != row["hash"]:
                return VerifyReport(False, count, seq, f"event {seq} was changed after it was written")
            prev = row["hash"]
            expected_seq += 1
        return VerifyReport(True, count)

    # -- messages -------------------------------------------------------------------------------------------

    def record_message(self, *, key: str, kind: str, to: str, subject: str, message_id: str, path: str,
                       now: datetime) -> None:
        self._exec("INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (key, kind, to, subject, message_id, path, _ts(now)))

    def find_message(self, key: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM messages WHERE key = ?", (key,)).fetchone()
        return dict(row) if row else None

    # -- sync -------------------------------------------------------------------------------------------------

    def get_cursor(self, share_id: str) -> datetime | None:
        row = self._exec("SELECT cursor FROM sync_cursors WHERE share_id = ?", (share_id,)).fetchone()
        return _dt(row["cursor"]) if row else None

    def set_cursor(self, share_id: str, value: datetime, run_started_at: datetime) -> datetime:
        """Advance a cursor: never past the run's start, never backwards. Returns the stored value."""
        value = min(value, run_started_at)
        current = self.get_cursor(share_id)
        if current is not None and value <= current:
            return current
        self._exec("INSERT INTO sync_cursors VALUES (?, ?, ?) ON CONFLICT(share_id) DO UPDATE SET "
                   "cursor = excluded.cursor, updated_at = excluded.updated_at",
                   (share_id, _ts(value), _ts(datetime.now(UTC))))
        return value

    def record_completion(self, *, share_id: str, learner_key: str, owner_activity: str, borrower_activity: str,
                          time_completed: datetime | None, synced_at: datetime) -> bool:
        cursor = self._exec(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?)",
            (share_id, learner_key, owner_activity, borrower_activity,
             _ts(time_completed) if time_completed else None, _ts(synced_at)),
        )
        return cursor.rowcount == 1

    def recorded_activities(self, share_id: str, learner_key: str) -> set[str]:
        rows = self._exec("SELECT owner_activity FROM completions WHERE share_id = ? AND learner_key = ?",
                          (share_id, learner_key))
        return {str(r["owner_activity"]) for r in rows}

    def completions(self, share_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM completions"
        params: tuple[str, ...] = ()
        if share_id:
            sql, params = sql + " WHERE share_id = ?", (share_id,)
        return [dict(r) for r in self._exec(sql + " ORDER BY share_id, learner_key, owner_activity", params)]

    def record_failure(self, *, share_id: str, item_kind: str, item_key: str, reason: str, now: datetime) -> None:
        self._exec(
            "INSERT INTO failed_items VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT(share_id, item_kind, item_key) "
            "DO UPDATE SET reason = excluded.reason, attempts = attempts + 1, last_failed_at = excluded.last_failed_at",
            (share_id, item_kind, item_key, reason, _ts(now), _ts(now)),
        )

    def clear_failure(self, *, share_id: str, item_kind: str, item_key: str) -> None:
        self._exec("DELETE FROM failed_items WHERE share_id = ? AND item_kind = ? AND item_key = ?",
                   (share_id, item_kind, item_key))

    def list_failures(self, share_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM failed_items"
        params: tuple[str, ...] = ()
        if share_id:
            sql, params = sql + " WHERE share_id = ?", (share_id,)
        return [dict(r) for r in self._exec(sql + " ORDER BY share_id, item_kind, item_key", params)]

    def start_run(self, started_at: datetime) -> int:
        cursor = self._exec("INSERT INTO sync_runs (started_at, status, counts) VALUES (?, 'running', '{}')",
                            (_ts(started_at),))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, status: str, counts: dict[str, Any], finished_at: datetime) -> None:
        self._exec("UPDATE sync_runs SET status = ?, counts = ?, finished_at = ? WHERE id = ?",
                   (status, json.dumps(counts, sort_keys=True), _ts(finished_at), run_id))

    def last_run(self) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
        if not row:
            return None
        data = dict(row)
        data["counts"] = json.loads(data["counts"])
        return data

    def record_certificate_notice(self, *, course_key: str, learner_key: str, due_date: str, now: datetime) -> bool:
        cursor = self._exec("INSERT OR IGNORE INTO certificate_notices VALUES (?, ?, ?, ?)",
                            (course_key, learner_key, due_date, _ts(now)))
        return cursor.rowcount == 1

    # -- run lock -------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def acquire_lock(self, name: str) -> Iterator[None]:
        """An exclusive OS lock beside the ledger file; fails at once when another process holds it."""
        base = self.path if self.path != ":memory:" else os.path.join(os.getcwd(), ".lmsbridge-memory")
        lock_path = f"{base}.{name}.lock"
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the duration of the context
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockedError(f"{name} is already running (lock {lock_path})") from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()


def _statements(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out: list[str] = []
    buffer: list[str] = []
    in_trigger = False
    for line in sql.strip().splitlines():
        buffer.append(line)
        stripped = line.strip().upper()
        if stripped.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and stripped == "END;") or (not in_trigger and stripped.endswith(";")):
            out.append("\n".join(buffer).strip().rstrip(";"))
            buffer = []
            in_trigger = False
    if "".join(buffer).strip():
        out.append("\n".join(buffer).strip().rstrip(";"))
    return out


OpenLedger = Callable[[str], Ledger]
