"""Course information written as text: a description with headings, a study start date.

Pure functions over strings, for ``lmsbridge.sharing.courseinfo``: ``split_description`` finds the goals,
content and target groups in one description text («Mål: …», HTML headings …), ``parse_study_date`` reads the
date formats people write.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime

#: The description's three parts, in the agreement's order («Kursbeskrivelse med mål, innhold og målgrupper»).
DESCRIPTION_PARTS: tuple[str, ...] = ("goals", "content", "target_groups")

#: Headings that name a part of a description written as one text («Mål: …», «<h3>Innhold</h3>…»).
HEADINGS: dict[str, tuple[str, ...]] = {
    "goals": (
        "mål",
        "maal",
        "kursmål",
        "læringsmål",
        "læringsutbytte",
        "goals",
        "goal",
        "learning goals",
        "objectives",
        "learning objectives",
        "learning outcomes",
    ),
    "content": ("innhold", "kursinnhold", "content", "contents", "course content"),
    "target_groups": (
        "målgrupper",
        "målgruppe",
        "målgruppa",
        "malgrupper",
        "malgruppe",
        "target groups",
        "target group",
        "target audience",
        "audience",
    ),
}
_HEADING_PART = {label: part for part, labels in HEADINGS.items() for label in labels}
_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?(?P<label>"
    + "|".join(re.escape(label) for label in sorted(_HEADING_PART, key=len, reverse=True))
    + r")(?:[ \t]+(?:for|med|i|of|for the)[ \t]+[^\n:]{1,40}?)?(?:\*\*|__)?[ \t]*(?::(?:\*\*|__)?|[–—-][ \t]|$)[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_BLOCK_TAG = re.compile(r"<\s*(?:br|/?p|/?div|/?h[1-6]|/?li|/?ul|/?ol|/?tr|/?dt|/?dd)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _lines_of(text: str) -> str:
    """HTML or plain text → plain text with one line per block (so headings start lines)."""
    if "<" in text:
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def split_description(text: str) -> dict[str, str | None]:
    """One description text → its goals, content, target groups (by headings) and the free ``text``.

    «Kort innføring. Mål: kunne X. Innhold: Y. Målgrupper: Z.» on separate lines (or as HTML headings
    and paragraphs) gives each part; a part without its heading is None; the text before the first
    heading is ``text``.
    """
    plain = _lines_of(text)
    found: dict[str, list[str]] = {}
    lead_end = len(plain)
    matches = list(_HEADING.finditer(plain))
    for index, match in enumerate(matches):
        if index == 0:
            lead_end = match.start()
        end = matches[index + 1].start() if index + 1 < len(matches) else len(plain)
        body = plain[match.end() : end].strip()
        part = _HEADING_PART[match.group("label").casefold()]
        found.setdefault(part, [])
        if body:
            found[part].append(body)
    lead = plain[:lead_end].strip()
    out: dict[str, str | None] = {part: "\n".join(found[part]) if part in found else None for part in DESCRIPTION_PARTS}
    out["text"] = lead or None
    return out


_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")


def parse_study_date(value: str) -> date | None:
    """«2025-01-06», «2025-01-06T08:00», «06.01.2025», «6.1.2025», «06/01/2025» → date; else None."""
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    match = _DMY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None
