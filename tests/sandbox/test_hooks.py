"""Test hooks on a site (lmsbridge.sandbox.hooks): the same behaviour through both front doors, the HTTP
server and the in-process adapter, since tests of either kind rely on them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from lxml import etree

from lmsbridge.sandbox import Fault, Raw, Sandbox, SiteHandle
from lmsbridge.sandbox.hooks import deeply_nested, replace_key

from .conftest import ws_call, ws_json

COURSES = "core_course_get_courses_by_field"
STATUSES = "core_completion_get_activities_completion_status"


@pytest.fixture(params=["http", "in-process"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with (Sandbox.start() if request.param == "http" else Sandbox.in_process()) as sb:
        yield sb


def test_an_http_status_for_one_function_leaves_the_others_alone(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    hook = site.state.fail(COURSES, Fault.http(503))
    response = ws_call(site, COURSES, field="id", value=5)
    assert response.status_code == 503 and b"503 Service Unavailable" in response.content
    assert ws_json(site, "core_webservice_get_site_info")["username"] == "lmsbridge"
    assert site.state.faults_by_function == {COURSES: 1}
    assert site.state.calls_by_function == {"core_webservice_get_site_info": 1}  # a fault is not a served call
    assert (hook.seen, hook.hits) == (1, 1)
    hook.remove()
    assert ws_json(site, COURSES, field="id", value=5)["courses"][0]["shortname"] == "HBHF-SMITTE-01"


def test_the_whole_site_can_drop_every_connection_token_php_included(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.fail(None, Fault.dropped())
    with pytest.raises(requests.ConnectionError):
        ws_call(site, "core_webservice_get_site_info")
    with pytest.raises(requests.ConnectionError):
        requests.post(site.token_url, data={"username": "a", "password": "b", "service": "lmsbridge"}, timeout=10)
    assert site.state.fault_count == 2 and site.state.call_count == 0
    site.state.clear_hooks()
    assert ws_json(site, "core_webservice_get_site_info")["username"] == "lmsbridge"


def test_a_dropped_answer_after_the_call_ran_leaves_its_effect(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.fail("core_course_create_courses", Fault.dropped(after=True), times=1)
    with pytest.raises(requests.ConnectionError):
        ws_call(site, "core_course_create_courses",
                courses=[{"fullname": "Tapt svar", "shortname": "KSL-LOST", "categoryid": 2}])
    assert site.state.course_by_shortname("KSL-LOST") is not None  # the client never heard back
    again = ws_json(site, "core_course_create_courses",
                    courses=[{"fullname": "Neste", "shortname": "KSL-NEXT", "categoryid": 2}])
    assert again[0]["shortname"] == "KSL-NEXT"  # times=1: only the first call lost its answer


def test_a_moodle_error_for_the_calls_a_predicate_picks_sees_typed_parameters(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    hook = site.state.fail(STATUSES, Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
                           when=lambda call: call.params["userid"] == 10)
    refused = ws_json(site, STATUSES, courseid=3, userid=10)
    assert (refused["exception"], refused["errorcode"]) == ("core\\exception\\moodle_exception", "nocriteriaset")
    assert "statuses" in ws_json(site, STATUSES, courseid=3, userid=4)
    assert (hook.seen, hook.hits) == (1, 1)
    assert site.state.calls_by_function == {STATUSES: 2}  # a Moodle error is an answer, not a fault
    xml = ws_call(site, STATUSES, fmt="xml", courseid=3, userid=10).content
    assert etree.fromstring(xml).findtext("ERRORCODE") == "nocriteriaset"


def test_nth_after_and_times_pick_which_calls_fail(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    site.state.fail(COURSES, Fault.http(502), nth=3)
    assert [ws_call(site, COURSES, field="id", value=5).status_code for _ in range(5)] == [200, 200, 502, 200, 200]
    site.state.clear_hooks()
    site.state.fail(COURSES, Fault.http(500), after=1, times=2)
    assert [ws_call(site, COURSES, field="id", value=5).status_code for _ in range(5)] == [200, 500, 500, 200, 200]
    with pytest.raises(ValueError):
        site.state.fail(COURSES, Fault.http(500), nth=0)
    with pytest.raises(ValueError):
        Fault(status=503, drop="before")


def test_a_rewrite_changes_the_decoded_answer_in_json_and_xml(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.rewrite(STATUSES, replace_key("timecompleted", 10**13))
    statuses = ws_json(site, STATUSES, courseid=3, userid=4)["statuses"]
    assert statuses and {s["timecompleted"] for s in statuses} == {10**13}
    xml = etree.fromstring(ws_call(site, STATUSES, fmt="xml", courseid=3, userid=4).content)
    assert {k.findtext("VALUE") for k in xml.iter("KEY") if k.get("name") == "timecompleted"} == {str(10**13)}
    site.state.clear_hooks()
    site.state.rewrite(None, replace_key("id", 2**70))  # every function's answer
    assert ws_json(site, COURSES, field="id", value=2)["courses"][0]["id"] == 2**70


def test_a_rewrite_can_send_any_bytes(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    site.state.rewrite(COURSES, lambda _answer: deeply_nested(50_000), times=1)
    body = ws_call(site, COURSES, field="id", value=5).content
    assert body.startswith(b"[[[[") and len(body) == 100_001
    site.state.rewrite(COURSES, lambda _answer: Raw(b'{"courses": [', "application/json"), times=1)
    assert ws_call(site, COURSES, field="id", value=5).content == b'{"courses": ['


def test_a_delay_holds_only_the_calls_it_names(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    site.state.delay(COURSES, 0.2, times=1)
    begin = time.perf_counter()
    ws_json(site, "core_webservice_get_site_info")
    fast = time.perf_counter() - begin
    begin = time.perf_counter()
    ws_json(site, COURSES, field="id", value=5)
    slow = time.perf_counter() - begin
    assert slow >= 0.2 > fast


def test_the_call_log_keeps_each_calls_parameters(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    for userid in (4, 10, 4):
        ws_json(site, STATUSES, courseid=3, userid=userid)
    assert [p["userid"] for p in site.state.calls_to(STATUSES)] == [4, 10, 4]
    assert {c.userid for c in site.state.call_log} == {site.state.user_by_username("lmsbridge").id}  # type: ignore[union-attr]
    site.state.reset_counters()
    assert site.state.call_log == [] and site.state.faults_by_function == {}


def test_a_pinned_clock_dates_what_the_site_writes(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    pinned = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    site.state.pin_clock(pinned)
    # Marit (10) has not done cm 12 on lp: the override changes it (one of a state it has already changes nothing)
    done = ws_json(site, "core_completion_override_activity_completion_status", userid=10, cmid=12, newstate=1)
    assert done["timecompleted"] == int(pinned.timestamp())
    assert json.loads(json.dumps(done))["state"] == 1


def test_hooks_are_per_site(sandbox: Sandbox) -> None:
    sandbox.sites["ks"].state.fail(None, Fault.http(503))
    lp: SiteHandle = sandbox.sites["lp"]
    assert ws_json(lp, "core_webservice_get_site_info")["username"] == "lmsbridge"


def test_an_error_answer_is_lost_too_when_the_connection_drops_after_the_call(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.fail("core_course_get_contents", Fault.dropped(after=True))
    with pytest.raises(requests.ConnectionError):
        ws_call(site, "core_course_get_contents", courseid=999)  # Moodle would answer invalidrecord
    assert site.state.calls_by_function == {"core_course_get_contents": 1}
    assert site.state.faults_by_function == {"core_course_get_contents": 1}
