"""The platform's clock, as its answers tell it: the HTTP ``Date`` header (RFC 9110 §6.6.1).

A sync cursor must be a time on the platform's clock, never later than it (issue 11 item 3): a host whose clock
runs ahead would otherwise store a cursor in the platform's future, and every later window would start after
changes not yet made. ``PlatformClock`` keeps the smallest offset seen between an answer's ``Date`` and the
local time it arrived (latency and the header's whole seconds only make the offset smaller: the estimate of the
platform's time errs early, the safe side for a cursor). Pure: fed by the transport, read by the sync.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

#: A Date outside this distance from the host's clock is not believed (a broken proxy, a garbled header).
MAX_SKEW = timedelta(days=366)


def parse_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware UTC datetime; None when missing or not a date."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class PlatformClock:
    """The offset between one platform's clock and the host's, from the answers seen (thread-safe)."""

    def __init__(self) -> None:
        self._offset: timedelta | None = None
        self._lock = threading.Lock()

    def seen(self, date_header: str | None, received_at: datetime) -> None:
        """An answer arrived at ``received_at`` (host clock) carrying ``date_header``."""
        when = parse_date(date_header)
        if when is None:
            return
        offset = when - received_at
        if abs(offset) > MAX_SKEW:
            return
        with self._lock:
            if self._offset is None or offset < self._offset:
                self._offset = offset

    @property
    def offset(self) -> timedelta | None:
        """Platform time minus host time (None: no dated answer yet)."""
        with self._lock:
            return self._offset

    def platform_time(self, host_time: datetime) -> datetime | None:
        """``host_time`` on the platform's clock (None: no dated answer yet)."""
        offset = self.offset
        return None if offset is None else host_time + offset


__all__ = ["MAX_SKEW", "PlatformClock", "parse_date"]
