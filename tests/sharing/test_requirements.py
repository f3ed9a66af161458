"""The agreement's course-information requirements (seed 002, «Krav til kursinfo i KS Læring»), table-driven."""

from __future__ import annotations

import ast
import inspect
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.sharing import requirements
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.requirements import (
    FINDING_CODES,
    REQUIRED_ITEMS,
    Finding,
    Severity,
    check_course_info,
    format_minutes,
    is_placeholder,
    parse_minutes,
    passes,
    plain_text,
)

CATEGORIES = ["Helse og velferd", "Skolesektor", "Annet"]

#: A course that meets every requirement (LP1 HBHF-SMITTE-01 as recorded, written as a course file).
GOOD: dict[str, Any] = {
    "description": {
        "goals": "<p>Deltakeren kan gjøre rede for basale smittevernrutiner og utføre korrekt håndhygiene.</p>",
        "content": "<ul><li>Håndhygiene</li><li>Bruk av hansker og frakk</li><li>Smittemåter</li></ul>",
        "target_groups": "Sykepleiere, helsefagarbeidere, leger",
    },
    "fullname": "Smittevern – basale rutiner",
    "shortname": "HBHF-SMITTE-01",
    "study_category": "Helse og velferd",
    "study_start": "2025-01-06",
    "create_home_page": True,
    "summary": "<p>Kort innføring i basale smittevernrutiner.</p>",
    "prerequisites": "<p>Ingen forkunnskaper kreves.</p>",
    "produced_by": "Kari Nordmann, fagutviklingssykepleier, Seksjon for smittevern, Haukeland universitetssjukehus",
    "time_needed": "30 min",
    "course_coordinator": "Ola Hansen",
    "licence": "CC BY",
    "owner": "Helse Bergen HF",
    "label": "delt til KS Læring",
}


def info_with(**changes: Any) -> CourseInfo:
    data = {**GOOD, **changes}
    description = dict(GOOD["description"])
    for part in ("goals", "content", "target_groups"):
        if part in changes:
            description[part] = data.pop(part)
    if "description" not in changes:
        data["description"] = description
    return CourseInfo.model_validate({k: v for k, v in data.items() if v is not ...})


def codes(info: CourseInfo, **kwargs: Any) -> list[str]:
    kwargs.setdefault("categories", CATEGORIES)
    return [f.code for f in check_course_info(info, **kwargs)]


def test_a_complete_course_has_no_findings() -> None:
    assert check_course_info(info_with(), categories=CATEGORIES) == []


