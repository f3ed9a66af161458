"""Commit: what one share's run learned, into the ledger in ONE transaction (main thread). Nothing on a dry run.

Takes the ledger, the share's plan and outcome, the run's start and the time now. Gives the completions
brought back (under pseudonyms, never a name), the failed items recorded, retried or cleared (learners,
unmapped activities, the share itself), an event when something was written, and the cursor: moved to the
run's start only when the share ended cleanly, never past it (the ledger cuts a later value down and never
moves a cursor back: ``Ledger.set_cursor``), so what changed during the run is read again next time.
"""

from __future__ import annotations

from datetime import datetime

from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger
from lmsbridge.sync.outcome import KIND_ACTIVITY, KIND_SHARE, ShareOutcome
from lmsbridge.sync.plan import SharePlan

ACTOR = "lmsbridge sync"


def commit(ledger: Ledger, plan: SharePlan, out: ShareOutcome, *, started: datetime, now: datetime,
           run_id: int | None = None) -> None:
    share = plan.share
    with ledger.transaction():
        if run_id is not None and out.status != "failed":  # a failed share is left for the next run to retry
            ledger.share_done(share.id, run_id=run_id, now=now)
        for written in out.written:
            ledger.record_completion(
                share_id=share.id,
                learner_key=written.learner_key,
                owner_activity=str(written.owner_cmid),
                borrower_activity=str(written.borrower_cmid),
                time_completed=written.time_completed,
                synced_at=now,
            )
        fresh = {(f.kind, f.key) for f in out.failures}
        for failure in out.failures:
            ledger.record_failure(share_id=share.id, item_kind=failure.kind, item_key=failure.key,
                                  reason=failure.reason.stored(), now=now)
        for kind, key in sorted(out.cleared - fresh):
            if (kind, key) in plan.failure_keys:
                ledger.clear_failure(share_id=share.id, item_kind=kind, item_key=key)
        if out.mapped_borrower_cmids is not None:
            unmapped = {f"cm:{u.activity.cmid}": u for u in out.unmapped}
            for key, item in unmapped.items():
                ledger.record_failure(share_id=share.id, item_kind=KIND_ACTIVITY, item_key=key,
                                      reason=Message("sync.failure.activity", name=item.activity.name,
                                                     reason=item.reason).stored(), now=now)
            for kind, key in plan.failure_keys:
                if kind == KIND_ACTIVITY and key not in unmapped:
                    ledger.clear_failure(share_id=share.id, item_kind=kind, item_key=key)
        if out.status == "failed":
            assert out.error is not None  # fail() always gives the reason
            ledger.record_failure(share_id=share.id, item_kind=KIND_SHARE, item_key="share",
                                  reason=out.error.stored(), now=now)
        elif (KIND_SHARE, "share") in plan.failure_keys:
            ledger.clear_failure(share_id=share.id, item_kind=KIND_SHARE, item_key="share")
        if out.clean:
            ledger.set_cursor(share.id, started, started)
        if out.written:
            ledger.append_event(
                share_id=share.id, actor=ACTOR, action="sync.completions", at=now,
                details={"completions": len(out.written), "learners": len({w.learner_key for w in out.written})},
            )


__all__ = ["ACTOR", "commit"]
