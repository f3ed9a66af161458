"""Run locks: "no two sync runs at once", across processes.

* SQLite: an OS lock (``fcntl.flock``) on a file beside the database. The kernel drops it when the holder
  dies, however it dies, so a dead holder's lock is free again by construction. The file names the holder
  (pid, host, since) for the message the second process prints.
* PostgreSQL: a row in ``run_locks`` (pid, host, heartbeat). A row of a dead pid on this host, or one whose
  heartbeat is older than ``stale_after`` on another host, is taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from lmsbridge import i18n
from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.database import PRIVATE_FILE_MODE
from lmsbridge.ledger.errors import LockedError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock."""

    name: str
    pid: int
    host: str
    since: str

    @classmethod
    def me(cls, name: str, since: datetime) -> LockHolder:
        return cls(name=name, pid=os.getpid(), host=socket.gethostname(), since=since.isoformat())

    def locked_error(self) -> LockedError:
        return LockedError(Message("ledger.locked", name=self.name, pid=self.pid, host=self.host, since=self.since))


def check_lock_name(name: str) -> str:
    if not _NAME.match(name):
        raise LedgerError(f"lock name {name!r}: use letters, digits, '-' and '_'")
    return name


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


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path``, held until ``release``."""

    def __init__(self, path: str, holder: LockHolder) -> None:
        self.path = path
        self.holder = holder
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            # 0600 like the ledger itself (``os.open``: ``open`` would create it with the umask's mode).
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
            handle = os.fdopen(fd, "a+", encoding="utf-8")
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
