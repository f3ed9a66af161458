"""Shapes shared by several functions: course records, custom fields, user records, lookups.

Key sets and types follow the recorded responses; comments name the fixture a shape comes from.
"""

from __future__ import annotations

from typing import Any

from lmsbridge.sandbox.exceptions import invalid_user, missing_record
from lmsbridge.sandbox.models import Course, User
from lmsbridge.sandbox.present import DATE_FORMAT, autolink, userdate
from lmsbridge.sandbox.registry import Call
from lmsbridge.sandbox.wire import ABSENT, ABSENT_LIST

__all__ = [
    "FILTERS",
    "course_public",
    "course_record",
    "customfields",
    "get_course",
    "get_user",
    "image_url",
    "user_details",
]

#: the filters every course reports (lp__core_course_get_courses_by_field__ok_nofield.json)
FILTERS = ("displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin")


def get_course(call: Call, courseid: int) -> Course:
    course = call.state.course(courseid)
    if course is None:
        raise missing_record("course")
    return course


def get_user(call: Call, userid: int) -> User:
    user = call.state.user(userid)
    if user is None:
        raise invalid_user()
    return user


def themerev(call: Call) -> int:
    return call.state.site_course().cacherev


def image_url(call: Call, size: str) -> str:
    """Default user picture (f1 large, f2 small)."""
    return call.url(f"/theme/image.php/boost/core/{themerev(call)}/u/{size}")


def course_image(call: Call, course: Course) -> str:
    return call.url(f"/pluginfile.php/{course.contextid}/course/generated/course.svg")


def customfields(call: Call, course: Course) -> list[dict[str, Any]]:
    """``[{name, shortname, type, valueraw, value}]``; empty fields are listed too (INDEX.md)."""
    state = call.state
    links = [(m.name, call.url(f"/mod/{m.modname}/view.php?id={m.id}")) for m in state.course_modules(course)
             if m.modname != "forum" and m.visible]
    out = []
    for spec in state.custom_fields:
        raw = course.customfields.get(spec.shortname)
        value: Any
        if spec.type == "select":
            index = int(raw or 0)
            valueraw: Any = index
            value = spec.options[index - 1] if 0 < index <= len(spec.options) else None
        elif spec.type == "date":
            valueraw = int(raw or 0)
            value = userdate(valueraw, DATE_FORMAT, call.timezone) if valueraw else None
        elif spec.type == "textarea":
            valueraw = str(raw or "")
            value = autolink(valueraw, links) if valueraw else None
        else:
            valueraw = str(raw or "")
            value = valueraw or None
        out.append({"name": spec.name, "shortname": spec.shortname, "type": spec.type, "valueraw": valueraw,
                    "value": value})
    return out


def format_options(course: Course, *, with_indentation: bool, copied: bool = False) -> list[dict[str, Any]]:
    """``copied``: the course was made by a course copy, whose form stored the options as text (the lab's ks
    course 4 answers ``"value": "1"`` where the courses made otherwise answer ``1``)."""
    if course.is_site:
        return [{"name": "numsections", "value": 1}]
    options: list[dict[str, Any]] = [
        {"name": "hiddensections", "value": str(course.hiddensections) if copied else course.hiddensections},
        {"name": "coursedisplay", "value": str(course.coursedisplay) if copied else course.coursedisplay},
    ]
    if with_indentation:
        options.append({"name": "indentation", "value": "1"})
    return options


def is_copy(call: Call, course: Course) -> bool:
    """Made by a course copy (queued or done)."""
    return any(copy.target_courseid == course.id for copy in call.state.copies)


def show_completion_conditions(call: Call, course: Course) -> bool | None:
    """Null for the site and for a course made by a course copy (the copy leaves the setting unset: ks course 4
    on the lab), true for the others (the sites' default)."""
    return None if course.is_site or is_copy(call, course) else True


