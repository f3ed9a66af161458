"""The completion sync: bring each new completion on a borrower course back to the owner's course.

One run, for every published share (DESIGN.md rule 10; issue 6):

1. **Who may have changed.** Three ways, shown per share as ``path``:

   * ``per-learner`` (no completion report in the borrower platform's profile, or it cannot be used): the
     borrower course's participants are listed (paged, with ``lastcourseaccess``); learners who visited
     since the cursor (minus the overlap), or failed last time, are read. A first or ``--full`` run reads
     every learner. A failed learner no longer in the listing has its failure cleared.
   * ``listing+report`` (incremental run, the profile names a report): the same listing, *and* ONE paged
     report read per platform-run filtered to course completions since the cursor
     (``core_reportbuilder_set_filters``, reset after). The candidates are the union: the listing sees
     visits, so a learner who did one activity of two (course not complete) is read; the report sees course
     completions set without a visit (Moodle's cron, a teacher), which ``lastcourseaccess`` does not show.
     The report alone would miss the first kind for good when the course has no completion criteria. A
     learner chosen by both is read once, with the listing's identity fields; one only in the report keeps
     the report's columns (looked up by id when it has none). An activity completion set by a teacher
     without a visit, course still incomplete, is seen by neither: the nightly ``--full`` run catches it.
   * ``report`` (first or ``--full`` run, the profile names a report): ONE unfiltered paged report read per
     platform-run instead of the listings; "Student progress" tells which learners have more done than the
     ledger holds, and only they are read.
2. **Mapping and identity, once per share per run.** Borrower activities map to owner activities by
   idnumber, else by name (:mod:`lmsbridge.sync.mapping`); learners map to owner accounts by the configured
   keys (:mod:`lmsbridge.sync.identity`), first against the owner course's own participants, then by
   ``core_user_get_users_by_field`` for the few left.
3. **Read and write.** One ``core_completion_get_activities_completion_status`` per learner that may have
   changed; one ``core_completion_override_activity_completion_status`` per new completion (Moodle then
   re-aggregates the owner's course completion at once), after enrolling the learner when allowed.
4. **Ledger.** Each share's results (completions, failed items, the cursor) are committed from the main
   thread in one transaction; the cursor moves only when the share ended cleanly, to the run's start.

Per-learner problems (``RecordError``) are kept in failed_items and retried; a platform that stays
unreachable after the transport's retries (``RetriableError``) stops only the work on that platform.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from lmsbridge.adapters import MoodleClient, PlatformProfile
from lmsbridge.adapters.models import ActivityStatus, EnrolledUser, User, from_unix
from lmsbridge.config import Config, SyncConfig
from lmsbridge.errors import (
    AccessDeniedError,
    ConfigError,
    InvalidTokenError,
    LmsbridgeError,
    MoodleError,
    NotFoundError,
    ProtocolError,
    RecordError,
)
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync import cursor as cursor_rules
from lmsbridge.sync.identity import Directory, Match, Person, learner_key, lookup_values, match
from lmsbridge.sync.mapping import Activity, ActivityMapping, map_activities
from lmsbridge.sync.outcome import (
    KIND_ACTIVITY,
    KIND_LEARNER,
    KIND_SHARE,
    KIND_UNMATCHED,
    Failure,
    ShareOutcome,
    SyncSummary,
    Written,
)
from lmsbridge.sync.pools import INTERRUPTED, Memo, PlatformUnreachable, Pools
from lmsbridge.sync.reason import cause
from lmsbridge.sync.report import CompletionRow, completed_since_filter, implied_done, parse_rows, rows_for_course
from lmsbridge.sync.secret import pseudonym_secret

#: Fields asked of the borrower's participant listing (without ``userfields`` Moodle computes every default
#: field, which is costly: REFERENCE.md §2 core_enrol_get_enrolled_users).
BORROWER_FIELDS: tuple[str, ...] = (
    "id", "username", "idnumber", "email", "firstname", "lastname", "lastcourseaccess", "roles",
)
OWNER_FIELDS: tuple[str, ...] = ("id", "username", "idnumber", "email")
REPORT_PAGE_SIZE = 1000
ACTOR = "lmsbridge sync"


class ShareProblem(LmsbridgeError):
    """Something about one share stops its sync (course not found, nothing to map …)."""

    code = "share"

    def __init__(self, reason: Message) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    concurrency: int | None = None
    share_ids: tuple[str, ...] = ()
    use_report: bool = True


class ProgressListener(Protocol):
    def shares(self, total: int) -> None: ...

    def share_done(self, outcome: ShareOutcome) -> None: ...

    def learner_read(self) -> None: ...


class _Quiet:
    def shares(self, total: int) -> None:
        return None

    def share_done(self, outcome: ShareOutcome) -> None:
        return None

    def learner_read(self) -> None:
        return None


@dataclass(frozen=True)
class Learner:
    """A borrower-side learner who may have something new."""

    person: Person
    last_access: int = 0
    progress: float | None = None
    failed_before: bool = False

    @property
    def item_key(self) -> str:
        return f"user:{self.person.id}"


@dataclass
class SharePlan:
    """What the ledger says about a share before the run (read in the main thread)."""

    share: Share
    since: datetime | None
    recorded: dict[str, set[str]]
    failed_learners: set[int]
    failure_keys: set[tuple[str, str]]
    report_rows: list[CompletionRow] | None = None


@dataclass
class _Pending:
    learner: Learner
    match: Match
    new: list[tuple[ActivityStatus, Activity]]
    owner: Person | None = None
    key: str | None = None
    needs_enrol: bool = False


@dataclass
class _Listing:
    """What one read of the borrower course's participants says."""

    chosen: dict[int, Learner] = field(default_factory=dict)  # visited since the cursor, or failed before
    students: dict[int, EnrolledUser] = field(default_factory=dict)  # every learner listed
    staff: set[int] = field(default_factory=set)  # listed without the student role


