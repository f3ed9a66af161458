"""What a sync run did, per share and in total, and the exit code that says it to cron (``lmsbridge.errors.ExitCode``).

The summary also carries what the run learned that the certificate groups after it need (``writes``): each
owner course it read (id, activities) and the completions it wrote there, per owner user.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmsbridge.adapters import PlannedCall
from lmsbridge.errors import ExitCode, exit_code_for
from lmsbridge.i18n import Message
from lmsbridge.ledger import LEARNER_FAILURE_KINDS, Share
from lmsbridge.sync.mapping import Activity, Unmapped
from lmsbridge.sync.secret import Rotation

#: failed_items kinds. Learner, identity-conflict and share failures make the run exit 4; "unmatched" (no owner
#: account under the skip policy) and "activity" (no owner counterpart) are reported and retried, not failures
#: of the run. A "conflict" (keys that disagree: issue 11 item 5) waits for a person and is looked at again on
#: every run.
KIND_LEARNER = "learner"
KIND_UNMATCHED = "unmatched"
KIND_CONFLICT = "conflict"
KIND_ACTIVITY = "activity"
KIND_SHARE = "share"
FAILING_KINDS = frozenset({KIND_LEARNER, KIND_CONFLICT, KIND_SHARE})
#: A share's status when another run holds it or finished it during this run (PostgreSQL: runs split shares).
TAKEN = "taken"
#: The kinds of failed item that are a borrower learner (retried by reading the learner again).
LEARNER_KINDS: tuple[str, ...] = LEARNER_FAILURE_KINDS


def stored_key(key: str, pseudonym: Callable[[int], str]) -> str:
    """The key a failed item is kept under. A borrower learner, ``user:<id>`` in the run (and in failed_items
    before pseudonyms), is kept under its pseudonym; any other key (``cm:<id>``, ``share``) as it is."""
    prefix, _, userid = key.partition(":")
    return pseudonym(int(userid)) if prefix == "user" and userid.isdigit() else key


def shown_key(key: str) -> str:
    """A failed item's key for people: a pseudonym's first 12 digits (enough to tell learners apart, as
    ``ledger verify`` shows them), any other key whole."""
    return key[:12] if len(key) == 64 and all(ch in "0123456789abcdef" for ch in key) else key


@dataclass(frozen=True)
class Written:
    """One completion brought back to the owner (pseudonymous learner key, activities as cmids).

    ``owner_userid`` stays in memory for the certificate groups after the run; the ledger keeps the key only.
    """

    learner_key: str
    owner_cmid: int
    borrower_cmid: int
    time_completed: datetime | None
    owner_userid: int | None = None


@dataclass(frozen=True)
class OwnerCourse:
    """An owner course as the run read it: where it is and its activities (``tracked`` = completion on)."""

    platform: str
    shortname: str
    id: int
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class CourseWrites:
    """What one run knows of one owner course: the course, and the completions it wrote (owner user id →
    owner cmids) — empty when it read the course and had nothing new for it."""

    course: OwnerCourse
    completions: dict[int, frozenset[int]]


@dataclass(frozen=True)
class Failure:
    kind: str
    key: str
    reason: Message


def reason_code(reason: Message | None) -> str | None:
    """The code of a reason for ``--json`` (None for text kept as it is)."""
    return None if reason is None or reason.plain else reason.code


@dataclass
class ShareOutcome:
    share_id: str
    owner: str = ""
    borrower: str = ""
    course: str = ""
    status: str = "ok"  # ok | failed | skipped | taken
    error: Message | None = None
    unreachable: str | None = None
    config_error: bool = False
    path: str = "per-learner"  # per-learner | listing+report | report (engine module docstring)
    listed: int = 0
    candidates: int = 0
    read: int = 0
    already: int = 0
    unmatched: int = 0
    enrolled: int = 0
    created: int = 0
    planned_writes: int = 0
    written: list[Written] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    cleared: set[tuple[str, str]] = field(default_factory=set)
    unmapped: list[Unmapped] = field(default_factory=list)
    mapped_borrower_cmids: frozenset[int] | None = None
    notes: list[Message] = field(default_factory=list)  # not kept in the ledger
    owner_course: OwnerCourse | None = None  # once the run has read it
    #: A borrower learner's pseudonym from its user id: the key its failed items are kept and shown under
    #: (issue 11 item 8); the engine gives the secret's. Without one (a test's outcome), ``user:<id>``.
    pseudonym: Callable[[int], str] = field(default=lambda userid: f"user:{userid}", repr=False)

    @property
    def clean(self) -> bool:
        """Did the share's run end cleanly (so its cursor may advance)? Per-learner failures do not count:
        they are kept in failed_items and read again next run whatever the cursor says."""
        return self.status == "ok"

    def fail(self, reason: Message, *, platform: str | None = None, config: bool = False) -> None:
        self.status = "failed"
        self.error = reason
        self.unreachable = platform
        self.config_error = config

    def item_failed(self, key: str, reason: Message, *, kind: str = KIND_LEARNER) -> None:
        """One item (a learner, most often) failed: kept in failed_items and retried next run. A learner
        (``user:<id>`` in the run) is kept under its pseudonym; its failure of another kind from before goes
        (unmatched then, an identity conflict now)."""
        key = stored_key(key, self.pseudonym)
        self.failures.append(Failure(kind, key, reason))
        if kind in LEARNER_KINDS:
            self.cleared.update((other, key) for other in LEARNER_KINDS if other != kind)

    def clear(self, userid: int) -> None:
        """Nothing is left to retry for this borrower learner: its failed items go, unless it failed again."""
        self.clear_key(self.pseudonym(userid))

    def clear_key(self, key: str) -> None:
        """The same, for a learner known by its pseudonym only (one the run no longer sees)."""
        self.cleared.update((kind, key) for kind in LEARNER_KINDS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "share": self.share_id,
            "owner": self.owner,
            "borrower": self.borrower,
            "course": self.course,
            "status": self.status,
            "error": self.error.render() if self.error else "",
            "error_code": reason_code(self.error),
            "path": self.path,
            "listed": self.listed,
            "candidates": self.candidates,
            "read": self.read,
            "already_complete": self.already,
            "written": len(self.written),
            "planned_writes": self.planned_writes,
            "enrolled": self.enrolled,
            "created": self.created,
            "unmatched": self.unmatched,
            "failed": [{"kind": f.kind, "key": f.key, "reason": f.reason.render(), "reason_code": reason_code(f.reason)}
                       for f in self.failures],
            "unmapped": [{"cmid": u.activity.cmid, "name": u.activity.name, "reason": u.reason.render(),
                          "reason_code": reason_code(u.reason)} for u in self.unmapped],
            "notes": [n.render() for n in self.notes],
        }


@dataclass
class SyncSummary:
    started_at: datetime
    finished_at: datetime | None = None
    run_id: int | None = None
    dry_run: bool = False
    full: bool = False
    shares: list[ShareOutcome] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    unreachable: dict[str, Message] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    planned: list[tuple[str, PlannedCall]] = field(default_factory=list)
    published: tuple[Share, ...] = ()  # every published share the run found in the ledger (--share or not)
    rotation: Rotation | None = None  # what --rotate-secret did before the run

    def writes(self) -> dict[tuple[str, str], CourseWrites]:
        """Per owner course (platform, short name): the course as read and the completions the run wrote."""
        out: dict[tuple[str, str], CourseWrites] = {}
        for share in self.shares:
            course = share.owner_course
            if course is None:
                continue
            known = out.setdefault((course.platform, course.shortname), CourseWrites(course, {}))
            for written in share.written:
                if written.owner_userid is not None:
                    done = known.completions.get(written.owner_userid, frozenset())
                    known.completions[written.owner_userid] = done | {written.owner_cmid}
        return out

    @property
    def written(self) -> int:
        return sum(len(s.written) for s in self.shares)

    @property
    def failed_items(self) -> int:
        return sum(1 for s in self.shares for f in s.failures if f.kind in FAILING_KINDS) + sum(
            1 for s in self.shares if s.status == "failed" and s.unreachable is None
        )

    @property
    def exit_code(self) -> ExitCode:
        if self.shares and all(s.status == TAKEN for s in self.shares):
            return ExitCode.LOCKED  # other runs have every share: this one did nothing
        return exit_code_for(
            config=any(s.config_error for s in self.shares),
            unreachable=bool(self.unreachable) or any(s.unreachable for s in self.shares),
            failed=bool(self.failed_items),
        )

    @property
    def status(self) -> str:
        return {ExitCode.OK: "ok", ExitCode.CONFIG: "config-error", ExitCode.UNREACHABLE: "unreachable",
                ExitCode.LOCKED: "taken"}.get(self.exit_code, "some-failed")

    @property
    def run_status(self) -> str:
        """sync_runs.status: ok (every share taken by other runs included), partial (some items failed) or
        failed (a platform or the config)."""
        return {ExitCode.OK: "ok", ExitCode.LOCKED: "ok", ExitCode.PARTIAL: "partial"}.get(self.exit_code, "failed")

    def counts(self) -> dict[str, Any]:
        """The run's activity log (sync_runs.counts): numbers only, no learner data."""
        totals: Counter[str] = Counter()
        for share in self.shares:
            totals["shares"] += 1
            totals[f"shares_{share.status}"] += 1
            totals["listed"] += share.listed
            totals["candidates"] += share.candidates
            totals["read"] += share.read
            totals["already_complete"] += share.already
            totals["written"] += len(share.written)
            totals["planned_writes"] += share.planned_writes
            totals["enrolled"] += share.enrolled
            totals["created"] += share.created
            totals["unmatched"] += share.unmatched
            totals["failed_items"] += sum(1 for f in share.failures if f.kind in FAILING_KINDS)
            totals["unmapped_activities"] += len(share.unmapped)
        out: dict[str, Any] = dict(totals)
        out["calls"] = sum(sum(c.values()) for c in self.calls.values())
        out["full"] = self.full
        out["unreachable"] = sorted(self.unreachable)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "full": self.full,
            "totals": self.counts(),
            "calls": self.calls,
            "warnings": [w.render() for w in self.warnings],
            "unreachable": {p: m.render() for p, m in self.unreachable.items()},
            "shares": [s.as_dict() for s in self.shares],
            "planned": [{"platform": p, "wsfunction": c.wsfunction, "params": dict(c.params)} for p, c in self.planned],
            "rotation": self.rotation.as_dict() if self.rotation else None,
        }


__all__ = [
    "FAILING_KINDS",
    "KIND_ACTIVITY",
    "KIND_CONFLICT",
    "KIND_LEARNER",
    "KIND_SHARE",
    "KIND_UNMATCHED",
    "LEARNER_KINDS",
    "TAKEN",
    "CourseWrites",
    "Failure",
    "OwnerCourse",
    "ShareOutcome",
    "SyncSummary",
    "Written",
    "reason_code",
    "shown_key",
    "stored_key",
]
