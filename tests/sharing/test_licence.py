"""Resale and Creative Commons marking (agreement, seed 002: «Kurs en part har lånt av en annen part kan ikke
selges videre av låneren, med mindre materialet er under CC-by-sa» — «ingen av HSØs kurs har dette»)."""

from __future__ import annotations

import pytest

from lmsbridge.domain import CC_BY_SA, KNOWN_LICENCES, PlatformRole
from lmsbridge.sharing.licence import creative_commons_marking, may_resell, normalise_licence, summary_licence

HOSPITAL = PlatformRole.HOSPITAL
MUNICIPAL = PlatformRole.MUNICIPAL
HF = "Helse Bergen HF"
KOMMUNE = "Bergen kommune"

SPELLINGS = [
    # as written somewhere → the «lisens» field's name
    ("CC BY-SA", "CC BY-SA"),
    ("CC-BY-SA", "CC BY-SA"),
    ("cc by-sa 4.0", "CC BY-SA"),
    ("CC BY-SA 4.0", "CC BY-SA"),
    ("CC BY SA 3.0 Unported", "CC BY-SA"),
    ("  by-sa ", "CC BY-SA"),
    ("Creative Commons Attribution-ShareAlike", "CC BY-SA"),
    ("Creative Commons Attribution-ShareAlike 4.0 International", "CC BY-SA"),
    ("Creative Commons Navngivelse-DelPåSammeVilkår 4.0 Internasjonal", "CC BY-SA"),
    ("https://creativecommons.org/licenses/by-sa/4.0/deed.no", "CC BY-SA"),
    ("cc-sa-4.0", "CC BY-SA"),  # Moodle's licence short name
    ("Creative Commons - ShareAlike 4.0 International", "CC BY-SA"),  # Moodle's full name
    ("CC BY", "CC BY"),
    ("cc-4.0", "CC BY"),
    ("Creative Commons", "CC BY"),
    ("CC BY-NC-SA 4.0", "CC BY-NC-SA"),
    ("Creative Commons Navngivelse-IkkeKommersiell-DelPåSammeVilkår", "CC BY-NC-SA"),
    ("Creative Commons - NonCommercial-NoDerivatives 4.0 International", "CC BY-NC-ND"),
    ("cc by-nd", "CC BY-ND"),
    ("CC BY-NC", "CC BY-NC"),
    ("CC0", "CC0"),
    ("CC0 1.0 Universal", "CC0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
    ("Alle rettigheter reservert", "Alle rettigheter reservert"),
    ("alle rettigheter reservert.", "Alle rettigheter reservert"),
    ("All rights reserved", "Alle rettigheter reservert"),
    ("allrightsreserved", "Alle rettigheter reservert"),
    ("© 2024 Helse Bergen HF", "Alle rettigheter reservert"),
    # nothing we can name
    ("", None),
    ("   ", None),
    (None, None),
    ("public", None),
    ("Lisens: se avtale", None),
    ("Laget by Helse Bergen", None),
    ("CC BY-ND-SA", None),  # no such licence
]


@pytest.mark.parametrize(("text", "name"), SPELLINGS)
def test_normalise_licence(text: str | None, name: str | None) -> None:
    assert normalise_licence(text) == name


@pytest.mark.parametrize("name", KNOWN_LICENCES)
def test_every_known_licence_is_its_own_name(name: str) -> None:
    assert normalise_licence(name) == name
    assert normalise_licence(name.lower()) == name


RESALE = [
    # licence, owner, owner's side, seller, allowed, code
    # The owner may always sell its own course.
    ("Alle rettigheter reservert", HF, HOSPITAL, HF, True, "resale.owner"),
    (None, KOMMUNE, MUNICIPAL, " bergen kommune ", True, "resale.owner"),
    # «ingen av HSØs kurs kan selges videre av KS læring»
    ("Alle rettigheter reservert", HF, HOSPITAL, KOMMUNE, False, "resale.borrowed"),
    (None, HF, HOSPITAL, KOMMUNE, False, "resale.no_licence"),
    ("CC BY", HF, HOSPITAL, KOMMUNE, False, "resale.borrowed"),
    # a hospital course claiming CC BY-SA contradicts the agreement: no, and flagged
    ("CC BY-SA", HF, HOSPITAL, KOMMUNE, False, "resale.hospital_cc_by_sa"),
    ("cc by-sa 4.0", HF, HOSPITAL, KOMMUNE, False, "resale.hospital_cc_by_sa"),
    # «med mindre materialet er under CC-by-sa» (enkelte kommunale kurs er merket med dette)
    ("CC BY-SA", KOMMUNE, MUNICIPAL, HF, True, "resale.cc_by_sa"),
    ("Creative Commons Attribution-ShareAlike", KOMMUNE, MUNICIPAL, HF, True, "resale.cc_by_sa"),
    # only CC BY-SA, as the agreement says: not CC BY, CC0 or NC-SA
    ("CC BY", KOMMUNE, MUNICIPAL, HF, False, "resale.borrowed"),
    ("CC0", KOMMUNE, MUNICIPAL, HF, False, "resale.borrowed"),
    ("CC BY-NC-SA", KOMMUNE, MUNICIPAL, HF, False, "resale.borrowed"),
    ("Alle rettigheter reservert", KOMMUNE, MUNICIPAL, HF, False, "resale.borrowed"),
    ("", KOMMUNE, MUNICIPAL, HF, False, "resale.no_licence"),
    ("Egen lisens v2", KOMMUNE, MUNICIPAL, HF, False, "resale.unknown_licence"),
]


@pytest.mark.parametrize(("licence", "owner", "role", "seller", "allowed", "code"), RESALE)
def test_may_resell(licence: str | None, owner: str, role: PlatformRole, seller: str, allowed: bool, code: str) -> None:
    verdict = may_resell(licence=licence, owner_org=owner, owner_role=role, seller_org=seller)
    assert (verdict.allowed, verdict.code) == (allowed, code)
    assert verdict.reason


def test_resale_reasons_name_the_owner_and_the_licence() -> None:
    no = may_resell(licence="CC BY", owner_org=KOMMUNE, owner_role=MUNICIPAL, seller_org=HF)
    assert no.reason == (
        "Kurset er lånt fra Bergen kommune og kan ikke selges videre av Helse Bergen HF: lisensen er CC BY, "
        "ikke CC BY-SA"
    )
    flagged = may_resell(licence="CC-BY-SA", owner_org=HF, owner_role=HOSPITAL, seller_org=KOMMUNE)
    assert "ingen av Helse Sør-Østs kurs er under CC BY-SA" in flagged.reason
    assert flagged.details["inconsistent"] is True
    assert flagged.details["licence"] == CC_BY_SA
    assert "none of Helse Sør-Øst's courses are CC BY-SA" in flagged.reason_in("en")
    own = may_resell(licence="CC BY-SA", owner_org=HF, owner_role=HOSPITAL, seller_org=HF)
    assert own.allowed and own.details["inconsistent"] is True  # the owner may sell; the field is still wrong


CC_BY_SA_LINK = '<p>Lisens: <a href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA 4.0</a></p>'

MARKING = [
    # owner's side, offered for sharing, licence field, summary, allowed, code
    # «skal være merket dersom det er tilgjengelig for deling og gjenbruk under Creative Commons»
    (MUNICIPAL, True, "CC BY-SA", "<p>Kurs.</p>", True, "cc_marking.marked"),
    (MUNICIPAL, True, "CC BY-SA", CC_BY_SA_LINK, True, "cc_marking.marked"),
    (MUNICIPAL, True, "cc-by 4.0", None, True, "cc_marking.marked"),
    (MUNICIPAL, True, None, CC_BY_SA_LINK, True, "cc_marking.summary_only"),
    (
        MUNICIPAL,
        True,
        "",
        "<p>Lisensiert under Creative Commons Navngivelse-DelPåSammeVilkår.</p>",
        True,
        "cc_marking.summary_only",
    ),
    (MUNICIPAL, True, None, "<p>Kurs.</p>", False, "cc_marking.unmarked"),
    (MUNICIPAL, True, None, None, False, "cc_marking.unmarked"),
    (MUNICIPAL, True, "Alle rettigheter reservert", "<p>Kurs.</p>", True, "cc_marking.not_cc"),
    (MUNICIPAL, True, "Alle rettigheter reservert", CC_BY_SA_LINK, False, "cc_marking.conflict"),
    (MUNICIPAL, True, "CC BY", CC_BY_SA_LINK, False, "cc_marking.conflict"),
    (MUNICIPAL, True, "fri bruk", None, False, "cc_marking.unknown_licence"),
    (MUNICIPAL, False, None, None, True, "cc_marking.not_offered"),
    (HOSPITAL, True, None, None, True, "cc_marking.not_applicable"),
]


@pytest.mark.parametrize(("role", "offered", "licence", "summary", "allowed", "code"), MARKING)
def test_creative_commons_marking(
    role: PlatformRole, offered: bool, licence: str | None, summary: str | None, allowed: bool, code: str
) -> None:
    verdict = creative_commons_marking(
        owner_role=role, offered_for_sharing=offered, licence=licence, summary_html=summary
    )
    assert (verdict.allowed, verdict.code) == (allowed, code)
    assert verdict.reason


def test_a_summary_only_marking_is_a_warning_that_says_what_to_set() -> None:
    verdict = creative_commons_marking(
        owner_role=MUNICIPAL, offered_for_sharing=True, licence=None, summary_html=CC_BY_SA_LINK
    )
    assert verdict.warning
    assert "sett lisensfeltet til CC BY-SA" in verdict.reason


SUMMARY_LICENCES = [
    (None, None),
    ("", None),
    ("<p>Kurs om brannvern.</p>", None),
    (CC_BY_SA_LINK, "CC BY-SA"),
    ('<p><a href="https://creativecommons.org/licenses/by-nc/4.0/">lisens</a></p>', "CC BY-NC"),
    ("<p>Materialet er lisensiert under CC BY-SA 4.0.</p>", "CC BY-SA"),
    ("<p>Dette verket er lisensiert under Creative Commons Attribution-ShareAlike 4.0.</p>", "CC BY-SA"),
    ("<p>Bilder: CC0.</p>", "CC0"),
]


@pytest.mark.parametrize(("summary", "licence"), SUMMARY_LICENCES)
def test_summary_licence(summary: str | None, licence: str | None) -> None:
    assert summary_licence(summary) == licence
