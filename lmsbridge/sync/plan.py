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
from datetime import UTC, datetime, timedelta
from functools import partial

from lmsbridge.adapters import CompletionRow
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.outcome import KIND_LEARNER, KIND_UNMATCHED, LEARNER_KINDS, REPAIR_CODES, stored_key


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
    #: unmatched learners looked up on the owner within the retry interval: not looked up again this run
    waiting: frozenset[str] = frozenset()

    def waits(self, userid: int) -> bool:
        return self.pseudonym(userid) in self.waiting

    def due(self) -> bool:
        """Is any failed learner to be tried again in this run? (unmatched ones within the retry interval wait)"""
        return any(key not in self.waiting for keys in self.keys.values() for key in keys)

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
    #: Do the report rows show every learner who visited since ``since``? (a report with the visits filter)
    report_visits: bool = False
    cursor: datetime | None = None  # the share's cursor as stored
    #: The platform's time when the stored cursor was found ahead of it (the share is then read in full and
    #: its cursor corrected after the run: ``lmsbridge.sync.cursor.ahead``).
    cursor_ahead_of: datetime | None = None

    def found_ahead(self, platform_now: datetime | None) -> bool:
        """Read the share in full when its cursor is ahead of the platform's clock; says whether it was."""
        if self.cursor_ahead_of is None and cursor_rules.ahead(self.cursor, platform_now):
            assert platform_now is not None
            self.cursor_ahead_of = platform_now
            self.since = None
        return self.cursor_ahead_of is not None
    #: borrower pseudonyms of the learners whose owner course completion did not follow (repaired this run)
    repair: frozenset[str] = frozenset()


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


def plan_share(ledger: Ledger, share: Share, *, overlap: timedelta, full: bool, secret: bytes,
               unmatched_retry: timedelta = timedelta(0), now: datetime | None = None) -> SharePlan:
    cursor = ledger.get_cursor(share.id)
    since_at = cursor_rules.since(cursor, overlap, full=full)
    recorded: dict[str, set[str]] = {}
    for row in ledger.completions(share.id):
        recorded.setdefault(row.learner_key, set()).add(row.owner_activity)
    pseudonym = partial(learner_key, secret, share.borrower_platform)
    learners: dict[str, set[str]] = {}
    failure_keys: set[tuple[str, str]] = set()
    repair: set[str] = set()
    waiting: set[str] = set()
    retry_from = (now or datetime.now(UTC)) - unmatched_retry
    for failure in ledger.list_failures(share.id):
        kind, key = str(failure.item_kind), failure.item_key
        if kind in LEARNER_KINDS:
            key = stored_key(key, pseudonym)  # a dry run over a ledger from before pseudonyms
            learners.setdefault(kind, set()).add(key)
            if kind == KIND_LEARNER and Message.from_stored(failure.reason).code in REPAIR_CODES:
                repair.add(key)
            if kind == KIND_UNMATCHED and not full and failure.last_failed_at > retry_from:
                waiting.add(key)
        failure_keys.add((kind, key))
    failed = FailedLearners({kind: frozenset(keys) for kind, keys in learners.items()}, pseudonym, frozenset(waiting))
    return SharePlan(share, since_at, recorded, failed, failure_keys, cursor=cursor, repair=frozenset(repair))


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
