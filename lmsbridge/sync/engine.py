"""The completion sync: bring each new completion on a borrower course back to the owner's course.

One run, for every published share (DESIGN.md rule 10; issue 6), in stages, each a module with one job:

1. **plan** (:mod:`~lmsbridge.sync.plan`, the ledger): the shares, each one's window and what it holds.
2. **read** (:mod:`~lmsbridge.sync.read`, the borrower): one completion report per platform when the profile
   names one, the learners who may have something new (``per-learner``, ``listing+report`` or ``report``),
   and one completion read each for those the ledger does not already hold.
3. **match** (:mod:`~lmsbridge.sync.match`, the owner's accounts): learners to owner accounts by the
   configured keys, against the owner course's participants first; lookups, accounts and enrolments when needed.
4. **write** (:mod:`~lmsbridge.sync.write`, the owner): one completion override per new completion, a
   learner's one after another (never two in flight for one learner and owner course), learners in parallel;
   **check** (:mod:`~lmsbridge.sync.aggregate`): the course completions that should follow, read back, and those
   a run found missing repaired by the next.
5. **commit** (:mod:`~lmsbridge.sync.commit`, the ledger): each share's results in one transaction, from the
   main thread; the cursor moves only when the share ended cleanly, to the run's start.

What several shares need (the courses' activities and their mapping, the owner course's participants) is read
once per run (:mod:`~lmsbridge.sync.courses`). Every call goes through its platform's pool
(:mod:`~lmsbridge.sync.pools`). Per-learner problems (``RecordError``) are kept in failed_items and retried; a
platform that stays unreachable after the transport's retries (``RetriableError``) stops only the work on
that platform. The summary carries what the run wrote, for the certificate groups after it
(``SyncSummary.writes``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lmsbridge.adapters import MoodleClient, PlatformProfile
from lmsbridge.config import Config, SyncConfig
from lmsbridge.errors import ConfigError, InvalidTokenError, LmsbridgeError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import NOTIFY_LOCK, SYNC_LOCK, Ledger, Share
from lmsbridge.sync import aggregate, courses, match, read
from lmsbridge.sync.clock import correct_cursor, cursor_at
from lmsbridge.sync.commit import commit
from lmsbridge.sync.confirm import CourseCompletionsSince
from lmsbridge.sync.context import SESSION_SETTINGS, Learner, ProgressListener, Quiet, RunContext, ShareProblem
from lmsbridge.sync.outcome import TAKEN, ShareOutcome, SyncSummary
from lmsbridge.sync.plan import SharePlan, SyncOptions, plan_share, pseudonymise_failures, published_shares
from lmsbridge.sync.pools import INTERRUPTED, PlatformUnreachable, Pools
from lmsbridge.sync.reason import UnexpectedError, cause
from lmsbridge.sync.reconcile import owner_holdings
from lmsbridge.sync.secret import MAX_USER_ID, check_secret, pseudonym_secret, rotate_secret
from lmsbridge.sync.write import write_completions

logger = logging.getLogger(__name__)

#: The turn the runs sharing a ledger take to read the completion reports (``Ledger.turn``).
REPORT_TURN = "sync-reports"
#: Why a share was left to another run, by what claiming it gave.
TAKEN_NOTES = {"busy": N_("sync.note.claimed"), "done": N_("sync.note.done_elsewhere")}


class CompletionSync:
    """One sync run over the published shares (see the module docstring)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        clients: Mapping[str, MoodleClient],
        profiles: Mapping[str, PlatformProfile],
        settings: SyncConfig,
        secret: bytes,
        options: SyncOptions | None = None,
        clock: Callable[[], datetime] | None = None,
        progress: ProgressListener | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.heartbeat = heartbeat or (lambda: None)
        self.clients = dict(clients)
        self.profiles = dict(profiles)
        self.settings = settings
        self.secret = secret
        self.options = options or SyncOptions()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.progress: ProgressListener = progress or Quiet()

    def run(self, started_at: datetime | None = None, *, run_id: int | None = None) -> SyncSummary:
        """Sync every share. With ``run_id`` (a run that writes), each share is claimed first: on a PostgreSQL
        ledger several runs split the shares that way (one run per share at a time), and a share another run
        holds or finished meanwhile is left to it (status ``taken``)."""
        started = started_at or self.clock()
        host_started = datetime.now(UTC)  # the platforms' Date headers are compared with the host's clock
        self._run_id, self._started = run_id, started
        summary = SyncSummary(started_at=started, dry_run=self.options.dry_run, full=self.options.full)
        calls_before = {name: client.call_counts() for name, client in self.clients.items()}
        planned_before = {name: len(client.planned) for name, client in self.clients.items()}
        published, shares = published_shares(self.ledger, self.options)
        summary.published = tuple(published)
        # A platform without a profile has no pool: its shares fail as not configured.
        platforms = {name: client for name, client in self.clients.items() if name in self.profiles}
        sizes = {name: self.options.concurrency or self.profiles[name].concurrency for name in platforms}
        pools = Pools(platforms, sizes, settings=SESSION_SETTINGS)
        ctx = RunContext(pools, self.profiles, self.settings, self.options, self.secret, self.progress)
        if self.options.use_report and not self.options.dry_run:
            ctx.confirm = CourseCompletionsSince(pools, self.profiles,
                                                 look_back=timedelta(minutes=self.settings.overlap_minutes),
                                                 turn=lambda: self.ledger.turn(REPORT_TURN))
        try:
            plans = [self._plan(share, started) for share in shares]
            self._read_reports(ctx, plans, summary)
            self.progress.shares(len(plans))
            workers = max(1, min(len(plans), max(4, 2 * max(sizes.values(), default=1))))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lmsbridge-share") as executor:
                futures = [executor.submit(self._sync_share, ctx, plan) for plan in plans]
                try:
                    for future in as_completed(futures):
                        plan, outcome = future.result()
                        if not self.options.dry_run and outcome.status != TAKEN:
                            at = cursor_at(pools, plan, started, host_started)
                            commit(self.ledger, plan, outcome, started=at, now=self.clock(), run_id=run_id)
                            correct_cursor(self.ledger, plan, outcome, at, now=self.clock())
                        self.heartbeat()
                        summary.shares.append(outcome)
                        self.progress.share_done(outcome)
                except BaseException:
                    for pending in futures:
                        pending.cancel()
                    pools.interrupt()
                    raise
            if ctx.confirm is not None:
                ctx.confirm.reset()
        finally:
            pools.shutdown()
            if run_id is not None:
                self.ledger.release_claims()
        summary.shares.sort(key=lambda s: s.share_id)
        summary.unreachable = {k: v for k, v in pools.unreachable.items() if v != INTERRUPTED}
        for name, client in self.clients.items():
            made = client.call_counts() - calls_before[name]
            summary.calls[name] = dict(sorted(made.items()))
            summary.planned.extend((name, call) for call in client.planned[planned_before[name]:])
        summary.finished_at = self.clock()
        return summary

    def _plan(self, share: Share, now: datetime) -> SharePlan:
        return plan_share(self.ledger, share, overlap=timedelta(minutes=self.settings.overlap_minutes),
                          full=self.options.full, secret=self.secret,
                          unmatched_retry=timedelta(hours=self.settings.unmatched_retry_hours), now=now)

    def _read_reports(self, ctx: RunContext, plans: list[SharePlan], summary: SyncSummary) -> None:
        """The completion reports, one run at a time among the runs sharing the ledger (a report's filters are
        kept per user on the site: another run's filter would change what this one reads). One that fails in a
        way nobody foresaw is not used (a warning): the shares are read learner by learner instead."""
        try:
            with self.ledger.turn(REPORT_TURN):
                read.read_reports(ctx, plans, summary.warnings)
        except Exception as exc:  # the listing path needs no report
            logger.warning("unexpected error reading the completion reports", exc_info=exc)
            summary.warnings.append(Message("sync.warning.reports_failed", cause=cause(UnexpectedError(exc))))
            for plan in plans:
                plan.report_rows = None

    def _sync_share(self, ctx: RunContext, plan: SharePlan) -> tuple[SharePlan, ShareOutcome]:
        share = plan.share
        out = ShareOutcome(share.id, owner=share.owner_platform, borrower=share.borrower_platform,
                           course=share.owner_course_shortname, pseudonym=plan.failed.pseudonym)
        if self._run_id is not None:
            claim = self.ledger.claim_share(share.id, run_id=self._run_id, run_started=self._started, now=self.clock())
            if claim != "claimed":
                out.status = TAKEN
                out.notes.append(Message(TAKEN_NOTES[claim]))
                return plan, out
            if self.ledger.supports_claims:  # another run may have moved the share on since it was planned
                fresh = self._plan(share, self._started)
                plan = replace(fresh, report_rows=plan.report_rows, report_visits=plan.report_visits)
        return plan, self._sync_claimed(ctx, plan, out)

    def _sync_claimed(self, ctx: RunContext, plan: SharePlan, out: ShareOutcome) -> ShareOutcome:
        share = plan.share
        for platform in (share.owner_platform, share.borrower_platform):
            if platform not in ctx.pools:
                out.fail(Message("sync.share.platform_not_configured", platform=platform), config=True)
                return out
        try:
            if share.borrower_course_id is None:
                out.status = "skipped"
                out.notes.append(Message("sync.note.link"))
                return out
            learners = read.candidates(ctx, plan, out)
            out.candidates = len(learners)
            if learners:
                self._bring_back(ctx, plan, learners, out)
        except PlatformUnreachable as exc:
            out.fail(exc.reason, platform=exc.platform)
        except (ConfigError, InvalidTokenError) as exc:
            out.fail(cause(exc), config=True)
        except LmsbridgeError as exc:
            out.fail(cause(exc))
        except Exception as exc:  # one share's surprise fails that share; the others finish
            logger.warning("unexpected error in share %s", share.id, exc_info=exc)
            out.fail(cause(UnexpectedError(exc)))
        return out

    @staticmethod
    def _bring_back(ctx: RunContext, plan: SharePlan, learners: list[Learner], out: ShareOutcome) -> None:
        """Match, read, match what is left, enrol, write: one share's learners through the stages."""
        share = plan.share
        owner_course = courses.owner_course_id(ctx, share)
        directory = courses.owner_directory(ctx, share.owner_platform, owner_course)
        owners, learners = match.known_owners(ctx, plan, learners, directory, out)
        if not learners:
            return
        mapped = courses.mapping(ctx, share, owner_course)
        out.owner_course = mapped.owner
        out.unmapped = list(mapped.mapping.unmapped)
        out.mapped_borrower_cmids = frozenset(mapped.mapping.pairs)
        if not mapped.mapping.pairs:
            raise ShareProblem(Message("sync.share.nothing_mapped"))
        to_read = read.choose_reads(ctx, plan, learners, owners.found, mapped, out)
        errors: list[LmsbridgeError] = []
        if ctx.options.full:  # what the owner holds now, not what the ledger remembers (issue 11 item 2)
            to_read = owner_holdings(ctx, plan, owner_course, to_read, mapped.mapping, owners.enrol, out, errors)
        pending = read.read_completions(ctx, plan, to_read, mapped.mapping, owners.enrol, out, errors)
        try:
            match.resolve_owners(ctx, share, [p for p in pending if p.owner is None], directory, out)
            ready = match.enrol(ctx, share, owner_course, [p for p in pending if p.owner is not None], directory, out)
            writes_began = datetime.now(UTC)
            writes = write_completions(ctx, share, owner_course, ready, out, errors)
            # The course completions that should follow, read back; last run's missing ones repaired.
            aggregate.check_courses(ctx, share, mapped.owner, aggregate.expected_after(plan, mapped.owner, writes, out),
                                    out, writes_began=writes_began)
            written = {w.item.learner.person.id for w in writes}
            due = [(lr, owners.found[lr.person.id].person) for lr in aggregate.due(plan, learners)
                   if lr.person.id not in written]
            aggregate.repair(ctx, plan, mapped.owner, [(lr, p) for lr, p in due if p is not None], out, errors)
        except LmsbridgeError as exc:
            errors.append(exc)
        if errors:
            raise errors[0]


