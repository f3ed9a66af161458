"""The period a report covers: a quarter («2026Q4») or two dates, as days in Europe/Oslo (the sites' zone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from lmsbridge.errors import InputError
from lmsbridge.i18n import Message
from lmsbridge.readers.mapping import OSLO

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[QqKk]([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days inclusive; ``label`` names it («2026Q4», «2026-10-01–2026-11-15»)."""

    start: date
    end: date
    label: str

    @classmethod
    def quarter(cls, text: str) -> Period:
        """«2026Q4» (also «2026-Q4», «2026K4»): 1 October to 31 December 2026."""
        found = _QUARTER.match(text)
        if not found:
            raise InputError(Message("report.bad_quarter", value=text))
        year, number = int(found.group(1)), int(found.group(2))
        start = date(year, 3 * number - 2, 1)
        following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
        return cls(start, following - timedelta(days=1), f"{year}Q{number}")

    @classmethod
    def of(cls, today: date) -> Period:
        """The quarter ``today`` is in."""
        return cls.quarter(f"{today.year}Q{(today.month - 1) // 3 + 1}")

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        if end < start:
            raise InputError(Message("report.bad_period", start=start.isoformat(), end=end.isoformat()))
        return cls(start, end, f"{start.isoformat()}–{end.isoformat()}")

    @property
    def since(self) -> datetime:
        """The first moment of the period (UTC)."""
        return datetime.combine(self.start, time(), OSLO).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period (UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(), OSLO).astimezone(UTC)

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def weeks(self) -> list[date]:
        """The last day of each week of the period (Sundays, and the period's own last day), in order."""
        days = []
        day = self.start + timedelta(days=6 - self.start.weekday())
        while day < self.end:
            days.append(day)
            day += timedelta(days=7)
        return [*days, self.end]


def day_of(moment: datetime) -> date:
    """The Oslo calendar day of a moment."""
    return moment.astimezone(OSLO).date()


def end_of(day: date) -> datetime:
    """The first moment after ``day`` in Oslo (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(), OSLO).astimezone(UTC)


__all__ = ["OSLO", "Period", "day_of", "end_of"]
