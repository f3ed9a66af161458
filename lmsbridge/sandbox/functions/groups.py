"""Groups: create, list, add/delete members, members per group.

Recorded behaviour: a duplicate group name and a member who is not enrolled are both
``invalidparameter`` (debuginfo "Only enrolled users may be members of groups"); adding members
returns JSON ``null``; members come back ordered by last name (lp__core_group_get_group_members__ok).
"""

from __future__ import annotations

from typing import Any

from lmsbridge.sandbox.exceptions import invalid_parameter, missing_record, moodle_error, no_permission
from lmsbridge.sandbox.functions.common import get_course
from lmsbridge.sandbox.functions.courses import SHORTNAME_VALUE, context_error
from lmsbridge.sandbox.models import Course, Group
from lmsbridge.sandbox.params import DEFAULT, OPTIONAL, Multiple, Single, Value
from lmsbridge.sandbox.registry import Call, ws


def _require_manage(call: Call, course: Course) -> None:
    if not call.can_enter(course):
        raise context_error(course.id)
    if not call.caller.is_manager:
        raise no_permission("Manage groups", "moodle/course:managegroups")


def _get_group(call: Call, groupid: int) -> Group:
    group = call.state.groups.get(groupid)
    if group is None:
        raise missing_record("groups")
    return group


@ws("core_group_create_groups",
    Single({"groups": Multiple(Single({
        "courseid": Value("int"),
        "name": Value("text"),
        "description": Value("raw"),
        "descriptionformat": Value("int", DEFAULT, 1),
        "enrolmentkey": Value("raw", OPTIONAL),
        "idnumber": Value("raw", OPTIONAL),
        "visibility": Value("int", DEFAULT, 0),
        "participation": Value("bool", DEFAULT, True),
        "customfields": Multiple(SHORTNAME_VALUE, required=OPTIONAL),
    }))}), writes=True)
def create_groups(call: Call) -> list[dict[str, Any]]:
    state = call.state
    batch = call.params["groups"]
    names: set[tuple[int, str]] = set()
    for item in batch:
        course = get_course(call, item["courseid"])
        _require_manage(call, course)
        name = item["name"].strip()
        if (course.id, name) in names or any(g.courseid == course.id and g.name == name for g in state.groups.values()):
            raise invalid_parameter("Invalid group name")
        idnumber = item.get("idnumber", "")
        if idnumber and any(g.courseid == course.id and g.idnumber == idnumber for g in state.groups.values()):
            raise moodle_error("idnumbertaken", "ID number is already used")
        if item["visibility"] not in (0, 1, 2, 3):
            raise invalid_parameter("Invalid group visibility")
        names.add((course.id, name))
    out = []
    for item in batch:
        group = state.add_group(
            item["courseid"], item["name"].strip(), description=item["description"], idnumber=item.get("idnumber", ""),
            descriptionformat=item["descriptionformat"], enrolmentkey=item.get("enrolmentkey"),
            visibility=item["visibility"], participation=item["participation"],
        )
        out.append({
            "id": group.id, "courseid": group.courseid, "name": group.name, "description": group.description,
            "descriptionformat": group.descriptionformat, "enrolmentkey": item.get("enrolmentkey", ""),
            "idnumber": group.idnumber, "visibility": group.visibility, "participation": group.participation,
        })
    return out


@ws("core_group_get_course_groups", Single({"courseid": Value("int")}))
def get_course_groups(call: Call) -> list[dict[str, Any]]:
    courseid = call.params["courseid"]
    course = call.state.course(courseid)
    if course is None:
        # group/externallib.php: context_course::instance(IGNORE_MISSING), then validate_context fails and the
        # failure is wrapped like any context error (not a missing record as elsewhere)
        raise moodle_error("errorcoursecontextnotvalid",
                           f"You cannot execute functions in the course context (course id:{courseid}). "
                           "The context error message was: Invalid parameter value detected")
    _require_manage(call, course)
    groups = sorted((g for g in call.state.groups.values() if g.courseid == course.id), key=lambda g: (g.name, g.id))
    return [{
        "id": g.id, "courseid": g.courseid, "name": g.name, "description": g.description,
        "descriptionformat": g.descriptionformat, "enrolmentkey": g.enrolmentkey, "idnumber": g.idnumber,
        "visibility": g.visibility, "participation": g.participation,
    } for g in groups]


MEMBERS = Single({"members": Multiple(Single({"groupid": Value("int"), "userid": Value("int")}))})


@ws("core_group_add_group_members", MEMBERS, writes=True)
def add_group_members(call: Call) -> None:
    state = call.state
    pairs = []
    for item in call.params["members"]:
        group = _get_group(call, item["groupid"])
        if item["userid"] not in state.users:
            raise missing_record("user")
        _require_manage(call, state.courses[group.courseid])
        if not state.is_enrolled(group.courseid, item["userid"], active=False):
            raise invalid_parameter("Only enrolled users may be members of groups")
        pairs.append((group, item["userid"]))
    with state.changing():
        for group, userid in pairs:
            if userid not in group.members:
                group.members.append(userid)
    return None


@ws("core_group_delete_group_members", MEMBERS, writes=True)
def delete_group_members(call: Call) -> None:
    state = call.state
    pairs = []
    for item in call.params["members"]:
        group = _get_group(call, item["groupid"])
        if item["userid"] not in state.users:
            raise missing_record("user")
        _require_manage(call, state.courses[group.courseid])
        pairs.append((group, item["userid"]))
    with state.changing():
        for group, userid in pairs:
            if userid in group.members:
                group.members.remove(userid)
    return None


@ws("core_group_get_group_members", Single({"groupids": Multiple(Value("int"))}))
def get_group_members(call: Call) -> list[dict[str, Any]]:
    state = call.state
    out = []
    for groupid in call.params["groupids"]:
        group = _get_group(call, groupid)
        _require_manage(call, state.courses[group.courseid])
        members = [state.users[u] for u in group.members if u in state.users]
        members.sort(key=lambda u: (u.lastname, u.firstname, u.id))
        out.append({"groupid": group.id, "userids": [u.id for u in members]})
    return out