def run_sync(
    *,
    config: Config,
    clients: Mapping[str, MoodleClient],
    ledger: Ledger,
    options: SyncOptions | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: ProgressListener | None = None,
    rotate_from: bytes | None = None,
    max_user_id: int = MAX_USER_ID,
) -> SyncSummary:
    """One ``sync run``: the secret is read first, then the run lock is taken (``LockedError`` at once when
    another run holds it), runs left ``running`` by a killed process are marked ``interrupted``, the ledger is
    re-keyed from ``rotate_from`` to the secret when asked (holding the notify lock too), a secret that is not
    the ledger's is refused, the run is logged in sync_runs, and every published share is synced."""
    options = options or SyncOptions()
    now = clock or (lambda: datetime.now(UTC))
    secret = pseudonym_secret(config.sync, config.source.parent if config.source else None)
    if options.dry_run:
        rotation = rotate_secret(ledger, old=rotate_from, new=secret, max_user_id=max_user_id,
                                 dry_run=True) if rotate_from else None
        # Not re-keyed yet: the ledger's pseudonyms are still the old secret's.
        ledger_secret = rotate_from if rotate_from and rotation and not rotation.already else secret
        check_secret(ledger, ledger_secret, adopt=False)
        summary = _dry_run(config=config, clients=clients, ledger=ledger, options=options, clock=now,
                           progress=progress, secret=ledger_secret)
        summary.rotation = rotation
        return summary
    # Runs on a PostgreSQL ledger share the lock and split the shares by claims; re-keying needs it alone.
    shared = ledger.supports_claims and rotate_from is None
    with (ledger.acquire_lock(SYNC_LOCK, shared=shared) as lock,
          ledger.acquire_lock(NOTIFY_LOCK) if rotate_from else contextlib.nullcontext()):
        ledger.mark_interrupted_runs(now())
        rotation = rotate_secret(ledger, old=rotate_from, new=secret, max_user_id=max_user_id,
                                 at=now()) if rotate_from else None
        check_secret(ledger, secret, adopt=True)
        pseudonymise_failures(ledger, secret)
        engine = CompletionSync(
            ledger=ledger, clients=clients, profiles=config.platforms, settings=config.sync, secret=secret,
            options=options, clock=now, progress=progress, heartbeat=lock.heartbeat,
        )
        started = now()
        run_id = ledger.start_run(started).id
        try:
            summary = engine.run(started, run_id=run_id)
        except BaseException:
            ledger.finish_run(run_id, status="failed", counts={"interrupted": True}, finished_at=now())
            raise
        summary.run_id = run_id
        summary.rotation = rotation
        ledger.finish_run(run_id, status=summary.run_status, counts=summary.counts(),
                          finished_at=summary.finished_at or now())
        return summary


def _dry_run(*, config: Config, clients: Mapping[str, MoodleClient], ledger: Ledger, options: SyncOptions,
             clock: Callable[[], datetime], progress: ProgressListener | None, secret: bytes) -> SyncSummary:
    """``--dry-run`` changes nothing anywhere (issue 11 item 9): no lock row, no run row, nothing committed to
    the ledger, no write on a platform (the clients only plan them), and no completion report: reading one
    means setting or resetting its filters on the site, which are state there. It reads learner by learner."""
    reports = sorted(name for name, profile in config.platforms.items() if profile.completion_report_id)
    engine = CompletionSync(ledger=ledger, clients=clients, profiles=config.platforms, settings=config.sync,
                            secret=secret, options=replace(options, use_report=False), clock=clock,
                            progress=progress)
    summary = engine.run(clock())
    if options.use_report and reports:
        summary.warnings.append(Message("sync.warning.dry_run_no_report", platforms=", ".join(reports)))
    return summary


__all__ = ["CompletionSync", "ProgressListener", "SyncOptions", "pseudonym_secret", "run_sync"]
