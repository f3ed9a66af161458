"""The sync's state in the ledger: cursors, the completion log, failed items, runs, certificate notices, locks.

The completion log and the certificate notices are audited rows (stamped, vouched for by an event); cursors,
failed items, sync runs and run locks are operational state, outside the audit trail.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.base import _dt, _dt_or_none, _ts
from lmsbridge.ledger.chain import details_text
from lmsbridge.ledger.errors import LedgerNotFoundError
from lmsbridge.ledger.locks import process_start
from lmsbridge.ledger.lockstate import LockState
from lmsbridge.ledger.models import (
    FAILURE_KINDS,
    LEARNER_FAILURE_KINDS,
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
    removed,
)


class SyncState(LockState):
    """Cursors, completions, failed items, runs and certificate notices (and, from ``LockState``, run locks)."""

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

    # -- the pseudonym secret's fingerprint, and re-keying to another secret -----------------------------------

    def secret_fingerprint(self) -> str | None:
        """The fingerprint of the secret the learner pseudonyms were made with (None: not known yet)."""
        rows = self._execute("SELECT value FROM ledger_meta WHERE name = 'secret_fingerprint'")
        return str(rows[0]["value"]) if rows else None

    def adopt_secret_fingerprint(self, fingerprint: str, *, actor: str, at: datetime | None = None) -> str:
        """Record ``fingerprint`` when the ledger has none yet (the first secret used is the ledger's; an event
        says so); return the one the ledger has."""
        when = at or self.now()
        with self.transaction():
            added = self._write("INSERT INTO ledger_meta (name, value, updated_at) VALUES ('secret_fingerprint', ?, ?) "
                                "ON CONFLICT (name) DO NOTHING", (fingerprint, _ts(when)))
            if added == 1:
                self.append_event(share_id=None, actor=actor, action="sync.secret.adopted", at=when,
                                  details={"fingerprint": fingerprint})
            stored = self.secret_fingerprint()
        assert stored is not None
        return stored

    def learner_pseudonyms(self) -> list[tuple[str, str, str]]:
        """Every learner pseudonym the ledger holds, once per row, with where it is: (table, the share or course
        the row belongs to, the pseudonym); failed learners as ``failed_items``."""
        rows = self._execute(
            "SELECT 'completions' AS t, share_id AS owner, learner_key AS k FROM completions "
            "UNION ALL SELECT 'certificate_notices', course_key, learner_key FROM certificate_notices "
            "UNION ALL SELECT 'failed_items', share_id, item_key FROM failed_items WHERE item_kind IN "
            f"({', '.join('?' for _ in LEARNER_FAILURE_KINDS)}) ORDER BY 1, 2, 3", LEARNER_FAILURE_KINDS)
        return [(str(r["t"]), str(r["owner"]), str(r["k"])) for r in rows]

    def rekey_pseudonyms(self, new_keys: Mapping[str, str], *, fingerprint: str, actor: str,
                         at: datetime | None = None) -> dict[str, int]:
        """Move every learner pseudonym in ``new_keys`` (old → new) to its new key, in completions, certificate
        notices and failed items, and record the new secret's ``fingerprint``: one transaction, with one
        event that vouches for the rows moved (their old keys stamped as removed). Returns rows per table."""
        when = at or self.now()
        counts = {"completions": 0, "certificate_notices": 0, "failed_items": 0}
        with self.transaction():
            for table in (COMPLETIONS, CERTIFICATE_NOTICES):
                for old, new in new_keys.items():
                    rows = self._execute(f"SELECT * FROM {table.name} WHERE learner_key = ?", (old,))
                    if not rows:
                        continue
                    self._stamps.extend(removed(table, row) for row in rows)
                    moved = self._write_audited(table, f"UPDATE {table.name} SET learner_key = ? WHERE learner_key = ? "
                                                "RETURNING *", (self._pseudonym(new), old))
                    counts[table.name] += len(moved)
            for failure in self.list_failures():
                renamed = new_keys.get(failure.item_key)
                if str(failure.item_kind) in LEARNER_FAILURE_KINDS and renamed is not None:
                    self.rename_failure(share_id=failure.share_id, item_kind=str(failure.item_kind),
                                        item_key=failure.item_key, new_key=renamed)
                    counts["failed_items"] += 1
            self._write("INSERT INTO ledger_meta (name, value, updated_at) VALUES ('secret_fingerprint', ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        (fingerprint, _ts(when)))
            self.append_event(share_id=None, actor=actor, action="sync.secret.rotated", at=when,
                              details={"fingerprint": fingerprint, "rows": counts})
        return counts

    # -- failed items -----------------------------------------------------------------------------------

    def record_failure(self, *, share_id: str, item_kind: FailureKind | str, item_key: str, reason: str,
                       now: datetime | None = None) -> FailedItem:
        """Note that an item failed (again): the first time at 1 attempt, then +1 with the latest reason. A
        learner's item (learner, unmatched, conflict) is kept under its pseudonym, never its user id."""
        if item_kind not in FAILURE_KINDS:
            raise LedgerError(f"unknown failed item kind {item_kind!r} (known: {', '.join(FAILURE_KINDS)})")
        if item_kind in LEARNER_FAILURE_KINDS:
            self._pseudonym(item_key)
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

    def rename_failure(self, *, share_id: str, item_kind: str, item_key: str, new_key: str) -> None:
        """Keep a failed item under another key (a pseudonym instead of an id, or a new secret's pseudonym);
        when the new key has a row already, the old one goes."""
        if item_kind in LEARNER_FAILURE_KINDS:
            self._pseudonym(new_key)
        with self.transaction():
            if self.list_failures(share_id, item_kind=item_kind, item_key=new_key):
                self.clear_failure(share_id=share_id, item_kind=item_kind, item_key=item_key)
                return
            self._write("UPDATE failed_items SET item_key = ? WHERE share_id = ? AND item_kind = ? AND item_key = ?",
                        (new_key, share_id, item_kind, item_key))

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
        data.pop("process", None)
        data["started_at"] = _dt(data["started_at"])
        data["finished_at"] = _dt_or_none(data["finished_at"])
        data["counts"] = json.loads(data["counts"])
        return self._model(SyncRun, data)

    def start_run(self, started_at: datetime | None = None) -> SyncRun:
        """A run begins, naming its process (pid, host, start). On PostgreSQL the run also holds an advisory lock
        of its own until ``finish_run``, taken before its row is seen, so others can tell it lives."""
        pid = os.getpid()
        with self.transaction():
            rows = self._execute("INSERT INTO sync_runs (started_at, status, counts, pid, host, process) "
                                 "VALUES (?, 'running', '{}', ?, ?, ?) RETURNING *",
                                 (_ts(started_at or self.now()), pid, socket.gethostname(), process_start(pid)))
            run = self._run(rows[0])
            if self.dialect == "postgresql":
                self._try_advisory(self.advisory_key(_run_lock_name(run.id)))  # a new id: free
        return run

    def finish_run(self, run_id: int, *, status: RunStatus | str, counts: Mapping[str, Any],
                   finished_at: datetime | None = None) -> SyncRun:
        """Close a running run with its outcome (ok, partial, failed) and its counts."""
        if status not in RUN_STATUSES or status in ("running", "interrupted"):
            raise LedgerError(f"a run finishes as ok, partial or failed, not {status!r}")
        body = details_text(counts)
        with self.transaction():
            changed = self._write("UPDATE sync_runs SET status = ?, counts = ?, finished_at = ? "
                                  "WHERE id = ? AND status = 'running'",
                                  (status, body, _ts(finished_at or self.now()), run_id))
            if changed != 1:
                raise LedgerNotFoundError(Message("ledger.no_run", id=run_id))
            finished = self._run(self._execute("SELECT * FROM sync_runs WHERE id = ?", (run_id,))[0])
        if self.dialect == "postgresql":
            self._advisory_unlock(self.advisory_key(_run_lock_name(run_id)))
        return finished

    def run_alive(self, run: SyncRun) -> bool:
        """Does the process of a ``running`` run still live? (PostgreSQL: it holds its run's advisory lock;
        SQLite: its pid lives and is the same process.) A run from before runs named their process: no."""
        if run.status != "running":
            return False
        rows = self._execute("SELECT pid, host, process FROM sync_runs WHERE id = ?", (run.id,))
        if not rows:
            return False
        return self.holder_alive(_run_lock_name(run.id), pid=rows[0]["pid"], host=rows[0]["host"],
                                 process=rows[0]["process"])

    def mark_interrupted_runs(self, now: datetime | None = None) -> list[int]:
        """Runs left ``running`` by a process that is gone (killed, its host lost) become ``interrupted``.
        Returns their ids. The next run calls this, holding the run lock."""
        stamp = _ts(now or self.now())
        running = [self._run(row) for row in self._execute("SELECT * FROM sync_runs WHERE status = 'running'")]
        gone = [run.id for run in running if not self.run_alive(run)]
        with self.transaction():
            for run_id in gone:
                self._write("UPDATE sync_runs SET status = 'interrupted', finished_at = ? "
                            "WHERE id = ? AND status = 'running'", (stamp, run_id))
        return gone

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


def _run_lock_name(run_id: int) -> str:
    return f"run-{run_id}"
