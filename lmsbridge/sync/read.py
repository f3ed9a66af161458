"""Read: what the borrower platform says — who may have something new, and what they completed.

Takes the run context and the shares' plans and outcomes. Gives:

* ``read_reports``: ONE paged completion-report read per borrower platform whose profile names a report
  (filtered to course completions since the earliest window of its shares on an incremental run, the filter
  reset after), each plan given its course's rows; a report that cannot be used becomes a warning.
* ``candidates``: the learners of a share worth a look, by one of three paths (``ShareOutcome.path``):
  ``per-learner`` (the participant listing: who visited since the window, or failed last time),
  ``listing+report`` (incremental run with a report: the listing's choice ∪ the report's course completions
  since the window, which a visit does not show when Moodle's cron or a teacher set them) and ``report``
  (first or ``--full`` run with a report: the learners whose progress says they have something done; an
  incremental run whose report has the «Last access to course» filter and whose share has no failed learner
  to retry: the report's course completions and visits since the window, without a listing).
  Failed learners no longer in the course have their failures cleared.
* ``choose_reads``: of those, the ones the ledger does not already hold in full (nor the report's progress
  says so); ``read_completions``: one ``core_completion_get_activities_completion_status`` each, giving the
  completions of mapped activities the owner does not have yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from lmsbridge.adapters import CompletionReport, MoodleClient
from lmsbridge.adapters.models import EnrolledUser
from lmsbridge.errors import (
    AccessDeniedError,
    InvalidTokenError,
    LmsbridgeError,
    MoodleError,
    NotFoundError,
    ProtocolError,
    RecordError,
)
from lmsbridge.i18n import Message
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.context import Learner, NewCompletions, RunContext
from lmsbridge.sync.courses import Mapped
from lmsbridge.sync.identity import Match, learner_key, person_of
from lmsbridge.sync.mapping import ActivityMapping
from lmsbridge.sync.outcome import ShareOutcome, shown_key
from lmsbridge.sync.plan import SharePlan
from lmsbridge.sync.pools import PlatformPool, PlatformUnreachable, results
from lmsbridge.sync.reason import cause

#: Fields asked of the borrower's participant listing (without ``userfields`` Moodle computes every default
#: field, which is costly: REFERENCE.md §2 core_enrol_get_enrolled_users).
BORROWER_FIELDS: tuple[str, ...] = (
    "id", "username", "idnumber", "email", "firstname", "lastname", "lastcourseaccess", "roles",
)
#: Unreadable report cells shown as warnings one by one; the rest are counted.
SHOWN_PROBLEMS = 5


def _warning_cause(exc: BaseException) -> Message:
    """An error's message inside a warning that names the platform already."""
    return cause(exc).unplaced()


# -- the report: one read per borrower platform ---------------------------------------------------------------


def read_reports(ctx: RunContext, plans: Sequence[SharePlan], warnings: list[Message]) -> None:
    """One paged report read per borrower platform that names a completion report."""
    if not ctx.options.use_report:
        return
    by_platform: dict[str, list[SharePlan]] = {}
    for plan in plans:
        platform = plan.share.borrower_platform
        profile = ctx.profiles.get(platform)
        if profile and profile.completion_report_id and platform in ctx.pools and plan.share.borrower_course_id:
            by_platform.setdefault(platform, []).append(plan)
    for platform, group in by_platform.items():
        reportid = ctx.profiles[platform].completion_report_id
        assert reportid is not None
        sinces = [p.since for p in group]
        since_at = None if any(s is None for s in sinces) else min(s for s in sinces if s is not None)
        try:
            report, visits = _read_report(ctx.pools[platform], platform, reportid, since_at, warnings, group)
        except PlatformUnreachable:
            continue  # the shares fail fast on the same platform and say so
        except (AccessDeniedError, NotFoundError, InvalidTokenError, ProtocolError, MoodleError) as exc:
            warnings.append(Message("sync.warning.report_unusable", platform=platform, report=reportid,
                                    cause=_warning_cause(exc)))
            continue
        warnings.extend(
            Message("sync.warning.report_row", platform=platform, report=reportid,
                    problem=Message("sync.report.bad_time", row=p.row, text=p.text))
            for p in report.problems[:SHOWN_PROBLEMS]
        )
        if len(report.problems) > SHOWN_PROBLEMS:
            warnings.append(Message("sync.warning.report_more", platform=platform, report=reportid,
                                    n=len(report.problems) - SHOWN_PROBLEMS))
        for plan in group:
            plan.report_rows = report.for_course(plan.share.borrower_course_id, plan.share.borrower_course_shortname)
            plan.report_visits = visits


