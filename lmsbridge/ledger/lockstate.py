"""The ledger's locks as ledger methods: run locks held in the ledger itself, and whether a process that
started a sync run still lives. The mechanisms (OS locks, advisory keys, process identity) are in
:mod:`lmsbridge.ledger.locks`; run locks are operational state, outside the audit trail."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.base import LedgerBase, RunLock, _dt, _ts
from lmsbridge.ledger.errors import LockedError
from lmsbridge.ledger.locks import (
    FileLock,
    LockHolder,
    advisory_key,
    check_lock_name,
    lock_file_path,
    process_alive,
)

#: How long another host's lock row is trusted without a heartbeat (PostgreSQL rows only name holders).
STALE_AFTER = timedelta(minutes=10)

#: What claiming a share gave: it is this run's, another run holds it, or another run finished it meanwhile.
Claim = Literal["claimed", "busy", "done"]


class LockState(LedgerBase):
    """Run locks (``acquire_lock``) and the PostgreSQL advisory locks under them."""

    @contextlib.contextmanager
    def acquire_lock(self, name: str, *, shared: bool = False,
                     stale_after: timedelta = STALE_AFTER) -> Iterator[RunLock]:
        """Hold the run lock ``name`` for the block, or fail at once with ``LockedError`` when another
        process holds it, whatever path or host it reached the ledger by (:mod:`lmsbridge.ledger.locks`).
        ``shared`` (PostgreSQL only): several holders at once, none while an exclusive one holds it."""
        check_lock_name(name)
        if self._depth:
            raise LedgerError(Message("ledger.lock_in_transaction"))
        holder = LockHolder.me(name, self.now())
        if self.dialect == "postgresql":
            lock = self._advisory_lock(holder, shared=shared)
        elif shared:
            raise LedgerError("a shared lock needs a PostgreSQL ledger")
        elif self._file_path is None:
            lock = self._memory_lock(holder)
        else:
            lock = self._sqlite_lock(holder, stale_after)
        with lock as held:
            yield held

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
    def _sqlite_lock(self, holder: LockHolder, stale_after: timedelta) -> Iterator[RunLock]:
        assert self._file_path is not None
        file_lock = FileLock(lock_file_path(self._file_path, holder.name), holder)
        file_lock.acquire()
        try:
            with self.transaction():  # BEGIN IMMEDIATE: two processes cannot both find the row free
                self._take_row(holder, stale_after)
            try:
                yield RunLock(holder, lambda: self._beat_row(holder))
            finally:
                self._drop_row(holder)
        finally:
            file_lock.release()

    @contextlib.contextmanager
    def _advisory_lock(self, holder: LockHolder, *, shared: bool) -> Iterator[RunLock]:
        key = self.advisory_key(holder.name)
        if not self._try_advisory(key, shared=shared):
            raise self._holder_error(holder.name)
        try:
            if not shared:
                with self.transaction():
                    self._take_row(holder, None)  # the server says we hold it: any row is a dead holder's

            def beat() -> None:
                if not self._advisory_held(key, mine=True):
                    raise LockedError(Message("ledger.lock_lost", name=holder.name, pid="?", host="?"))
                if not shared:
                    self._beat_row(holder)

            yield RunLock(holder, beat)
        finally:
            if not shared:
                self._drop_row(holder)
            self._advisory_unlock(key, shared=shared)

    # -- the lock row: who holds it, for messages (and, on SQLite, for a holder reached by another name) -----------

    @staticmethod
    def _holder_of(row: Mapping[str, Any]) -> LockHolder:
        return LockHolder(str(row["name"]), int(row["pid"]), str(row["host"]), str(row["acquired_at"]),
                          str(row.get("process") or ""))

    def _take_row(self, holder: LockHolder, stale_after: timedelta | None) -> None:
        """Write ``holder``'s row; a row of a live holder refuses (``stale_after`` None: no holder lives)."""
        rows = self._execute("SELECT * FROM run_locks WHERE name = ?", (holder.name,))
        if rows and stale_after is not None:
            current = self._holder_of(rows[0])
            if current.alive(_dt(rows[0]["heartbeat_at"]), self.now(), stale_after):
                raise current.locked_error()
        stamp = _ts(self.now())
        self._write("DELETE FROM run_locks WHERE name = ?", (holder.name,))
        self._write("INSERT INTO run_locks (name, pid, host, acquired_at, heartbeat_at, process) VALUES (?, ?, ?, ?, ?, ?)",
                    (holder.name, holder.pid, holder.host, stamp, stamp, holder.process))

    def _beat_row(self, holder: LockHolder) -> None:
        changed = self._write("UPDATE run_locks SET heartbeat_at = ? WHERE name = ? AND pid = ? AND host = ?",
                              (_ts(self.now()), holder.name, holder.pid, holder.host))
        if changed != 1:
            rows = self._execute("SELECT pid, host FROM run_locks WHERE name = ?", (holder.name,))
            pid, host = (rows[0]["pid"], rows[0]["host"]) if rows else ("?", "?")
            raise LockedError(Message("ledger.lock_lost", name=holder.name, pid=pid, host=host))

    def _drop_row(self, holder: LockHolder) -> None:
        with contextlib.suppress(LedgerError):
            self._write("DELETE FROM run_locks WHERE name = ? AND pid = ? AND host = ?",
                        (holder.name, holder.pid, holder.host))

    def _holder_error(self, name: str) -> LockedError:
        rows = self._execute("SELECT * FROM run_locks WHERE name = ?", (name,))
        if rows:
            return self._holder_of(rows[0]).locked_error()
        return LockedError(Message("ledger.locked_elsewhere", name=name))

    # -- PostgreSQL advisory locks ------------------------------------------------------------------------------

    def advisory_key(self, name: str) -> int:
        """The advisory-lock key of ``name`` in this ledger (its schema: advisory locks are per database)."""
        if self._advisory_scope is None:
            self._advisory_scope = str(self._execute("SELECT current_schema() AS s")[0]["s"])
        return advisory_key(self._advisory_scope, name)

    def _try_advisory(self, key: int, *, shared: bool = False) -> bool:
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        return bool(self._execute(f"SELECT {function}(?::bigint) AS got", (key,))[0]["got"])

    def _advisory_unlock(self, key: int, *, shared: bool = False) -> None:
        function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
        with contextlib.suppress(LedgerError):  # a lost connection has lost its locks already
            self._execute(f"SELECT {function}(?::bigint) AS done", (key,))

    def _advisory_held(self, key: int, *, mine: bool = False) -> bool:
        """Does any session (``mine``: this one) hold advisory lock ``key`` in this database?"""
        sql = ("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
               "AND classid::bigint = ? AND objid::bigint = ? "
               "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        if mine:
            sql += " AND pid = pg_backend_pid()"
        return int(self._execute(sql, ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF))[0]["n"]) > 0

    # -- share claims: several sync runs on one PostgreSQL ledger split the shares (issue 11 item 7) -----------------

    @property
    def supports_claims(self) -> bool:
        """Can several ``sync run`` processes share this ledger, each share claimed by one? (PostgreSQL: its
        advisory locks reach every host. SQLite is one host's file: one run at a time.)"""
        return self.dialect == "postgresql"

    def claim_share(self, share_id: str, *, run_id: int, run_started: datetime, now: datetime | None = None) -> Claim:
        """Claim ``share_id`` for run ``run_id`` until ``release_claims`` (the run's end, or its process's death):
        ``claimed``; ``busy`` when another run holds it; ``done`` when another run finished it after this one
        started (nothing left to do). Without claims (SQLite: the run lock is the ledger's) always ``claimed``."""
        key = self.advisory_key(f"share-{share_id}") if self.supports_claims else None
        if key is not None:
            if not self._try_advisory(key):
                return "busy"
            with self._lock:
                self._claims.add(key)  # released with the others, whatever happens next
        rows = self._execute("SELECT run_id, done_at FROM share_claims WHERE share_id = ?", (share_id,))
        if rows and int(rows[0]["run_id"]) != run_id and rows[0]["done_at"] and _dt(rows[0]["done_at"]) >= run_started:
            return "done"
        self._write("INSERT INTO share_claims (share_id, run_id, pid, host, claimed_at, done_at) VALUES (?, ?, ?, ?, ?, NULL) "
                    "ON CONFLICT (share_id) DO UPDATE SET run_id = excluded.run_id, pid = excluded.pid, "
                    "host = excluded.host, claimed_at = excluded.claimed_at, done_at = NULL",
                    (share_id, run_id, os.getpid(), socket.gethostname(), _ts(now or self.now())))
        return "claimed"

    def share_done(self, share_id: str, *, run_id: int, now: datetime | None = None) -> None:
        """Run ``run_id`` finished ``share_id`` (call it in the transaction that commits the share)."""
        self._write("UPDATE share_claims SET done_at = ? WHERE share_id = ? AND run_id = ?",
                    (_ts(now or self.now()), share_id, run_id))

    @contextlib.contextmanager
    def turn(self, name: str) -> Iterator[None]:
        """Wait (up to the busy timeout) until no other process sharing this ledger is inside ``turn(name)``:
        for what two runs must not do at once on a platform (a report's filters are kept per user there).
        Without claims there is one run per ledger: nothing to wait for."""
        if not self.supports_claims:
            yield
            return
        key = self.advisory_key(name)
        self._execute("SELECT 1 AS got FROM (SELECT pg_advisory_lock(?::bigint)) AS waited", (key,))
        try:
            yield
        finally:
            self._advisory_unlock(key)

    def release_claims(self) -> None:
        """Let go of every share this ledger claimed (the run ends)."""
        with self._lock:
            held, self._claims = self._claims, set()
        for key in held:
            self._advisory_unlock(key)

    # -- whether a process that started something still lives -----------------------------------------------------

    def holder_alive(self, name: str, *, pid: int | None, host: str | None, process: str | None,
                     heartbeat_at: datetime | None = None) -> bool:
        """Does the holder of ``name`` (PostgreSQL: its advisory lock; SQLite: the process) still live?"""
        if self.dialect == "postgresql":
            return self._advisory_held(self.advisory_key(name))
        return process_alive(pid, host, process, heartbeat_at=heartbeat_at, now=self.now(), stale_after=STALE_AFTER)


__all__ = ["STALE_AFTER", "Claim", "LockState"]
