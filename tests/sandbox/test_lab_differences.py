"""Sandbox answers that the differential test against the Moodle lab (tests/real/test_differential.py) corrected.

Each case is what the lab's real Moodle 4.5 answered to the same request (issue #15: the sandbox differed from
real Moodle on these).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from lmsbridge.sandbox import Sandbox
from tests.sandbox.conftest import ws_call, ws_json


def xml_single(body: bytes) -> list[dict[str, Any]]:
    """The items of a MULTIPLE of SINGLEs: key → text (None for a null VALUE, "<list>"/"<object>" otherwise)."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    items = []
    for single in root.find("MULTIPLE"):
        item: dict[str, Any] = {}
        for key in single:
            child = key[0] if len(key) else None
            if child is None or child.tag != "VALUE":
                item[key.get("name")] = "<list>" if child is not None and child.tag == "MULTIPLE" else "<object>"
            else:
                item[key.get("name")] = None if child.get("null") == "null" else (child.text or "")
        items.append(item)
    return items


def test_xml_lists_every_described_key_null_when_absent(sandbox: Sandbox) -> None:
    """webservice/rest/locallib.php xmlize_result: the return description, not the value, decides the keys."""
    ks = sandbox.sites["ks"]
    body = ws_call(ks, "core_user_get_users_by_field", fmt="xml", field="email",
                   values=["kari.nordmann@helse-bergen.no"]).content
    (user,) = xml_single(body)
    assert user["username"] == "kari.nordmann@helse-bergen.no"
    for absent in ("address", "phone1", "description", "calendartype"):
        assert user[absent] is None, absent
    assert user["customfields"] == "<list>"
    json_user = ws_json(ks, "core_user_get_users_by_field", field="email", values=["kari.nordmann@helse-bergen.no"])[0]
    assert "address" not in json_user  # JSON leaves absent optional keys out


def test_no_format_is_xml_too(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    response = ws_call(ks, "core_user_get_users_by_field", fmt=None, field="email", values=["kari.nordmann@helse-bergen.no"])
    assert response.headers["Content-Type"].startswith("application/xml")
    assert xml_single(response.content)[0]["address"] is None


def test_a_learner_finds_only_herself_without_names_but_with_preferences(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    found = ws_json(lp, "core_user_get_users_by_field", token=lp.learner_token, field="idnumber",
                    values=["HB10001", "HB10009"])
    assert [u["username"] for u in found] == ["hb10001"]
    assert "firstname" not in found[0] and "lastname" not in found[0]
    assert {type(p["value"]) for p in found[0]["preferences"]} == {str, int}


def test_course_groups_of_a_missing_course_is_a_context_error(sandbox: Sandbox) -> None:
    error = ws_json(sandbox.sites["lp"], "core_group_get_course_groups", courseid=999999)
    assert (error["exception"], error["errorcode"]) == ("core\\exception\\moodle_exception", "errorcoursecontextnotvalid")


def test_tagindex_needs_tag_collection_and_area(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    assert ws_json(lp, "core_tag_get_tagindex", tagindex={"tc": 1, "ta": 2})["errorcode"] == "invalidparameter"
    assert ws_json(lp, "core_tag_get_tagindex", tagindex={"tag": "smittevern", "tc": 1, "ta": 1})["errorcode"] == (
        "invalidresponse")
    assert ws_json(lp, "core_tag_get_tagindex", tagindex={"tag": "smittevern", "tc": 1, "ta": 3}) == {
        "exception": "Error", "message": "Call to a member function export_for_template() on null"}
    assert ws_json(lp, "core_tag_get_tagindex", tagindex={"tag": "smittevern", "tc": 1, "ta": 2})["itemtype"] == "course"


def test_the_course_a_queued_copy_restores_into_exists_hidden_with_text_options(sandbox: Sandbox) -> None:
    (course,) = ws_json(sandbox.sites["ks"], "core_course_get_courses", options={"ids": [4]})
    assert (course["shortname"], course["visible"], course["categoryid"]) == ("copying", 0, 2)
    assert {o["name"]: o["value"] for o in course["courseformatoptions"]} == {"hiddensections": "1", "coursedisplay": "0"}
    assert course["showcompletionconditions"] is None


def test_a_learner_sees_a_course_modules_basics_only(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    cm = ws_json(lp, "core_course_get_course_module", token=lp.learner_token, cmid=12)["cm"]
    assert set(cm) == {"id", "course", "module", "name", "modname", "instance", "section", "sectionnum", "groupmode",
                       "groupingid", "completion", "downloadcontent"}
    modules = [m for s in ws_json(lp, "core_course_get_contents", token=lp.learner_token, courseid=5)
               for m in s["modules"]]
    assert modules and not any("availability" in m for m in modules)


def test_a_learners_own_grade_items_hide_locks(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    body = ws_json(lp, "gradereport_user_get_grade_items", token=lp.learner_token, courseid=5, userid=4)
    (item,) = body["usergrades"][0]["gradeitems"]
    assert (item["locked"], item["gradeislocked"], item["gradeisoverridden"]) == (None, None, None)


def test_copy_progress_of_an_unknown_copy_is_a_missing_record_for_anyone(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    error = ws_json(ks, "core_backup_get_copy_progress", token=ks.learner_token,
                    copies=[{"backupid": "0" * 32, "restoreid": "0" * 32, "operation": "restore"}])
    assert error["errorcode"] == "invalidrecord"
