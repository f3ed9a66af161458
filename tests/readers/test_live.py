"""Sources 4 and 5: live courses on a platform, served from the recorded Læringsportal responses."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses

from lmsbridge.adapters import MoodleClient, MoodleTransport, PlatformProfile, RetryPolicy
from lmsbridge.adapters.models import Course
from lmsbridge.errors import InputError
from lmsbridge.readers import course_info_from_course, live_sources, study_categories
from lmsbridge.sharing.requirements import check_course_info, passes
from tests.conftest import FIXTURES, fixture

REST = "http://lp.test/webservice/rest/server.php"
PROFILE = PlatformProfile(name="lp", title="Læringsportal", url="http://lp.test", role="hospital",
                          organisation="Helse Bergen HF")
CATEGORIES = study_categories(PROFILE)  # no configured categories: the «studiekategori» options


def client() -> MoodleClient:
    return MoodleClient(MoodleTransport("http://lp.test", "token", retry=RetryPolicy.none(), name="lp"))


def serve(name: str) -> None:
    responses.post(REST, json=fixture(name)["response"])


def sent(call_index: int = -1) -> dict[str, list[str]]:
    body = responses.calls[call_index].request.body
    return parse_qs(body if isinstance(body, str) else (body or b"").decode())


def test_categories_come_from_the_profile() -> None:
    assert CATEGORIES == ["Helse og velferd", "Skolesektor", "Annet"]
    configured = PROFILE.model_copy(update={"categories": {"Helse og velferd": 2, "Skolesektor": 4}})
    assert study_categories(configured) == ["Helse og velferd", "Skolesektor"]


@responses.activate
def test_hbhf_smitte_01_passes() -> None:
    serve("lp__core_course_get_courses_by_field__ok_shortname")
    (source,) = live_sources(client(), PROFILE, platform="lp", keys=["HBHF-SMITTE-01"])
    assert sent()["field"] == ["shortname"] and sent()["value"] == ["HBHF-SMITTE-01"]
    info = source.info
    assert info.study_category == "Helse og velferd" and info.licence == "CC BY"  # select indexes 1 and 3
    assert info.study_start == date(2025, 1, 6)  # valueraw 1736118000, Europe/Oslo
    assert info.goals == "<p>Deltakeren kan gjøre rede for basale smittevernrutiner og utføre korrekt håndhygiene.</p>"
    assert "autolink" not in (info.content or "")  # valueraw, not the filtered «value»
    assert info.create_home_page is True and info.label == "delt til KS Læring"
    assert source.name == "lp:HBHF-SMITTE-01" and source.details == {"platform": "lp", "id": 5, "categoryid": 3}
    assert check_course_info(info, categories=CATEGORIES) == []


@responses.activate
def test_hbhf_legemid_02_fails_with_one_finding_per_missing_item() -> None:
    serve("lp__core_course_get_courses_by_field__ok_shortname_partial_metadata")
    (source,) = live_sources(client(), PROFILE, platform="lp", keys=["HBHF-LEGEMID-02"])
    findings = check_course_info(source.info, categories=CATEGORIES)
    # seed_data.json: only maal, tidsbruk and eier are set on LP2
    missing = ["content", "target_groups", "study_category", "study_start", "summary", "prerequisites", "produced_by",
               "course_coordinator"]
    assert [(f.code, f.item) for f in findings if f.severity == "error"] == [(f"missing.{i}", i) for i in missing]
    assert [(f.code, f.severity) for f in findings if f.severity == "warning"] == [("licence.missing", "warning")]
    assert len({f.item for f in findings}) == len(findings)  # one finding per item
    assert not passes(findings)


@responses.activate
def test_a_category_is_listed_in_one_call() -> None:
    serve("lp__core_course_get_courses_by_field__ok_category")
    sources = live_sources(client(), PROFILE, platform="lp", category=3)
    assert len(responses.calls) == 1 and sent()["field"] == ["category"] and sent()["value"] == ["3"]
    verdicts = {s.info.shortname: passes(check_course_info(s.info, categories=CATEGORIES)) for s in sources}
    assert verdicts == {"HBHF-SMITTE-01": True, "HBHF-LEGEMID-02": False, "HBHF-BRANN-03": True}


@responses.activate
def test_the_whole_platform_is_listed_in_one_call_without_the_front_page() -> None:
    serve("lp__core_course_get_courses_by_field__ok_nofield")
    sources = live_sources(client(), PROFILE, platform="lp", everything=True)
    assert len(responses.calls) == 1 and "field" not in sent()
    assert [s.info.shortname for s in sources] == ["HBHF-SMITTE-01", "HBHF-LEGEMID-02", "HBHF-BRANN-03"]


@responses.activate
def test_by_id_and_duplicates_counted_once() -> None:
    serve("lp__core_course_get_courses_by_field__ok_shortname")
    serve("lp__core_course_get_courses_by_field__ok_category")
    sources = live_sources(client(), PROFILE, platform="lp", keys=["5"], category=3)
    assert sent(0)["field"] == ["id"] and sent(0)["value"] == ["5"]
    assert [s.info.shortname for s in sources] == ["HBHF-SMITTE-01", "HBHF-LEGEMID-02", "HBHF-BRANN-03"]


@responses.activate
def test_an_unknown_course_or_an_empty_category_is_an_input_error() -> None:
    serve("lp__core_course_get_courses_by_field__ok_nonexistent_id")
    with pytest.raises(InputError, match="Fant ikke kurset «999»"):
        live_sources(client(), PROFILE, platform="lp", keys=["999"])
    with pytest.raises(InputError, match="Fant ingen kurs i kategori 99"):
        live_sources(client(), PROFILE, platform="lp", category=99)


@responses.activate
def test_the_xml_format_gives_the_same_information() -> None:
    body = (FIXTURES / "lp__core_course_get_courses_by_field__ok_category.xml").read_bytes()
    responses.post(REST, body=body, content_type="application/xml")
    xml_client = MoodleClient(MoodleTransport("http://lp.test", "t", fmt="xml", retry=RetryPolicy.none()))
    from_xml = [s.info for s in live_sources(xml_client, PROFILE, platform="lp", category=3)]
    recorded = fixture("lp__core_course_get_courses_by_field__ok_category")["response"]["courses"]
    from_json = [course_info_from_course(Course.model_validate(c), PROFILE) for c in recorded]
    assert from_xml == from_json


def recorded_course(name: str = "lp__core_course_get_courses_by_field__ok_shortname") -> dict[str, object]:
    course: dict[str, object] = fixture(name)["response"]["courses"][0]
    return course


def test_items_the_profile_does_not_map_come_from_the_course_itself() -> None:
    unmapped = {k: v for k, v in PROFILE.fields.items() if k not in ("summary", "study_start", "study_category")}
    profile = PROFILE.model_copy(update={"fields": unmapped, "categories": {"Helse og velferd": 3}})
    info = course_info_from_course(Course.model_validate(recorded_course()), profile)
    assert info.summary == "<p>E-læringskurs i basale smittevernrutiner for ansatte i Helse Bergen.</p>"
    assert info.study_start == date(2024, 8, 1)  # startdate 1722463200 in Oslo
    assert info.study_category == "Helse og velferd"  # course category 3, named in the profile


def test_a_mapped_field_decides_even_when_it_is_empty() -> None:
    # LP2 has a course summary, but its «kurssammendrag» field is empty: the field is what counts.
    info = course_info_from_course(
        Course.model_validate(recorded_course("lp__core_course_get_courses_by_field__ok_shortname_partial_metadata")),
        PROFILE,
    )
    assert info.summary is None


def test_select_fields_without_options_in_the_profile_use_the_sites_text() -> None:
    profile = PROFILE.model_copy(update={"select_options": {}})
    info = course_info_from_course(Course.model_validate(recorded_course()), profile)
    assert info.study_category == "Helse og velferd" and info.licence == "CC BY"


def test_a_mapped_home_page_field_decides() -> None:
    course = recorded_course()
    fields = [*course["customfields"], {"name": "Hjemmeside", "shortname": "hjemmeside", "type": "checkbox",  # type: ignore[misc]
                                        "valueraw": 0, "value": "No"}]
    profile = PROFILE.model_copy(update={"fields": {**PROFILE.fields, "create_home_page": "hjemmeside"}})
    info = course_info_from_course(Course.model_validate({**course, "customfields": fields}), profile)
    assert info.create_home_page is False
    assert [f.code for f in check_course_info(info, categories=CATEGORIES)] == ["home_page.no"]


def test_an_out_of_range_select_index_is_reported_not_hidden() -> None:
    course = recorded_course()
    fields = [dict(f, valueraw=9, value=None) if f["shortname"] == "studiekategori" else f  # type: ignore[call-overload]
              for f in course["customfields"]]  # type: ignore[attr-defined]
    info = course_info_from_course(Course.model_validate({**course, "customfields": fields}), PROFILE)
    assert info.study_category == "option 9"
    assert [f.code for f in check_course_info(info, categories=CATEGORIES)] == ["category.unknown"]


def test_the_bench_builds_its_listing_from_the_recorded_shape(tmp_path: Path) -> None:
    from bench.bench_validate import run

    figures = run(300)
    assert figures["courses"] == 300 and figures["failing"] == 100  # every third course is LP2
