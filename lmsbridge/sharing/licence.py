"""Licences: resale of borrowed courses and the Creative Commons marking of KS courses.

The agreement (seed 002, «Eierskap til kurs og samarbeidsløsninger»):

* «Kurs en part har lånt av en annen part kan ikke selges videre av låneren, med mindre materialet er
  under CC-by-sa» (enkelte kommunale kurs er merket med dette, ingen av HSØs kurs har dette). Taken
  literally: only CC BY-SA opens resale to the borrower — not CC BY or CC0, which the agreement does not
  name. The owner may always sell its own course.
* «Kurs som er delt fra KS læring … skal være merket dersom det er tilgjengelig for deling og gjenbruk
  under Creative Commons».
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from lmsbridge.domain import CC_BY_SA, KNOWN_LICENCES, PlatformRole
from lmsbridge.sharing.verdict import Verdict, same_organisation, verdict

ALL_RIGHTS_RESERVED = "Alle rettigheter reservert"
CC0 = "CC0"
#: The Creative Commons licences among KNOWN_LICENCES.
CREATIVE_COMMONS: frozenset[str] = frozenset(name for name in KNOWN_LICENCES if name.startswith("CC"))


# --- normalising licence names -------------------------------------------------------------------

_ALL_RIGHTS_RESERVED = frozenset(
    {"allerettigheterreservert", "allrightsreserved", "opphavsrettbeskyttet", "copyright", "©", "c"}
)
_ZERO = ("cc0", "cczero", "creativecommonszero", "publicdomain/zero", "publicdomainzero")

# Element words in English, Norwegian bokmål and nynorsk (creativecommons.org's own translations).
_ELEMENT_WORDS: dict[str, tuple[str, ...]] = {
    "BY": ("attribution", "navngivelse", "namngjeving"),
    "NC": ("noncommercial", "ikkekommersiell", "ikkjekommersiell"),
    "ND": (
        "noderivatives",
        "noderivs",
        "noderivativeworks",
        "ingenbearbeidelser",
        "ingenbearbeiding",
        "ingentilarbeidingar",
    ),
    "SA": ("sharealike", "delpåsammevilkår", "delpåsamevilkår"),
}
_TOKEN = re.compile(r"[0-9a-zæøå©]+")


def _is_all_rights_reserved(compact: str) -> bool:
    # "© 2020 Helse Bergen HF", "Copyright Oslo kommune": a copyright notice without a licence reserves all rights.
    return compact in _ALL_RIGHTS_RESERVED or compact.startswith(
        ("allerettigheterreservert", "allrightsreserved", "©", "copyright")
    )


def normalise_licence(text: str | None) -> str | None:
    """A licence as the platforms' «lisens» field names it (``domain.KNOWN_LICENCES``), or None when the
    text is empty or names no known licence.

    Understands the usual spellings: "CC-BY-SA", "cc by-sa 4.0", "CC BY-SA 4.0", "Creative Commons
    Attribution-ShareAlike 4.0 International", Norwegian «Navngivelse-DelPåSammeVilkår», creativecommons.org
    URLs, Moodle's licence short names ("cc-sa-4.0", "cc-nc-4.0", "allrightsreserved") and full names
    ("Creative Commons - ShareAlike 4.0 International"). As in Moodle, a Creative Commons licence naming no
    elements ("cc-4.0", "Creative Commons 4.0") is CC BY: every CC licence but CC0 requires attribution.
    """
    if not text or not text.strip():
        return None
    folded = text.strip().casefold()
    tokens = _TOKEN.findall(folded)
    compact = "".join(tokens)
    for name in KNOWN_LICENCES:
        if compact == "".join(_TOKEN.findall(name.casefold())):
            return name
    if _is_all_rights_reserved(compact):
        return ALL_RIGHTS_RESERVED
    if any(zero in compact or zero in folded for zero in _ZERO):
        return CC0
    elements = {code for code in _ELEMENT_WORDS if code.casefold() in tokens}
    elements |= {code for code, words in _ELEMENT_WORDS.items() if any(word in compact for word in words)}
    is_cc = "cc" in tokens or "creativecommons" in compact or ("BY" in elements and len(elements) > 1)
    if not is_cc:
        return None
    if {"ND", "SA"} <= elements:
        return None  # no such licence: no derivatives and share-alike contradict each other
    name = "CC BY" + "".join(f"-{code}" for code in ("NC", "ND", "SA") if code in elements)
    return name if name in KNOWN_LICENCES else None


def is_cc_by_sa(text: str | None) -> bool:
    return normalise_licence(text) == CC_BY_SA


# --- resale ----------------------------------------------------------------------------------------


def may_resell(*, licence: str | None, owner_org: str, owner_role: PlatformRole, seller_org: str) -> Verdict:
    """May ``seller_org`` sell this course on? The owner always; a borrower only under CC BY-SA; and never a
    hospital (HSØ) course, whose CC BY-SA claim is flagged as an inconsistency for the owner to correct."""
    normalised = normalise_licence(licence)
    details = {
        "owner_org": owner_org.strip(),
        "owner_role": owner_role.value,
        "seller_org": seller_org.strip(),
        "licence": normalised or (licence or "").strip(),
    }
    # «ingen av HSØs kurs har dette»: a hospital course that says CC BY-SA has a wrong licence field.
    inconsistent = owner_role is PlatformRole.HOSPITAL and normalised == CC_BY_SA
    if same_organisation(owner_org, seller_org):
        return verdict(True, "resale.owner", **details, inconsistent=inconsistent)
    if inconsistent:
        return verdict(False, "resale.hospital_cc_by_sa", **details, inconsistent=True)
    if normalised == CC_BY_SA:
        return verdict(True, "resale.cc_by_sa", **details)
    if not (licence or "").strip():
        return verdict(False, "resale.no_licence", **details)
    if normalised is None:
        return verdict(False, "resale.unknown_licence", **details)
    return verdict(False, "resale.borrowed", **details)


# --- Creative Commons marking ----------------------------------------------------------------------

_CC_MENTION = re.compile(
    r"creative\s*commons[^.;\n<]*|\bcc[\s-]*(?:by(?:[\s-]*(?:nc|nd|sa))*|0|zero)\b[\s\d.]*",
    re.IGNORECASE,
)


def summary_licence(summary_html: str | None) -> str | None:
    """The Creative Commons licence a summary visibly states (text, or a creativecommons.org link)."""
    if not summary_html or not summary_html.strip():
        return None
    try:
        root = lxml.html.fragment_fromstring(summary_html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    for link in root.iter("a"):
        href = link.get("href") or ""
        if "creativecommons.org" in href.casefold():
            found = normalise_licence(href)
            if found:
                return found
    for mention in _CC_MENTION.finditer(root.text_content()):
        found = normalise_licence(mention.group(0))
        if found:
            return found
    return None


def creative_commons_marking(
    *, owner_role: PlatformRole, offered_for_sharing: bool, licence: str | None, summary_html: str | None
) -> Verdict:
    """A KS Læring course available for sharing and reuse under Creative Commons must be marked as such.

    The licence field counts as the marking, and so does a visible statement in the summary; a summary-only
    marking is allowed with a warning (``cc_marking.summary_only``): resale checks read the field.
    A field and a summary that name different licences are flagged as ``cc_marking.conflict``. A KS course
    offered for sharing with no licence at all is flagged (``cc_marking.unmarked``): nobody can tell
    whether it may be reused.
    """
    field = normalise_licence(licence)
    stated = summary_licence(summary_html)
    known = ", ".join(KNOWN_LICENCES)
    details: dict[str, Any] = {
        "owner_role": owner_role.value,
        "licence": field or (licence or "").strip(),
        "summary_licence": stated or "",
        "offered_for_sharing": offered_for_sharing,
    }
    if owner_role is not PlatformRole.MUNICIPAL:
        return verdict(True, "cc_marking.not_applicable", **details)
    if not offered_for_sharing:
        return verdict(True, "cc_marking.not_offered", **details)
    if (licence or "").strip() and field is None:
        return verdict(False, "cc_marking.unknown_licence", **details, known=known)
    if field is not None and stated is not None and field != stated:
        return verdict(False, "cc_marking.conflict", **details)
    if field in CREATIVE_COMMONS:
        return verdict(True, "cc_marking.marked", **details)
    if field is not None:
        return verdict(True, "cc_marking.not_cc", **details)
    if stated is not None:
        return verdict(True, "cc_marking.summary_only", **details, warning=True)
    return verdict(False, "cc_marking.unmarked", **details)
