"""Report builder: the custom report "lmsbridge course completions" (participants datasource).

Recorded shape (INDEX.md, the ``*reportbuilder*`` fixtures): ten positional display-string cells per
row; ids only inside the two "with link" columns' HTML; dates as userdate strings in the caller's
timezone ("Sunday, 22 November 2026, 7:01 PM"; UTC with ``moodlewssettingtimezone=UTC``); one row per
active enrolment, sorted by course short name then username; zero-based paging with
``totalrowcount`` of all matching rows and ``rows: []`` past the end; per-user filter values on
completion:timecompleted and, on a report that has it, access:timeaccess (operator 3 = range) until
``filters_reset``; audience = the lmsbridgews role.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from html import escape
from typing import Any

from lmsbridge.sandbox.exceptions import REPORT_ACCESS_EXCEPTION, MoodleError, invalid_parameter, missing_record
from lmsbridge.sandbox.functions.common import image_url
from lmsbridge.sandbox.models import Report
from lmsbridge.sandbox.params import DEFAULT, Single, Value
from lmsbridge.sandbox.present import DAYDATETIME_FORMAT, userdate, zone
from lmsbridge.sandbox.registry import Call, ws

HEADERS = [
    "Course short name", "Course short name with link", "Full name with link", "Username", "ID number",
    "Email address", "Completed", "Time completed", "Student progress", "Last access to course",
]
FILTER = "completion:timecompleted"
#: «Last access to course» (core_course\reportbuilder\local\entities\access): user_lastaccess.timeaccess
VISITS = "access:timeaccess"
#: core_reportbuilder\local\filters\date units (unit 1 = day: "Last 7 days" in …condition_timecompleted_last7days)
UNIT_SECONDS = {1: 86400, 2: 7 * 86400, 3: 30 * 86400, 4: 365 * 86400}


def _get_report(call: Call, reportid: int) -> Report:
    report = call.state.reports.get(reportid)
    if report is None:
        raise missing_record("reportbuilder_report")
    return report


def _can_view(call: Call, report: Report) -> bool:
    return call.caller.is_admin or call.caller.role in report.audience


def _require_view(call: Call, report: Report) -> None:
    if not _can_view(call, report):
        raise MoodleError(REPORT_ACCESS_EXCEPTION, "errorreportview", "You cannot view this report")


def _details(call: Call, report: Report) -> dict[str, Any]:
    admin = call.state.users.get(report.usermodified)
    modifier: dict[str, Any] = {}
    if admin is not None:
        modifier = {
            "id": admin.id, "email": admin.email, "idnumber": admin.idnumber, "phone1": "", "phone2": "",
            "department": admin.department, "institution": admin.institution, "fullname": admin.fullname,
            "identity": admin.email, "profileurl": call.url(f"/user/profile.php?id={admin.id}"),
            "profileimageurl": image_url(call, "f1"), "profileimageurlsmall": image_url(call, "f2"),
        }
    return {
        "name": report.name, "source": report.source, "type": 0, "uniquerows": False,
        "conditiondata": json.dumps(report.conditions, separators=(",", ":")), "settingsdata": None,
        "contextid": 1, "component": "", "area": "", "itemid": 0, "usercreated": report.usercreated,
        "id": report.id, "timecreated": report.timecreated, "timemodified": report.timemodified,
        "usermodified": report.usermodified, "sourcename": report.sourcename, "tags": [], "modifiedby": modifier,
    }


def _same_unit(ts: int, now: int, unit: int, timezone: str) -> bool:
    tz = zone(timezone)
    a, b = datetime.fromtimestamp(ts, tz), datetime.fromtimestamp(now, tz)
    if unit == 1:
        return a.date() == b.date()
    if unit == 2:
        return a.isocalendar()[:2] == b.isocalendar()[:2]
    if unit == 3:
        return (a.year, a.month) == (b.year, b.month)
    return a.year == b.year


def date_matches(ts: int | None, values: dict[str, Any], prefix: str, now: int, timezone: str) -> bool:
    """core_reportbuilder date filter: 0 any, 1 not empty, 2 empty, 3 range, 4 last N units, 5 current unit,
    7 in the past, 8 in the future."""
    operator = int(values.get(f"{prefix}_operator", 0) or 0)
    if operator == 0:
        return True
    if operator == 2:
        return not ts
    if not ts:
        return False
    if operator == 1:
        return True
    if operator == 3:
        start = int(values.get(f"{prefix}_from", 0) or 0)
        end = int(values.get(f"{prefix}_to", 0) or 0)
        return (not start or ts >= start) and (not end or ts <= end)
    if operator == 4:
        count = int(values.get(f"{prefix}_value", 1) or 1)
        seconds = UNIT_SECONDS.get(int(values.get(f"{prefix}_unit", 1) or 1), 86400)
        return now - count * seconds <= ts <= now
    if operator == 5:
        return _same_unit(ts, now, int(values.get(f"{prefix}_unit", 1) or 1), timezone)
    if operator == 7:
        return ts < now
    if operator == 8:
        return ts > now
    return True


def _cells(call: Call, course: Any, user: Any, enrolment: Any, criteria: bool, timecompleted: int | None) -> list[str]:
    """One row's display cells, rendered for the page that shows it."""
    state, tz = call.state, call.timezone
    tracked = state.tracked_modules(course)
    if tracked:
        done = sum(1 for m in tracked if (a := state.activity_completions.get((m.id, user.id))) and a.state >= 1)
        progress = f"{done * 100.0 / len(tracked):.1f}%"
    else:
        progress = ""
    return [
        course.shortname,
        f'<a href="{call.url(f"/course/view.php?id={course.id}")}">{escape(course.shortname, quote=False)}</a>',
        f'<a href="{call.url(f"/user/profile.php?id={user.id}")}">{escape(user.fullname, quote=False)}</a>',
        user.username,
        user.idnumber,
        user.email,
        ("Yes" if timecompleted else "No") if criteria else "",
        userdate(timecompleted, DAYDATETIME_FORMAT, tz) if timecompleted else "",
        progress,
        userdate(enrolment.lastaccess, DAYDATETIME_FORMAT, tz) if enrolment.lastaccess else "Never",
    ]


