"""Cursor rules: never past the run's start, never backwards, read with an overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lmsbridge.sync.cursor import CLOCK_SLACK, ahead, completed_since, next_cursor, on_platform, should_read, since

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TEN = timedelta(minutes=10)


def test_since_looks_back_by_the_overlap() -> None:
    assert since(T0, TEN) == T0 - TEN
    assert since(None, TEN) is None
    assert since(T0, TEN, full=True) is None


@pytest.mark.parametrize(
    ("current", "clean", "expected"),
    [
        (None, True, T0),
        (T0 - timedelta(hours=1), True, T0),
        (T0 - timedelta(hours=1), False, T0 - timedelta(hours=1)),
        (None, False, None),
        (T0 + timedelta(hours=1), True, T0 + timedelta(hours=1)),  # never backwards
    ],
)
def test_next_cursor(current: datetime | None, clean: bool, expected: datetime | None) -> None:
    assert next_cursor(current, T0, clean=clean) == expected


S = T0 - TEN
AT = int(S.timestamp())


@pytest.mark.parametrize(
    ("last_access", "since_at", "failed", "recorded", "read"),
    [
        (AT + 60, S, False, False, True),  # visited since
        (AT, S, False, False, True),  # exactly at the boundary
        (AT - 1, S, False, False, False),  # older than the cursor: skipped
        (0, S, False, False, False),  # never visited
        (0, S, True, False, True),  # failed last time: read whatever its last access
        (AT - 999, None, False, False, True),  # full reconciliation
        (AT + 60, S, True, True, False),  # already recorded complete: not asked again
    ],
)
def test_should_read(last_access: int, since_at: datetime | None, failed: bool, recorded: bool, read: bool) -> None:
    verdict = should_read(last_access=last_access, since_at=since_at, failed_before=failed, fully_recorded=recorded)
    assert verdict.read is read
    assert verdict.reason


def test_completed_since_allows_for_minute_precision() -> None:
    assert completed_since(S.replace(second=0) - timedelta(seconds=30), S.replace(second=30))
    assert not completed_since(S - timedelta(minutes=2), S)
    assert not completed_since(None, S)
    assert completed_since(None, None)


def test_the_cursor_is_on_the_platform_clock_when_the_host_is_ahead() -> None:
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert on_platform(start, None) == start
    assert on_platform(start, start - timedelta(hours=1)) == start - timedelta(hours=1)  # host an hour ahead
    assert on_platform(start, start - CLOCK_SLACK) == start  # within the Date's precision: the host's finer time
    assert on_platform(start, start + timedelta(hours=1)) == start  # host behind: its time is earlier, safe
    assert ahead(start + timedelta(days=1), start) and not ahead(start, start) and not ahead(None, start)
    assert not ahead(start + CLOCK_SLACK, start) and not ahead(start, None)
