"""``sync check``: the platforms against each other, not against the ledger (issue 11 item 2).

For every published share (or the ``--share`` ones): the borrower course's learners, the completions of its
mapped activities on the borrower, and, for each learner with an account in the owner course (matched by the
configured keys, as the sync matches), the same activities on the owner. Gives per share the completions the
borrower shows and the owner lacks (what ``sync run --full`` would write), and the reverse (an owner completion
the borrower does not show: set on the owner by hand or by the learner there, or reset on the borrower), by
learner pseudonym. A learner not in the owner course is looked up on the owner site (as the sync does): with an
account there, the owner lacks all they did; without one, they are counted apart (``without_owner_account``:
the sync keeps them as failed items for a person), and are drift only when the sync would create the account.

Read-only on the platforms: only reads (participants, activities, completion statuses; no report, so no
filter is set or reset on a site), through clients that would only plan a write. The ledger is not consulted for
what it holds; the one thing written is, when ``record`` is asked, a ``sync.check`` event (``checked``:
learners compared, ``drift``: completions that differ), which the quarterly report reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import ActivityStatus
from lmsbridge.config import Config
from lmsbridge.errors import ExitCode, LmsbridgeError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync import courses
from lmsbridge.sync.context import SESSION_SETTINGS, RunContext
from lmsbridge.sync.identity import learner_key, match, person_of
from lmsbridge.sync.match import lookup_owners, share_keys
from lmsbridge.sync.plan import SyncOptions, published_shares
from lmsbridge.sync.pools import PlatformUnreachable, Pools
from lmsbridge.sync.read import BORROWER_FIELDS
from lmsbridge.sync.reason import UnexpectedError, cause
from lmsbridge.sync.secret import pseudonym_secret

#: The event a check leaves in the ledger (``lmsbridge.report.figures`` reads it).
CHECK_ACTION = "sync.check"
ACTOR = "lmsbridge sync check"


@dataclass(frozen=True)
class Gap:
    """One completion one side shows and the other lacks: the learner (pseudonym on the borrower platform)
    and the activity on both sides."""

    learner: str
    borrower_cmid: int
    owner_cmid: int

    def as_dict(self) -> dict[str, Any]:
        return {"learner": self.learner, "borrower_cmid": self.borrower_cmid, "owner_cmid": self.owner_cmid}


@dataclass
class ShareCheck:
    """One share's comparison."""

    share_id: str
    owner: str
    borrower: str
    course: str
    learners: int = 0  # borrower learners compared
    #: Completed on the borrower, not on the owner (``sync run --full`` writes them).
    owner_lacks: list[Gap] = field(default_factory=list)
    #: Completed on the owner, not on the borrower.
    borrower_lacks: list[Gap] = field(default_factory=list)
    #: Learners with a completion on the borrower and no account on the owner site, and their completions: the
    #: sync leaves them as failed items (``unmatched``), so they count as drift only under ``unmatched = create``.
    without_owner_account: int = 0
    unmatched_completions: int = 0
    #: Learners whose identity keys disagree: not compared (``sync status`` lists them).
    conflicts: int = 0
    #: Learners whose completions could not be read on one side (a bad value, a refused read): not compared.
    unreadable: int = 0
    error: Message | None = None
    unreachable: bool = False  # the error: a platform could not be reached
    configuration: bool = False  # the error: the configuration's (a token the platform rejects)

    @property
    def drift(self) -> int:
        return len(self.owner_lacks) + len(self.borrower_lacks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "share": self.share_id, "owner": self.owner, "borrower": self.borrower, "course": self.course,
            "learners": self.learners, "drift": self.drift,
            "owner_lacks": len(self.owner_lacks), "borrower_lacks": len(self.borrower_lacks),
            "without_owner_account": self.without_owner_account,
            "unmatched_completions": self.unmatched_completions, "conflicts": self.conflicts,
            "unreadable": self.unreadable,
            "owner_lacks_items": [g.as_dict() for g in self.owner_lacks],
            "borrower_lacks_items": [g.as_dict() for g in self.borrower_lacks],
            "error": self.error.render() if self.error else None,
        }