@pytest.mark.parametrize("item", REQUIRED_ITEMS)
def test_every_required_item_missing_is_one_error_on_that_item(item: str) -> None:
    info = info_with(**{item: None})
    findings = check_course_info(info, categories=CATEGORIES)
    assert [(f.code, f.severity, f.item) for f in findings] == [(f"missing.{item}", Severity.ERROR, item)]
    assert not passes(findings)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # blank, or HTML that is empty once the tags are stripped
        ({"summary": "   "}, ["missing.summary"]),
        ({"summary": "<p> </p>"}, ["missing.summary"]),
        ({"goals": "<p>&nbsp;</p><p><br></p>"}, ["missing.goals"]),
        ({"prerequisites": "<p><img src='x.png'></p>"}, ["missing.prerequisites"]),
        # placeholders
        ({"summary": "TBD"}, ["placeholder.summary"]),
        ({"summary": "<p>tbd.</p>"}, ["placeholder.summary"]),
        ({"content": "-"}, ["placeholder.content"]),
        ({"target_groups": "xxx"}, ["placeholder.target_groups"]),
        ({"prerequisites": "kommer"}, ["placeholder.prerequisites"]),
        ({"course_coordinator": "..."}, ["placeholder.course_coordinator"]),
        ({"fullname": "…"}, ["placeholder.fullname"]),
        ({"shortname": "?"}, ["placeholder.shortname"]),
        ({"goals": "Lorem ipsum dolor sit amet"}, ["placeholder.goals"]),
        ({"summary": "TBD: fylles ut av fagansvarlig"}, ["placeholder.summary"]),
        ({"summary": "Kurssammendrag"}, ["placeholder.summary"]),  # the item's own name
        ({"study_category": "TBD"}, ["placeholder.study_category"]),
        ({"time_needed": "TBD"}, ["placeholder.time_needed"]),
        ({"produced_by": "TBD"}, ["placeholder.produced_by"]),
        # meaningful short answers are not placeholders
        ({"prerequisites": "<p>Ingen.</p>"}, []),
        ({"prerequisites": "Ingen"}, []),
        ({"course_coordinator": "Åse"}, []),
        # produced by: all four parts
        ({"produced_by": "Kari Nordmann, sykepleier"}, ["produced_by.incomplete"]),
        ({"produced_by": {"name": "Kari Nordmann", "position": "sykepleier", "department": "Smittevern"}},
         ["produced_by.incomplete"]),
        ({"produced_by": "Kari Nordmann, -, Seksjon for smittevern, Haukeland"}, ["produced_by.incomplete"]),
        ({"produced_by": {"navn": "Kari", "stilling": "lege", "avdeling": "Medisinsk", "sykehus": "Haukeland"}}, []),
        # time needed
        ({"time_needed": "en stund"}, ["time_needed.unparseable"]),
        ({"time_needed": "30"}, ["time_needed.unparseable"]),
        ({"time_needed": "1:30"}, []),
        ({"time_needed": 45}, []),
        # study category, case and spacing do not matter
        ({"study_category": "Kultur"}, ["category.unknown"]),
        ({"study_category": "helse  og Velferd"}, []),
        # create home page
        ({"create_home_page": False}, ["home_page.no"]),
        ({"create_home_page": "nei"}, ["home_page.no"]),
        ({"create_home_page": "JA"}, []),
        # study start: a real date
        ({"study_start": "2025-02-30"}, ["study_start.invalid"]),
        ({"study_start": "snart"}, ["study_start.invalid"]),
        ({"study_start": "06.01.2025"}, []),
        ({"study_start": date(1970, 1, 1)}, ["study_start.implausible"]),
        # licence: a known one (KNOWN_LICENCES), as the platforms or Creative Commons spell it
        ({"licence": "WTFPL"}, ["licence.unknown"]),
        ({"licence": "CC BY-SA 4.0"}, []),
        ({"licence": "Creative Commons Attribution-ShareAlike 4.0 International"}, []),
        ({"licence": "Alle rettigheter reservert"}, []),
        ({"licence": None}, ["licence.missing"]),
        ({"owner": None}, ["owner.missing"]),
        ({"owner": "-"}, ["owner.missing"]),
        ({"label": "delt med alle"}, ["label.unknown"]),
        ({"label": None}, []),
    ],
)
def test_each_check(changes: dict[str, Any], expected: list[str]) -> None:
    assert codes(info_with(**changes)) == expected


def test_severities_follow_the_table() -> None:
    info = info_with(licence=None, owner=None, summary="TBD", study_start=date(1970, 1, 1))
    for finding in check_course_info(info, categories=CATEGORIES):
        assert finding.severity == FINDING_CODES[finding.code]
    assert passes(check_course_info(info_with(licence=None, owner=None), categories=CATEGORIES))


def test_a_description_in_one_text_must_name_each_part() -> None:
    described = CourseInfo.model_validate({**GOOD, "description": "Mål: kunne X.\nInnhold: Y."})
    findings = check_course_info(described, categories=CATEGORIES)
    assert [f.code for f in findings] == ["missing.target_groups"]
    assert "nevner ikke målgrupper" in findings[0].message.render("nb")
    unstructured = CourseInfo.model_validate({**GOOD, "description": "Et kurs om smittevern."})
    assert codes(unstructured) == ["missing.goals", "missing.content", "missing.target_groups"]


def test_categories_none_leaves_the_category_unchecked_but_required() -> None:
    assert codes(info_with(study_category="Kultur"), categories=None) == []
    assert codes(info_with(study_category="Kultur"), categories=()) == []
    assert codes(info_with(study_category=None), categories=None) == ["missing.study_category"]


def test_today_bounds_a_plausible_start_date() -> None:
    far = info_with(study_start="2042-01-01")
    assert codes(far, today=date(2026, 11, 24)) == ["study_start.implausible"]
    assert codes(far, today=date(2035, 1, 1)) == []
    assert codes(info_with(study_start="2025-01-06"), today=date(2026, 11, 24)) == []


