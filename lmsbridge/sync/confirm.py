"""Confirm: the owner's course completions since a share's writes began, from the owner's completion report.

After a share's writes, the course completions that should follow are checked (:mod:`lmsbridge.sync.aggregate`).
When the owner platform's profile names a completion report, one read of it, filtered to course completions
since the share's writes began less ``[sync] overlap_minutes`` (clocks differ; a course completion a learner
already had shortly before confirms as well), confirms them all in a page or so instead of one
``core_completion_get_course_completion_status`` per learner (issue 15 item 7): the rows are the course
completions made on the owner lately, not every one since a long run began.
A read serves every share whose writes began after its filter's start and had ended when it began, so shares
that finish together share one read.

A row is only ever taken as a confirmation: a learner the rows do not show completed (another run's filter
in between, a course completion older than the share's writes, a page the platform would not give) is read
one by one as before. The filter is set before each read (inside the ledger's report turn, which the runs
sharing a PostgreSQL ledger take for every filter change: :meth:`lmsbridge.ledger.Ledger.turn`), and reset at
the end of the run. A report that cannot be read is not used again in this run: a debug line, and the reads
one by one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from lmsbridge.adapters import PlatformProfile
from lmsbridge.errors import LmsbridgeError
from lmsbridge.sync.pools import PlatformUnreachable, Pools

logger = logging.getLogger(__name__)

#: (owner course id, owner user id) of the rows that show a course completion.
Completed = frozenset[tuple[int, int]]


@dataclass(frozen=True)
class _Read:
    since: datetime  # the filter's start, on the platform's clock
    began: float  # time.monotonic() when the read began
    done: Completed


class CourseCompletionsSince:
    """The owner reports of one run (module docstring). Thread-safe: the shares' workers call ``completed``."""

    def __init__(self, pools: Pools, profiles: Mapping[str, PlatformProfile], *, look_back: timedelta,
                 turn: Callable[[], AbstractContextManager[object]] | None = None) -> None:
        self._pools = pools
        self._profiles = profiles
        self._look_back = look_back
        self._turn = turn or contextlib.nullcontext
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._reads: dict[str, _Read] = {}  # platform → its last read
        self._filtered: set[str] = set()
        self._unusable: set[str] = set()

    def _lock(self, platform: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(platform, threading.Lock())

    def report_id(self, platform: str) -> int | None:
        profile = self._profiles.get(platform)
        return profile.completion_report_id if profile is not None and platform in self._pools else None

    def completed(self, platform: str, *, writes_began: datetime, after: float) -> Completed | None:
        """The course completions the owner's report shows since a share's writes began (``writes_began``, the
        host's clock), read when they had ended (``after``, a ``time.monotonic()``) or later; None when the
        platform has no usable report (read one by one)."""
        reportid = self.report_id(platform)
        if reportid is None:
            return None
        pool = self._pools[platform]
        since = (pool.platform_time(writes_began) or writes_began) - self._look_back
        with self._lock(platform):
            if platform in self._unusable:
                return None
            last = self._reads.get(platform)
            if last is not None and last.since <= since and last.began >= after:
                return last.done  # a read that began after these writes ended, and looked back far enough
            began = time.monotonic()
            try:
                with self._turn():
                    pool.call(lambda c: c.filter_report_completed_since(reportid, since))
                self._filtered.add(platform)
                report = pool.call(lambda c: c.completion_report(reportid))
            except PlatformUnreachable:
                raise
            except LmsbridgeError as exc:
                logger.debug("the completion report of %s is not used to confirm course completions: %s",
                             platform, exc.__class__.__name__)
                self._unusable.add(platform)
                return None
            done = frozenset((row.course_id, row.userid) for row in report.rows
                             if row.completed and row.course_id is not None and row.userid is not None)
            self._reads[platform] = _Read(since, began, done)
            return done

    def reset(self) -> None:
        """Reset the filters this run set (at the end of the run; a failure only logged: the next unfiltered
        read resets first)."""
        for platform in sorted(self._filtered):
            reportid = self.report_id(platform)
            pool = self._pools[platform]
            if reportid is None or pool.down is not None:
                continue
            try:
                with self._turn():
                    pool.call(lambda c, r=reportid: c.reset_report_filters(r))  # type: ignore[misc]
            except LmsbridgeError as exc:
                logger.warning("the filter of the completion report on %s could not be reset: %s", platform,
                               exc.__class__.__name__)
        self._filtered.clear()


__all__ = ["Completed", "CourseCompletionsSince"]
