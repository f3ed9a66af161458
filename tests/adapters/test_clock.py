"""The platform's clock from its answers' Date headers (lmsbridge.adapters.clock), and the sandbox sending its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.adapters.clock import PlatformClock, parse_date
from lmsbridge.sandbox import Sandbox

HOST = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("header", "expected"), [
    ("Mon, 23 Nov 2026 11:00:00 GMT", datetime(2026, 11, 23, 11, tzinfo=UTC)),
    (None, None), ("", None), ("yesterday", None), ("Mon, 99 Nov 2026 11:00:00 GMT", None),
])
def test_parse_date(header: str | None, expected: datetime | None) -> None:
    assert parse_date(header) == expected


def test_the_clock_keeps_the_earliest_estimate_and_ignores_what_is_not_a_date() -> None:
    clock = PlatformClock()
    assert clock.platform_time(HOST) is None
    clock.seen("garbage", HOST)
    clock.seen("Mon, 23 Nov 2040 11:00:00 GMT", HOST)  # more than a year off: a broken header, not a clock
    assert clock.offset is None
    clock.seen("Mon, 23 Nov 2026 11:00:00 GMT", HOST)  # the platform an hour (and 30 s) behind the host
    clock.seen("Mon, 23 Nov 2026 11:00:05 GMT", HOST)  # a later answer that took longer: not believed more
    assert clock.offset == -timedelta(hours=1, seconds=30)
    assert clock.platform_time(HOST) == datetime(2026, 11, 23, 11, tzinfo=UTC)


@pytest.mark.parametrize("start", [Sandbox.in_process, Sandbox.start], ids=["in-process", "served"])
def test_the_transport_reads_the_sandbox_clock_from_its_date_header(start: Callable[[], Sandbox]) -> None:
    pinned = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with start() as sb:
        site = sb.sites["ks"]
        site.state.pin_clock(pinned)
        client = MoodleClient(MoodleTransport(site.url, site.token, retry=RetryPolicy.none(), name="ks"))
        client.site_info()
        now = datetime.now(UTC)
        seen = client.platform_time(now)
        twin = client.clone()  # the clock is the platform's: clones share it
        assert seen is not None and twin.platform_time(now) == seen
        assert pinned - timedelta(seconds=5) <= seen <= pinned + timedelta(seconds=1)
