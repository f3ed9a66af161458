"""What the stages of one run share, and the learner as it passes from one stage to the next.

``RunContext``: the platforms' pools and profiles, the sync settings and the run's options, the pseudonym
secret, the progress listener, and the memo of reads several shares need (each read once per run). A stage
gets the context and a share's plan and outcome; it never reaches past them into the engine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from lmsbridge.adapters import CompletionRow, PlatformProfile
from lmsbridge.adapters.models import ActivityStatus
from lmsbridge.config import SyncConfig
from lmsbridge.errors import LmsbridgeError
from lmsbridge.i18n import Message
from lmsbridge.sync.confirm import CourseCompletionsSince
from lmsbridge.sync.identity import Match, Person
from lmsbridge.sync.mapping import Activity
from lmsbridge.sync.outcome import ShareOutcome
from lmsbridge.sync.plan import SyncOptions
from lmsbridge.sync.pools import Memo, Pools

#: Session settings of every call a run makes: the report renders its dates in the caller's timezone and
#: language (tests/fixtures/moodle/INDEX.md), and ``lmsbridge.adapters.reports`` reads them as UTC, in English.
#: A client's own settings win.
SESSION_SETTINGS: dict[str, str] = {"timezone": "UTC", "lang": "en"}


class ShareProblem(LmsbridgeError):
    """Something about one share stops its sync (course not found, nothing to map …)."""

    code = "share"

    def __init__(self, reason: Message) -> None:
        self.reason = reason
        super().__init__(reason)


class ProgressListener(Protocol):
    def shares(self, total: int) -> None: ...

    def share_done(self, outcome: ShareOutcome) -> None: ...

    def learner_read(self) -> None: ...


class Quiet:
    """No progress shown."""

    def shares(self, total: int) -> None:
        return None

    def share_done(self, outcome: ShareOutcome) -> None:
        return None

    def learner_read(self) -> None:
        return None


@dataclass
class RunContext:
    pools: Pools
    profiles: dict[str, PlatformProfile]
    settings: SyncConfig
    options: SyncOptions
    secret: bytes
    progress: ProgressListener = field(default_factory=Quiet)
    memo: Memo = field(default_factory=Memo)
    #: Guards the owner directories, which the workers of several shares of one owner course match against
    #: and add enrolled learners to.
    directory_lock: threading.Lock = field(default_factory=threading.Lock)
    #: One lock per (owner platform, owner course, owner user): never two completion writes for one learner in
    #: one owner course in flight at once, whichever share they come from (issue 15 item 2).
    _write_locks: dict[tuple[str, int, int], threading.Lock] = field(default_factory=dict)
    _write_locks_guard: threading.Lock = field(default_factory=threading.Lock)
    #: The owners' completion reports that confirm course completions after the writes (None: read one by one).
    confirm: CourseCompletionsSince | None = None

    def student_role(self, platform: str) -> int:
        return self.profiles[platform].student_role_id

    def write_lock(self, platform: str, courseid: int, userid: int) -> threading.Lock:
        """The lock a learner's completion writes in one owner course are made under."""
        key = (platform, courseid, userid)
        with self._write_locks_guard:
            lock = self._write_locks.get(key)
            if lock is None:
                lock = self._write_locks[key] = threading.Lock()
            return lock

    def ws_userid(self, platform: str) -> int:
        """The web-service user lmsbridge acts as on a platform (``core_webservice_get_site_info``, once per
        run): an override by that user is lmsbridge's own."""
        return int(self.memo.get(("ws-user", platform),
                                 lambda: self.pools[platform].call(lambda c: c.site_info().userid)))


@dataclass(frozen=True)
class Learner:
    """A borrower-side learner who may have something new."""

    person: Person
    last_access: int = 0
    progress: float | None = None
    failed_before: bool = False

    @classmethod
    def from_row(cls, userid: int, row: CompletionRow, *, failed_before: bool) -> Learner:
        """A learner as the completion report shows them (its identity columns may be empty)."""
        person = Person(id=userid, username=row.username, idnumber=row.idnumber, email=row.email,
                        fullname=row.fullname)
        last = int(row.last_access.timestamp()) if row.last_access else 0
        return cls(person, last, row.progress, failed_before)

    @property
    def item_key(self) -> str:
        return f"user:{self.person.id}"

    @property
    def identified(self) -> bool:
        """Does it carry a key to match by? (A report without the identity columns gives none.)"""
        return bool(self.person.username or self.person.idnumber or self.person.email)


@dataclass
class NewCompletions:
    """A learner with completions the owner does not have yet, on the way from the read to the write."""

    learner: Learner
    match: Match
    new: list[tuple[ActivityStatus, Activity]]  # borrower status → owner activity
    owner: Person | None = None  # the owner-side account, once known
    key: str | None = None  # its pseudonym, once known
    needs_enrol: bool = False


__all__ = [
    "SESSION_SETTINGS",
    "Learner",
    "NewCompletions",
    "ProgressListener",
    "Quiet",
    "RunContext",
    "ShareProblem",
]
