"""Sane ranges for values read from a platform, as small pure functions: no value can crash lmsbridge.

A platform answer is untrusted input. Python turns absurd values into exceptions far from where they came
in: ``datetime.fromtimestamp(10**13)`` raises ``ValueError: year 318857 is out of range``, ``int()`` of
5,000 digits raises ``ValueError`` (the 4,300-digit limit), ``round(float("9" * 400))`` raises
``OverflowError``. So every number is checked here, where it enters, before anything computes with it:

* ids are positive and below 2**63 (Moodle's ids are signed 64-bit ``BIGINT`` columns);
* times are Unix seconds from 0 ("never") up to the end of year 9999 less a day (any time zone still
  lands in year 9999, so ``datetime`` never overflows);
* percentages are 0–100.

Text is never handed to ``int()`` when it is longer than any number in range could be. A value out of
range raises ``OutOfRange`` (a ``ValueError``: the wire models turn it into a validation error that names
the field); ``bad_value`` turns one into the typed ``BadValueError`` that names the site, the function and
the field. ``datetime_from_unix`` never raises.

Report-builder cells are display text; ``id_from_text`` and ``percent_from_text`` read the numbers in them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from lmsbridge.errors import BadValueError
from lmsbridge.i18n import Message

#: Moodle's ids are BIGINT: signed 64-bit.
MAX_ID = 2**63 - 1
#: 9999-12-31T00:00:00Z: a day short of the end of ``datetime``'s range, so every time zone fits.
MAX_TIMESTAMP = 253_402_214_400
#: More characters than any in-range number has (sign, 19 digits, a ".0" of an integral float, spaces).
MAX_NUMBER_TEXT = 32
#: How much of a bad value a message shows (head and tail).
SHOWN = 24

ID_RANGE = f"1…{MAX_ID}"
REF_RANGE = f"0…{MAX_ID}"
INT64_RANGE = f"{-MAX_ID - 1}…{MAX_ID}"
TIMESTAMP_RANGE = f"0…{MAX_TIMESTAMP} = 9999-12-31"
PERCENT_RANGE = "0…100 %"

_PERCENT = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*%\s*$")


class OutOfRange(ValueError):
    """A value outside its sane range. ``value`` is what was sent (any type), ``allowed`` names the range."""

    def __init__(self, value: object, allowed: str) -> None:
        self.value = value
        self.allowed = allowed
        super().__init__(f"{shorten(value)} is outside {allowed}")


def shorten(value: object, limit: int = SHOWN) -> str:
    """A value as text, at most about ``2 * limit`` characters: head…tail."""
    text = value if isinstance(value, str) else _repr_number(value)
    if len(text) <= 2 * limit + 1:
        return text
    return f"{text[:limit]}…{text[-limit // 3:]}"


def shown(value: object) -> str | Message:
    """A bad value for a message: as it is when short, else head…tail and its length."""
    text = value if isinstance(value, str) else _repr_number(value)
    if len(text) <= 2 * SHOWN + 1:
        return text
    return Message("bounds.shortened", text=shorten(text), length=len(text))


def _repr_number(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 14_000:
        return f"<{value.bit_length()}-bit integer>"  # str() of it would raise: over 4,300 digits
    return repr(value) if not isinstance(value, int | float) else str(value)


def bounded_int(value: object, low: int, high: int, allowed: str) -> int:
    """``value`` (an int, an integral float, or digits as text) as an int within ``low``…``high``.

    Raises ``OutOfRange`` for a number outside the range (a NaN or an infinity too); ``TypeError`` or
    ``ValueError`` for something that is not a whole number at all (a shape problem, not a range problem).
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number here")
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise OutOfRange(value, allowed)
        if not value.is_integer():
            raise ValueError("not a whole number")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            if text.lstrip("+-").isdigit():
                raise OutOfRange(value, allowed)
            raise ValueError("not a number")
        try:
            number = int(text)
        except ValueError:
            return bounded_int(float(text), low, high, allowed)  # "1.0"; "abc" raises ValueError
    else:
        raise TypeError(f"{type(value).__name__} is not a number")
    if not low <= number <= high:
        raise OutOfRange(value, allowed)
    return number


def id_value(value: object) -> int:
    """A record's own id: 1 … 2**63-1."""
    return bounded_int(value, 1, MAX_ID, ID_RANGE)


def ref_value(value: object) -> int:
    """A reference to a record that may be unset: 0 … 2**63-1 (None and "" are 0)."""
    return 0 if value is None or value == "" else bounded_int(value, 0, MAX_ID, REF_RANGE)


def int64_value(value: object) -> int:
    """Any other whole number Moodle stores (counts, states, a -1 for "failed"): signed 64-bit."""
    return 0 if value is None or value == "" else bounded_int(value, -MAX_ID - 1, MAX_ID, INT64_RANGE)


def timestamp_value(value: object) -> int:
    """Unix seconds, 0 (or None, "") meaning never: 0 … ``MAX_TIMESTAMP``."""
    return 0 if value is None or value == "" else bounded_int(value, 0, MAX_TIMESTAMP, TIMESTAMP_RANGE)


def percent_value(value: object) -> float:
    """A percentage: 0 … 100 (an int, a float or the number as text)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a percentage")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise OutOfRange(value, PERCENT_RANGE)
        number = float(text.replace(",", "."))
    elif isinstance(value, int):
        if abs(value) > 10**6:
            raise OutOfRange(value, PERCENT_RANGE)
        number = float(value)
    elif isinstance(value, float):
        number = value
    else:
        raise TypeError(f"{type(value).__name__} is not a percentage")
    if not (math.isfinite(number) and 0.0 <= number <= 100.0):
        raise OutOfRange(value, PERCENT_RANGE)
    return number


def id_from_text(digits: str) -> int:
    """An id written in text (``id=4`` in a report cell's link): 1 … 2**63-1, without ``int()`` of a
    5,000-digit string."""
    return id_value(digits)


def percent_from_text(text: str) -> float | None:
    """A report cell's percentage ("66.7%", "66,7 %") → 66.7; a cell without one ("", "-") → None.

    Raises ``OutOfRange`` for a percentage outside 0–100 («999…9%» included)."""
    if len(text) > 2 * MAX_NUMBER_TEXT:
        if "%" in text and any(ch.isdigit() for ch in text):
            raise OutOfRange(text, PERCENT_RANGE)
        return None
    found = _PERCENT.match(text)
    if found is None:
        return None
    return percent_value(found.group(1))


def datetime_from_unix(value: object) -> datetime | None:
    """Unix seconds → an aware UTC datetime; 0/None/"" ("never") and anything out of range → None.

    Never raises: a time that cannot be a time is no time."""
    try:
        stamp = timestamp_value(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(stamp, tz=UTC) if stamp else None


def bad_value(error: OutOfRange, *, site: str | None, wsfunction: str | None, field: str) -> BadValueError:
    """The typed error for a value out of range: names the site, the function, the field and the value."""
    return BadValueError(shown(error.value), allowed=error.allowed, site=site, wsfunction=wsfunction, field=field)


__all__ = [
    "ID_RANGE",
    "INT64_RANGE",
    "MAX_ID",
    "MAX_NUMBER_TEXT",
    "MAX_TIMESTAMP",
    "PERCENT_RANGE",
    "REF_RANGE",
    "TIMESTAMP_RANGE",
    "OutOfRange",
    "bad_value",
    "bounded_int",
    "datetime_from_unix",
    "id_from_text",
    "id_value",
    "int64_value",
    "percent_from_text",
    "percent_value",
    "ref_value",
    "shorten",
    "shown",
    "timestamp_value",
]
