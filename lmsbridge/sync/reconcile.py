"""Reconcile: under ``--full``, what the owner platform holds now, not what the ledger remembers (issue 11 item 2).

Takes the run context, a share's plan, the owner course and the learners chosen for a read. Gives, for every
learner with an owner account, the owner activities the owner platform shows complete now (one
``core_completion_get_activities_completion_status`` on the owner course each), in place of the ledger's
record in ``plan.recorded``: the read stage then brings back whatever the owner lacks, a completion reset on the
owner by hand included, and leaves alone what it has. An owner learner that cannot be read is a failed item
(retried next run), never taken as holding nothing: writing blind would re-stamp completions the owner has.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.errors import LmsbridgeError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.sync.context import Learner, RunContext
from lmsbridge.sync.identity import Match
from lmsbridge.sync.mapping import ActivityMapping
from lmsbridge.sync.outcome import ShareOutcome
from lmsbridge.sync.plan import SharePlan
from lmsbridge.sync.pools import results
from lmsbridge.sync.reason import cause

Entry = tuple[Learner, Match, str | None]


def owner_holdings(ctx: RunContext, plan: SharePlan, owner_course: int, to_read: Sequence[Entry],
                   mapping: ActivityMapping, not_enrolled: set[int], out: ShareOutcome,
                   errors: list[LmsbridgeError]) -> list[Entry]:
    """Replace the ledger's record of each learner by what the owner course shows complete now (nothing for an
    owner account not enrolled in it: ``not_enrolled``, by borrower user id). Returns the learners to read on
    the borrower (those whose owner side could not be read are failed items)."""
    pool = ctx.pools[plan.share.owner_platform]
    owner_cmids = {str(cmid) for cmid in mapping.owner_cmids}
    known = []
    for entry in to_read:
        learner, hit, key = entry
        if key is None or hit.person is None:
            continue  # no owner account yet: the owner holds nothing of theirs
        if learner.person.id in not_enrolled:
            plan.recorded[key] = set()
        else:
            known.append(entry)
    jobs = []
    for entry in known:
        person = entry[1].person
        assert person is not None
        jobs.append((entry, pool.submit(partial(MoodleClient.activities_completion, courseid=owner_course,
                                                userid=person.id))))
    failed: set[int] = set()

    def unreadable(entry: Entry, exc: RecordError) -> None:
        failed.add(entry[0].person.id)
        out.item_failed(entry[0].item_key, Message("sync.failure.owner_reading", cause=cause(exc)))

    for (_, _, key), statuses in results(jobs, unreadable, errors):
        assert key is not None
        plan.recorded[key] = {str(s.cmid) for s in statuses if s.complete} & owner_cmids
    return [entry for entry in to_read if entry[0].person.id not in failed]


__all__ = ["owner_holdings"]
