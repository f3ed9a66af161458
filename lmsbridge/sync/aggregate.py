"""Check: did the owner's course completion follow the activity completions written? And repair it when not.

Moodle 4.5 aggregates course completion inside each activity override (``completion_info::internal_set_data``:
``\\core_completion\\api::mark_course_completions_activity_criteria`` marks ONE criterion still unmarked whose
activity is complete, then ``aggregate_completions``). An override that fails half-way (two in flight for one
learner and course: ``dmlwriteexception``), or criteria left unmarked for another reason, leave a learner with
every activity complete and no course completion; re-sending the override then does nothing
(``update_state`` ignores a state the activity already has), and nothing else in the web services aggregates.

* ``check_courses``: after a share's writes, each learner whose tracked owner activities are now all known
  complete (written or found by this run, or held by the ledger) and who got at least one of them from
  lmsbridge: confirmed by the owner's completion report when its profile names one (a few pages for the whole
  run: :mod:`lmsbridge.sync.confirm`), else (and for those the report does not show completed) one
  ``core_completion_get_course_completion_status``. A course completion that did not follow,
  although the criteria other than activities allow it, is a failed item (``sync.failure.course_completion_missing``,
  «kursfullføring ikke beregnet»), kept under the learner's pseudonym and repaired by the next run.
* ``repair``: the next run, for such a learner (``SharePlan.repair``): read the course completion again (Moodle's
  cron may have aggregated it meanwhile); else, with every tracked activity complete and activity criteria still
  unmarked, take back one completion lmsbridge wrote and give it again
  (``core_completion_override_activity_completion_status`` newstate 0, then 1): each of the two changes marks
  one unmarked criterion and aggregates, as a single override would have; as many times as criteria are
  unmarked, then read back. When every criterion is marked and the course still is not complete, only
  Moodle's ``completion_regular_task`` (cron) aggregates it: the failed item says so
  (``sync.failure.course_completion_cron``) and the next run reads it again.

All of a learner's calls here are made under the run's write lock for that learner and course
(``RunContext.write_lock``), like the writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import CourseCompletion
from lmsbridge.errors import LmsbridgeError, NoCriteriaError, NotEnrolledError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.context import Learner, RunContext
from lmsbridge.sync.identity import Person, learner_key
from lmsbridge.sync.outcome import CRON, MISSING, REPAIR_CODES, OwnerCourse, ShareOutcome
from lmsbridge.sync.plan import SharePlan
from lmsbridge.sync.reason import UnexpectedError, cause
from lmsbridge.sync.write import LearnerWrites

logger = logging.getLogger(__name__)

#: Criterion type of an activity in ``core_completion_get_course_completion_status`` (COMPLETION_CRITERIA_TYPE_ACTIVITY).
ACTIVITY_CRITERION = 4
#: Overall aggregation ANY (COMPLETION_AGGREGATION_ANY); 1 is ALL.
AGGREGATION_ANY = 2


def should_be_complete(status: CourseCompletion) -> bool:
    """With every tracked activity complete, do the other criteria let the course complete? (The activity
    criteria count as met: their activities are complete, whether or not Moodle marked them.)"""
    if status.aggregation == AGGREGATION_ANY:
        return True
    return all(c.complete for c in status.completions if c.type != ACTIVITY_CRITERION)


def unmarked(status: CourseCompletion) -> int:
    """Activity criteria Moodle has not marked."""
    return sum(1 for c in status.completions if c.type == ACTIVITY_CRITERION and not c.complete)


def tracked_cmids(course: OwnerCourse) -> frozenset[int]:
    return frozenset(a.cmid for a in course.activities if a.tracked)


@dataclass(frozen=True)
class Expected:
    """A learner whose course completion on the owner should follow now."""

    learner: Learner
    owner: Person


def expected_after(plan: SharePlan, course: OwnerCourse, writes: Sequence[LearnerWrites],
                   out: ShareOutcome) -> list[Expected]:
    """The learners ``check_courses`` reads back: every tracked owner activity known complete, one at least
    given by lmsbridge in this run."""
    tracked = tracked_cmids(course)
    if not tracked:
        return []
    ours = {(w.learner_key, w.owner_cmid) for w in out.written}
    failed = {f.key for f in out.failures}
    expected = []
    for learner in writes:
        item = learner.item
        if item.owner is None or item.key is None or out.pseudonym(item.learner.person.id) in failed:
            continue
        known = {job.activity.cmid for job in learner.jobs if job.result is not None and job.result.state >= 1}
        known |= {int(cmid) for cmid in plan.recorded.get(item.key, set()) if cmid.isdigit()}
        if tracked <= known and any((item.key, cmid) in ours for cmid in known):
            expected.append(Expected(item.learner, item.owner))
    return expected


def check_courses(ctx: RunContext, share: Share, course: OwnerCourse, expected: Sequence[Expected],
                  out: ShareOutcome, *, writes_began: datetime) -> None:
    """The owner's report for the expected learners, then one course-completion read per learner it does not
    show completed (module docstring). ``writes_began``: when the share's writes began (the host's clock)."""
    if not expected or ctx.options.dry_run:
        return
    confirmed = (ctx.confirm.completed(share.owner_platform, writes_began=writes_began, after=time.monotonic())
                 if ctx.confirm else None)
    if confirmed:
        unconfirmed = [entry for entry in expected if (course.id, entry.owner.id) not in confirmed]
        out.courses_checked += len(expected) - len(unconfirmed)
        expected = unconfirmed
    pool = ctx.pools[share.owner_platform]
    jobs: list[tuple[Expected, Future[CourseCompletion]]] = [
        (entry, pool.submit(partial(_locked_read, ctx, share.owner_platform, course.id, entry.owner.id)))
        for entry in expected
    ]
    for entry, future in jobs:
        try:
            status = future.result()
        except (NoCriteriaError, NotEnrolledError):
            continue  # no criteria, or not a tracked learner: no course completion to expect
        except RecordError as exc:
            out.item_failed(entry.learner.item_key, Message("sync.failure.course_unreadable", cause=cause(exc)))
            continue
        out.courses_checked += 1
        if not status.completed and should_be_complete(status):
            out.item_failed(entry.learner.item_key, Message(MISSING, course=course.shortname))


def _locked_read(ctx: RunContext, platform: str, courseid: int, userid: int, client: MoodleClient) -> CourseCompletion:
    with ctx.write_lock(platform, courseid, userid):
        return client.course_completion(courseid, userid)


# -- the next run: repair -----------------------------------------------------------------------------------


def due(plan: SharePlan, learners: Sequence[Learner]) -> list[Learner]:
    """The learners whose course completion the last run found missing."""
    return [lr for lr in learners if plan.failed.pseudonym(lr.person.id) in plan.repair]


def repair(ctx: RunContext, plan: SharePlan, course: OwnerCourse, learners: Sequence[tuple[Learner, Person]],
           out: ShareOutcome, errors: list[LmsbridgeError]) -> None:
    """Repair each learner's missing course completion (module docstring); those done have their failure
    cleared, the others fail again (with the reason found now)."""
    if not learners or ctx.options.dry_run:
        return
    platform = plan.share.owner_platform
    pool = ctx.pools[platform]
    ours = ctx.ws_userid(platform)
    tracked = tracked_cmids(course)

    def held(owner: Person) -> frozenset[int]:
        recorded = plan.recorded.get(learner_key(ctx.secret, platform, owner.id), set())
        return frozenset(int(cmid) for cmid in recorded if cmid.isdigit())

    jobs = [(learner, pool.submit(partial(_repair_one, ctx, platform, course, tracked, held(owner), owner.id, ours)))
            for learner, owner in learners]
    for learner, future in jobs:
        try:
            reason = future.result()
        except RecordError as exc:
            reason = Message("sync.failure.course_unreadable", cause=cause(exc))
        except LmsbridgeError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # one learner's surprise is that learner's failure
            logger.warning("unexpected error repairing a course completion", exc_info=exc)
            reason = Message("sync.failure.course_unreadable", cause=cause(UnexpectedError(exc)))
        out.courses_checked += 1
        if reason is None:
            out.clear(learner.person.id)
            out.repaired += 1
        else:
            out.item_failed(learner.item_key, reason)


def _repair_one(ctx: RunContext, platform: str, course: OwnerCourse, tracked: frozenset[int], held: frozenset[int],
                userid: int, ours: int, client: MoodleClient) -> Message | None:
    """None when the learner's course completion is there now (or no longer due); else why not. ``held``: the
    owner activities the ledger says lmsbridge brought back for this learner."""
    courseid = course.id
    missing = Message(MISSING, course=course.shortname)
    with ctx.write_lock(platform, courseid, userid):
        try:
            status = client.course_completion(courseid, userid)
        except (NoCriteriaError, NotEnrolledError):
            return None  # criteria gone, or the learner left the course: nothing to repair
        if status.completed or not should_be_complete(status):
            return None
        states = {s.cmid: s for s in client.activities_completion(courseid, userid)}
        undone = sorted(cmid for cmid in tracked if cmid not in states or states[cmid].state < 1)
        for cmid in [c for c in undone if c in held]:  # lmsbridge's own, taken back half-way by an earlier repair
            client.override_activity_completion(userid=userid, cmid=cmid, complete=True)
        if any(cmid not in held for cmid in undone):
            return None  # an activity is not complete (taken back since): the course is not due
        if undone:
            status = client.course_completion(courseid, userid)
            if status.completed:
                return None
        # Each change of state marks one unmarked criterion; with none unmarked (as Moodle shows them) one try
        # still, for a site that shows criteria by their activities.
        left = max(1, unmarked(status))
        own = sorted(cmid for cmid in tracked if cmid in held or (cmid in states and states[cmid].overrideby == ours))
        if not own:
            return missing
        toggled = own[-1]
        for _ in range(left):
            client.override_activity_completion(userid=userid, cmid=toggled, complete=False)
            try:
                client.override_activity_completion(userid=userid, cmid=toggled, complete=True)
            except LmsbridgeError:  # once more: never leave lmsbridge's completion taken back
                client.override_activity_completion(userid=userid, cmid=toggled, complete=True)
            status = client.course_completion(courseid, userid)
            if status.completed:
                return None
        return Message(CRON) if unmarked(status) == 0 else missing


__all__ = ["REPAIR_CODES", "Expected", "check_courses", "due", "expected_after", "repair", "should_be_complete"]
