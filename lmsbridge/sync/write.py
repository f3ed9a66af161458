"""Write: each new completion onto the owner course.

Takes the run context, a share and the learners ready to write (an owner account in the owner course, the new
completions mapped to owner activities). Gives one ``core_completion_override_activity_completion_status``
per new completion (Moodle then re-aggregates the owner's course completion at once), each success as a
``Written`` in the share's outcome (the learner's pseudonym, the owner user and activity, the time completed
on the borrower), a dry run's as a planned write, a refused one as a failed item. A learner written in full
has the failures of earlier runs cleared.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import ActivityStatus, OverrideResult, from_unix
from lmsbridge.errors import LmsbridgeError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.context import NewCompletions, RunContext
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.mapping import Activity
from lmsbridge.sync.outcome import ShareOutcome, Written
from lmsbridge.sync.pools import results
from lmsbridge.sync.reason import cause

Job = tuple[int, NewCompletions, ActivityStatus, Activity, datetime | None]


def write_completions(ctx: RunContext, share: Share, items: list[NewCompletions], out: ShareOutcome,
                      errors: list[LmsbridgeError]) -> None:
    pool = ctx.pools[share.owner_platform]
    jobs: list[tuple[Job, Future[OverrideResult | None]]] = []
    for item in items:
        assert item.owner is not None
        item.key = item.key or learner_key(ctx.secret, share.owner_platform, item.owner.id)
        for status, owner_activity in item.new:
            # Read before the write: a time that cannot be one fails the learner here, instead of after a
            # write the ledger then never records (and every run would write again: issue 11 item 1).
            try:
                completed_at = from_unix(status.timecompleted)
            except (LmsbridgeError, ValueError, OverflowError, OSError):
                out.item_failed(item.learner.item_key, Message("sync.failure.bad_time", cmid=status.cmid,
                                                               value=status.timecompleted))
                continue
            future = pool.submit(partial(MoodleClient.override_activity_completion, userid=item.owner.id,
                                         cmid=owner_activity.cmid, complete=True))
            jobs.append(((len(jobs), item, status, owner_activity, completed_at), future))

    def refused(job: Job, exc: RecordError) -> None:
        _, item, _, owner_activity, _ = job
        out.item_failed(item.learner.item_key, Message("sync.failure.writing", cmid=owner_activity.cmid,
                                                       cause=cause(exc)))

    went_through: set[int] = set()
    for (number, item, status, owner_activity, completed_at), result in results(jobs, refused, errors):
        went_through.add(number)
        if result is None:  # dry run
            out.planned_writes += 1
            continue
        assert item.key is not None and item.owner is not None
        out.written.append(Written(item.key, owner_activity.cmid, status.cmid, completed_at,
                                   owner_userid=item.owner.id))
    failed = {job[1].learner.item_key for job, _ in jobs if job[0] not in went_through}
    for item in items:
        if item.learner.item_key not in failed:
            out.clear(item.learner.person.id)


__all__ = ["write_completions"]