@dataclass
class CheckResult:
    checked_at: datetime
    shares: list[ShareCheck] = field(default_factory=list)
    recorded: bool = False

    @property
    def checked(self) -> int:
        return sum(s.learners for s in self.shares)

    @property
    def drift(self) -> int:
        return sum(s.drift for s in self.shares)

    @property
    def failed(self) -> int:
        """Shares that could not be checked, or not in full (a learner unreadable)."""
        return sum(1 for s in self.shares if s.error is not None or s.unreadable)

    @property
    def exit_code(self) -> ExitCode:
        """1 when the platforms differ; else 2 when the configuration is wrong (a token the platform rejects), 3 when
        a platform could not be reached, 4 when a share could not be checked otherwise; 0 when every share was
        checked and both sides agree."""
        if self.drift:
            return ExitCode.FAILED
        if any(s.configuration for s in self.shares):  # as every command: a rejected token is configuration
            return ExitCode.CONFIG
        if any(s.unreachable for s in self.shares):
            return ExitCode.UNREACHABLE
        return ExitCode.PARTIAL if self.failed else ExitCode.OK

    @property
    def equal(self) -> bool:
        """Both sides agree on every share that could be read (and every share could)."""
        return self.drift == 0 and self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"checked_at": self.checked_at.isoformat(), "checked": self.checked, "drift": self.drift,
                "failed_shares": self.failed, "equal": self.equal, "recorded": self.recorded,
                "shares": [s.as_dict() for s in self.shares]}


def check_completions(*, config: Config, clients: Mapping[str, MoodleClient], ledger: Ledger,
                      share_ids: Sequence[str] = (), record: bool = True,
                      clock: Callable[[], datetime] | None = None) -> CheckResult:
    """Compare each share's completions on the two platforms (see the module docstring)."""
    now = clock or (lambda: datetime.now(UTC))
    secret = pseudonym_secret(config.sync, config.source.parent if config.source else None)
    options = SyncOptions(dry_run=True, use_report=False, share_ids=tuple(share_ids))
    _, shares = published_shares(ledger, options)
    platforms = {name: client for name, client in clients.items() if name in config.platforms}
    sizes = {name: config.platforms[name].concurrency for name in platforms}
    pools = Pools(platforms, sizes, settings=SESSION_SETTINGS)
    ctx = RunContext(pools, dict(config.platforms), config.sync, options, secret)
    result = CheckResult(checked_at=now())
    try:
        for share in shares:
            result.shares.append(_check_share(ctx, share))
    finally:
        pools.shutdown()
    if record:
        with ledger.transaction():
            ledger.append_event(share_id=None, actor=ACTOR, action=CHECK_ACTION, at=now(), details={
                "checked": result.checked, "drift": result.drift,
                "owner_lacks": sum(len(s.owner_lacks) for s in result.shares),
                "borrower_lacks": sum(len(s.borrower_lacks) for s in result.shares),
                "shares": len(result.shares), "failed_shares": result.failed,
            })
        result.recorded = True
    return result


def _check_share(ctx: RunContext, share: Share) -> ShareCheck:
    out = ShareCheck(share.id, share.owner_platform, share.borrower_platform, share.owner_course_shortname)
    try:
        for platform in (share.owner_platform, share.borrower_platform):
            if platform not in ctx.pools:
                out.error = Message("sync.share.platform_not_configured", platform=platform)
                return out
        if share.borrower_course_id is not None:
            _compare(ctx, share, out)
    except PlatformUnreachable as exc:
        out.error, out.unreachable = exc.reason, True
    except LmsbridgeError as exc:
        out.error = cause(exc)
        out.configuration = exc.exit_code == ExitCode.CONFIG
    except Exception as exc:  # one share's surprise is that share's failure; the others are checked
        out.error = cause(UnexpectedError(exc))
    return out