def report_rows(call: Call, report: Report) -> list[tuple[tuple[str, str], Callable[[], list[str]]]]:
    """The report's rows in order, each as its sort key and a function that renders its cells: like Moodle's
    count query and page query, the filters apply to every row and only the page asked for is rendered."""
    state = call.state
    tz = call.timezone
    now = call.now
    filters = state.report_filters.get((call.caller.id, report.id), {})
    status_operator = int(report.conditions.get("enrolment:status_operator", 0) or 0)
    status_value = int(report.conditions.get("enrolment:status_value", 0) or 0)
    rows: list[tuple[tuple[str, str], Callable[[], list[str]]]] = []
    for course in state.courses.values():
        enrolled = state.enrolments.get(course.id, {})
        if not enrolled:
            continue
        criteria = state.has_criteria(course)
        for userid, enrolment in enrolled.items():
            if status_operator == 1 and enrolment.status != status_value:
                continue
            if status_operator == 2 and enrolment.status == status_value:
                continue
            user = state.users[userid]
            record = state.course_completions.get((course.id, userid))
            timecompleted = record.timecompleted if record else None
            if not date_matches(timecompleted, report.conditions, FILTER, now, tz):
                continue
            if not date_matches(timecompleted, filters, FILTER, now, tz):
                continue
            if not date_matches(enrolment.lastaccess or None, filters, VISITS, now, tz):
                continue
            rows.append(((course.shortname, user.username),
                         partial(_cells, call, course, user, enrolment, criteria, timecompleted)))
    rows.sort(key=lambda r: r[0])
    return rows


@ws("core_reportbuilder_list_reports", Single({"page": Value("int", DEFAULT, 0), "perpage": Value("int", DEFAULT, 0)}))
def list_reports(call: Call) -> dict[str, Any]:
    visible = [r for r in sorted(call.state.reports.values(), key=lambda r: r.id) if _can_view(call, r)]
    page, perpage = call.params["page"], call.params["perpage"]
    if perpage > 0:
        visible = visible[page * perpage:(page + 1) * perpage]
    return {"reports": [_details(call, r) for r in visible], "warnings": []}


@ws("core_reportbuilder_retrieve_report",
    Single({"reportid": Value("int"), "page": Value("int", DEFAULT, 0), "perpage": Value("int", DEFAULT, 10)}))
def retrieve_report(call: Call) -> dict[str, Any]:
    report = _get_report(call, call.params["reportid"])
    _require_view(call, report)
    rows = report_rows(call, report)
    page, perpage = max(call.params["page"], 0), call.params["perpage"]
    shown = rows[page * perpage:(page + 1) * perpage] if perpage > 0 else rows
    return {
        "details": _details(call, report),
        "data": {"headers": list(HEADERS), "rows": [{"columns": render()} for _, render in shown],
                 "totalrowcount": len(rows)},
        "warnings": [],
    }


@ws("core_reportbuilder_set_filters",
    Single({"reportid": Value("int"), "parameters": Value("raw", DEFAULT, ""), "values": Value("raw")}), writes=True)
def set_filters(call: Call) -> bool:
    report = _get_report(call, call.params["reportid"])
    _require_view(call, report)
    try:
        values = json.loads(str(call.params["values"]) or "{}")
    except json.JSONDecodeError:
        raise invalid_parameter("Invalid filter values (not JSON)") from None
    if not isinstance(values, dict):
        raise invalid_parameter("Invalid filter values")
    # only filters present on the report take effect (INDEX.md)
    kept = {k: v for k, v in values.items() if k.rsplit("_", 1)[0] in report.filters}
    with call.state.changing():
        call.state.report_filters[(call.caller.id, report.id)] = kept
    return True


@ws("core_reportbuilder_filters_reset",
    Single({"reportid": Value("int"), "parameters": Value("raw", DEFAULT, "")}), writes=True)
def filters_reset(call: Call) -> bool:
    report = _get_report(call, call.params["reportid"])
    _require_view(call, report)
    with call.state.changing():
        call.state.report_filters.pop((call.caller.id, report.id), None)
    return True