def test_findings_are_messages_shown_in_either_language() -> None:
    info = info_with(summary=None, time_needed="en stund", produced_by="Kari, lege")
    findings = check_course_info(info, categories=CATEGORIES)
    nb = [f.message.render("nb") for f in findings]
    en = [f.message.render("en") for f in findings]
    assert nb[0] == "Kurssammendrag mangler" and en[0] == "Summary is missing"
    assert "avdeling, sykehus" in nb[1] and "department, hospital" in en[1]
    assert "«en stund»" in nb[2] and "cannot be read as minutes" in en[2]


def test_finding_is_frozen_and_serialisable() -> None:
    (finding,) = check_course_info(info_with(summary=None), categories=CATEGORIES)
    assert finding.as_dict("en") == {"code": "missing.summary", "severity": "error", "item": "summary",
                                 "message": "Summary is missing"}
    with pytest.raises(AttributeError):
        finding.code = "x"  # type: ignore[misc]


def test_every_code_a_check_can_give_is_listed() -> None:
    bad = CourseInfo.model_validate(
        {"description": "x", "study_start": "nope", "create_home_page": False, "produced_by": "A", "time_needed": "?",
         "study_category": "Kultur", "licence": "WTFPL", "label": "x"}
    )
    for finding in check_course_info(bad, categories=CATEGORIES):
        assert finding.code in FINDING_CODES


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30 min", 30), ("1 t 15 min", 75), ("1 time", 60), ("2 timer", 120), ("1,5 t", 90), ("PT45M", 45),
        ("PT1H30M", 90), ("45 minutter", 45), ("ca. 20 min", 20), ("1 h 30 min", 90), ("90 minutes", 90),
        ("2 hours", 120), ("1.5 hours", 90), ("1:30", 90), ("0000:45:00.00", 45), ("1t15m", 75),
        ("1 time og 15 minutter", 75), ("20–30 min", 30), ("½ time", 30), ("1½ t", 90), ("30 min.", 30),
        ("<p>30 min</p>", 30), ("PT30S", 1), ("P1D", 1440),
        ("en stund", None), ("30", None), ("0 min", None), ("PT0M", None), ("PT", None), ("TBD", None), ("", None),
        ("3 x 20 min", None), ("30 min og litt", None),
    ],
)  # fmt: skip
def test_time_needed_parses_to_minutes(text: str, minutes: int | None) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize(("minutes", "text"), [(45, "45 min"), (60, "1 t"), (90, "1 t 30 min"), (125, "2 t 5 min")])
def test_format_minutes_reads_back(minutes: int, text: str) -> None:
    assert format_minutes(minutes) == text
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [("TBD", True), ("tba", True), ("-", True), ("xxx", True), ("XXXX", True), ("kommer", True), ("...", True),
     ("…", True), ("???", True), ("N/A", True), ("Fylles ut", True), ("lorem ipsum", True), ("0", True),
     ("Ingen", False), ("Ola Hansen", False), ("Kommer du på kurs, lærer du mye", False), ("CC BY", False)],
)
def test_placeholders(text: str, placeholder: bool) -> None:
    assert is_placeholder(text) is placeholder


def test_plain_text_drops_tags_scripts_and_entities() -> None:
    assert plain_text("<p>Hei&nbsp;<b>du</b></p><script>alert(1)</script><!-- x -->") == "Hei du"


def test_the_signature_the_share_workflow_calls_stays_stable() -> None:
    signature = inspect.signature(check_course_info)
    assert list(signature.parameters) == ["info", "categories", "today"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in signature.parameters.items() if name != "info")
    assert signature.parameters["categories"].default is inspect.Parameter.empty
    assert [f for f in Finding.__dataclass_fields__] == ["code", "severity", "item", "message"]


def test_the_rules_do_no_io_and_read_no_clock() -> None:
    tree = ast.parse(Path(inspect.getfile(requirements)).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"os", "pathlib", "requests", "socket", "time", "lmsbridge.adapters", "lmsbridge.config"}
    source = Path(inspect.getfile(requirements)).read_text(encoding="utf-8")
    assert "date.today" not in source and "datetime.now" not in source and "open(" not in source
