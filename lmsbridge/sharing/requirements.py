"""The agreement's requirements on course information, as pure checks (seed 002, DESIGN.md rule 7).

``check_course_info(info, categories=…)`` returns findings, each with a stable code, a severity, the
item it concerns and a message in the current language. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from lmsbridge import i18n
from lmsbridge.domain import KNOWN_LICENCES
from lmsbridge.sharing.courseinfo import CourseInfo

ERROR = "error"
WARNING = "warning"

#: The items that must be present, in the agreement's order.
REQUIRED_ITEMS: tuple[str, ...] = (
    "goals",
    "content",
    "target_groups",
    "fullname",
    "shortname",
    "study_category",
    "study_start",
    "create_home_page",
    "summary",
    "prerequisites",
    "produced_by",
    "time_needed",
    "course_coordinator",
)

ITEM_NAMES: dict[str, tuple[str, str]] = {
    "goals": ("Mål (kursbeskrivelse)", "Goals (description)"),
    "content": ("Innhold (kursbeskrivelse)", "Content (description)"),
    "target_groups": ("Målgrupper (kursbeskrivelse)", "Target groups (description)"),
    "fullname": ("Fullt navn på kurset", "Full name"),
    "shortname": ("Kursets kortnavn", "Short name"),
    "study_category": ("Studiekategori", "Study category"),
    "study_start": ("Dato for studiestart", "Study start date"),
    "create_home_page": ("Opprett hjemmeside", "Create home page"),
    "summary": ("Kurssammendrag", "Summary"),
    "prerequisites": ("Forutsetninger", "Prerequisites"),
    "produced_by": ("Produsert av", "Produced by"),
    "time_needed": ("Tidsbruk", "Time needed"),
    "course_coordinator": ("Kurskoordinator", "Course coordinator"),
    "licence": ("Lisens", "Licence"),
    "owner": ("Eier", "Owner"),
}

i18n.register(
    {
        "missing": {"nb": "{item} mangler", "en": "{item} is missing"},
        "placeholder": {"nb": "{item} er bare en plassholder («{value}»)", "en": "{item} is only a placeholder («{value}»)"},
        "produced_by.incomplete": {
            "nb": "Produsert av må ha navn, stilling, avdeling og sykehus; mangler: {parts}",
            "en": "Produced by needs name, position, department and hospital; missing: {parts}",
        },
        "time_needed.unparseable": {
            "nb": "Tidsbruk «{value}» kan ikke leses som minutter (f.eks. «30 min», «1 t 15 min», «PT45M»)",
            "en": "Time needed «{value}» cannot be read as minutes (e.g. «30 min», «1 h 15 min», «PT45M»)",
        },
        "category.unknown": {
            "nb": "Studiekategori «{value}» er ikke en av plattformens kategorier ({known})",
            "en": "Study category «{value}» is not one of the platform's categories ({known})",
        },
        "home_page.no": {"nb": "Opprett hjemmeside må være JA", "en": "Create home page must be YES"},
        "licence.unknown": {"nb": "Ukjent lisens «{value}»", "en": "Unknown licence «{value}»"},
        "licence.missing": {
            "nb": "Lisens er ikke satt (trengs for regelen om videresalg)",
            "en": "Licence is not set (needed for the resale rule)",
        },
        "owner.missing": {"nb": "Eier er ikke satt", "en": "Owner is not set"},
    }
)

PLACEHOLDERS = frozenset({"tbd", "tba", "-", "--", "...", "…", "xxx", "x", "kommer", "todo", "n/a", "na", "?",
                          "ikke satt", "mangler", "lorem ipsum", "fyll inn", "placeholder"})
_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    item: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "item": self.item, "message": self.message}


def plain_text(value: str) -> str:
    """HTML → visible text (the sites store textareas as HTML)."""
    import html

    return _WS.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def is_placeholder(text: str) -> bool:
    lowered = text.strip().lower().rstrip(".")
    return lowered in PLACEHOLDERS or not any(ch.isalnum() for ch in lowered)


_ISO = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+)S)?)?$",
                  re.I)
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*(timer|time|t|h|hours?|hrs?|min(?:utter|utt|utes?|s)?|m)\b", re.I)


def parse_minutes(text: str) -> int | None:
    """«30 min», «1 t 15 min», «1,5 t», «2 timer», «PT45M», «PT1H30M» → minutes; None if unreadable."""
    value = text.strip()
    if not value:
        return None
    iso = _ISO.match(value)
    if iso and any(iso.group(g) for g in "dhms"):
        days = int(iso.group("d") or 0)
        hours = float((iso.group("h") or "0").replace(",", "."))
        minutes = float((iso.group("m") or "0").replace(",", "."))
        seconds = int(iso.group("s") or 0)
        return round(days * 1440 + hours * 60 + minutes + seconds / 60)
    total = 0.0
    consumed = _PART.sub("", value.lower())
    parts = _PART.findall(value)
    if not parts or re.sub(r"[\s,og&+]", "", consumed):
        return None
    for number, unit in parts:
        amount = float(number.replace(",", "."))
        total += amount * 60 if unit.lower() in ("timer", "time", "t", "h", "hour", "hours", "hr", "hrs") else amount
    return round(total) if total > 0 else None


def _name(item: str, lang: str) -> str:
    names = ITEM_NAMES.get(item, (item, item))
    return names[0] if lang == "nb" else names[1]


def check_course_info(
    info: CourseInfo,
    *,
    categories: Collection[str] | None = None,
    require_licence: bool = True,
    lang: str | None = None,
) -> list[Finding]:
    """All findings for one course; an empty list means the course passes.

    ``categories``: the study categories of the platform the course is published on (None = not checked).
    """
    lang = lang or i18n.language()
    findings: list[Finding] = []

    def add(code: str, severity: str, item: str, message_code: str | None = None, **values: object) -> None:
        findings.append(Finding(code, severity, item, i18n.t(message_code or code, lang, item=_name(item, lang), **values)))

    for item in REQUIRED_ITEMS:
        value = getattr(info, item)
        if item == "create_home_page":
            if value is None:
                add("missing.create_home_page", ERROR, item, "missing")
            elif value is False:
                add("home_page.no", ERROR, item)
            continue
        if item == "produced_by":
            if value is None:
                add("missing.produced_by", ERROR, item, "missing")
            else:
                lacking = value.missing_parts()
                if len(lacking) == 4:
                    add("missing.produced_by", ERROR, item, "missing")
                elif lacking:
                    add("produced_by.incomplete", ERROR, item, parts=", ".join(lacking))
            continue
        if item == "study_start":
            if value is None:
                add("missing.study_start", ERROR, item, "missing")
            continue
        text = plain_text(value) if isinstance(value, str) else ""
        if value is None or not text:
            add(f"missing.{item}", ERROR, item, "missing")
        elif is_placeholder(text):
            add(f"placeholder.{item}", ERROR, item, "placeholder", value=text[:40])
        elif item == "time_needed" and parse_minutes(text) is None:
            add("time_needed.unparseable", ERROR, item, value=text[:40])
        elif item == "study_category" and categories is not None:
            known = list(categories)
            if text.casefold() not in {c.casefold() for c in known}:
                add("category.unknown", ERROR, item, value=text, known=", ".join(known) or "-")
    if info.licence and info.licence.strip():
        if info.licence.strip().casefold() not in {lic.casefold() for lic in KNOWN_LICENCES}:
            add("licence.unknown", ERROR, "licence", value=info.licence.strip())
    elif require_licence:
        add("licence.missing", WARNING, "licence")
    if not (info.owner and info.owner.strip()):
        add("owner.missing", WARNING, "owner")
    return findings


def passes(findings: Collection[Finding]) -> bool:
    return not any(f.severity == ERROR for f in findings)
