"""Moodle behaviour the recordings show, exercised beyond the recorded calls."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from lmsbridge.sandbox import Sandbox, SeedSpec

from .conftest import ws_json


def completed(site: object, courseid: int, userid: int) -> bool:
    body = ws_json(site, "core_completion_get_course_completion_status", courseid=courseid, userid=userid)  # type: ignore[arg-type]
    return bool(body["completionstatus"]["completed"])


def test_an_override_completes_the_course_at_once(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    assert not completed(lp, 5, 9)  # u06: 1 of 2 activities
    result = ws_json(lp, "core_completion_override_activity_completion_status", userid=9, cmid=13, newstate=1)
    assert (result["state"], result["overrideby"], result["tracking"]) == (1, 3, 2)
    assert completed(lp, 5, 9)


def test_self_completion_counts_only_after_cron(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    body = ws_json(lp, "core_completion_mark_course_self_completed", token=lp.learner_token, courseid=7)
    assert body == {"status": True, "warnings": []}
    status = ws_json(lp, "core_completion_get_course_completion_status", courseid=7, userid=4)["completionstatus"]
    assert all(c["complete"] for c in status["completions"]) and not status["completed"]
    lp.state.run_cron()
    assert completed(lp, 7, 4)


def test_state_api_completion_shows_in_every_read(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    when = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    lp.state.complete_activity(8, 13, when)  # u05 finishes LP1
    assert completed(lp, 5, 8)
    course = next(c for c in ws_json(lp, "core_enrol_get_users_courses", userid=8) if c["id"] == 5)
    assert (course["progress"], course["completed"]) == (100, True)
    rows = ws_json(lp, "core_reportbuilder_retrieve_report", reportid=1, perpage=1000)["data"]["rows"]
    row = next(r["columns"] for r in rows if r["columns"][0] == "HBHF-SMITTE-01" and r["columns"][3] == "hb10005")
    assert row[6:9] == ["Yes", "Monday, 23 November 2026, 10:30 AM", "100.0%"]


def test_last_access_shows_in_participants_and_report(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    lp.state.set_last_access(4, 5, datetime(2026, 11, 20, 7, 5, tzinfo=UTC))
    users = ws_json(lp, "core_enrol_get_enrolled_users", courseid=5,
                    options=[{"name": "userfields", "value": "id,lastcourseaccess"}])
    assert {u["id"]: u["lastcourseaccess"] for u in users}[4] == int(datetime(2026, 11, 20, 7, 5, tzinfo=UTC).timestamp())
    rows = ws_json(lp, "core_reportbuilder_retrieve_report", reportid=1, perpage=1000,
                   moodlewssettingtimezone="UTC")["data"]["rows"]
    row = next(r["columns"] for r in rows if r["columns"][0] == "HBHF-SMITTE-01" and r["columns"][3] == "hb10001")
    assert row[9] == "Friday, 20 November 2026, 7:05 AM"


def test_courses_users_and_enrolments_added_through_the_state_api(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    course = ks.state.add_course("KSL-NY-01", "Nytt kurs", 2, activities=["Del 1", "Del 2", "Del 3"],
                                 customfields={"lisens": 2, "tidsbruk": "15 min"})
    user = ks.state.add_user("ny.deltaker@bergen.kommune.no", "Ny", "Deltaker", "ny.deltaker@bergen.kommune.no")
    ks.state.enrol(user.id, course.id)
    found = ws_json(ks, "core_course_get_courses_by_field", field="shortname", value="KSL-NY-01")["courses"][0]
    fields = {f["shortname"]: f for f in found["customfields"]}
    assert (fields["lisens"]["valueraw"], fields["lisens"]["value"]) == (2, "CC BY-SA")
    assert [u["id"] for u in ws_json(ks, "core_enrol_get_enrolled_users", courseid=course.id)] == [user.id]
    modules = [m for s in ws_json(ks, "core_course_get_contents", courseid=course.id) for m in s["modules"]]
    assert [m["name"] for m in modules if m["modname"] == "page"] == ["Del 1", "Del 2", "Del 3"]
    cm = ws_json(ks, "core_course_get_course_module", cmid=modules[1]["id"])["cm"]
    assert cm["idnumber"] == "KSL-NY-01-A1"


def test_custom_fields_round_trip_select_index_and_date(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    created = ws_json(ks, "core_course_create_courses", courses=[{
        "fullname": "Kurs", "shortname": "KSL-RT", "categoryid": 2,
        "customfields": [{"shortname": "delingsstatus", "value": 2}, {"shortname": "studiestart", "value": 1740783600},
                         {"shortname": "finnes_ikke", "value": "x"}]}])
    courseid = created[0]["id"]

    def field(name: str) -> dict[str, object]:
        course = ws_json(ks, "core_course_get_courses_by_field", field="id", value=courseid)["courses"][0]
        return next(f for f in course["customfields"] if f["shortname"] == name)

    assert (field("delingsstatus")["valueraw"], field("delingsstatus")["value"]) == (2, "delt fra KS")
    assert (field("studiestart")["valueraw"], field("studiestart")["value"]) == (1740783600, "1 March 2025")
    ws_json(ks, "core_course_update_courses", courses=[{"id": courseid, "customfields": [{"shortname": "delingsstatus", "value": 0}]}])
    assert (field("delingsstatus")["valueraw"], field("delingsstatus")["value"]) == (0, None)
    # a course made through the web service has no completion criteria
    error = ws_json(ks, "core_completion_get_course_completion_status", courseid=courseid, userid=4)
    assert error["errorcode"] == "usernotenroled"
    ws_json(ks, "enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": 4, "courseid": courseid}])
    assert ws_json(ks, "core_completion_get_course_completion_status", courseid=courseid, userid=4)["errorcode"] == "nocriteriaset"


def test_lookups_that_do_not_find_anything_are_not_errors(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    assert ws_json(ks, "core_user_get_users_by_field", field="email", values=["nils.kristiansen@helse-bergen.no"]) == []
    found = ws_json(ks, "core_user_get_users_by_field", field="idnumber", values=["HB10001", "NOPE", "HB10009"])
    assert [u["id"] for u in found] == [4, 12]
    assert ws_json(ks, "core_course_get_courses_by_field", field="id", value=999999) == {"courses": [], "warnings": []}


def test_report_paging_covers_every_row_once(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    seen = []
    for page in range(10):
        data = ws_json(lp, "core_reportbuilder_retrieve_report", reportid=1, page=page, perpage=5)["data"]
        assert data["totalrowcount"] == 26
        seen.extend(tuple(r["columns"][:4]) for r in data["rows"])
    assert len(seen) == len(set(seen)) == 26


def test_report_filters_belong_to_the_calling_user(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    values = '{"completion:timecompleted_operator": 2}'  # empty: not completed
    assert ws_json(lp, "core_reportbuilder_set_filters", reportid=1, values=values) is True
    mine = ws_json(lp, "core_reportbuilder_retrieve_report", reportid=1, perpage=1000)["data"]
    admin = ws_json(lp, "core_reportbuilder_retrieve_report", token=lp.admin_token, reportid=1, perpage=1000)["data"]
    assert all(r["columns"][6] == "No" for r in mine["rows"])
    assert admin["totalrowcount"] == 26 > mine["totalrowcount"]


def test_per_item_problems_in_update_and_delete_are_warnings(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    body = ws_json(ks, "core_course_update_courses", courses=[{"id": 2, "shortname": "KSL-HBHF-SMITTE-01"},
                                                                {"id": 999, "fullname": "x"}])
    assert [w["warningcode"] for w in body["warnings"]] == ["shortnametaken", "invalidrecord"]
    body = ws_json(ks, "core_course_delete_courses", courseids=[999])
    assert body["warnings"][0]["warningcode"] == "unknowncourseidnumber"


def test_group_membership_and_messages(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    groups = ws_json(lp, "core_group_create_groups", groups=[{"courseid": 5, "name": "Inaktiv", "description": ""}])
    gid = groups[0]["id"]
    assert ws_json(lp, "core_group_add_group_members", members=[{"groupid": gid, "userid": 10},
                                                                {"groupid": gid, "userid": 4}]) is None
    assert ws_json(lp, "core_group_get_group_members", groupids=[gid]) == [{"groupid": gid, "userids": [4, 10]}]
    assert ws_json(lp, "core_group_delete_group_members", members=[{"groupid": gid, "userid": 4}]) is None
    assert ws_json(lp, "core_group_get_group_members", groupids=[gid])[0]["userids"] == [10]
    sent = ws_json(lp, "core_message_send_instant_messages",
                   messages=[{"touserid": 10, "text": "Hei", "textformat": 2}, {"touserid": 999999, "text": "x"}])
    assert sent[0]["msgid"] > 0 and sent[1]["msgid"] == -1 and "errormessage" in sent[1]
    assert [m.text for m in lp.state.messages_to(10)] == ["Hei"]


def test_seeded_times_follow_the_clock() -> None:
    now = datetime(2030, 1, 15, 12, 0, tzinfo=UTC).timestamp()
    with Sandbox.start(clock=lambda: now) as sb:
        status = ws_json(sb.sites["lp"], "core_completion_get_course_completion_status", courseid=5, userid=4)
        times = [c["timecompleted"] for c in status["completionstatus"]["completions"]]
        assert all(0 < now - t < 3600 for t in times)


def test_bulk_seed_is_fast_and_visible_in_the_report() -> None:
    start = time.perf_counter()
    with Sandbox.start(seed=SeedSpec(courses=50, enrolments=200, sites=("lp",))) as sb:
        seeded = time.perf_counter() - start
        lp = sb.sites["lp"]
        data = ws_json(lp, "core_reportbuilder_retrieve_report", reportid=1, perpage=1)["data"]
        assert data["totalrowcount"] == 26 + 50 * 200
        assert len([c for c in lp.state.courses.values() if c.shortname.startswith("BULK-LP-")]) == 50
    assert seeded < 2.0, f"seeding took {seeded:.2f}s"
