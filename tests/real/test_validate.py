"""``lmsbridge validate`` of live lab courses, one by one and per category.

The truth is each course as Moodle lists it: the courses of a category (``core_course_get_courses_by_field``)
and their custom fields. An agreement item whose field Moodle holds empty must be reported missing; a course
whose study category is not one of KS Læring's must be refused as ``share request`` refuses it (one category
rule); a course whose items are all filled in, in a study category KS Læring has, must pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.real.lab import FIELDS, SELECT_OPTIONS, Bridge, Lab, custom_fields

pytestmark = pytest.mark.real

#: agreement items a course must fill in (rule 7) that live in custom fields on the lab sites; licence,
#: owner and label are not required (a missing licence or owner is a warning)
REQUIRED_IN_FIELDS = ("goals", "content", "target_groups", "study_category", "study_start", "summary",
                      "prerequisites", "produced_by", "time_needed", "course_coordinator")


@pytest.fixture(scope="module")
def bridge(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Bridge:
    return Bridge(fresh_lab, tmp_path_factory.mktemp("validate"))
#: KS Læring's study categories in the suite's configuration (Bridge.profile: «Helse og velferd» → category 2)
KS_STUDY_CATEGORIES = {"Helse og velferd"}


def unknown_category(course: dict[str, Any]) -> bool:
    """The course names a study category (select option) that KS Læring does not have."""
    index = custom_fields(course).get(FIELDS["study_category"])
    if not index:
        return False
    return SELECT_OPTIONS["studiekategori"][int(index)] not in KS_STUDY_CATEGORIES


def empty_items(course: dict[str, Any]) -> set[str]:
    """Required items whose custom field Moodle holds empty (``valueraw`` "" / 0 / null)."""
    raw = custom_fields(course)
    return {item for item in REQUIRED_IN_FIELDS if raw.get(FIELDS[item]) in (None, "", 0, "0")}


def by_shortname(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["shortname"]: c for c in report["courses"]}


def missing_reported(result: dict[str, Any]) -> set[str]:
    return {f["item"] for f in result["findings"] if f["severity"] == "error" and f["code"].startswith("missing.")}


@pytest.mark.parametrize(("site", "shortname"), [("lp", "HBHF-SMITTE-01"), ("lp", "HBHF-LEGEMID-02"),
                                                  ("ks", "KSL-VELFERD-01")])
def test_validate_live_course(bridge: Bridge, site: str, shortname: str) -> None:
    course = bridge.lab.moodle(site).course(shortname)
    assert course is not None
    empty = empty_items(course)
    report = bridge.json("validate", "--platform", site, "--course", shortname, expect=1 if empty else 0)
    (result,) = report["courses"]
    assert result["id"] == course["id"]
    assert result["ok"] is (not empty)
    assert empty <= missing_reported(result)


@pytest.mark.parametrize(("site", "category"), [("ks", 2), ("lp", 3)])
def test_validate_category(bridge: Bridge, site: str, category: int) -> None:
    listed = {c["shortname"]: c for c in bridge.lab.moodle(site).courses_in_category(category)}
    assert listed, f"the lab has courses in {site} category {category}"
    wrong = {name for name, course in listed.items() if empty_items(course) or unknown_category(course)}
    report = bridge.json("validate", "--platform", site, "--category", str(category), expect=1 if wrong else 0)
    results = by_shortname(report)
    assert set(results) == set(listed)
    for name, course in listed.items():
        assert results[name]["ok"] is (name not in wrong), name
        assert empty_items(course) <= missing_reported(results[name]), name
        codes = {f["code"] for f in results[name]["findings"] if f["severity"] == "error"}
        assert ("category.unknown" in codes) is unknown_category(course), name
    assert report["summary"]["failed"] == len(wrong)


def test_validate_scale_category_fails_every_course(bridge: Bridge) -> None:
    """The scale courses carry only the owner and the share status: none may be published as they are."""
    category = int(bridge.lab.scale()["ks_category"]["id"])
    listed = bridge.lab.moodle("ks").courses_in_category(category)
    assert len(listed) == len(bridge.lab.scale()["pairs"])
    report = bridge.json("validate", "--platform", "ks", "--category", str(category), expect=1)
    assert {c["shortname"] for c in report["courses"]} == {c["shortname"] for c in listed}
    assert not any(c["ok"] for c in report["courses"])
    results = by_shortname(report)
    for course in listed:
        assert empty_items(course), course["shortname"]
        assert empty_items(course) <= missing_reported(results[course["shortname"]]), course["shortname"]


def test_validate_a_course_the_site_does_not_have(bridge: Bridge) -> None:
    assert bridge.lab.moodle("lp").course("FINNES-IKKE-99") is None
    ran = bridge.run("validate", "--platform", "lp", "--course", "FINNES-IKKE-99")
    assert ran.code == 2
    assert "FINNES-IKKE-99" in ran.stderr
