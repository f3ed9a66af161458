"""The sync's state in the ledger: cursors, the completion log, failed items, runs, certificate notices, locks.

The completion log and the certificate notices are audited rows (stamped, vouched for by an event); cursors,
failed items, sync runs and run locks are operational state, outside the audit trail.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.base import LedgerBase, RunLock, _dt, _dt_or_none, _ts
from lmsbridge.ledger.chain import details_text
from lmsbridge.ledger.errors import LedgerNotFoundError, LockedError
from lmsbridge.ledger.locks import FileLock, LockHolder, check_lock_name, pid_alive
from lmsbridge.ledger.models import (
    FAILURE_KINDS,
    RUN_STATUSES,
    CertificateNotice,
    Completion,
    FailedItem,
    FailureKind,
    RunStatus,
    SyncCursor,
    SyncRun,
    is_pseudonym,
)
from lmsbridge.ledger.rows import (
    CERTIFICATE_NOTICES,
    COMPLETIONS,
)


class SyncState(LedgerBase):
    """Cursors, completions, failed items, runs, certificate notices and the run lock."""

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

    def runs(self, limit: int | None = 20, *, since: datetime | None = None,
             until: datetime | None = None) -> list[SyncRun]:
        """Runs, latest first: the last ``limit`` (None: all), started at or after ``since`` and before ``until``."""
        sql, params = "SELECT * FROM sync_runs WHERE 1 = 1", list[object]()
        if since is not None:
            sql, params = sql + " AND started_at >= ?", [*params, _ts(since)]
        if until is not None:
            sql, params = sql + " AND started_at < ?", [*params, _ts(until)]
        sql += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        return [self._run(row) for row in self._execute(sql, params)]

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

