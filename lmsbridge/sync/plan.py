"""Plan: what the ledger says before a run, read in the main thread before any call to a platform.

Takes the ledger and the run's options. Gives the published shares (all of them, and those to sync: every one,
or the ``--share`` ones) and one ``SharePlan`` per share to sync: the time from which changes are looked for
(the cursor minus the overlap; None on a first or ``--full`` run, :mod:`lmsbridge.sync.cursor`), the
completions already brought back per learner pseudonym, and the items that failed last time. The read stage
adds the share's rows of the completion report when the run reads one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lmsbridge.adapters import CompletionRow
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.outcome import LEARNER_KINDS


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    concurrency: int | None = None
    share_ids: tuple[str, ...] = ()
    use_report: bool = True


@dataclass
class SharePlan:
    """What the ledger says about a share before the run."""

    share: Share
    since: datetime | None
    recorded: dict[str, set[str]]  # learner pseudonym → owner cmids already brought back
    failed_learners: set[int]  # borrower user ids of learner, unmatched and identity-conflict failures
    failure_keys: set[tuple[str, str]]  # (kind, key) of every failed item
    report_rows: list[CompletionRow] | None = None


def published_shares(ledger: Ledger, options: SyncOptions) -> tuple[list[Share], list[Share]]:
    """Every published share, and those this run syncs; a ``--share`` id that is not published is a
    configuration error (exit 2)."""
    published = ledger.list_shares(state="published")
    if not options.share_ids:
        return published, published
    wanted = set(options.share_ids)
    unknown = wanted - {s.id for s in published}
    if unknown:
        raise ConfigError(Message("sync.no_published_share", ids=", ".join(sorted(unknown))), key="--share")
    return published, [s for s in published if s.id in wanted]


def plan_share(ledger: Ledger, share: Share, *, overlap: timedelta, full: bool) -> SharePlan:
    since_at = cursor_rules.since(ledger.get_cursor(share.id), overlap, full=full)
    recorded: dict[str, set[str]] = {}
    for row in ledger.completions(share.id):
        recorded.setdefault(row.learner_key, set()).add(row.owner_activity)
    failed_learners: set[int] = set()
    failure_keys: set[tuple[str, str]] = set()
    for failure in ledger.list_failures(share.id):
        kind, key = str(failure.item_kind), failure.item_key
        failure_keys.add((kind, key))
        if kind in LEARNER_KINDS and key.startswith("user:") and key[5:].isdigit():
            failed_learners.add(int(key[5:]))
    return SharePlan(share, since_at, recorded, failed_learners, failure_keys)


__all__ = ["SharePlan", "SyncOptions", "plan_share", "published_shares"]
