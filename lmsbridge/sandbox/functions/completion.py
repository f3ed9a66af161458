"""Completion: course status, activity statuses, overrides, self-completion.

Recorded behaviour (INDEX.md, the lp completion fixtures): an override re-aggregates the course at
once (u06 ``ok_after_override`` is complete); a self-completion shows the criterion complete while
``completed`` stays false until cron (the three ``ok_lp3_*`` files); criterion type 4 = activity,
1 = self; aggregation 1 = ALL; ``usernotenroled`` / ``nocriteriaset`` / ``invaliduser`` /
``cannotviewreport`` errors.

**The aggregation race.** On a real site two overrides for the same learner and course in flight at once
collide: each commits its activity completion, then marks one completion criterion of the course
(``\\core_completion\\api::mark_course_completions_activity_criteria`` picks the first criterion still unmarked)
and both insert the same ``course_completion_crit_compl`` row; the second insert fails. That request answers
``dml_write_exception`` / ``dmlwriteexception`` «Error writing to database», its activity completion stays
stored, and the course completion it would have aggregated does not happen (until cron, or another override
for that learner and course). The sandbox handles requests one at a time, so "in flight at once" is read
from the site's latency, the time each request waits before it is handled: an override that arrived before the
previous override for the same learner and course had finished races with it. At latency 0 nothing races.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from lmsbridge.sandbox.exceptions import (
    MISSING_RECORD_EXCEPTION,
    MoodleError,
    dml_write_error,
    moodle_error,
    no_permission,
)
from lmsbridge.sandbox.functions.common import get_course, get_user
from lmsbridge.sandbox.functions.courses import completion_details, context_error
from lmsbridge.sandbox.models import COMPLETE, TRACKING_AUTOMATIC, Course, Module, User
from lmsbridge.sandbox.params import Single, Value
from lmsbridge.sandbox.registry import Call, ws
from lmsbridge.sandbox.state import SiteState

COURSE_USER = Single({"courseid": Value("int"), "userid": Value("int")})

#: per site: (userid, courseid) → when the last override for them finished (time.monotonic)
_OVERRIDES_FINISHED: weakref.WeakKeyDictionary[SiteState, dict[tuple[int, int], float]] = weakref.WeakKeyDictionary()
#: the SQL error Moodle's debuginfo carries for the colliding insert (PostgreSQL; the unique index on userid, course,
#: criteriaid of lib/db/install.xml, as the lab's database names it)
_CRITERION_COLLISION = (
    'ERROR:  duplicate key value violates unique constraint "mdl_courcompcritcomp_useco_uix"\n'
    "DETAIL:  Key (userid, course, criteriaid)=({userid}, {courseid}, {criterionid}) already exists.\n"
    "INSERT INTO mdl_course_completion_crit_compl (userid,course,criteriaid,timecompleted) VALUES($1,$2,$3,$4) "
    "RETURNING id"
)


def _races(state: SiteState, key: tuple[int, int]) -> bool:
    """Did this override arrive (``latency`` before it is handled) before the last one for ``key`` finished?"""
    finished = _OVERRIDES_FINISHED.setdefault(state, {}).get(key)
    return finished is not None and time.monotonic() - state.latency < finished


def _override(call: Call, course: Course, user: User, module: Module, newstate: int) -> None:
    """Store the activity completion; when it races, leave the course completion it would aggregate undone
    and answer like Moodle."""
    state = call.state
    key = (user.id, course.id)
    raced = _races(state, key)
    try:
        if not module.completion:
            return
        record = state.course_completions.get((course.id, user.id))
        was_complete = bool(record and record.timecompleted)
        state.complete_activity(user.id, module.id, call.now, state=newstate, overrideby=call.caller.id)
        if raced:
            record = state.course_completions.get((course.id, user.id))
            if record is not None and record.timecompleted and not was_complete:
                record.timecompleted = None
            criterion = 1 + next((n for n, m in enumerate(state.tracked_modules(course)) if m.id == module.id), 0)
            raise dml_write_error(_CRITERION_COLLISION.format(userid=user.id, courseid=course.id,
                                                              criterionid=criterion))
    finally:
        _OVERRIDES_FINISHED.setdefault(state, {})[key] = time.monotonic()


def _active_user(user: User) -> None:
    if user.suspended:
        raise moodle_error("suspended", "Suspended account")


def _can_view_data(call: Call, userid: int) -> bool:
    return call.caller.is_manager or call.caller.id == userid


@ws("core_completion_get_course_completion_status", COURSE_USER)
def get_course_completion_status(call: Call) -> dict[str, Any]:
    state = call.state
    course = get_course(call, call.params["courseid"])
    user = get_user(call, call.params["userid"])
    _active_user(user)
    if not call.can_enter(course):
        raise context_error(course.id)
    if not course.enablecompletion:
        raise moodle_error("completionnotenabled", "Completion is not enabled")
    if not _can_view_data(call, user.id):
        raise moodle_error("cannotviewreport", "You cannot view this report")
    if not state.is_enrolled(course.id, user.id):
        if user.id == call.caller.id:
            raise moodle_error("notenroled", "You are not enrolled in this course")
        raise moodle_error("usernotenroled", "User is not enrolled in this course")
    if not state.has_criteria(course):
        raise moodle_error("nocriteriaset", "No completion criteria set for this course")
    record = state.course_completions.get((course.id, user.id))
    completions = []
    if course.criteria_activities:
        for module in state.tracked_modules(course):
            done = state.activity_state(module.id, user.id)
            complete = done is not None and done.state >= COMPLETE
            requirement = "Viewing the page" if module.completion == TRACKING_AUTOMATIC else "Marking yourself complete"
            completions.append({
                "type": 4,
                "title": "Activity completion",
                "status": "Yes" if complete else "No",
                "complete": complete,
                "timecompleted": done.timemodified if complete and done else None,
                "details": {
                    "type": "Activity completion",
                    "criteria": f'<a href="{call.url(f"/mod/{module.modname}/view.php?id={module.id}")}">{module.name}</a>',
                    "requirement": requirement,
                    "status": "",
                },
            })
    if course.criteria_self:
        selfdone = record.selfcompleted if record else None
        completions.append({
            "type": 1,
            "title": "Self completion",
            "status": "Yes" if selfdone else "No",
            "complete": bool(selfdone),
            "timecompleted": selfdone,
            "details": {"type": "Self completion", "criteria": "Self completion",
                        "requirement": "Marking yourself complete", "status": ""},
        })
    return {
        "completionstatus": {
            "completed": bool(record and record.timecompleted),
            "aggregation": 1,
            "completions": completions,
        },
        "warnings": [],
    }


@ws("core_completion_get_activities_completion_status", COURSE_USER)
def get_activities_completion_status(call: Call) -> dict[str, Any]:
    state = call.state
    course = get_course(call, call.params["courseid"])
    user = get_user(call, call.params["userid"])
    _active_user(user)
    if not call.can_enter(course):
        raise context_error(course.id)
    if user.id != call.caller.id and not call.caller.is_manager:
        raise no_permission("View course progress report", "report/progress:view")
    tracked = state.is_enrolled(course.id, user.id)
    statuses = []
    for module in state.tracked_modules(course):
        if not module.visible and not call.caller.is_manager:
            continue
        details = completion_details(call, module, user.id, tracked=tracked)
        record = state.activity_state(module.id, user.id)
        statuses.append({
            "cmid": module.id,
            "modname": module.modname,
            "instance": module.instance,
            "state": details["state"],
            "timecompleted": record.timemodified if record else 0,
            "tracking": module.completion,
            "overrideby": details["overrideby"],
            "valueused": False,
            "hascompletion": True,
            "isautomatic": details["isautomatic"],
            "istrackeduser": tracked,
            "uservisible": True,
            "details": details["details"],
            "isoverallcomplete": details["isoverallcomplete"],
        })
    return {"statuses": statuses, "warnings": []}


@ws("core_completion_override_activity_completion_status",
    Single({"userid": Value("int"), "cmid": Value("int"), "newstate": Value("int")}), writes=True)
def override_activity_completion_status(call: Call) -> dict[str, Any]:
    state = call.state
    module = state.modules.get(call.params["cmid"])
    if module is None:
        raise MoodleError(MISSING_RECORD_EXCEPTION, "invalidcoursemodule", "Invalid course module ID")
    course: Course = state.courses[module.courseid]
    if not call.can_enter(course):
        raise context_error(course.id)
    user = get_user(call, call.params["userid"])
    if not course.enablecompletion:
        raise moodle_error("completionnotenabled", "Completion is not enabled")
    if not call.caller.is_manager:
        raise no_permission("Override activity completion status", "moodle/course:overridecompletion")
    newstate = call.params["newstate"]
    if newstate not in (0, 1):
        raise moodle_error("invalidparameter", "Invalid parameter value detected")
    _override(call, course, user, module, newstate)
    record = state.activity_state(module.id, user.id)
    return {
        "cmid": module.id,
        "userid": user.id,
        "state": record.state if record else 0,
        "timecompleted": record.timemodified if record else 0,
        "overrideby": record.overrideby if record else None,
        "tracking": module.completion,
    }


@ws("core_completion_mark_course_self_completed", Single({"courseid": Value("int")}), writes=True)
def mark_course_self_completed(call: Call) -> dict[str, Any]:
    state = call.state
    course = get_course(call, call.params["courseid"])
    if not call.can_enter(course):
        raise context_error(course.id)
    if not course.enablecompletion:
        raise moodle_error("completionnotenabled", "Completion is not enabled")
    userid = call.caller.id
    if not state.is_enrolled(course.id, userid):
        raise moodle_error("nottracked", "You are not tracked in this course")
    if not course.criteria_self:
        raise moodle_error("noselfcompletioncriteria", "completion/noselfcompletioncriteria")
    record = state.course_completions.get((course.id, userid))
    if record is not None and record.selfcompleted:
        raise moodle_error("useralreadymarkedcomplete", "You have already marked yourself as complete in this course")
    state.mark_self_completed(course.id, userid, call.now)
    return {"status": True, "warnings": []}
