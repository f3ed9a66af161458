"""Numbers, times and dates the user's language's way (Babel): «57,2 MB», «01.03.2026, 14:05 CET»."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lmsbridge import i18n
from lmsbridge.i18n import Message
from lmsbridge.readers.untrusted import MiB, size_text


def test_a_float_in_a_message_is_written_the_languages_way() -> None:
    size = size_text(int(57.2 * MiB))
    assert size.render("nb") == "57,2 MB"
    assert size.render("en") == "57.2 MB"
    too_large = Message("input.too_large", path="kurs.zip", size=size, limit=size_text(5 * MiB))
    assert "(57,2 MB; grensen er 5 MB)" in too_large.render("nb")


def test_numbers() -> None:
    assert i18n.number(12345.5, "nb") == "12\xa0345,5"
    assert i18n.number(12345.5, "nb", grouping=False) == "12345,5"
    assert i18n.number(12345.5, "en") == "12,345.5"


def test_times_are_shown_in_oslo_with_the_zone() -> None:
    winter, summer = datetime(2026, 3, 1, 13, 5, tzinfo=UTC), datetime(2026, 7, 1, 13, 5, tzinfo=UTC)
    assert i18n.moment(winter, "nb") == "01.03.2026, 14:05 CET"
    assert i18n.moment(summer, "nb") == "01.07.2026, 15:05 CEST"
    assert i18n.moment(winter, "en") == "01/03/2026, 14:05 CET"


def test_dates() -> None:
    assert i18n.day(date(2026, 3, 1), "nb") == "01.03.2026"
    assert i18n.day(date(2026, 3, 1), "en") == "01/03/2026"


def test_a_format_of_its_own_keeps_the_languages_decimal_sign() -> None:
    assert Message("demo.done", commands=3, seconds=12.34).render("nb").endswith("på 12,3 s.")
    assert Message("demo.done", commands=3, seconds=12.34).render("en").endswith("in 12.3 s.")