def _compare(ctx: RunContext, share: Share, out: ShareCheck) -> None:
    courseid = share.borrower_course_id
    assert courseid is not None
    borrower, owner = ctx.pools[share.borrower_platform], ctx.pools[share.owner_platform]
    users = borrower.call(lambda c: c.enrolled_users(courseid, page_size=ctx.settings.page_size,
                                                     userfields=BORROWER_FIELDS))
    role = ctx.student_role(share.borrower_platform)
    students = [u for u in users if u.takes_part_as(role)]
    out.learners = len(students)
    if not students:
        return
    owner_course = courses.owner_course_id(ctx, share)
    directory = courses.owner_directory(ctx, share.owner_platform, owner_course)
    pairs = courses.mapping(ctx, share, owner_course).mapping.pairs
    if not pairs:
        return
    keys = share_keys(ctx, share)
    by_owner = {cm.cmid: bcmid for bcmid, cm in pairs.items()}
    borrower_reads = {u.id: borrower.submit(partial(MoodleClient.activities_completion, courseid=courseid,
                                                    userid=u.id)) for u in students}
    owner_reads = {}
    conflicted: set[int] = set()
    for user in students:
        hit = match(person_of(user), directory, keys)
        if hit.conflict:
            conflicted.add(user.id)
            borrower_reads[user.id].cancel()
        elif hit.person is not None:
            owner_reads[user.id] = owner.submit(partial(MoodleClient.activities_completion, courseid=owner_course,
                                                        userid=hit.person.id))
    done_b: dict[int, set[int]] = {}
    for user in students:
        if user.id not in conflicted:
            statuses = _read(borrower_reads[user.id], out)
            if statuses is None:
                conflicted.add(user.id)  # not compared, like a conflict (counted as unreadable)
                owner_reads.pop(user.id, None)
                continue
            done_b[user.id] = {s.cmid for s in statuses if s.complete and s.cmid in pairs}
    # Not in the owner course, with something done: an account elsewhere on the owner site lacks it all (the sync
    # enrols them when allowed); no account at all is counted apart, drift only when the sync would create one.
    outside = [person_of(u) for u in students if u.id not in conflicted and u.id not in owner_reads and done_b[u.id]]
    looked = lookup_owners(ctx, share, outside) if outside else {}
    for person in outside:
        found = looked.get(person.id)
        if found is not None and found.conflict:
            conflicted.add(person.id)
            continue
        if found is None or found.person is None:
            out.without_owner_account += 1
            out.unmatched_completions += len(done_b[person.id])
            if ctx.settings.unmatched != "create":
                continue
        key = learner_key(ctx.secret, share.borrower_platform, person.id)
        out.owner_lacks.extend(Gap(key, bcmid, pairs[bcmid].cmid) for bcmid in sorted(done_b[person.id]))
    out.conflicts = len(conflicted) - out.unreadable
    out.learners = len(students) - len(conflicted)
    for user in students:
        if user.id not in owner_reads:
            continue
        key = learner_key(ctx.secret, share.borrower_platform, user.id)
        owner_statuses = _read(owner_reads[user.id], out)
        if owner_statuses is None:
            out.learners -= 1
            continue
        done_o = {s.cmid for s in owner_statuses if s.complete and s.cmid in by_owner}
        for bcmid in sorted(done_b[user.id]):
            if pairs[bcmid].cmid not in done_o:
                out.owner_lacks.append(Gap(key, bcmid, pairs[bcmid].cmid))
        for ocmid in sorted(done_o):
            if by_owner[ocmid] not in done_b[user.id]:
                out.borrower_lacks.append(Gap(key, by_owner[ocmid], ocmid))


def _read(future: Future[list[ActivityStatus]], out: ShareCheck) -> list[ActivityStatus] | None:
    """One learner's statuses; a learner whose answer cannot be used (a value out of range, a refused read) is
    counted as unreadable and left out of the comparison, the rest of the share is still compared."""
    try:
        return future.result()
    except RecordError:
        out.unreadable += 1
        return None


__all__ = ["CHECK_ACTION", "CheckResult", "Gap", "ShareCheck", "check_completions"]
