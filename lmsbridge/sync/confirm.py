"""Confirm: the owner's course completions since the run started, from the owner's completion report.

After a share's writes, the course completions that should follow are checked (:mod:`lmsbridge.sync.aggregate`).
When the owner platform's profile names a completion report, one read of it, filtered to course completions
since the run started (less the overlap: the report shows minutes, clocks differ), confirms them all in a few
pages instead of one ``core_completion_get_course_completion_status`` per learner (issue 15 item 7). A read
serves every share whose writes had ended when it started, so shares that finish together share one read.

A row is only ever taken as a confirmation: a learner the rows do not show completed (another run's filter
in between, a page the platform would not give) is read one by one as before. So the filter is set once per
run and platform (inside the ledger's report turn, which the runs sharing a PostgreSQL ledger take for every
filter change: :meth:`lmsbridge.ledger.Ledger.turn`), and reset at the end of the run. A report that cannot be
read is not used again in this run: a debug line, and the reads one by one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from lmsbridge.adapters import CompletionReport, PlatformProfile
from lmsbridge.errors import LmsbridgeError
from lmsbridge.sync.pools import PlatformUnreachable, Pools

logger = logging.getLogger(__name__)

#: (owner course id, owner user id) of the rows that show a course completion.
Completed = frozenset[tuple[int, int]]


class CourseCompletionsSince:
    """The owner reports of one run (module docstring). Thread-safe: the shares' workers call ``completed``."""

    def __init__(self, pools: Pools, profiles: Mapping[str, PlatformProfile], *, started: datetime,
                 overlap: timedelta, turn: Callable[[], AbstractContextManager[object]] | None = None) -> None:
        self._pools = pools
        self._profiles = profiles
        self._started = started
        self._overlap = overlap
        self._turn = turn or contextlib.nullcontext
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._reads: dict[str, tuple[float, Completed]] = {}  # platform → (monotonic start of the read, rows)
        self._filtered: set[str] = set()
        self._unusable: set[str] = set()
        self.reads = 0  # report reads made (for the figures)

    def _lock(self, platform: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(platform, threading.Lock())

    def report_id(self, platform: str) -> int | None:
        profile = self._profiles.get(platform)
        return profile.completion_report_id if profile is not None and platform in self._pools else None

    def completed(self, platform: str, *, after: float) -> Completed | None:
        """The course completions the owner's report shows since the run started, read at ``after`` (a
        ``time.monotonic()``) or later; None when the platform has no usable report (read one by one)."""
        reportid = self.report_id(platform)
        if reportid is None:
            return None
        with self._lock(platform):
            if platform in self._unusable:
                return None
            last = self._reads.get(platform)
            if last is not None and last[0] >= after:
                return last[1]
            began = time.monotonic()
            try:
                report = self._read(platform, reportid)
            except PlatformUnreachable:
                raise
            except LmsbridgeError as exc:
                logger.debug("the completion report of %s is not used to confirm course completions: %s",
                             platform, exc.__class__.__name__)
                self._unusable.add(platform)
                return None
            self.reads += 1
            done = frozenset((row.course_id, row.userid) for row in report.rows
                             if row.completed and row.course_id is not None and row.userid is not None)
            self._reads[platform] = (began, done)
            return done

    def _read(self, platform: str, reportid: int) -> CompletionReport:
        pool = self._pools[platform]
        if platform not in self._filtered:
            platform_start = pool.platform_time(self._started)
            since = min(self._started, platform_start or self._started) - self._overlap
            with self._turn():
                pool.call(lambda c: c.filter_report_completed_since(reportid, since))
            self._filtered.add(platform)
        return pool.call(lambda c: c.completion_report(reportid))

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