@dataclass
class _Mapped:
    mapping: ActivityMapping
    borrower_tracked: int


def _enrolled_person(user: EnrolledUser) -> Person:
    return Person(
        id=user.id,
        username=user.username,
        idnumber=user.idnumber,
        email=user.email,
        firstname=user.firstname,
        lastname=user.lastname,
        fullname=user.fullname,
    )


def _user_person(user: User) -> Person:
    return Person(
        id=user.id,
        username=user.username,
        idnumber=user.idnumber,
        email=user.email,
        firstname=user.firstname,
        lastname=user.lastname,
        fullname=user.fullname,
        suspended=user.suspended,
    )


def _warning_cause(exc: BaseException) -> Message:
    """An error's message inside a warning that names the platform already."""
    return cause(exc).unplaced()


class CompletionSync:
    """One sync run over the given shares (see the module docstring)."""

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
        self.progress: ProgressListener = progress or _Quiet()
        self._memo = Memo()
        self._dir_lock = threading.Lock()
        for client in self.clients.values():
            # Report dates are rendered in the caller's timezone and language (INDEX.md): ask for UTC, English.
            client.transport.settings.setdefault("timezone", "UTC")
            client.transport.settings.setdefault("lang", "en")

    # -- the run ------------------------------------------------------------------------------------------

    def shares(self) -> list[Share]:
        shares = self.ledger.list_shares(state="published")
        if self.options.share_ids:
            wanted = set(self.options.share_ids)
            unknown = wanted - {s.id for s in shares}
            if unknown:
                raise ConfigError(Message("sync.no_published_share", ids=", ".join(sorted(unknown))), key="--share")
            shares = [s for s in shares if s.id in wanted]
        return shares

    def run(self, started_at: datetime | None = None) -> SyncSummary:
        started = started_at or self.clock()
        summary = SyncSummary(started_at=started, dry_run=self.options.dry_run, full=self.options.full)
        calls_before = {name: Counter(c.transport.calls) for name, c in self.clients.items()}
        planned_before = {name: len(c.planned) for name, c in self.clients.items()}
        shares = self.shares()
        sizes = {
            name: self.options.concurrency or (self.profiles[name].concurrency if name in self.profiles else 4)
            for name in self.clients
        }
        pools = Pools(self.clients, sizes)
        try:
            plans = [self._plan(share) for share in shares]
            self._read_reports(plans, pools, summary)
            self.progress.shares(len(plans))
            workers = max(1, min(len(plans), max(4, 2 * max(sizes.values(), default=1))))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lmsbridge-share") as executor:
                futures: dict[Future[ShareOutcome], SharePlan] = {
                    executor.submit(self._sync_share, plan, pools): plan for plan in plans
                }
                try:
                    for future in as_completed(futures):
                        plan = futures[future]
                        outcome = future.result()
                        self._commit(plan, outcome, started)
                        self.heartbeat()
                        summary.shares.append(outcome)
                        self.progress.share_done(outcome)
                except BaseException:
                    for pending in futures:
                        pending.cancel()
                    for pool in pools.pools.values():
                        pool.mark_down(INTERRUPTED)
                    raise
        finally:
            pools.shutdown()
        summary.shares.sort(key=lambda s: s.share_id)
        summary.unreachable = {k: v for k, v in pools.unreachable.items() if v != INTERRUPTED}
        for name, client in self.clients.items():
            diff = Counter(client.transport.calls)
            diff.subtract(calls_before[name])
            summary.calls[name] = {fn: n for fn, n in sorted(diff.items()) if n > 0}
            summary.planned.extend((name, call) for call in client.planned[planned_before[name]:])
        summary.finished_at = self.clock()
        return summary

    def _plan(self, share: Share) -> SharePlan:
        overlap = timedelta(minutes=self.settings.overlap_minutes)
        since_at = cursor_rules.since(self.ledger.get_cursor(share.id), overlap, full=self.options.full)
        recorded: dict[str, set[str]] = {}
        for row in self.ledger.completions(share.id):
            recorded.setdefault(row.learner_key, set()).add(row.owner_activity)
        failed_learners: set[int] = set()
        failure_keys: set[tuple[str, str]] = set()
        for failure in self.ledger.list_failures(share.id):
            kind, key = str(failure.item_kind), failure.item_key
            failure_keys.add((kind, key))
            if kind in (KIND_LEARNER, KIND_UNMATCHED) and key.startswith("user:") and key[5:].isdigit():
                failed_learners.add(int(key[5:]))
        return SharePlan(share, since_at, recorded, failed_learners, failure_keys)

    # -- the report path ------------------------------------------------------------------------------------

    def _read_reports(self, plans: Sequence[SharePlan], pools: Pools, summary: SyncSummary) -> None:
        """One paged report read per borrower platform that names a completion report."""
        if not self.options.use_report:
            return
        by_platform: dict[str, list[SharePlan]] = {}
        for plan in plans:
            platform = plan.share.borrower_platform
            profile = self.profiles.get(platform)
            if profile and profile.completion_report_id and platform in self.clients and plan.share.borrower_course_id:
                by_platform.setdefault(platform, []).append(plan)
        for platform, group in by_platform.items():
            reportid = self.profiles[platform].completion_report_id
            assert reportid is not None
            sinces = [p.since for p in group]
            since_at = None if any(s is None for s in sinces) else min(s for s in sinces if s is not None)
            try:
                headers, rows = self._fetch_report(pools, platform, reportid, since_at, summary.warnings)
            except PlatformUnreachable:
                continue  # the shares fail fast on the same platform and say so
            except (AccessDeniedError, NotFoundError, InvalidTokenError, ProtocolError, MoodleError) as exc:
                summary.warnings.append(Message("sync.warning.report_unusable", platform=platform, report=reportid,
                                               cause=_warning_cause(exc)))
                continue
            parsed, problems = parse_rows(headers, rows)
            summary.warnings.extend(Message("sync.warning.report_row", platform=platform, report=reportid, problem=p)
                                    for p in problems[:5])
            if len(problems) > 5:
                summary.warnings.append(Message("sync.warning.report_more", platform=platform, report=reportid,
                                               n=len(problems) - 5))
            for plan in group:
                plan.report_rows = rows_for_course(
                    parsed, plan.share.borrower_course_id, plan.share.borrower_course_shortname
                )

    def _fetch_report(
        self, pools: Pools, platform: str, reportid: int, since_at: datetime | None, warnings: list[Message]
    ) -> tuple[list[str], list[list[str]]]:
        """Page through the report (perpage 1000) until the rows run out or ``totalrowcount`` is reached."""
        pool = pools[platform]
        headers: list[str] = []
        rows: list[list[str]] = []
        filtered = False
        try:
            if since_at is not None:
                values = completed_since_filter(since_at)
                pool.call(lambda c: c.set_report_filters(reportid, values))
                filtered = True
            else:
                # A filter left behind by an interrupted run would hide rows from an unfiltered read.
                pool.call(lambda c: c.reset_report_filters(reportid))
            page = 0
            while True:
                data = pool.call(partial(MoodleClient.retrieve_report, reportid=reportid, page=page, perpage=REPORT_PAGE_SIZE))
                headers = headers or list(data.headers)
                rows.extend(data.rows)
                if not data.rows or len(data.rows) < REPORT_PAGE_SIZE or len(rows) >= data.totalrowcount:
                    break
                page += 1
        finally:
            if filtered and pool.down is None:
                try:
                    pool.call(lambda c: c.reset_report_filters(reportid))
                except LmsbridgeError as exc:
                    warnings.append(Message("sync.warning.filter_reset", platform=platform, report=reportid,
                                           cause=_warning_cause(exc)))
        return headers, rows

    # -- one share -------------------------------------------------------------------------------------------

    def _sync_share(self, plan: SharePlan, pools: Pools) -> ShareOutcome:
        share = plan.share
        out = ShareOutcome(
            share.id,
            owner=share.owner_platform,
            borrower=share.borrower_platform,
            course=share.owner_course_shortname,
        )
        for platform in (share.owner_platform, share.borrower_platform):
            if platform not in self.clients:
                out.fail(Message("sync.share.platform_not_configured", platform=platform), config=True)
                return out
        try:
            if share.borrower_course_id is None:
                out.status = "skipped"
                out.notes.append(Message("sync.note.link"))
                return out
            if plan.report_rows is not None and plan.since is not None:
                learners = self._listing_and_report_candidates(plan, out, pools)
            elif plan.report_rows is not None:
                learners = self._report_candidates(plan, out, pools)
            else:
                learners = self._listing_candidates(plan, out, pools)
            out.candidates = len(learners)
            if learners:
                self._bring_back(plan, learners, out, pools)
        except PlatformUnreachable as exc:
            out.fail(exc.reason, platform=exc.platform)
        except (ConfigError, InvalidTokenError) as exc:
            out.fail(cause(exc), config=True)
        except LmsbridgeError as exc:
            out.fail(cause(exc))
        return out

    def _read_listing(self, plan: SharePlan, out: ShareOutcome, pools: Pools) -> _Listing:
        """The borrower course's participants (paged): who visited since the cursor or failed last time."""
        share = plan.share
        courseid = share.borrower_course_id
        assert courseid is not None
        page_size = self.settings.page_size
        users = pools[share.borrower_platform].call(
            lambda c: c.enrolled_users(courseid, page_size=page_size, userfields=BORROWER_FIELDS)
        )
        out.listed = len(users)
        student_role = self.profiles[share.borrower_platform].student_role_id if share.borrower_platform in self.profiles else 5
        listing = _Listing()
        for user in users:
            if user.roles and all(role.roleid != student_role for role in user.roles):
                listing.staff.add(user.id)  # teachers and other staff of the borrower course
                continue
            listing.students[user.id] = user
            failed = user.id in plan.failed_learners
            verdict = cursor_rules.should_read(
                last_access=user.lastcourseaccess, since_at=plan.since, failed_before=failed
            )
            if verdict.read:
                listing.chosen[user.id] = Learner(_enrolled_person(user), user.lastcourseaccess, None, failed)
        return listing

    def _clear_gone(self, plan: SharePlan, out: ShareOutcome, present: set[int]) -> None:
        """Failed learners no longer among the borrower course's learners: nothing left to retry."""
        for gone in sorted(plan.failed_learners - present):
            out.cleared.update({(KIND_LEARNER, f"user:{gone}"), (KIND_UNMATCHED, f"user:{gone}")})
            out.notes.append(Message("sync.note.gone", id=gone))

    def _listing_candidates(self, plan: SharePlan, out: ShareOutcome, pools: Pools) -> list[Learner]:
        listing = self._read_listing(plan, out, pools)
        self._clear_gone(plan, out, set(listing.students))
        return [listing.chosen[uid] for uid in sorted(listing.chosen)]

    def _listing_and_report_candidates(self, plan: SharePlan, out: ShareOutcome, pools: Pools) -> list[Learner]:
        """Incremental run with a report: the listing's choice (visited since the cursor, or failed before) ∪
        the filtered report's course completions since the cursor (set by Moodle's cron or a teacher, without
        a visit the listing could see). Each learner once; the listing's identity fields where it has them."""
        assert plan.since is not None
        out.path = "listing+report"
        listing = self._read_listing(plan, out, pools)
        chosen = dict(listing.chosen)
        from_report: dict[int, Learner] = {}
        for row in plan.report_rows or []:
            uid = row.userid
            if uid is None or uid in chosen or uid in listing.staff:
                continue  # no id; already chosen by the listing (read once); not a learner of the course
            if not cursor_rules.completed_since(row.time_completed, plan.since):
                continue
            user = listing.students.get(uid)
            if user is not None:
                learner = Learner(_enrolled_person(user), user.lastcourseaccess, row.progress, uid in plan.failed_learners)
            else:  # in the report, not (or no longer) in the listing: the report's identity columns
                person = Person(id=uid, username=row.username, idnumber=row.idnumber, email=row.email,
                                fullname=row.fullname)
                last = int(row.last_access.timestamp()) if row.last_access else 0
                learner = Learner(person, last, row.progress, uid in plan.failed_learners)
            from_report[uid] = learner
        need = sorted(uid for uid, lr in from_report.items()
                      if not (lr.person.username or lr.person.idnumber or lr.person.email))
        if need:
            users = pools[plan.share.borrower_platform].call(lambda c: c.users_by_field("id", need))
            found = {u.id: u for u in users}
            for uid in need:
                before = from_report.pop(uid)
                if uid in found:
                    from_report[uid] = Learner(_user_person(found[uid]), before.last_access, before.progress,
                                               before.failed_before)
        self._clear_gone(plan, out, set(listing.students) | set(from_report))
        chosen.update(from_report)
        return [chosen[uid] for uid in sorted(chosen)]

    def _report_candidates(self, plan: SharePlan, out: ShareOutcome, pools: Pools) -> list[Learner]:
        share = plan.share
        rows = plan.report_rows or []
        out.path = "report"
        out.listed = len(rows)
        chosen: dict[int, Learner] = {}
        for row in rows:
            if row.userid is None:
                continue
            failed = row.userid in plan.failed_learners
            if plan.since is None:
                wanted = (row.progress or 0.0) > 0 or row.completed is True or failed
            else:
                wanted = cursor_rules.completed_since(row.time_completed, plan.since) or failed
            if wanted:
                person = Person(id=row.userid, username=row.username, idnumber=row.idnumber, email=row.email,
                                fullname=row.fullname)
                last = int(row.last_access.timestamp()) if row.last_access else 0
                chosen[row.userid] = Learner(person, last, row.progress, failed)
        seen = {row.userid for row in rows if row.userid is not None}
        # Failed learners outside a filtered report, and rows without identity columns: ask for them by id.
        need = {uid for uid in plan.failed_learners if uid not in chosen and (plan.since is not None or uid in seen)}
        need |= {uid for uid, lr in chosen.items() if not (lr.person.username or lr.person.idnumber or lr.person.email)}
        if plan.since is None:
            for gone in plan.failed_learners - seen:
                out.cleared.update({(KIND_LEARNER, f"user:{gone}"), (KIND_UNMATCHED, f"user:{gone}")})
        if need:
            users = pools[share.borrower_platform].call(lambda c: c.users_by_field("id", sorted(need)))
            found = {u.id: u for u in users}
            for uid in sorted(need):
                user = found.get(uid)
                if user is None:
                    chosen.pop(uid, None)
                    out.cleared.update({(KIND_LEARNER, f"user:{uid}"), (KIND_UNMATCHED, f"user:{uid}")})
                    continue
                before = chosen.get(uid)
                chosen[uid] = Learner(
                    _user_person(user),
                    before.last_access if before else 0,
                    before.progress if before else None,
                    uid in plan.failed_learners,
                )
        return [chosen[uid] for uid in sorted(chosen)]

    # -- mapping, owner directory (cached per run) ------------------------------------------------------------

    def _owner_course(self, share: Share, pools: Pools) -> int:
        if share.owner_course_id is not None:
            return share.owner_course_id
        shortname = share.owner_course_shortname

        def find() -> int:
            course = pools[share.owner_platform].call(lambda c: c.course(shortname))
            if course is None:
                raise ShareProblem(Message("sync.share.owner_course_not_found", shortname=shortname,
                                             platform=share.owner_platform))
            return course.id

        return self._memo.get(("course", share.owner_platform, shortname), find)

    def _activities(self, platform: str, courseid: int, pools: Pools) -> list[Activity]:
        def read() -> list[Activity]:
            pool = pools[platform]
            sections = pool.call(lambda c: c.contents(courseid))
            modules = [m for section in sections for m in section.modules]
            tracked = [m for m in modules if m.completion > 0]
            # Only core_course_get_course_module gives the idnumber (get_contents does not).
            futures = [pool.submit(partial(MoodleClient.course_module, cmid=m.id)) for m in tracked]
            idnumbers = {m.id: f.result().idnumber for m, f in zip(tracked, futures, strict=True)}
            return [
                Activity(m.id, m.name, idnumbers.get(m.id, ""), m.modname, m.completion > 0)
                for m in modules
            ]

        return self._memo.get(("activities", platform, courseid), read)

    def _mapping(self, share: Share, owner_course: int, pools: Pools) -> _Mapped:
        borrower_course = share.borrower_course_id
        assert borrower_course is not None

        def build() -> _Mapped:
            borrower = self._activities(share.borrower_platform, borrower_course, pools)
            owner = self._activities(share.owner_platform, owner_course, pools)
            return _Mapped(map_activities(borrower, owner), sum(1 for a in borrower if a.tracked))

        return self._memo.get(("mapping", share.id), build)

    def _owner_directory(self, platform: str, courseid: int, pools: Pools) -> Directory:
        page_size = self.settings.page_size

        def read() -> Directory:
            users = pools[platform].call(
                lambda c: c.enrolled_users(courseid, page_size=page_size, userfields=OWNER_FIELDS)
            )
            return Directory.of(_enrolled_person(u) for u in users)

        return self._memo.get(("owner-participants", platform, courseid), read)

    # -- read, match, write -------------------------------------------------------------------------------------

    def _bring_back(self, plan: SharePlan, learners: list[Learner], out: ShareOutcome, pools: Pools) -> None:
        share = plan.share
        borrower_course = share.borrower_course_id
        assert borrower_course is not None
        owner_course = self._owner_course(share, pools)
        directory = self._owner_directory(share.owner_platform, owner_course, pools)
        keys = list(self.settings.identity_keys)

        # Who is who on the owner side: the owner course's participants first (no extra call).
        found: dict[int, Match] = {}
        with self._dir_lock:
            for learner in learners:
                found[learner.person.id] = match(learner.person, directory, keys)
        enrol_needed: set[int] = set()
        still_unmatched: set[int] = set()
        # A learner left unmatched last time had something to bring back: look them up before reading.
        retry = [lr for lr in learners if not found[lr.person.id].found
                 and (KIND_UNMATCHED, lr.item_key) in plan.failure_keys]
        if retry:
            looked = self._lookup_owners(share, [lr.person for lr in retry], pools)
            for learner in retry:
                hit = looked.get(learner.person.id, Match(None))
                if hit.person is None or hit.person.suspended:
                    out.unmatched += 1
                    reason = Message("sync.failure.owner_suspended") if hit.person else hit.reason
                    out.failures.append(Failure(KIND_UNMATCHED, learner.item_key, reason))
                    still_unmatched.add(learner.person.id)
                    continue
                found[learner.person.id] = hit
                enrol_needed.add(learner.person.id)
        learners = [lr for lr in learners if lr.person.id not in still_unmatched]
        if not learners:
            return

        mapped = self._mapping(share, owner_course, pools)
        mapping = mapped.mapping
        out.unmapped = list(mapping.unmapped)
        out.mapped_borrower_cmids = frozenset(mapping.pairs)
        if not mapping.pairs:
            raise ShareProblem(Message("sync.share.nothing_mapped"))
        owner_cmids = {str(cmid) for cmid in mapping.owner_cmids}

        to_read: list[tuple[Learner, Match, str | None]] = []
        for learner in learners:
            hit = found[learner.person.id]
            key = learner_key(self.secret, share.owner_platform, hit.person.id) if hit.person else None
            if key is not None:
                recorded = plan.recorded.get(key, set()) & owner_cmids
                if recorded >= owner_cmids:
                    out.already += 1
                    self._clear_learner(out, learner)
                    continue
                implied = implied_done(learner.progress, mapped.borrower_tracked)
                if implied is not None and not learner.failed_before and implied <= len(recorded):
                    continue  # the report shows no more done than the ledger already holds
            to_read.append((learner, hit, key))

        borrower_pool = pools[share.borrower_platform]
        futures = [
            (learner, hit, key,
             borrower_pool.submit(partial(MoodleClient.activities_completion, courseid=borrower_course,
                                          userid=learner.person.id)))
            for learner, hit, key in to_read
        ]
        share_error: LmsbridgeError | None = None
        pending: list[_Pending] = []
        for learner, hit, key, future in futures:
            try:
                statuses = future.result()
            except RecordError as exc:
                out.failures.append(Failure(KIND_LEARNER, learner.item_key,
                                            Message("sync.failure.reading", cause=cause(exc))))
                continue
            except LmsbridgeError as exc:
                share_error = share_error or exc
                continue
            out.read += 1
            self.progress.learner_read()
            recorded = plan.recorded.get(key, set()) if key else set()
            new = [
                (status, mapping.pairs[status.cmid])
                for status in statuses
                if status.complete and status.cmid in mapping.pairs
                and str(mapping.pairs[status.cmid].cmid) not in recorded
            ]
            if not new:
                self._clear_learner(out, learner)
                continue
            pending.append(_Pending(learner, hit, new, hit.person, key, learner.person.id in enrol_needed))

        try:
            self._resolve_owners(share, [p for p in pending if p.owner is None], directory, out, pools)
            ready = self._enrol(share, owner_course, [p for p in pending if p.owner is not None], directory, out, pools)
            self._write(share, ready, out, pools)
        except LmsbridgeError as exc:
            share_error = share_error or exc
        if share_error is not None:
            raise share_error

    def _clear_learner(self, out: ShareOutcome, learner: Learner) -> None:
        out.cleared.update({(KIND_LEARNER, learner.item_key), (KIND_UNMATCHED, learner.item_key)})

    def _lookup_owners(self, share: Share, people: list[Person], pools: Pools) -> dict[int, Match]:
        """Look learners up on the owner site by each key in order (``core_user_get_users_by_field``, batched);
        emails are asked for in their exact and lower-case forms, since Moodle compares them with case."""
        pool = pools[share.owner_platform]
        result: dict[int, Match] = {}
        for key in self.settings.identity_keys:
            still = [p for p in people if p.id not in result]
            values = lookup_values(still, key)
            if not values:
                continue
            users = pool.call(partial(MoodleClient.users_by_field, field=key, values=values))
            found = Directory.of(_user_person(u) for u in users)
            for person in still:
                hit = match(person, found, [key])
                if hit.person is not None:
                    result[person.id] = hit
        return result

    def _resolve_owners(
        self, share: Share, unresolved: list[_Pending], directory: Directory, out: ShareOutcome, pools: Pools
    ) -> None:
        """Learners with something new who are not among the owner course's participants."""
        if not unresolved:
            return
        looked = self._lookup_owners(share, [p.learner.person for p in unresolved], pools)
        left: list[_Pending] = []
        for item in unresolved:
            hit = looked.get(item.learner.person.id)
            if hit is None or hit.person is None:
                left.append(item)
            elif hit.person.suspended:
                out.failures.append(Failure(KIND_LEARNER, item.learner.item_key,
                                            Message("sync.failure.owner_suspended")))
            else:
                item.owner, item.match = hit.person, hit
                item.needs_enrol = hit.person.id not in directory
        if not left:
            return
        if self.settings.unmatched == "skip":
            for item in left:
                out.unmatched += 1
                out.failures.append(Failure(KIND_UNMATCHED, item.learner.item_key, item.match.reason))
            return
        self._create_owners(share, left, out, pools)

    def _create_owners(self, share: Share, left: list[_Pending], out: ShareOutcome, pools: Pools) -> None:
        """Policy ``create``: a manual account on the owner site, with the learner's own idnumber and email."""
        pool = pools[share.owner_platform]
        for item in left:
            person = item.learner.person
            if not (person.firstname and person.lastname and person.email):
                users = pools[share.borrower_platform].call(
                    partial(MoodleClient.users_by_field, field="id", values=[person.id])
                )
                if users:
                    person = _user_person(users[0])
            username = (person.email or person.username).strip().lower()
            record = {
                "username": username,
                "firstname": person.firstname or person.fullname or username,
                "lastname": person.lastname or "-",
                "email": person.email,
                "idnumber": person.idnumber,
                "createpassword": 1,
            }
            try:
                created = pool.call(partial(MoodleClient.create_users, users=[record]))
            except RecordError as exc:
                out.failures.append(Failure(KIND_LEARNER, item.learner.item_key,
                                            Message("sync.failure.creating", cause=cause(exc))))
                continue
            out.created += 1
            if not created:  # dry run: planned only, no id to write with
                out.planned_writes += len(item.new)
                continue
            item.owner = Person(id=created[0].id, username=created[0].username, idnumber=person.idnumber,
                                email=person.email)
            item.needs_enrol = True

    def _enrol(
        self, share: Share, owner_course: int, items: list[_Pending], directory: Directory, out: ShareOutcome,
        pools: Pools,
    ) -> list[_Pending]:
        """Enrol who is not yet in the owner course (when allowed); returns the items ready to write."""
        ready = [p for p in items if not p.needs_enrol]
        waiting = [p for p in items if p.needs_enrol]
        if not waiting:
            return ready
        if not self.settings.enrol_missing:
            for item in waiting:
                out.failures.append(Failure(KIND_LEARNER, item.learner.item_key,
                                            Message("sync.failure.not_enrolled")))
            return ready
        roleid = self.profiles[share.owner_platform].student_role_id if share.owner_platform in self.profiles else 5
        pool = pools[share.owner_platform]

        def enrolment(item: _Pending) -> dict[str, int]:
            assert item.owner is not None
            return {"roleid": roleid, "userid": item.owner.id, "courseid": owner_course}

        try:
            pool.call(lambda c: c.enrol([enrolment(p) for p in waiting]))
            done = waiting
        except RecordError:
            # enrol_manual_enrol_users is all-or-nothing: find the one that spoils the batch.
            done = []
            for item in waiting:
                try:
                    pool.call(partial(MoodleClient.enrol, enrolments=[enrolment(item)]))
                    done.append(item)
                except RecordError as exc:
                    out.failures.append(Failure(KIND_LEARNER, item.learner.item_key,
                                                Message("sync.failure.enrolling", cause=cause(exc))))
        out.enrolled += len(done)
        if not self.options.dry_run:
            with self._dir_lock:
                directory.add(p.owner for p in done if p.owner is not None)
        return ready + done

    def _write(self, share: Share, items: list[_Pending], out: ShareOutcome, pools: Pools) -> None:
        pool = pools[share.owner_platform]
        futures: list[tuple[_Pending, ActivityStatus, Activity, Future[Any]]] = []
        for item in items:
            assert item.owner is not None
            item.key = item.key or learner_key(self.secret, share.owner_platform, item.owner.id)
            for status, owner_activity in item.new:
                future = pool.submit(
                    partial(MoodleClient.override_activity_completion, userid=item.owner.id, cmid=owner_activity.cmid, complete=True)
                )
                futures.append((item, status, owner_activity, future))
        failed: set[str] = set()
        share_error: LmsbridgeError | None = None
        for item, status, owner_activity, future in futures:
            try:
                result = future.result()
            except RecordError as exc:
                failed.add(item.learner.item_key)
                out.failures.append(Failure(KIND_LEARNER, item.learner.item_key,
                                            Message("sync.failure.writing", cmid=owner_activity.cmid,
                                                      cause=cause(exc))))
                continue
            except LmsbridgeError as exc:
                failed.add(item.learner.item_key)
                share_error = share_error or exc
                continue
            if result is None:  # dry run
                out.planned_writes += 1
                continue
            assert item.key is not None
            out.written.append(Written(item.key, owner_activity.cmid, status.cmid, from_unix(status.timecompleted)))
        for item in items:
            if item.learner.item_key not in failed:
                self._clear_learner(out, item.learner)
        if share_error is not None:
            raise share_error

    # -- the ledger (main thread) ---------------------------------------------------------------------------------

    def _commit(self, plan: SharePlan, out: ShareOutcome, started: datetime) -> None:
        """Everything one share's run learned, in ONE transaction: completions, failed items, the cursor."""
        if self.options.dry_run:
            return
        share = plan.share
        now = self.clock()
        with self.ledger.transaction():
            for written in out.written:
                self.ledger.record_completion(
                    share_id=share.id,
                    learner_key=written.learner_key,
                    owner_activity=str(written.owner_cmid),
                    borrower_activity=str(written.borrower_cmid),
                    time_completed=written.time_completed,
                    synced_at=now,
                )
            fresh = {(f.kind, f.key) for f in out.failures}
            for failure in out.failures:
                self.ledger.record_failure(share_id=share.id, item_kind=failure.kind, item_key=failure.key,
                                           reason=failure.reason.stored(), now=now)
            for kind, key in sorted(out.cleared - fresh):
                if (kind, key) in plan.failure_keys:
                    self.ledger.clear_failure(share_id=share.id, item_kind=kind, item_key=key)
            if out.mapped_borrower_cmids is not None:
                unmapped = {f"cm:{u.activity.cmid}": u for u in out.unmapped}
                for key, item in unmapped.items():
                    self.ledger.record_failure(share_id=share.id, item_kind=KIND_ACTIVITY, item_key=key,
                                               reason=Message("sync.failure.activity", name=item.activity.name,
                                                                reason=item.reason).stored(), now=now)
                for kind, key in plan.failure_keys:
                    if kind == KIND_ACTIVITY and key not in unmapped:
                        self.ledger.clear_failure(share_id=share.id, item_kind=kind, item_key=key)
            if out.status == "failed":
                assert out.error is not None  # fail() always gives the reason
                self.ledger.record_failure(share_id=share.id, item_kind=KIND_SHARE, item_key="share",
                                           reason=out.error.stored(), now=now)
            elif (KIND_SHARE, "share") in plan.failure_keys:
                self.ledger.clear_failure(share_id=share.id, item_kind=KIND_SHARE, item_key="share")
            if out.clean:
                self.ledger.set_cursor(share.id, started, started)
            if out.written:
                self.ledger.append_event(
                    share_id=share.id, actor=ACTOR, action="sync.completions", at=now,
                    details={"completions": len(out.written),
                             "learners": len({w.learner_key for w in out.written})},
                )