def _read_report(pool: PlatformPool, platform: str, reportid: int, since_at: datetime | None,
                 warnings: list[Message], group: Sequence[SharePlan] = ()) -> tuple[CompletionReport, bool]:
    """Filtered to completions since ``since_at`` (reset after), or unfiltered: every page. A share whose
    cursor the first answer shows ahead of the platform's clock is read in full, so the report unfiltered.

    Filtered, and when the report has the «Last access to course» filter (``has_visits_filter``), a second read
    adds the learners who visited since ``since_at``: the rows then show every learner an incremental run need
    look at, and no participant listing is needed (``candidates``). Says whether the rows show them (so too an
    unfiltered read)."""
    filtered = False
    try:
        if since_at is not None:
            since = since_at
            pool.call(lambda c: c.filter_report_completed_since(reportid, since))
            filtered = True
            platform_now = pool.platform_time(datetime.now(UTC))
            if [plan for plan in group if plan.found_ahead(platform_now)]:
                since_at, filtered = None, False
        if since_at is None:
            # A filter left behind by an interrupted run would hide rows from an unfiltered read.
            pool.call(lambda c: c.reset_report_filters(reportid))
            return pool.call(lambda c: c.completion_report(reportid)), True
        report = pool.call(lambda c: c.completion_report(reportid))
        if not pool.call(lambda c: c.has_visits_filter(reportid)):
            return report, False
        pool.call(lambda c: c.filter_report_visited_since(reportid, since))
        visited = pool.call(lambda c: c.completion_report(reportid))
        return report.merged(visited), True
    finally:
        if filtered and pool.down is None:
            try:
                pool.call(lambda c: c.reset_report_filters(reportid))
            except LmsbridgeError as exc:
                warnings.append(Message("sync.warning.filter_reset", platform=platform, report=reportid,
                                        cause=_warning_cause(exc)))


# -- who may have something new --------------------------------------------------------------------------------


@dataclass
class Listing:
    """What one read of the borrower course's participants says."""

    chosen: dict[int, Learner] = field(default_factory=dict)  # visited since the window, or failed before
    students: dict[int, EnrolledUser] = field(default_factory=dict)  # every learner listed
    staff: set[int] = field(default_factory=set)  # listed without the student role


def candidates(ctx: RunContext, plan: SharePlan, out: ShareOutcome) -> list[Learner]:
    """The share's learners worth a look, by user id, and ``out.path`` saying how they were found."""
    if plan.report_rows is not None and plan.since is not None and plan.report_visits and not plan.failed.due():
        chosen = _report_candidates(ctx, plan, out)  # the report's rows show who visited: no listing
    elif plan.report_rows is not None and plan.since is not None:
        chosen = _listing_and_report_candidates(ctx, plan, out)
    elif plan.report_rows is not None:
        chosen = _report_candidates(ctx, plan, out)
    else:
        listing = _read_listing(ctx, plan, out)
        _clear_gone(plan, out, set(listing.students))
        chosen = [listing.chosen[uid] for uid in sorted(listing.chosen)]
    if plan.cursor_ahead_of is not None and plan.cursor is not None:
        out.notes.append(Message("sync.note.cursor_ahead", cursor=plan.cursor.isoformat(timespec="seconds"),
                                 platform_time=plan.cursor_ahead_of.isoformat(timespec="seconds")))
    return chosen