def course_record(call: Call, course: Course) -> dict[str, Any]:
    """core_course_get_courses item (lp__core_course_get_courses__ok_all.json)."""
    record: dict[str, Any] = {
        "id": course.id,
        "shortname": course.shortname,
        "categoryid": course.categoryid,
        "categorysortorder": course.sortorder,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "idnumber": course.idnumber,
        "summary": course.summary,
        "summaryformat": course.summaryformat,
        "format": course.format,
        "showgrades": course.showgrades,
        "newsitems": course.newsitems,
        "startdate": course.startdate,
        "enddate": course.enddate,
        "numsections": max(len(course.sections) - 1, 1) if not course.is_site else 1,
        "maxbytes": 0,
        "showreports": 0,
        "visible": course.visible,
    }
    if not course.is_site:
        record["hiddensections"] = course.hiddensections
    record.update({
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "timecreated": course.timecreated,
        "timemodified": course.timemodified,
        "enablecompletion": course.enablecompletion,
        "completionnotify": course.completionnotify,
        "lang": course.lang,
        "forcetheme": "",
        "courseformatoptions": format_options(course, with_indentation=False, copied=is_copy(call, course)),
        "showactivitydates": False,
        "showcompletionconditions": show_completion_conditions(call, course),
        "customfields": customfields(call, course),
    })
    return record


def course_public(call: Call, course: Course, *, full: bool, manager: bool) -> dict[str, Any]:
    """core_course_get_courses_by_field / search_courses item.

    ``full``: the caller can enter the course (format … courseformatoptions); ``manager``: also the
    course:update part (idnumber, timecreated …). search_courses gives only the public part."""
    category = call.state.categories.get(course.categoryid)
    record: dict[str, Any] = {
        "id": course.id,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "shortname": course.shortname,
        "courseimage": course_image(call, course),
        "categoryid": course.categoryid,
        "categoryname": category.name if category else "",
        "sortorder": course.sortorder,
        "summary": course.summary,
        "summaryformat": course.summaryformat,
        "summaryfiles": [],
        "overviewfiles": [],
        "showactivitydates": False,
        "showcompletionconditions": show_completion_conditions(call, course),
        "contacts": [],
        "enrollmentmethods": [] if course.is_site else ["manual"],
        "customfields": customfields(call, course),
    }
    if not full:
        return record
    if manager:
        record["idnumber"] = course.idnumber
    record.update({
        "format": course.format,
        "showgrades": course.showgrades,
        "newsitems": course.newsitems,
        "startdate": course.startdate,
        "enddate": course.enddate,
        "maxbytes": 0,
        "showreports": 0,
        "visible": course.visible,
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "enablecompletion": course.enablecompletion,
        "completionnotify": course.completionnotify,
        "lang": course.lang,
        "theme": "",
        "marker": 0,
    })
    if manager:
        record.update({
            "legacyfiles": 0,
            "calendartype": "",
            "timecreated": course.timecreated,
            "timemodified": course.timemodified,
            "requested": 0,
            "cacherev": course.cacherev,
        })
    record["filters"] = [{"filter": name, "localstate": 0, "inheritedstate": 1} for name in FILTERS]
    record["courseformatoptions"] = ABSENT_LIST if course.is_site else format_options(
        course, with_indentation=True, copied=is_copy(call, course))
    record["communicationroomname"] = ABSENT
    record["communicationroomurl"] = ABSENT
    return record


def user_details(call: Call, user: User, *, identity: bool = True, names: bool = True) -> dict[str, Any]:
    """user_get_user_details() core: empty city/country are left out (ks__…ok_after_enrol.json,
    Anne Dahl created without them)."""
    record: dict[str, Any] = {"id": user.id}
    if identity:
        record["username"] = user.username
    if names:
        record["firstname"] = user.firstname
        record["lastname"] = user.lastname
    record["fullname"] = user.fullname
    record["email"] = user.email
    if identity:
        record["department"] = user.department
        record["institution"] = user.institution
        record["idnumber"] = user.idnumber
    record["firstaccess"] = user.firstaccess
    record["lastaccess"] = user.lastaccess
    return record


def add_place_and_pictures(call: Call, record: dict[str, Any], user: User) -> dict[str, Any]:
    if user.city:
        record["city"] = user.city
    if user.country:
        record["country"] = user.country
    record["profileimageurlsmall"] = image_url(call, "f2")
    record["profileimageurl"] = image_url(call, "f1")
    return record
