"""The agreement's requirements on course information, as pure checks (seed 002, DESIGN.md rule 7).

The one entry point, kept stable for the share workflow (it calls it before every share request)::

    check_course_info(info, *, categories, today=None) -> list[Finding]

* ``info``: a ``CourseInfo`` from any source (course file, SCORM package, Moodle backup, live course).
* ``categories``: the study categories the course may use: the platform's configured categories, or
  its «studiekategori» options; ``None`` (or empty) leaves the category unchecked: only its presence
  is checked.
* ``today``: only for the plausibility of the start date; nothing here reads the clock.

An empty list means the course passes; a course with only warnings passes too (``passes``). Each
``Finding`` has a stable code (``FINDING_CODES``), a severity, the item it concerns (a name of
``courseinfo.ITEMS``) and a message (an ``lmsbridge.i18n.Message``, rendered where it is shown). No I/O,
no clock, no language.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

from lmsbridge.domain import KNOWN_LICENCES, Label
from lmsbridge.i18n import N_, Message
from lmsbridge.sharing.courseinfo import (
    DESCRIPTION_PARTS,
    PRODUCED_BY_PARTS,
    REQUIRED_ITEMS,
    CourseDescription,
    CourseInfo,
    ProducedBy,
)
from lmsbridge.sharing.licence import normalise_licence


class Severity(StrEnum):
    ERROR = "error"  # the course may not be published as it is
    WARNING = "warning"  # a person should look; the course still passes


ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a course's information."""

    code: str
    severity: Severity
    item: str
    message: Message

    def as_dict(self, lang: str | None = None) -> dict[str, str]:
        """For output: the message rendered in ``lang`` (default: the current language)."""
        return {"code": self.code, "severity": str(self.severity), "item": self.item,
                "message": self.message.render(lang)}



#: Every finding code, with its severity. ``missing.<item>`` and ``placeholder.<item>`` exist per item.
FINDING_CODES: dict[str, Severity] = {
    **{f"missing.{item}": ERROR for item in REQUIRED_ITEMS},
    **{f"placeholder.{item}": ERROR for item in REQUIRED_ITEMS if item not in ("study_start", "create_home_page")},
    N_("produced_by.incomplete"): ERROR,
    N_("time_needed.unparseable"): ERROR,
    N_("category.unknown"): ERROR,
    N_("home_page.no"): ERROR,
    N_("study_start.invalid"): ERROR,
    N_("study_start.implausible"): WARNING,
    N_("licence.unknown"): ERROR,
    N_("licence.missing"): WARNING,
    N_("owner.missing"): WARNING,
    N_("label.unknown"): WARNING,
    # Rules a platform's profile adds (``sharing.courserules``) and the agreement's term at a request.
    N_("time_needed.too_long"): WARNING,
    N_("course_coordinator.not_listed"): ERROR,
    N_("cc_marking.unmarked"): ERROR,
    N_("cc_marking.unknown_licence"): ERROR,
    N_("cc_marking.conflict"): ERROR,
    N_("cc_marking.summary_only"): WARNING,
    N_("term.expiring"): WARNING,
}

#: How the agreement names each item (a message: nb «Mål (kursbeskrivelse)», en «Goals (description)»).
ITEM_LABELS: dict[str, str] = {
    "goals": N_("item.goals"),
    "content": N_("item.content"),
    "target_groups": N_("item.target_groups"),
    "fullname": N_("item.fullname"),
    "shortname": N_("item.shortname"),
    "study_category": N_("item.study_category"),
    "study_start": N_("item.study_start"),
    "create_home_page": N_("item.create_home_page"),
    "summary": N_("item.summary"),
    "prerequisites": N_("item.prerequisites"),
    "produced_by": N_("item.produced_by"),
    "time_needed": N_("item.time_needed"),
    "course_coordinator": N_("item.course_coordinator"),
    "licence": N_("item.licence"),
    "owner": N_("item.owner"),
    "label": N_("item.label"),
}
_PART_LABELS: dict[str, str] = {
    "name": N_("part.name"),
    "position": N_("part.position"),
    "department": N_("part.department"),
    "hospital": N_("part.hospital"),
    "goals": N_("part.goals"),
    "content": N_("part.content"),
    "target_groups": N_("part.target_groups"),
}


# --- text --------------------------------------------------------------------------------------------------

_INVISIBLE = re.compile(r"<(script|style|head|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!/?][^>]*>")


def plain_text(value: str) -> str:
    """HTML or text → the visible text, whitespace collapsed (the sites store textareas as HTML)."""
    text = value
    if "<" in text:
        text = _TAG.sub(" ", _INVISIBLE.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())


