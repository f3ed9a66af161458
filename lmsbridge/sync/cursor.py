"""The incremental rules: which learners a run reads, and where a share's cursor may move. Pure.

After singer-sdk's bookmarks: the cursor is written only when the share's run ended cleanly, never past
the time the run started (a change made while the run was reading is seen next time) and never backwards.
Reads look back ``overlap`` before the cursor, because Moodle's times are not transactional and the
report shows minutes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: How far a cursor may be past the platform's clock before it is taken to be ahead of it: the Date header
#: has whole seconds, and the estimate of the platform's time errs early (``lmsbridge.adapters.clock``).
CLOCK_SLACK = timedelta(seconds=2)


def since(cursor: datetime | None, overlap: timedelta, *, full: bool = False) -> datetime | None:
    """The time from which changes are looked for; None = everything (first run or ``--full``)."""
    if full or cursor is None:
        return None
    return cursor - overlap


def next_cursor(current: datetime | None, run_started_at: datetime, *, clean: bool) -> datetime | None:
    """The cursor after this run: the run's start when it ended cleanly, else unchanged."""
    if not clean:
        return current
    if current is not None and current >= run_started_at:
        return current
    return run_started_at


def on_platform(run_started_at: datetime, platform_started_at: datetime | None) -> datetime:
    """The run's start as a cursor, never later than the borrower platform's clock (issue 11 item 3: a host
    clock ahead of the platform's would otherwise put the cursor in the platform's future). The platform's
    time (from its answers' Date headers) is taken when the host's is ahead of it by more than the headers'
    precision (``CLOCK_SLACK``); within it, the host's finer time is kept."""
    if platform_started_at is not None and run_started_at > platform_started_at + CLOCK_SLACK:
        return platform_started_at
    return run_started_at


def ahead(cursor: datetime | None, platform_now: datetime | None) -> bool:
    """Is a stored cursor later than the platform's clock now? (a host clock that ran ahead, a hand edit)
    Such a cursor would hide every change until the platform's clock caught up with it."""
    if cursor is None or platform_now is None:
        return False
    return cursor > platform_now + CLOCK_SLACK


@dataclass(frozen=True)
class Verdict:
    """Whether to read a learner, and why: ``reason`` is a language-neutral code for logs and tests, never
    shown to a user."""

    read: bool
    reason: str


def should_read(
    *,
    last_access: int,
    since_at: datetime | None,
    failed_before: bool,
    fully_recorded: bool = False,
) -> Verdict:
    """Per-learner path: is this learner's completion worth one read in this run?

    ``last_access`` is ``lastcourseaccess`` (Unix seconds, 0 = never). A learner whose every mapped activity
    is already in the ledger is not asked again; one that failed last time is read whatever its last access.
    """
    if fully_recorded:
        return Verdict(False, "already-recorded")
    if failed_before:
        return Verdict(True, "failed-before")
    if since_at is None:
        return Verdict(True, "full")
    if last_access and last_access >= int(since_at.timestamp()):
        return Verdict(True, "visited")
    return Verdict(False, "no-visit")


def shown_since(shown: datetime | None, since_at: datetime) -> bool:
    """Report path: does a time the report shows (a course completion, a last access) fall in this run's
    window? The report drops the seconds: 18:01:59 shows as 18:01, so compare with a minute's slack."""
    return shown is not None and shown >= since_at - timedelta(minutes=1)


def completed_since(time_completed: datetime | None, since_at: datetime | None) -> bool:
    """Report path: does a course completion time fall in this run's window? (None: every one does)"""
    return since_at is None or shown_since(time_completed, since_at)


__all__ = ["CLOCK_SLACK", "Verdict", "ahead", "completed_since", "next_cursor", "on_platform", "should_read", "shown_since", "since"]
