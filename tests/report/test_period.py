"""The report's period: quarters and dates as Oslo days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lmsbridge.errors import InputError
from lmsbridge.report.period import Period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("2026Q4", date(2026, 10, 1), date(2026, 12, 31)), ("2026-q1", date(2026, 1, 1), date(2026, 3, 31)),
     ("2024K2", date(2024, 4, 1), date(2024, 6, 30)), (" 2025Q3 ", date(2025, 7, 1), date(2025, 9, 30))],
)
def test_quarters(text: str, start: date, end: date) -> None:
    period = Period.quarter(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2026Q5", "Q4", "2026", "fjerde kvartal"])
def test_a_bad_quarter_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="kvartal"):
        Period.quarter(text)


def test_the_period_is_oslo_days() -> None:
    period = Period.quarter("2026Q4")
    assert datetime(2026, 9, 30, 22, 0, tzinfo=UTC) in period  # 1 October 00:00 in Oslo (summer time)
    assert datetime(2026, 9, 30, 21, 59, tzinfo=UTC) not in period
    assert datetime(2026, 12, 31, 22, 59, tzinfo=UTC) in period  # 23:59 on New Year's Eve in Oslo
    assert datetime(2026, 12, 31, 23, 0, tzinfo=UTC) not in period


def test_weeks_end_on_sundays_and_the_last_day() -> None:
    weeks = Period.between(date(2026, 10, 1), date(2026, 10, 20)).weeks()
    assert weeks == [date(2026, 10, 4), date(2026, 10, 11), date(2026, 10, 18), date(2026, 10, 20)]


def test_dates_in_the_wrong_order_are_refused() -> None:
    with pytest.raises(InputError):
        Period.between(date(2026, 10, 2), date(2026, 10, 1))