#: Texts that stand in for a value that has not been written yet (compared case-insensitively,
#: without surrounding punctuation).
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "tbd", "tba", "tbc", "todo", "to do", "fixme", "kommer", "kommer senere", "kommer snart", "følger",
        "følger senere", "fylles ut", "fylles inn", "fyll inn", "fyll ut", "skriv her", "skriv inn", "ikke klart",
        "ikke avklart", "uavklart", "avklares", "mangler", "ikke satt", "ukjent", "vet ikke", "placeholder",
        "plassholder", "dummy", "test", "tekst", "text", "lorem ipsum", "xxx", "xx", "x", "n/a", "na", "null",
        "nil", "not set", "unknown", "to be decided", "to be announced", "to be confirmed", "coming soon",
    }
)  # fmt: skip
_PLACEHOLDER_START = re.compile(r"^(?:tbd|tba|todo|fixme|xxx+|lorem ipsum)\b", re.IGNORECASE)
_EDGE = " \t\n.,:;!?-–—_*#()[]{}<>«»\"'"


def placeholder_key(text: str) -> str:
    return " ".join(text.casefold().strip(_EDGE).split())


_LETTER = re.compile(r"[^\W\d_]")
_LONGEST_PLACEHOLDER = 40


def is_placeholder(text: str, *, also: Collection[str] = ()) -> bool:
    """«TBD», «-», «xxx», «kommer», «...», «Lorem ipsum …», a text with no letters, or one of ``also``
    (the item's own name, e.g. «Kurssammendrag» as the summary)."""
    if len(text) > _LONGEST_PLACEHOLDER and _LETTER.search(text):
        # Real values are long; only a «TBD: …» or «Lorem ipsum …» start makes a long one a placeholder.
        return bool(_PLACEHOLDER_START.match(text.lstrip(_EDGE)))
    key = placeholder_key(text)
    if not _LETTER.search(key):
        return True
    if key in PLACEHOLDERS or key in also:
        return True
    if len(key) > 1 and len(set(key.replace(" ", ""))) == 1:  # «xxxx», «aaaa»
        return True
    return bool(_PLACEHOLDER_START.match(key))


def _own_names(item: str) -> frozenset[str]:
    """The item's own names (nb, en, alias): written as its value, they are a placeholder."""
    names = {item, item.replace("_", " "), *(placeholder_key(label) for label in ITEM_LABELS.get(item, ()))}
    names |= {alias for alias, canonical in (*CourseInfo.ALIASES.items(), *CourseDescription.ALIASES.items())
              if canonical == item}
    names |= {placeholder_key(label) for label in _PART_LABELS.get(item, ())}
    return frozenset(names)


_OWN_NAMES: dict[str, frozenset[str]] = {item: _own_names(item) for item in ITEM_LABELS}


def meaningful(value: object, item: str = "") -> bool:
    """Present, not blank once HTML tags are stripped, and not a placeholder."""
    if not isinstance(value, str):
        return value is not None
    text = plain_text(value)
    return bool(text) and not is_placeholder(text, also=_OWN_NAMES.get(item, frozenset()))


# --- time needed --------------------------------------------------------------------------------------------

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO_DURATION = re.compile(
    rf"^P(?:(?P<d>{_NUMBER})D)?(?:T(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?(?:(?P<s>{_NUMBER})S)?)?$", re.I
)
_CLOCK = re.compile(r"^(?P<h>\d{1,4}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,]\d+)?)?$")
_UNIT_MINUTES: dict[str, float] = {
    **dict.fromkeys(("t", "time", "timer", "tim", "timar", "h", "hr", "hrs", "hour", "hours", "std"), 60.0),
    **dict.fromkeys(("m", "min", "mins", "minutt", "minutter", "minute", "minutes"), 1.0),
    **dict.fromkeys(("s", "sek", "sekund", "sekunder", "sec", "secs", "second", "seconds"), 1 / 60),
}
_UNITS = "|".join(sorted((re.escape(unit) for unit in _UNIT_MINUTES), key=len, reverse=True))
_PART = re.compile(
    rf"\s*(?:(?:og|and|\+|&|,)\s*)?(?P<n>{_NUMBER})(?:\s*(?:-|–|—|til|to)\s*(?P<upto>{_NUMBER}))?\s*"
    rf"(?P<unit>{_UNITS})\.?(?![a-zæøå])",
    re.IGNORECASE,
)
_APPROXIMATELY = re.compile(
    r"^(?:ca\.?|cirka|omtrent|om lag|rundt|inntil|opptil|maks\.?|maksimalt|about|approx\.?|approximately|"
    r"around|up to|max\.?|~)\s*",
    re.IGNORECASE,
)


