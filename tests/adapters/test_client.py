"""Typed calls return models parsed from the recorded responses; warnings are surfaced."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from lmsbridge import errors
from lmsbridge.adapters import MAX_ITEMS_PER_WRITE, MoodleClient, MoodleTransport, PlatformProfile, RetryPolicy
from tests.conftest import fixture

URL = "http://moodle.test"
REST = URL + "/webservice/rest/server.php"


def client() -> MoodleClient:
    return MoodleClient(MoodleTransport(URL, "t0k3n", retry=RetryPolicy.none()))


def serve(name: str) -> None:
    responses.post(REST, body=json.dumps(fixture(name)["response"]), content_type="application/json")


def sent() -> list[dict[str, str]]:
    return [dict(parse_qsl(str(call.request.body))) for call in responses.calls]


@responses.activate
def test_course_by_shortname_with_custom_fields_uses_valueraw() -> None:
    serve("lp__core_course_get_courses_by_field__ok_shortname")
    course = client().course("HBHF-SMITTE-01")
    assert course is not None and course.id == 5
    assert sent()[0]["field"] == "shortname"
    maal = course.field("maal")
    assert maal is not None and "autolink" not in maal.raw_text  # value is filtered HTML; valueraw is not
    assert course.field("studiekategori") is not None and course.field("studiekategori").raw_int == 1  # type: ignore[union-attr]
    assert course.field("studiestart").raw_int == 1736118000  # type: ignore[union-attr]
    profile = PlatformProfile(title="LP", url=URL, role="hospital", organisation="Helse Bergen HF")
    assert profile.option_text("study_category", 1) == "Helse og velferd"
    assert profile.option_text("label", course.field("delingsstatus").raw_int) == "delt til KS Læring"  # type: ignore[union-attr]


@responses.activate
def test_course_by_id_unknown_is_none_not_error() -> None:
    serve("lp__core_course_get_courses_by_field__ok_nonexistent_id")
    assert client().course(999) is None
    assert sent()[0]["field"] == "id"


@responses.activate
def test_cleared_select_is_unset() -> None:
    serve("ks__core_course_get_courses_by_field__ok_after_clear_select")
    course = client().courses_by_field("id", 5)[0]
    label = course.field("delingsstatus")
    assert label is not None and label.raw_int == 0 and label.value is None


@responses.activate
def test_all_courses_leaves_out_the_front_page() -> None:
    serve("lp__core_course_get_courses_by_field__ok_nofield")
    courses = client().all_courses()
    assert 1 not in [c.id for c in courses]
    assert {c.shortname for c in courses} >= {"HBHF-SMITTE-01", "HBHF-LEGEMID-02"}


@responses.activate
def test_update_warnings_are_raised_not_dropped() -> None:
    serve("ks__core_course_update_courses__warn_shortname_taken")
    with pytest.raises(errors.MoodleWarningsError) as caught:
        client().update_courses([{"id": 5, "shortname": "KSL-VELFERD-01"}])
    assert caught.value.warnings[0].warningcode == "shortnametaken"
    assert isinstance(caught.value, errors.RecordError)


@responses.activate
def test_update_ok_has_no_warnings() -> None:
    serve("ks__core_course_update_courses__ok")
    assert client().update_courses([{"id": 5, "summary": "x"}]) == []


@responses.activate
def test_create_course_and_categories_and_enrol_null_body() -> None:
    serve("ks__core_course_create_courses__ok")
    serve("ks__core_course_create_categories__ok")
    serve("ks__enrol_manual_enrol_users__ok")
    c = client()
    created = c.create_courses([{"fullname": "X", "shortname": "X", "categoryid": 2}])
    assert created[0].id == fixture("ks__core_course_create_courses__ok")["response"][0]["id"]
    assert c.create_categories([{"name": "Sub", "parent": 2}])[0].name
    assert c.enrol([{"roleid": 5, "userid": 4, "courseid": 5}]) is None


@responses.activate
def test_enrolled_users_have_lastcourseaccess_and_identity_fields() -> None:
    serve("lp__core_enrol_get_enrolled_users__ok")
    users = client().enrolled_users(5)
    assert len(users) == 12
    u10 = next(u for u in users if u.id == 13)
    assert u10.idnumber == "HB10010" and u10.lastcourseaccess == 0
    options = sent()[0]
    assert options["options[0][name]"] == "userfields"


@responses.activate
def test_enrolled_users_paged_until_a_short_page() -> None:
    page = fixture("lp__core_enrol_get_enrolled_users__ok")["response"]
    responses.post(REST, json=page[:5])
    responses.post(REST, json=page[5:10])
    responses.post(REST, json=page[10:])
    users = client().enrolled_users(5, page_size=5)
    assert [u.id for u in users] == [u["id"] for u in page]
    assert [s["options[2][value]"] for s in sent()] == ["0", "5", "10"]


@responses.activate
def test_users_by_field_email_and_unknown_omitted() -> None:
    serve("ks__core_user_get_users_by_field__ok_email_case")
    assert client().users_by_field("email", ["nils.kristiansen@helse-bergen.no"]) == []


@responses.activate
def test_completion_calls_and_errors() -> None:
    serve("lp__core_completion_get_course_completion_status__ok_partial")
    serve("lp__core_completion_get_activities_completion_status__ok")
    serve("lp__core_completion_override_activity_completion_status__ok")
    serve("lp__core_completion_get_course_completion_status__err_not_enrolled")
    c = client()
    status = c.course_completion(5, 8)
    assert status.completed is False and len(status.completions) == 2
    acts = c.activities_completion(5, 8)
    assert [a.complete for a in acts] == [True, False]
    result = c.override_activity_completion(9, 13)
    assert result is not None and result.state == 1 and result.overrideby == 3
    with pytest.raises(errors.NotEnrolledError):
        c.course_completion(5, 999)


@responses.activate
def test_groups() -> None:
    serve("lp__core_group_create_groups__ok")
    serve("lp__core_group_get_course_groups__ok")
    serve("lp__core_group_add_group_members__ok")
    serve("lp__core_group_get_group_members__ok")
    c = client()
    made = c.create_groups([{"courseid": 5, "name": "Inaktiv"}])
    assert [g.name for g in made] == ["Fullført 100%", "Fullført, ikke 100%", "Inaktiv"]
    assert len(c.course_groups(5)) == 3
    c.add_group_members([(1, 4)])
    members = c.group_members([1, 2, 3])
    assert members[1].userids == [15, 8]


@responses.activate
def test_contents_and_course_module() -> None:
    serve("lp__core_course_get_contents__ok")
    serve("lp__core_course_get_course_module__ok")
    c = client()
    modules = [m for s in c.contents(5) for m in s.modules]
    assert {"Håndhygiene", "Smittemåter og barrierer"} <= {m.name for m in modules}
    assert c.course_module(12).idnumber == ""


@responses.activate
def test_messages_per_item_failure_is_not_an_exception() -> None:
    serve("ks__core_message_send_instant_messages__warn_nonexistent_user")
    results = client().send_messages([(999999, "hei")])
    assert results[0].sent is False and "doesn't exist" in results[0].errormessage


@responses.activate
def test_what_a_client_shows_of_itself_without_its_transport() -> None:
    """Call counts, session settings, clones (defaults under the client's own settings), closing a clone."""
    own = MoodleClient(MoodleTransport(URL, "t0k3n", retry=RetryPolicy.none(), settings={"lang": "nb"}))
    serve("lp__core_course_get_courses_by_field__ok_nonexistent_id")
    twin = own.clone(settings={"timezone": "UTC", "lang": "en"})
    twin.course(999)
    own.course(999)
    assert own.call_counts() == {"core_course_get_courses_by_field": 2} == twin.call_counts()
    assert dict(own.settings) == {"lang": "nb"} and dict(twin.settings) == {"timezone": "UTC", "lang": "nb"}
    assert ("moodlewssettingtimezone", "UTC") in parse_qsl(str(responses.calls[0].request.body))
    with pytest.raises(TypeError):
        own.settings["lang"] = "en"  # type: ignore[index]
    twin.close()


@responses.activate
def test_report_rows_are_positional_strings() -> None:
    serve("lp__core_reportbuilder_retrieve_report__ok_perpage5_tz_utc_lang_en")
    report = client().retrieve_report(1, page=0, perpage=5)
    assert report.totalrowcount == 26 and len(report.rows) == 5
    assert report.rows[0][6] == "Yes"


def test_dry_run_records_writes_and_sends_nothing() -> None:
    c = MoodleClient(MoodleTransport(URL, "t0k3n", retry=RetryPolicy.none()), dry_run=True)
    with responses.RequestsMock() as mock:  # any request would fail: none registered
        c.update_courses([{"id": 5, "visible": 0}])
        c.override_activity_completion(4, 12)
        assert len(mock.calls) == 0
    assert [p.wsfunction for p in c.planned] == [
        "core_course_update_courses",
        "core_completion_override_activity_completion_status",
    ]
    assert "t0k3n" not in repr(c.planned)


@responses.activate
def test_bulk_writes_are_batched_for_max_input_vars() -> None:
    responses.post(REST, body="null", content_type="application/json")
    many: list[dict[str, Any]] = [{"roleid": 5, "userid": i, "courseid": 5} for i in range(MAX_ITEMS_PER_WRITE * 2 + 1)]
    client().enrol(many)
    assert len(responses.calls) == 3
    assert all(len(parse_qsl(str(call.request.body))) <= 1000 for call in responses.calls)
