"""How a Moodle site stores the course information: custom fields, select indexes, Unix dates.

A ``FieldMapping`` is what a platform profile knows about that (``PlatformProfile`` is one): which
custom field shortname holds which item, the option lists of select fields, the study categories.
Without a configured platform, the recorded sites' mapping is used (``DEFAULT_MAPPING``:
``adapters.profile.DEFAULT_FIELDS`` and ``DEFAULT_SELECT_OPTIONS``).

Facts (tests/fixtures/moodle/INDEX.md): select fields hold the 1-based option index (0 = unset), date
fields Unix seconds (0 = unset); the sites run Europe/Oslo, so a date is the Oslo calendar day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from lmsbridge.adapters.profile import DEFAULT_FIELDS, DEFAULT_SELECT_OPTIONS

OSLO = ZoneInfo("Europe/Oslo")


class FieldMapping(Protocol):
    """What ``PlatformProfile`` offers about course fields (any object with these attributes will do)."""

    @property
    def fields(self) -> Mapping[str, str]: ...

    @property
    def select_options(self) -> Mapping[str, Sequence[str]]: ...

    @property
    def categories(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class DefaultMapping:
    """The recorded sites' custom fields (seed_data.json), used when no platform is named."""

    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    select_options: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_SELECT_OPTIONS.items()}
    )
    categories: Mapping[str, int] = field(default_factory=dict)


DEFAULT_MAPPING = DefaultMapping()


def study_categories(mapping: FieldMapping) -> list[str]:
    """The study categories a course may use: the configured ones, else the «studiekategori» options."""
    if mapping.categories:
        return list(mapping.categories)
    shortname = mapping.fields.get("study_category")
    options = mapping.select_options.get(shortname, ()) if shortname else ()
    return [option for option in options if option]


def category_for_id(mapping: FieldMapping, categoryid: int) -> str | None:
    """The study category a Moodle course category id stands for, when the profile says so."""
    for name, known in mapping.categories.items():
        if known == categoryid and categoryid:
            return name
    return None


def to_int(raw: Any) -> int:
    if raw is None or raw == "" or isinstance(raw, bool):
        return int(bool(raw))
    try:
        return int(float(raw))
    except (TypeError, ValueError, OverflowError):
        return 0


def oslo_date(stamp: int) -> date | str | None:
    """Unix seconds → the calendar day in Europe/Oslo; 0 → None; out of range → the raw number (a finding)."""
    if stamp <= 0:
        return None
    try:
        return datetime.fromtimestamp(stamp, tz=OSLO).date()
    except (OverflowError, OSError, ValueError):
        return str(stamp)


def custom_value(
    mapping: FieldMapping,
    item: str,
    shortname: str,
    field_type: str,
    raw: Any,
    shown: str | None = None,
) -> Any:
    """One custom field's stored value (``valueraw``) → the item's value; None when it is unset.

    ``shown`` is the site's display value (``value``): the option text of a select field whose options
    the profile does not list.
    """
    options = mapping.select_options.get(shortname)
    if options is not None or field_type == "select":
        index = to_int(raw)
        if index <= 0:
            return None
        if options is not None and index < len(options):
            return options[index] or None
        return shown or f"option {index}"
    if field_type == "date" or item == "study_start":
        return oslo_date(to_int(raw))
    if field_type == "checkbox" or item == "create_home_page":
        if raw is None or raw == "":
            return None
        return bool(to_int(raw)) if str(raw).strip().lstrip("-").isdigit() else str(raw)
    text = "" if raw is None else str(raw)
    return text if text.strip() else None


__all__ = [
    "DEFAULT_MAPPING",
    "OSLO",
    "DefaultMapping",
    "FieldMapping",
    "category_for_id",
    "custom_value",
    "oslo_date",
    "study_categories",
    "to_int",
]