_HALF = re.compile(r"(\d*)½")


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_minutes(text: str) -> int | None:
    """Time needed → whole minutes (rounded up), or None when it cannot be read or is zero.

    «30 min», «1 t 15 min», «1 time», «2 timer», «1,5 t», «45 minutter», «ca. 20 min», «20–30 min» (the
    upper bound), «1:30», ISO 8601 durations as in SCORM metadata («PT45M», «PT1H30M»).
    """
    value = _HALF.sub(lambda m: (m.group(1) or "0") + ".5", " ".join(plain_text(text).split())).rstrip(".")
    value = _APPROXIMATELY.sub("", value).strip()
    if not value:
        return None
    total: float | None = None
    iso = _ISO_DURATION.match(value)
    clock = _CLOCK.match(value)
    if iso and any(iso.group(g) for g in "dhms"):
        total = sum(_number(iso.group(g) or "0") * factor for g, factor in zip("dhms", (1440, 60, 1, 1 / 60),
                                                                                   strict=True))
    elif clock:
        total = int(clock.group("h")) * 60 + int(clock.group("m")) + int(clock.group("s") or 0) / 60
    else:
        position = 0
        total = 0.0
        while position < len(value):
            part = _PART.match(value, position)
            if part is None or part.end() == position:
                return None
            amount = _number(part.group("upto") or part.group("n"))
            total += amount * _UNIT_MINUTES[part.group("unit").casefold()]
            position = part.end()
            rest = value[position:].strip()
            if rest in ("", "totalt", "i alt", "in total", "total"):
                break
    if total is None or total <= 0 or not math.isfinite(total):
        return None
    return math.ceil(round(total, 6))


