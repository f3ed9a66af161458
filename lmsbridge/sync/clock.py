"""The cursor on the platform's clock (issue 11 item 3), for the engine: where a share's cursor goes after the
run, and the correction of one found ahead of the platform's clock. The rules are in
:mod:`lmsbridge.sync.cursor`; the platform's clock comes from its answers (``lmsbridge.adapters.clock``).
"""

from __future__ import annotations

from datetime import datetime

from lmsbridge.ledger import Ledger
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.outcome import ShareOutcome
from lmsbridge.sync.plan import SharePlan
from lmsbridge.sync.pools import Pools

ACTOR = "lmsbridge sync"


def cursor_at(pools: Pools, plan: SharePlan, started: datetime, host_started: datetime) -> datetime:
    """The run's start as this share's cursor: on the borrower's clock when its answers said the time
    (``host_started``, the host's clock at the start, translated), else the run's start."""
    platform = plan.share.borrower_platform
    on_platform = pools[platform].platform_time(host_started) if platform in pools else None
    return cursor_rules.on_platform(started, on_platform)


def correct_cursor(ledger: Ledger, plan: SharePlan, out: ShareOutcome, at: datetime, *, now: datetime) -> None:
    """A cursor found ahead of the platform's clock is put back (the ledger never moves one back by itself):
    to this run's start on the platform's clock when the share was read in full and ended cleanly, else
    removed (the next run reads the share in full). Recorded as an event ``sync.cursor_corrected``."""
    if plan.cursor_ahead_of is None or plan.cursor is None:
        return
    value = at if out.clean else None
    with ledger.transaction():
        ledger.correct_cursor(plan.share.id, value, now=now)
        ledger.append_event(share_id=plan.share.id, actor=ACTOR, action="sync.cursor_corrected", at=now, details={
            "cursor": plan.cursor.isoformat(), "platform_time": plan.cursor_ahead_of.isoformat(),
            "corrected_to": value.isoformat() if value else None,
        })


__all__ = ["correct_cursor", "cursor_at"]
