"""Participants and enrolment: core_enrol_get_enrolled_users, core_enrol_get_users_courses,
enrol_manual_enrol_users.

Recorded behaviour: a learner token may list participants of its own courses (fewer fields for other
people: lp__core_enrol_get_enrolled_users__ok_learner_own_course.json) but not of other courses
(``errorcoursecontextnotvalid``); ``lastcourseaccess`` is 0 when the user never visited; empty lists
(groups) are left out; another user's courses come back without completion data for a learner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmsbridge.sandbox.exceptions import invalid_parameter, moodle_error, no_permission
from lmsbridge.sandbox.functions.common import add_place_and_pictures, get_course, user_details
from lmsbridge.sandbox.functions.courses import NAME_VALUE, context_error
from lmsbridge.sandbox.models import Course, Enrolment, User
from lmsbridge.sandbox.params import DEFAULT, OPTIONAL, Multiple, Single, Value
from lmsbridge.sandbox.registry import Call, ws

ROLES = {1: ("manager", 1), 3: ("editingteacher", 3), 4: ("teacher", 4), 5: ("student", 5)}
#: roles the lmsbridge WS role may assign (ks__enrol_manual_enrol_users__err_role_not_assignable: not 1)
ASSIGNABLE_BY_WS = {3, 4, 5}

USER_FIELDS = {
    "id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1", "phone2", "department",
    "institution", "interests", "firstaccess", "lastaccess", "lastcourseaccess", "auth", "confirmed", "idnumber",
    "lang", "theme", "timezone", "mailformat", "description", "descriptionformat", "city", "country",
    "profileimageurlsmall", "profileimageurl", "customfields", "groups", "roles", "preferences", "enrolledcourses",
    "suspended",
}


def _roles(enrolment: Enrolment) -> list[dict[str, Any]]:
    shortname, _ = ROLES.get(enrolment.roleid, ("student", 5))
    return [{"roleid": enrolment.roleid, "name": "", "shortname": shortname, "sortorder": 0}]


def _participant(call: Call, course: Course, user: User, enrolment: Enrolment, fields: set[str] | None) -> dict[str, Any]:
    state = call.state
    caller = call.caller
    manager = caller.is_manager
    own = user.id == caller.id
    record = user_details(call, user, identity=manager or own, names=manager)
    record["lastcourseaccess"] = enrolment.lastaccess
    add_place_and_pictures(call, record, user)
    groups = state.user_groups(course.id, user.id)
    if groups:
        record["groups"] = [{"id": g.id, "name": g.name, "description": g.description,
                             "descriptionformat": g.descriptionformat} for g in sorted(groups, key=lambda g: g.id)]
    record["roles"] = _roles(enrolment)
    if own and not manager:
        record["preferences"] = [
            {"name": "auth_manual_passwordupdatetime", "value": str(user.timecreated)},
            {"name": "last_time_enrolments_synced", "value": str(call.now - 17)},
            {"name": "_lastloaded", "value": call.now},
        ]
    visible = [c for c in state.courses_of(user.id) if c.visible or caller.is_manager]
    if visible:
        record["enrolledcourses"] = [{"id": c.id, "fullname": c.fullname, "shortname": c.shortname} for c in visible]
    if fields is not None:
        record = {k: v for k, v in record.items() if k in fields or k in ("id", "fullname")}
    return record


@ws("core_enrol_get_enrolled_users", Single({"courseid": Value("int"), "options": Multiple(NAME_VALUE, required=DEFAULT, default=[])}))
def get_enrolled_users(call: Call) -> list[dict[str, Any]]:
    state = call.state
    course = get_course(call, call.params["courseid"])
    if not call.can_enter(course):
        raise context_error(course.id)
    options = {str(o["name"]).lower(): str(o["value"]) for o in call.params["options"]}
    fields: set[str] | None = None
    if "userfields" in options:
        fields = {f.strip() for f in options["userfields"].split(",") if f.strip()}
        unknown = sorted(fields - USER_FIELDS)
        if unknown:
            raise moodle_error("invaliduserfield", f"The user field {unknown[0]} is not valid")
    sortby = options.get("sortby", "id")
    if sortby not in ("id", "firstname", "lastname", "siteorder"):
        raise invalid_parameter(f"Invalid value for sortby parameter (value: {sortby})")
    direction = options.get("sortdirection", "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise invalid_parameter(f"Invalid value for sortdirection parameter (value: {direction})")
    onlyactive = options.get("onlyactive", "0") in ("1", "true")
    onlysuspended = options.get("onlysuspended", "0") in ("1", "true")
    if onlyactive and onlysuspended:
        raise moodle_error("bothonlyactiveandonlysuspended", "Both onlyactive and onlysuspended are set, this is not allowed")
    now = call.now
    rows = []
    for userid, enrolment in state.enrolments.get(course.id, {}).items():
        active = enrolment.status == 0 and enrolment.timestart <= now and (not enrolment.timeend or enrolment.timeend > now)
        if (onlyactive and not active) or (onlysuspended and active):
            continue
        rows.append((state.users[userid], enrolment))
    if "groupid" in options:
        group = state.groups.get(int(options["groupid"] or 0))
        members = set(group.members) if group else set()
        rows = [r for r in rows if r[0].id in members]
    sort_keys: dict[str, Callable[[User], tuple[Any, ...]]] = {
        "id": lambda u: (u.id,), "siteorder": lambda u: (u.id,), "firstname": lambda u: (u.firstname, u.id),
        "lastname": lambda u: (u.lastname, u.id)}
    key = sort_keys[sortby]
    rows.sort(key=lambda r: key(r[0]), reverse=direction == "DESC")
    start = int(options.get("limitfrom", "0") or 0)
    count = int(options.get("limitnumber", "0") or 0)
    rows = rows[start:start + count] if count > 0 else rows[start:]
    return [_participant(call, course, user, enrolment, fields) for user, enrolment in rows]


def _progress_value(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


@ws("core_enrol_get_users_courses",
    Single({"userid": Value("int"), "returnusercount": Value("bool", DEFAULT, True)}))
def get_users_courses(call: Call) -> list[dict[str, Any]]:
    state = call.state
    userid = call.params["userid"]
    caller = call.caller
    out = []
    courses = sorted(state.courses_of(userid), key=lambda c: (-c.visible, c.sortorder))
    for course in courses:
        if not call.can_enter(course):
            continue
        sees_completion = (caller.is_manager or caller.id == userid) and bool(course.enablecompletion)
        record: dict[str, Any] = {
            "id": course.id, "shortname": course.shortname, "fullname": course.fullname, "displayname": course.fullname,
        }
        if call.params["returnusercount"]:
            record["enrolledusercount"] = sum(1 for e in state.enrolments.get(course.id, {}).values() if e.status == 0)
        completion = state.course_completions.get((course.id, userid))
        enrolment = state.enrolment(course.id, userid)
        record.update({
            "idnumber": course.idnumber,
            "visible": course.visible,
            "summary": course.summary,
            "summaryformat": course.summaryformat,
            "format": course.format,
            "courseimage": call.url(f"/pluginfile.php/{course.contextid}/course/generated/course.svg"),
            "showgrades": bool(course.showgrades),
            "lang": course.lang,
            "enablecompletion": bool(course.enablecompletion),
            "completionhascriteria": sees_completion and state.has_criteria(course),
            "completionusertracked": sees_completion,
            "category": course.categoryid,
            "progress": _progress_value(state.progress(course, userid)) if sees_completion else None,
            "completed": bool(completion and completion.timecompleted) if sees_completion else None,
            "startdate": course.startdate,
            "enddate": course.enddate,
            "marker": 0,
            "lastaccess": enrolment.lastaccess if enrolment and enrolment.lastaccess else None,
            "isfavourite": False,
            "hidden": False,
            "overviewfiles": [],
            "showactivitydates": False,
            "showcompletionconditions": True,
            "timemodified": course.timemodified,
        })
        out.append(record)
    return out


@ws("enrol_manual_enrol_users",
    Single({"enrolments": Multiple(Single({
        "roleid": Value("int"), "userid": Value("int"), "courseid": Value("int"),
        "timestart": Value("int", OPTIONAL), "timeend": Value("int", OPTIONAL), "suspend": Value("int", OPTIONAL),
    }))}), writes=True, version="2024042200")
def enrol_users(call: Call) -> None:
    state = call.state
    caller = call.caller
    # all-or-nothing (one transaction): check everything before the first change
    for item in call.params["enrolments"]:
        course = state.course(item["courseid"])
        if course is None:
            raise invalid_parameter("Context does not exist")
        if not caller.is_manager:
            raise no_permission("Enrol users", "enrol/manual:enrol")
        if not caller.is_admin and item["roleid"] not in ASSIGNABLE_BY_WS:
            raise moodle_error(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this user "
                f"({item['userid']}) in this course ({item['courseid']}).",
            )
        if item["userid"] not in state.users:
            raise invalid_parameter(f"Invalid user id: {item['userid']}")
    for item in call.params["enrolments"]:
        state.enrol(item["userid"], item["courseid"], item["roleid"], timestart=item.get("timestart", 0),
                    timeend=item.get("timeend", 0), suspend=bool(item.get("suspend", 0)))
    return None
