"""How Moodle renders values for people: dates, links, filtered text (pure functions).

* ``userdate`` follows Moodle's ``userdate()`` with langconfig formats: day and 12-hour without
  leading zeros, no zone marker ("Sunday, 22 November 2026, 7:01 PM", INDEX.md).
* ``autolink`` imitates the activity-names filter that turned "håndhygiene" in LP1's ``maal`` into a
  link to the page of that name (lp__core_course_get_courses_by_field__ok_shortname.json).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DATE_FORMAT",
    "DAYDATETIME_FORMAT",
    "autolink",
    "format_text",
    "resolve_timezone",
    "userdate",
    "zone",
]

#: langconfig strftimedaydatetime: "%A, %d %B %Y, %I:%M %p"
DAYDATETIME_FORMAT = "daydatetime"
#: langconfig strftimedate: "%d %B %Y" ("1 March 2025": custom date fields)
DATE_FORMAT = "date"

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "GMT", "99"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def resolve_timezone(user_timezone: str, site_timezone: str, forced: str | None = None) -> str:
    """The zone a call renders dates in: moodlewssettingtimezone, else the user's, else the site's (99)."""
    if forced:
        return forced
    if user_timezone and user_timezone != "99":
        return user_timezone
    return site_timezone


def userdate(timestamp: int, kind: str, timezone: str) -> str:
    moment = datetime.fromtimestamp(timestamp, zone(timezone))
    date = f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"
    if kind == DATE_FORMAT:
        return date
    hour = moment.hour % 12 or 12
    marker = "AM" if moment.hour < 12 else "PM"
    return f"{_DAYS[moment.weekday()]}, {date}, {hour}:{moment.minute:02d} {marker}"


_TAGS = re.compile(r"(<[^>]*>)")


def autolink(html: str, activities: Iterable[tuple[str, str]]) -> str:
    """Link whole-word mentions of activity names (case-insensitive) outside tags and links.

    ``activities``: (name, url) pairs; longer names win."""
    named = sorted(((n, u) for n, u in activities if n.strip()), key=lambda item: -len(item[0]))
    if not named or not html:
        return html
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(name) for name, _ in named) + r")(?!\w)", re.IGNORECASE
    )
    lookup = {name.lower(): (name, url) for name, url in named}
    out: list[str] = []
    inside_link = False
    for chunk in _TAGS.split(html):
        if chunk.startswith("<"):
            lowered = chunk.lower()
            if lowered.startswith("<a ") or lowered == "<a>":
                inside_link = True
            elif lowered.startswith("</a"):
                inside_link = False
            out.append(chunk)
        elif inside_link or not chunk:
            out.append(chunk)
        else:
            def link(match: re.Match[str]) -> str:
                name, url = lookup[match.group(1).lower()]
                return f'<a class="autolink" title="{escape(name)}" href="{url}">{match.group(1)}</a>'

            out.append(pattern.sub(link, chunk))
    return "".join(out)


def format_text(text: str, textformat: int) -> str:
    """format_text() for messages: HTML and Moodle formats get a paragraph, plain text is escaped."""
    if textformat == 2:  # FORMAT_PLAIN
        return escape(text).replace("\n", "<br />")
    if textformat == 1 and text.lstrip().startswith("<"):
        return text
    return "<p>" + text.replace("\n", "<br />") + "</p>"
