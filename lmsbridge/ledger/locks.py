"""Run locks: one holder at a time per ledger, whatever path or host reaches it (issue 11 item 6).

* SQLite: a row in ``run_locks`` (pid, host, the process's start, heartbeat) written under ``BEGIN IMMEDIATE``,
  together with an OS lock (``flock``) on ``<the resolved database file>.<name>.lock`` (created 0600). The
  kernel drops the OS lock when its holder dies, however it dies; resolving the path makes a symlink or
  another spelling of the path meet the same lock file (SQLite resolves symlinks for its WAL the same way;
  a hard link it does not support at all). The row lives in the database itself: it still refuses when the
  lock file was removed by hand while held, and ``sync status`` shows it. A row whose process is gone (its
  pid dead, or the pid now used by another process: the start time differs) is taken over. A SQLite ledger
  in WAL mode is used from one host only (WAL needs shared memory), so pid and start time settle whether a
  holder lives.
* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) keyed by the ledger's schema and the lock's
  name (:func:`advisory_key`): the server drops it when the holder's connection ends (a killed process; a
  lost host once TCP keepalives give up, set short on the ledger's connection). A row in ``run_locks``
  names an exclusive holder for messages; it decides nothing. ``sync run`` processes take the ``sync`` lock
  shared and split the shares by claims (``SyncState.claim_share``); what needs the ledger alone (rotating
  the pseudonym secret) takes it exclusive.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from lmsbridge import i18n
from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.errors import LockedError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The lock of ``sync run`` (shared by the runs of a PostgreSQL ledger that split the shares; exclusive to
#: re-key the pseudonyms) and of ``certificates notify``.
SYNC_LOCK = "sync"
NOTIFY_LOCK = "certificates-notify"
#: Lock and ledger files are readable by their owner only (the ledger holds pseudonyms and the audit trail).
PRIVATE_FILE_MODE = 0o600
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: pid and host, since when, and ``process`` (the pid's boot and start time, "" when
    the host does not tell) so that a pid reused by another process is not taken for the holder."""

    name: str
    pid: int
    host: str
    since: str
    process: str = ""

    @classmethod
    def me(cls, name: str, since: datetime) -> LockHolder:
        pid = os.getpid()
        return cls(name=name, pid=pid, host=socket.gethostname(), since=since.isoformat(), process=process_start(pid))

    def locked_error(self) -> LockedError:
        return LockedError(Message("ledger.locked", name=self.name, pid=self.pid, host=self.host, since=self.since))

    def alive(self, heartbeat_at: datetime, now: datetime, stale_after: timedelta) -> bool:
        """Is the holder still there? On this host: its pid lives and is the same process. Another host's
        holder (PostgreSQL only): its heartbeat is fresh."""
        return process_alive(self.pid, self.host, self.process, heartbeat_at=heartbeat_at, now=now,
                             stale_after=stale_after)


def check_lock_name(name: str) -> str:
    if not _NAME.match(name):
        raise LedgerError(f"lock name {name!r}: use letters, digits, '-' and '_'")
    return name


def advisory_key(scope: str, name: str) -> int:
    """PostgreSQL advisory-lock key (signed 64 bits) of lock ``name`` in ``scope`` (the ledger's schema:
    advisory locks are per database, and two ledgers may share one database in two schemas)."""
    digest = hashlib.sha256(f"lmsbridge.lock/1\x1f{scope}\x1f{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` alive on this host? (Signal 0 checks without sending anything.)"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def process_start(pid: int) -> str:
    """Process ``pid``'s identity beyond its number: the boot and its start time (Linux ``/proc``), or ""
    where the host does not tell. A pid reused after its process died has another start."""
    try:
        boot = _BOOT_ID.read_text(encoding="ascii").strip()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold anything: count the fields after the last ')'.
    # Field 22 is the start time in clock ticks since boot; after ')' come fields 3, 4, … (proc(5)).
    fields = stat.rsplit(")", 1)[-1].split()
    return f"{boot}/{fields[19]}" if len(fields) > 19 else ""


def process_alive(pid: int | None, host: str | None, process: str | None, *, heartbeat_at: datetime | None = None,
                  now: datetime | None = None, stale_after: timedelta | None = None) -> bool:
    """Does the process ``pid`` on ``host`` (started as ``process``) still run? Another host's process is
    judged by its heartbeat when one is given, else taken to be alive (nothing here can tell)."""
    if pid is None or host is None:
        return False
    if host != socket.gethostname():
        if heartbeat_at is None or now is None or stale_after is None:
            return True
        return now - heartbeat_at <= stale_after
    if not pid_alive(pid):
        return False
    if process:
        current = process_start(pid)
        return current in ("", process)
    return True


def lock_file_path(database: str, name: str) -> str:
    """The OS lock file of lock ``name``: beside the database file its path resolves to (symlinks followed),
    so every spelling of the path meets the same file."""
    return f"{os.path.realpath(database)}.{name}.lock"


def open_private(path: str, flags: int, *, tighten: bool = False) -> int:
    """Open (creating when missing) a file only its owner may read: 0600 from the start; with ``tighten``,
    also made 0600 when an older lmsbridge created it wider."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    if tighten:
        with contextlib.suppress(OSError):  # not ours to change (another owner): leave it as it is
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def create_private(path: str) -> None:
    """Create ``path`` empty and 0600 when it does not exist (an existing file keeps its mode: its owner may
    have chosen it)."""
    with contextlib.suppress(FileExistsError):
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path``, held until ``release``."""

    def __init__(self, path: str, holder: LockHolder) -> None:
        self.path = path
        self.holder = holder
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            handle = os.fdopen(open_private(self.path, os.O_RDWR, tighten=True), "r+", encoding="utf-8")
        except OSError as exc:
            raise LedgerError(Message("ledger.lock_open_failed", path=self.path, reason=i18n.os_reason(exc))) from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_holder(handle)
            handle.close()
            raise holder.locked_error() from None
        except OSError as exc:
            handle.close()
            raise LedgerError(Message("ledger.lock_failed", path=self.path, reason=i18n.os_reason(exc))) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": self.holder.pid, "host": self.holder.host, "since": self.holder.since}))
        handle.flush()
        self._handle = handle

    def _read_holder(self, handle: IO[str]) -> LockHolder:
        handle.seek(0)
        try:
            data = json.loads(handle.read() or "{}")
            return LockHolder(self.holder.name, int(data["pid"]), str(data["host"]), str(data["since"]))
        except (ValueError, KeyError, TypeError):
            return LockHolder(self.holder.name, 0, "?", "?")

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


__all__ = [
    "NOTIFY_LOCK",
    "PRIVATE_FILE_MODE",
    "SYNC_LOCK",
    "FileLock",
    "LockHolder",
    "advisory_key",
    "check_lock_name",
    "create_private",
    "lock_file_path",
    "open_private",
    "pid_alive",
    "process_alive",
    "process_start",
]
