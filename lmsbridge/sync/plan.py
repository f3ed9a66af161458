"""Plan: what the ledger says before a run, read in the main thread before any call to a platform.

Takes the ledger and the run's options. Gives the published shares (all of them, and those to sync: every one,
or the ``--share`` ones) and one ``SharePlan`` per share to sync: the time from which changes are looked for
(the cursor minus the overlap; None on a first or ``--full`` run, :mod:`lmsbridge.sync.cursor`), the
completions already brought back per learner pseudonym, and the items that failed last time (learners by
their pseudonym on the borrower platform: ``FailedLearners``). The read stage
adds the share's rows of the completion report when the run reads one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from lmsbridge.adapters import CompletionRow
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.outcome import LEARNER_KINDS, stored_key


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    concurrency: int | None = None
    share_ids: tuple[str, ...] = ()
    use_report: bool = True


@dataclass(frozen=True)
class FailedLearners:
    """The borrower learners of a share that failed last time (learner, unmatched, identity conflict).

    failed_items keeps them under the learner's pseudonym on the borrower platform, never the id (issue 11
    item 8), so the run asks with the id of a learner it sees: ``before(uid)``; ``gone(present)`` gives the
    keys of those it no longer sees."""

    keys: dict[str, frozenset[str]]  # kind → pseudonyms
    pseudonym: Callable[[int], str]  # borrower user id → its pseudonym

    def before(self, userid: int, kinds: Iterable[str] = LEARNER_KINDS) -> bool:
        key = self.pseudonym(userid)
        return any(key in self.keys.get(kind, ()) for kind in kinds)

    def gone(self, present: Iterable[int]) -> list[str]:
        here = {self.pseudonym(uid) for uid in present}
        return sorted(set().union(*self.keys.values()) - here)


@dataclass
class SharePlan:
    """What the ledger says about a share before the run."""

    share: Share
    since: datetime | None
    recorded: dict[str, set[str]]  # learner pseudonym → owner cmids already brought back
    failed: FailedLearners  # learner, unmatched and identity-conflict failures
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


def plan_share(ledger: Ledger, share: Share, *, overlap: timedelta, full: bool, secret: bytes) -> SharePlan:
    since_at = cursor_rules.since(ledger.get_cursor(share.id), overlap, full=full)
    recorded: dict[str, set[str]] = {}
    for row in ledger.completions(share.id):
        recorded.setdefault(row.learner_key, set()).add(row.owner_activity)
    pseudonym = partial(learner_key, secret, share.borrower_platform)
    learners: dict[str, set[str]] = {}
    failure_keys: set[tuple[str, str]] = set()
    for failure in ledger.list_failures(share.id):
        kind, key = str(failure.item_kind), failure.item_key
        if kind in LEARNER_KINDS:
            key = stored_key(key, pseudonym)  # a dry run over a ledger from before pseudonyms
            learners.setdefault(kind, set()).add(key)
        failure_keys.add((kind, key))
    failed = FailedLearners({kind: frozenset(keys) for kind, keys in learners.items()}, pseudonym)
    return SharePlan(share, since_at, recorded, failed, failure_keys)


def pseudonymise_failures(ledger: Ledger, secret: bytes) -> int:
    """Failed learners an earlier version kept by borrower id (``user:18``) are kept under their pseudonym from
    now on (issue 11 item 8), in one transaction. Run by a sync run before it plans. Returns how many."""
    shares = {share.id: share for share in ledger.list_shares()}
    changed = 0
    with ledger.transaction():
        for failure in ledger.list_failures():
            share = shares.get(failure.share_id)
            if share is None or str(failure.item_kind) not in LEARNER_KINDS:
                continue
            stored = stored_key(failure.item_key, partial(learner_key, secret, share.borrower_platform))
            if stored != failure.item_key:
                ledger.rename_failure(share_id=share.id, item_kind=str(failure.item_kind), item_key=failure.item_key,
                                      new_key=stored)
                changed += 1
    return changed


__all__ = ["FailedLearners", "SharePlan", "SyncOptions", "plan_share", "pseudonymise_failures", "published_shares"]