def _read_listing(ctx: RunContext, plan: SharePlan, out: ShareOutcome) -> Listing:
    """The borrower course's participants (paged): who visited since the window or failed last time."""
    share = plan.share
    courseid = share.borrower_course_id
    assert courseid is not None
    page_size = ctx.settings.page_size
    users = ctx.pools[share.borrower_platform].call(
        lambda c: c.enrolled_users(courseid, page_size=page_size, userfields=BORROWER_FIELDS)
    )
    out.listed = len(users)
    plan.found_ahead(ctx.pools[share.borrower_platform].platform_time(datetime.now(UTC)))
    student_role = ctx.student_role(share.borrower_platform)
    listing = Listing()
    for user in users:
        if not user.takes_part_as(student_role):
            listing.staff.add(user.id)  # teachers and other staff of the borrower course
            continue
        listing.students[user.id] = user
        failed = plan.failed.before(user.id)
        verdict = cursor_rules.should_read(last_access=user.lastcourseaccess, since_at=plan.since, failed_before=failed)
        if verdict.read:
            listing.chosen[user.id] = Learner(person_of(user), user.lastcourseaccess, None, failed)
    return listing


def _clear_gone(plan: SharePlan, out: ShareOutcome, present: set[int]) -> None:
    """Failed learners no longer among the borrower course's learners: nothing left to retry."""
    for gone in plan.failed.gone(present):
        out.clear_key(gone)
        out.notes.append(Message("sync.note.gone", learner=shown_key(gone)))


def _listing_and_report_candidates(ctx: RunContext, plan: SharePlan, out: ShareOutcome) -> list[Learner]:
    """The listing's choice ∪ the filtered report's course completions since the window. Each learner once;
    the listing's identity fields where it has them."""
    assert plan.since is not None
    out.path = "listing+report"
    listing = _read_listing(ctx, plan, out)
    chosen = dict(listing.chosen)
    from_report: dict[int, Learner] = {}
    for row in plan.report_rows or []:
        uid = row.userid
        if uid is None or uid in chosen or uid in listing.staff:
            continue  # no id; already chosen by the listing (read once); not a learner of the course
        if not cursor_rules.completed_since(row.time_completed, plan.since):
            continue
        failed = plan.failed.before(uid)
        user = listing.students.get(uid)
        if user is not None:
            from_report[uid] = Learner(person_of(user), user.lastcourseaccess, row.progress, failed)
        else:  # in the report, not (or no longer) in the listing: the report's identity columns
            from_report[uid] = Learner.from_row(uid, row, failed_before=failed)
    _look_up(ctx, plan, {uid for uid, learner in from_report.items() if not learner.identified}, from_report)
    _clear_gone(plan, out, set(listing.students) | set(from_report))
    chosen.update(from_report)
    return [chosen[uid] for uid in sorted(chosen)]


def _report_candidates(ctx: RunContext, plan: SharePlan, out: ShareOutcome) -> list[Learner]:
    """First or ``--full`` run (every row), or a filtered report without a listing: who has something done."""
    rows = plan.report_rows or []
    out.path = "report"
    out.listed = len(rows)
    chosen: dict[int, Learner] = {}
    for row in rows:
        if row.userid is None:
            continue
        failed = plan.failed.before(row.userid)
        if plan.since is None:
            wanted = (row.progress or 0.0) > 0 or row.completed is True or failed
        else:
            wanted = (cursor_rules.completed_since(row.time_completed, plan.since) or failed
                      or (plan.report_visits and cursor_rules.shown_since(row.last_access, plan.since)))
        if wanted:
            chosen[row.userid] = Learner.from_row(row.userid, row, failed_before=failed)
    seen = {row.userid for row in rows if row.userid is not None}
    # Failed learners in the report not chosen, and rows without identity columns: ask for them by id. (Failed
    # learners are known by pseudonym only: one outside the rows cannot be asked for.)
    need = {uid for uid in seen if uid not in chosen and plan.failed.before(uid)}
    need |= {uid for uid, learner in chosen.items() if not learner.identified}
    if plan.since is None:
        for gone in plan.failed.gone(seen):
            out.clear_key(gone)
    for missing in _look_up(ctx, plan, need, chosen):
        out.clear(missing)
    return [chosen[uid] for uid in sorted(chosen)]