def format_minutes(minutes: int) -> str:
    """90 → «1 t 30 min», 45 → «45 min», 120 → «2 t» (as the sites write «Tidsbruk»)."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} t" + (f" {rest} min" if rest else "")


# --- the checks --------------------------------------------------------------------------------------------

EARLIEST_PLAUSIBLE_YEAR = 2000
LATEST_PLAUSIBLE_YEAR = 2100  # without ``today``
PLAUSIBLE_YEARS_AHEAD = 10


def _label(item: str) -> Message | str:
    code = ITEM_LABELS.get(item)
    return Message(code) if code else item


def _part(part: str) -> Message:
    return Message(_PART_LABELS[part])


_HEADINGS = {"goals": N_("heading.goals"), "content": N_("heading.content"),
             "target_groups": N_("heading.target_groups")}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fold(value: str) -> str:
    return " ".join(value.split()).casefold()


@lru_cache(maxsize=64)
def _folded(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_fold(v) for v in values)


_KNOWN_LICENCES = _folded(KNOWN_LICENCES)
_LABELS = tuple(label.value for label in Label)


class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, code: str, item: str, message_code: str | None = None, **values: object) -> None:
        """Finding ``code`` about ``item``; its message is ``message_code`` (default: the code itself)."""
        message = Message(message_code or code, item=_label(item), **values)
        self.items.append(Finding(code, FINDING_CODES[code], item, message))


def _check_text(out: _Findings, item: str, value: object) -> str | None:
    """missing/placeholder for one text item; returns the plain text when it is meaningful."""
    text = plain_text(value) if isinstance(value, str) else ""
    if not text:
        out.add(f"missing.{item}", item, N_("missing"))
        return None
    if is_placeholder(text, also=_OWN_NAMES.get(item, frozenset())):
        out.add(f"placeholder.{item}", item, N_("placeholder"), value=_short(text))
        return None
    return text


def _check_description(out: _Findings, info: CourseInfo) -> None:
    described = info.description is not None and not info.description.is_empty()
    for part in DESCRIPTION_PARTS:
        value = info.item(part)
        if value is None and described:
            # A description was written, but it does not name this part.
            out.add(f"missing.{part}", part, N_("missing.description_part"), part=_part(part),
                    heading=Message(_HEADINGS[part]))
        else:
            _check_text(out, part, value)


def _check_produced_by(out: _Findings, value: ProducedBy | None) -> None:
    item = "produced_by"
    texts = {part: plain_text(text) for part, text in value.parts().items()} if value else {}
    if not any(texts.values()):
        out.add("missing.produced_by", item, N_("missing"))
        return
    lacking = [part for part in PRODUCED_BY_PARTS if not texts[part] or is_placeholder(texts[part])]
    if len(lacking) == len(PRODUCED_BY_PARTS):  # «TBD», «xxx, xxx, xxx, xxx»
        out.add("placeholder.produced_by", item, N_("placeholder"), value=_short(str(value)))
    elif lacking:
        out.add("produced_by.incomplete", item, parts=tuple(_part(part) for part in lacking))


def _check_time_needed(out: _Findings, value: str | None) -> None:
    item = "time_needed"
    text = plain_text(value) if value else ""
    if not text:
        out.add("missing.time_needed", item, N_("missing"))
    elif parse_minutes(text) is not None:
        return
    elif any(ch.isdigit() for ch in text):  # «30», «1 og en halv time»: a time, but not a readable one
        out.add("time_needed.unparseable", item, value=_short(text))
    elif is_placeholder(text, also=_OWN_NAMES[item]):
        out.add("placeholder.time_needed", item, N_("placeholder"), value=_short(text))
    else:
        out.add("time_needed.unparseable", item, value=_short(text))


def _check_study_start(out: _Findings, value: date | str | None, today: date | None) -> None:
    item = "study_start"
    if value is None or (isinstance(value, str) and not value.strip()):
        out.add("missing.study_start", item, N_("missing"))
    elif isinstance(value, str):
        out.add("study_start.invalid", item, value=_short(value.strip()))
    else:
        latest = today.year + PLAUSIBLE_YEARS_AHEAD if today else LATEST_PLAUSIBLE_YEAR
        if not EARLIEST_PLAUSIBLE_YEAR <= value.year <= latest:
            out.add("study_start.implausible", item, value=value.isoformat())


def _check_category(out: _Findings, value: str | None, categories: Collection[str] | None) -> None:
    text = _check_text(out, "study_category", value)
    if text is None or not categories:  # nothing to check against: only presence counts
        return
    if _fold(text) not in _folded(tuple(categories)):
        known = ", ".join(f"«{c}»" for c in categories) or "-"
        out.add("category.unknown", "study_category", value=_short(text), known=known)


def _check_licence(out: _Findings, value: str | None) -> None:
    text = plain_text(value) if value else ""
    if not text:
        out.add("licence.missing", "licence")
        return
    if _fold(text) in _KNOWN_LICENCES or normalise_licence(text) in KNOWN_LICENCES:
        return
    out.add("licence.unknown", "licence", value=_short(text), known=", ".join(KNOWN_LICENCES))


def check_course_info(
    info: CourseInfo,
    *,
    categories: Collection[str] | None,
    today: date | None = None,
) -> list[Finding]:
    """All findings for one course, in the agreement's order; an empty list means it passes.

    ``categories``: the study categories of the platform the course goes to (its configured categories
    or its «studiekategori» options); None or empty = not checked. ``today`` only bounds a plausible
    start date.
    """
    out = _Findings()
    _check_description(out, info)
    for item in ("fullname", "shortname"):
        _check_text(out, item, info.item(item))
    _check_category(out, info.study_category, categories)
    _check_study_start(out, info.study_start, today)
    if info.create_home_page is None:
        out.add("missing.create_home_page", "create_home_page", N_("missing"))
    elif info.create_home_page is False:
        out.add("home_page.no", "create_home_page")
    for item in ("summary", "prerequisites"):
        _check_text(out, item, info.item(item))
    _check_produced_by(out, info.produced_by)
    _check_time_needed(out, info.time_needed)
    _check_text(out, "course_coordinator", info.course_coordinator)
    _check_licence(out, info.licence)
    if not meaningful(info.owner, "owner"):
        out.add("owner.missing", "owner")
    label = plain_text(info.label) if info.label else ""
    if label and _fold(label) not in _folded(_LABELS):
        out.add("label.unknown", "label", value=_short(label), known=", ".join(f"«{k}»" for k in _LABELS))
    return out.items


def passes(findings: Iterable[Finding]) -> bool:
    """True when no finding is an error (warnings do not stop a course)."""
    return not any(f.severity == ERROR for f in findings)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


def warnings(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == WARNING]


__all__ = [
    "ERROR",
    "FINDING_CODES",
    "ITEM_LABELS",
    "PLACEHOLDERS",
    "REQUIRED_ITEMS",
    "WARNING",
    "Finding",
    "Severity",
    "check_course_info",
    "errors",
    "format_minutes",
    "is_placeholder",
    "meaningful",
    "parse_minutes",
    "passes",
    "plain_text",
    "warnings",
]
