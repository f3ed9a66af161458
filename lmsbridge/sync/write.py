"""Write: the new completions, to the owner platform, one learner at a time per owner course.

Takes the run context, a share, the learners with new completions (owner account known and enrolled) and the
share's outcome. One ``core_completion_override_activity_completion_status`` per completion the ledger does not
hold. Moodle 4.5 marks one course-completion criterion and re-aggregates the course inside each override
(``completion_info::internal_set_data`` → ``mark_course_completions_activity_criteria``, which picks the first
criterion still unmarked): two overrides for one learner in one course in flight at once insert the same
criterion row, one fails with ``dmlwriteexception`` and the course completion it would have aggregated never
comes (issue 15 item 1). So a learner's writes in an owner course go one after another, under a lock the whole
run shares (``RunContext.write_lock``: another share of the same owner course waits its turn), while different
learners are written in parallel, up to the pool's concurrency.

Each answer says what the owner now holds. Moodle ignores an override of an activity already complete
(``completion_info::update_state`` returns early) and answers with the row as it was: who completed it
(``overrideby``: None when the learner did it) and when. So a completion is

* **written** when the row now carries lmsbridge's web-service user as ``overrideby``: a ``Written`` in the
  outcome, a ledger row (also when an earlier run of lmsbridge wrote it and was killed before its ledger row:
  the row the ledger lacked is put back, and counted as written once more);
* **already there** («fra før») when someone else completed it (the learner, a teacher): counted, not written,
  no ledger row — the ledger holds only completions that exist on the owner because of lmsbridge;
* a failed item when the owner refused it, or did not take it (still not complete).

A dry run's writes are planned calls. A learner written in full has the failures of earlier runs cleared (the
course-completion check after the writes may fail it again: :mod:`lmsbridge.sync.aggregate`).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import ActivityStatus, OverrideResult, from_unix
from lmsbridge.errors import FatalError, LmsbridgeError, MoodleError, RecordError, RetriableError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.context import NewCompletions, RunContext
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.mapping import Activity
from lmsbridge.sync.outcome import ShareOutcome, Written
from lmsbridge.sync.reason import UnexpectedError, cause

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """One completion to write: the borrower status, the owner activity, the time completed on the borrower."""

    status: ActivityStatus
    activity: Activity
    completed_at: datetime | None
    result: OverrideResult | None = None
    error: LmsbridgeError | None = None
    sent: bool = False


@dataclass
class LearnerWrites:
    """One learner's writes in one owner course, made one after another."""

    item: NewCompletions
    jobs: list[Job] = field(default_factory=list)

    @property
    def owner_id(self) -> int:
        assert self.item.owner is not None
        return self.item.owner.id


def _write_one_learner(ctx: RunContext, platform: str, courseid: int, learner: LearnerWrites,
                       client: MoodleClient) -> None:
    """The learner's overrides in order, under the run's lock for (platform, course, learner). A refusal of one
    completion (a record error, a Moodle exception such as ``dmlwriteexception``) is kept on its job and the
    next is tried; a platform that cannot be reached or a refusal of the whole service stops the learner."""
    with ctx.write_lock(platform, courseid, learner.owner_id):
        for job in learner.jobs:
            try:
                job.result = client.override_activity_completion(userid=learner.owner_id, cmid=job.activity.cmid,
                                                                 complete=True)
                job.sent = True
            except (RetriableError, FatalError):
                raise
            except (RecordError, MoodleError) as exc:
                job.error = exc


def write_completions(ctx: RunContext, share: Share, courseid: int, items: list[NewCompletions], out: ShareOutcome,
                      errors: list[LmsbridgeError]) -> list[LearnerWrites]:
    """Write each learner's new completions (see the module docstring). Returns what was sent per learner, for
    the course-completion check after."""
    platform = share.owner_platform
    pool = ctx.pools[platform]
    learners: list[LearnerWrites] = []
    for item in items:
        assert item.owner is not None
        item.key = item.key or learner_key(ctx.secret, platform, item.owner.id)
        writes = LearnerWrites(item)
        for status, owner_activity in item.new:
            # Read before the write: a time that cannot be one fails the learner here, instead of after a
            # write the ledger then never records (and every run would write again: issue 11 item 1).
            try:
                completed_at = from_unix(status.timecompleted)
            except (LmsbridgeError, ValueError, OverflowError, OSError):
                out.item_failed(item.learner.item_key, Message("sync.failure.bad_time", cmid=status.cmid,
                                                               value=status.timecompleted))
                continue
            writes.jobs.append(Job(status, owner_activity, completed_at))
        if writes.jobs:
            learners.append(writes)
    # Whose overrides are lmsbridge's own: asked before the first write (a failure then writes nothing).
    ours = None if ctx.options.dry_run or not learners else ctx.ws_userid(platform)
    futures: list[tuple[LearnerWrites, Future[None]]] = [
        (writes, pool.submit(partial(_write_one_learner, ctx, platform, courseid, writes)))
        for writes in learners
    ]
    for writes, future in futures:
        item = writes.item
        failed = False
        try:
            future.result()
        except RecordError as exc:  # not raised by the task; kept for safety
            out.item_failed(item.learner.item_key, Message("sync.failure.writing", cmid=0, cause=cause(exc)))
            failed = True
        except LmsbridgeError as exc:
            errors.append(exc)  # stops the share once the rest is done (unreachable, refused service)
            failed = True
        except Exception as exc:  # one learner's surprise is that learner's failure
            logger.warning("unexpected error writing a learner's completions", exc_info=exc)
            out.item_failed(item.learner.item_key, Message("sync.failure.writing", cmid=0,
                                                           cause=cause(UnexpectedError(exc))))
            failed = True
        for job in writes.jobs:
            if job.error is not None:
                out.item_failed(item.learner.item_key, Message("sync.failure.writing", cmid=job.activity.cmid,
                                                               cause=cause(job.error)))
                failed = True
            elif not job.sent and job.result is None and not ctx.options.dry_run:
                failed = True  # not tried: the learner stopped before it
            elif job.result is None:
                if ctx.options.dry_run:
                    out.planned_writes += 1
            elif not _classify(writes, job, job.result, ours, out):
                failed = True
        if not failed:
            out.clear(item.learner.person.id)
    return learners


def _classify(writes: LearnerWrites, job: Job, result: OverrideResult, ours: int | None, out: ShareOutcome) -> bool:
    """Count one answer (module docstring); False when the owner did not take the completion."""
    item = writes.item
    assert item.key is not None and item.owner is not None
    if result.state < 1:
        out.item_failed(item.learner.item_key, Message("sync.failure.not_taken", cmid=job.activity.cmid))
        return False
    written = Written(item.key, job.activity.cmid, job.status.cmid, job.completed_at, owner_userid=item.owner.id)
    if ours is not None and result.overrideby == ours:
        out.written.append(written)
    else:
        out.already_there += 1
        out.present.append(written)
    return True


__all__ = ["Job", "LearnerWrites", "write_completions"]
