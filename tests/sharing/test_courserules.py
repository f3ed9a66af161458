"""The rules a profile adds to the course-information check: length, coordinators, Creative Commons marking."""

from __future__ import annotations

from datetime import date

import pytest

from lmsbridge.domain import PlatformRole
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.courserules import check_cc_marking, check_coordinator, check_length, without_superseded
from lmsbridge.sharing.notices import renewal_notice
from lmsbridge.sharing.requirements import FINDING_CODES, Finding
from lmsbridge.sharing.term import term_status


@pytest.mark.parametrize(
    ("time_needed", "limit", "codes"),
    [
        ("20 min", 30, []),
        ("30 min", 30, []),
        ("1 time", 30, ["time_needed.too_long"]),
        ("1,5 t", 30, ["time_needed.too_long"]),
        ("3 timer", 30, ["time_needed.too_long"]),
        ("3 timer", None, []),  # no max_minutes in the profile: not checked
        ("en stund", 30, []),  # unreadable: the base check's error, not this one's
        (None, 30, []),
    ],
)
def test_course_length_is_a_warning_past_max_minutes(time_needed: str | None, limit: int | None,
                                                       codes: list[str]) -> None:
    findings = check_length(time_needed, limit)
    assert [f.code for f in findings] == codes
    assert all(f.severity == "warning" for f in findings)


def test_the_length_warning_names_both_durations() -> None:
    (finding,) = check_length("1,5 t", 30)
    assert finding.message.render("nb").startswith("Tidsbruk 1 t 30 min er lengre enn de 30 min")
    assert "30 min a course should take" in finding.message.render("en")


COORDINATORS = ["Ola Hansen <ola.hansen@helse-bergen.no>", "Kari Nordmann", "elaring@helse-bergen.no"]


@pytest.mark.parametrize(
    ("coordinator", "listed"),
    [
        ("Ola Hansen", True),
        ("ola  hansen", True),
        ("Ola Hansen, e-læringsansvarlig, Helse Bergen HF", True),
        ("<p>Kari Nordmann</p>", True),
        ("O. Hansen <OLA.HANSEN@helse-bergen.no>", True),
        ("elaring@helse-bergen.no", True),
        ("Per Olsen", False),
        ("Ola Hansensen", False),
    ],
)
def test_the_coordinator_must_be_one_of_the_organisations(coordinator: str, listed: bool) -> None:
    findings = check_coordinator(coordinator, COORDINATORS, organisation="Helse Bergen HF")
    assert [f.code for f in findings] == ([] if listed else ["course_coordinator.not_listed"])
    assert all(f.severity == "error" for f in findings)


def test_without_a_list_only_presence_counts() -> None:
    assert check_coordinator("Per Olsen", [], organisation="Helse Bergen HF") == []
    assert check_coordinator(None, COORDINATORS, organisation="Helse Bergen HF") == []  # missing: the base check


def test_the_coordinator_finding_names_the_list() -> None:
    (finding,) = check_coordinator("Per Olsen", ["Kari Nordmann"], organisation="Helse Bergen HF")
    assert finding.message.render("nb") == (
        "Kurskoordinator «Per Olsen» er ikke blant e-læringsansvarlige i Helse Bergen HF («Kari Nordmann»)")


def _info(**items: object) -> CourseInfo:
    return CourseInfo.from_items({"shortname": "KSL-VELFERD-01", **items})


@pytest.mark.parametrize(
    ("role", "offered", "licence", "summary", "codes"),
    [
        (PlatformRole.MUNICIPAL, True, "CC BY-SA", None, []),
        (PlatformRole.MUNICIPAL, True, "Alle rettigheter reservert", None, []),
        (PlatformRole.MUNICIPAL, True, None, None, ["cc_marking.unmarked"]),
        (PlatformRole.MUNICIPAL, True, None, "<p>Lisens: CC BY-SA 4.0</p>", ["cc_marking.summary_only"]),
        (PlatformRole.MUNICIPAL, True, "CC BY", "<p>CC BY-SA</p>", ["cc_marking.conflict"]),
        (PlatformRole.MUNICIPAL, True, "WTFPL", None, ["cc_marking.unknown_licence"]),
        (PlatformRole.MUNICIPAL, False, None, None, []),  # not offered for sharing
        (PlatformRole.HOSPITAL, True, None, None, []),  # the rule is about KS Læring courses
    ],
)
def test_creative_commons_marking_as_findings(role: PlatformRole, offered: bool, licence: str | None,
                                              summary: str | None, codes: list[str]) -> None:
    findings = check_cc_marking(_info(licence=licence, summary=summary), owner_role=role, offered_for_sharing=offered)
    assert [f.code for f in findings] == codes
    for finding in findings:
        assert finding.item == "licence" and finding.severity == FINDING_CODES[finding.code]


def test_a_marking_finding_replaces_licence_missing() -> None:
    missing = Finding("licence.missing", FINDING_CODES["licence.missing"], "licence", check_length("1 t", 1)[0].message)
    marking = check_cc_marking(_info(), owner_role=PlatformRole.MUNICIPAL, offered_for_sharing=True)
    assert [f.code for f in without_superseded([missing, *marking])] == ["cc_marking.unmarked"]
    assert without_superseded([missing]) == [missing]


def test_the_renewal_reminder_names_the_term_and_the_days_left() -> None:
    status = term_status(date(2017, 6, 1))
    notice = renewal_notice(to_contact_point="kslaring@ks.no", from_party="Helse Bergen HF", status=status,
                            lang="nb")
    assert notice.to == "kslaring@ks.no"
    assert notice.subject == "Påminnelse: samarbeidsavtalen må fornyes innen 2017-06-30"
    assert "Avtaleperioden: 2016-07-01 – 2017-06-30" in notice.body
    assert "om 29 dager" in notice.body and "[agreement] renewals" in notice.body
    english = renewal_notice(to_contact_point="kslaring@ks.no", from_party="KS", status=status, lang="en")
    assert english.subject == "Reminder: the agreement must be renewed by 2017-06-30"
