"""The REST protocol as the sandbox serves it: formats, order of checks, errors, token.php."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from lxml import etree

from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.registry import REGISTRY, WsFunction

from .conftest import ws_call, ws_json


@pytest.fixture
def sandbox(served_sandbox: Sandbox) -> Sandbox:
    """Over real HTTP: these tests are about the server."""
    return served_sandbox


def test_xml_is_the_default_format(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    for fmt in (None, "xml", "yaml"):
        response = ws_call(site, "core_course_get_courses_by_field", fmt=fmt, field="id", value=999999)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert response.content == (
            b'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<SINGLE>\n<KEY name="courses"><MULTIPLE>\n'
            b'</MULTIPLE>\n</KEY>\n<KEY name="warnings"><MULTIPLE>\n</MULTIPLE>\n</KEY>\n</SINGLE>\n</RESPONSE>\n'
        )


def test_xml_writes_booleans_as_1_0_and_nulls(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    body = ws_call(site, "core_enrol_get_users_courses", fmt="xml", userid=4).content
    root = etree.fromstring(body)
    keys = {k.get("name"): k for k in root.iter("KEY")}
    assert keys["enablecompletion"].findtext("VALUE") == "1"
    assert keys["lastaccess"].find("VALUE").get("null") == "null"


def test_get_with_a_query_string_works_like_post(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    response = requests.get(site.rest_url, params={"wstoken": site.token, "wsfunction": "core_webservice_get_site_info",
                                                   "moodlewsrestformat": "json"}, timeout=10)
    assert response.json()["username"] == "lmsbridge"


def test_invalid_token_is_reported_before_the_function(sandbox: Sandbox) -> None:
    body = ws_json(sandbox.sites["lp"], "core_no_such_function", token="nope")
    assert (body["exception"], body["errorcode"]) == ("core\\exception\\moodle_exception", "invalidtoken")


def test_unknown_function_and_function_outside_the_service(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    assert ws_json(site, "core_no_such_function")["errorcode"] == "invalidrecord"
    denied = ws_json(site, "core_user_delete_users", userids=[23])
    assert (denied["exception"], denied["errorcode"]) == ("webservice_access_exception", "accessexception")
    assert "debuginfo" not in denied


def test_the_service_can_be_narrowed(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.set_service_functions(["core_webservice_get_site_info"])
    info = ws_json(site, "core_webservice_get_site_info")
    assert [f["name"] for f in info["functions"]] == ["core_webservice_get_site_info"]
    assert ws_json(site, "core_course_get_courses_by_field")["errorcode"] == "accessexception"


def test_parameter_errors_look_alike_unless_debugging_is_on(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    plain = ws_json(site, "core_course_get_contents", courseid="abc")
    assert plain == {"exception": "core\\exception\\invalid_parameter_exception", "errorcode": "invalidparameter",
                     "message": "Invalid parameter value detected"}
    site.state.set_debug(True)
    debug = ws_json(site, "core_course_create_courses", courses=[{"fullname": "X", "shortname": "Y"}])
    assert debug["debuginfo"] == "courses => Invalid parameter value detected: Missing required key in single structure: categoryid"
    unexpected = ws_json(site, "core_course_get_contents", courseid=5, bogus=1)
    assert unexpected["debuginfo"] == "Unexpected keys (bogus) detected in parameter array."


def test_a_bug_in_a_function_becomes_a_moodle_error_and_the_site_keeps_serving(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: Any) -> Any:
        raise ZeroDivisionError("boom")

    original = REGISTRY["core_webservice_get_site_info"]
    monkeypatch.setitem(REGISTRY, "core_webservice_get_site_info",
                        WsFunction(original.name, original.params, broken, False, original.version))
    site = sandbox.sites["lp"]
    body = ws_json(site, "core_webservice_get_site_info")
    assert body["exception"] == "core\\exception\\moodle_exception"
    assert body["errorcode"] == "generalexceptionmessage"
    assert ws_json(site, "core_course_get_courses_by_field", field="id", value=5)["courses"][0]["id"] == 5


def test_unknown_paths_are_404(sandbox: Sandbox) -> None:
    assert requests.get(sandbox.sites["ks"].url + "/admin/", timeout=10).status_code == 404


def test_multipart_form_data_is_read(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    fields = {"wstoken": (None, site.token), "wsfunction": (None, "core_course_get_courses_by_field"),
              "moodlewsrestformat": (None, "json"), "field": (None, "shortname"), "value": (None, "HBHF-SMITTE-01")}
    response = requests.post(site.rest_url, files=fields, timeout=10)
    assert response.json()["courses"][0]["id"] == 5


def test_moodlewssettingtimezone_changes_rendered_dates(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    oslo = ws_json(site, "core_reportbuilder_retrieve_report", reportid=1, perpage=1000)
    utc = ws_json(site, "core_reportbuilder_retrieve_report", reportid=1, perpage=1000, moodlewssettingtimezone="UTC")
    when_oslo = [r["columns"][7] for r in oslo["data"]["rows"] if r["columns"][7]]
    when_utc = [r["columns"][7] for r in utc["data"]["rows"] if r["columns"][7]]
    assert when_oslo and len(when_oslo) == len(when_utc) and when_oslo != when_utc


def _token_php(site_url: str, **form: str) -> dict[str, Any]:
    response = requests.post(site_url + "/login/token.php", data=form, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    return body


def test_token_php(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    assert _token_php(site.url, username="lmsbridge", password="Bridge#2024ws", service="lmsbridge") == {
        "token": site.token, "privatetoken": None}
    assert _token_php(site.url, username="hb10001", password="Sykepleier#2024", service="lmsbridge")["token"] == site.learner_token
    wrong = _token_php(site.url, username="lmsbridge", password="x", service="lmsbridge")
    assert wrong == {"error": "Invalid login, please try again", "errorcode": "invalidlogin", "stacktrace": None,
                     "debuginfo": None, "reproductionlink": None}
    assert _token_php(site.url, username="lmsbridge", password="x")["errorcode"] == "missingparam"
    assert _token_php(site.url, username="hb10002", password="Sykepleier#2024", service="lmsbridge")["errorcode"] == "cannotcreatetoken"
    assert _token_php(site.url, username="admin", password="Admin#2024lab", service="lmsbridge")["token"] == site.admin_token
    assert _token_php(site.url, username="lmsbridge", password="Bridge#2024ws", service="other")["errorcode"] == "servicenotavailable"


def test_three_tokens_three_users(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    users = {token: ws_json(site, "core_webservice_get_site_info", token=token)["username"]
             for token in (site.token, site.admin_token, site.learner_token)}
    assert sorted(users.values()) == ["admin", "kari.nordmann@helse-bergen.no", "lmsbridge"]