def run_sync(
    *,
    config: Config,
    clients: Mapping[str, MoodleClient],
    ledger: Ledger,
    options: SyncOptions | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: ProgressListener | None = None,
) -> SyncSummary:
    """One ``sync run``: the secret is checked first, then the run lock is taken (``LockedError`` at once
    when another run holds it), the run is logged in sync_runs, and every published share is synced."""
    options = options or SyncOptions()
    now = clock or (lambda: datetime.now(UTC))
    secret = pseudonym_secret(config.sync, config.source.parent if config.source else None)
    with ledger.acquire_lock("sync") as lock:
        engine = CompletionSync(
            ledger=ledger, clients=clients, profiles=config.platforms, settings=config.sync, secret=secret,
            options=options, clock=now, progress=progress, heartbeat=lock.heartbeat,
        )
        started = now()
        run_id = None if options.dry_run else ledger.start_run(started).id
        try:
            summary = engine.run(started)
        except BaseException:
            if run_id is not None:
                ledger.finish_run(run_id, status="failed", counts={"interrupted": True}, finished_at=now())
            raise
        summary.run_id = run_id
        if run_id is not None:
            ledger.finish_run(run_id, status=summary.run_status, counts=summary.counts(),
                              finished_at=summary.finished_at or now())
        return summary


__all__ = [
    "BORROWER_FIELDS",
    "OWNER_FIELDS",
    "CompletionSync",
    "Learner",
    "ProgressListener",
    "SharePlan",
    "ShareProblem",
    "SyncOptions",
    "pseudonym_secret",
    "run_sync",
]