def _look_up(ctx: RunContext, plan: SharePlan, need: set[int], chosen: dict[int, Learner]) -> set[int]:
    """Learners asked for by id on the borrower (``core_user_get_users_by_field``): their identity fields
    replace what ``chosen`` had. Those the platform does not know are dropped; their ids are returned."""
    if not need:
        return set()
    ids = sorted(need)
    users = ctx.pools[plan.share.borrower_platform].call(lambda c: c.users_by_field("id", ids))
    found = {u.id: u for u in users}
    for uid in ids:
        before = chosen.pop(uid, None)
        if uid in found:
            chosen[uid] = Learner(person_of(found[uid]), before.last_access if before else 0,
                                  before.progress if before else None, plan.failed.before(uid))
    return need - set(found)


# -- what they completed -----------------------------------------------------------------------------------------


def implied_done(progress: float | None, tracked: int) -> int | None:
    """How many of ``tracked`` activities a progress percentage stands for ("66.7%" of 3 → 2)."""
    if progress is None or tracked <= 0:
        return None
    return round(progress * tracked / 100.0)


def choose_reads(ctx: RunContext, plan: SharePlan, learners: Sequence[Learner], found: dict[int, Match],
                 mapped: Mapped, out: ShareOutcome) -> list[tuple[Learner, Match, str | None]]:
    """The learners whose completions are worth a read, with their owner match and pseudonym (when known)."""
    share = plan.share
    owner_cmids = {str(cmid) for cmid in mapped.mapping.owner_cmids}
    to_read: list[tuple[Learner, Match, str | None]] = []
    for learner in learners:
        hit = found[learner.person.id]
        key = learner_key(ctx.secret, share.owner_platform, hit.person.id) if hit.person else None
        # --full trusts no shortcut from the ledger or the report's percentage (a teacher may have unset one
        # activity and set another: the same percentage): the owner's own state is read instead (reconcile).
        if key is not None and not ctx.options.full:
            recorded = plan.recorded.get(key, set()) & owner_cmids
            if recorded >= owner_cmids:
                out.already += 1
                out.clear(learner.person.id)
                continue
            implied = implied_done(learner.progress, mapped.borrower_tracked)
            if implied is not None and not learner.failed_before and implied <= len(recorded):
                continue  # the report shows no more done than the ledger already holds
        to_read.append((learner, hit, key))
    return to_read


def read_completions(
    ctx: RunContext, plan: SharePlan, to_read: Sequence[tuple[Learner, Match, str | None]], mapping: ActivityMapping,
    enrol: set[int], out: ShareOutcome, errors: list[LmsbridgeError],
) -> list[NewCompletions]:
    """One completion read per learner: the mapped activities completed on the borrower that the ledger does not
    hold. A learner that cannot be read is a failed item; other errors go to ``errors`` (they stop the share)."""
    share = plan.share
    courseid = share.borrower_course_id
    assert courseid is not None
    pool = ctx.pools[share.borrower_platform]
    jobs = [(entry, pool.submit(partial(MoodleClient.activities_completion, courseid=courseid,
                                        userid=entry[0].person.id)))
            for entry in to_read]

    def unreadable(entry: tuple[Learner, Match, str | None], exc: RecordError) -> None:
        out.item_failed(entry[0].item_key, Message("sync.failure.reading", cause=cause(exc)))

    pending: list[NewCompletions] = []
    for (learner, hit, key), statuses in results(jobs, unreadable, errors):
        out.read += 1
        ctx.progress.learner_read()
        recorded = plan.recorded.get(key, set()) if key else set()
        new = [
            (status, mapping.pairs[status.cmid])
            for status in statuses
            if status.complete and status.cmid in mapping.pairs and str(mapping.pairs[status.cmid].cmid) not in recorded
        ]
        if not new:
            out.clear(learner.person.id)
            continue
        pending.append(NewCompletions(learner, hit, new, hit.person, key, learner.person.id in enrol))
    return pending


__all__ = ["BORROWER_FIELDS", "Listing", "candidates", "choose_reads", "implied_done", "read_completions",
           "read_reports"]
