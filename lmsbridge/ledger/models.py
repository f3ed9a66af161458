"""What the ledger hands out: frozen models, never raw rows.

Times are timezone-aware UTC datetimes; the database stores them as ISO-8601 text (see ``timeformat``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lmsbridge.domain import ShareFlow
from lmsbridge.i18n import Message

ShareState = Literal["requested", "approved", "published", "revoked", "rejected"]
SHARE_STATES: tuple[ShareState, ...] = ("requested", "approved", "published", "revoked", "rejected")

#: Allowed next states (the same table as ``lmsbridge.sharing.ownership.TRANSITIONS``; a test keeps them
#: equal). A revoked or rejected share is requested again on its own line (one share per course and pair):
#: its history is kept and goes on.
SHARE_TRANSITIONS: Mapping[ShareState, frozenset[ShareState]] = {
    "requested": frozenset({"approved", "rejected"}),
    "approved": frozenset({"published"}),
    "published": frozenset({"revoked"}),
    "revoked": frozenset({"requested"}),
    "rejected": frozenset({"requested"}),
}

FailureKind = Literal["learner", "activity", "share", "unmatched", "conflict"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("learner", "activity", "share", "unmatched", "conflict")
#: Failed items that are a learner: kept under the learner's pseudonym, never a user id (issue 11 item 8).
LEARNER_FAILURE_KINDS: tuple[FailureKind, ...] = ("learner", "unmatched", "conflict")

#: ``interrupted``: the run's process went away without a word (killed); the next run marks it so.
RunStatus = Literal["running", "ok", "partial", "failed", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "ok", "partial", "failed", "interrupted")

# A learner key is a pseudonym (an HMAC of the platform user id), never a name or an e-mail: at least
# 16 characters from a digest alphabet, with a digit in it. "kari.nordmann@hf.no" or "Kari Nordmann" fail.
_PSEUDONYM = re.compile(r"^(?=.*[0-9])[A-Za-z0-9_:+/=.-]{16,200}$")


def is_pseudonym(value: str) -> bool:
    """Does ``value`` look like a learner pseudonym (digest-like), not a name or an e-mail address?"""
    return bool(_PSEUDONYM.match(value))


class LedgerModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _aware(cls, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(Message("ledger.naive_time"))
        return value


class Share(LedgerModel):
    """One course lent by its owner to a borrower under the agreement."""

    id: str
    flow: ShareFlow
    state: ShareState
    owner_platform: str
    owner_course_id: int | None
    owner_course_shortname: str
    owner_org: str
    borrower_platform: str
    borrower_course_id: int | None
    borrower_course_shortname: str | None
    borrower_org: str
    #: Who asked for the share (a person or an organisation's coordinator).
    initiator: str
    #: The course's licence when the share was made (resale rule: only CC BY-SA may be resold).
    licence_at_share: str
    label: str
    owner_support: str
    borrower_support: str
    contact_point: str
    #: Identifies the request, so that asking again finds the same share instead of a second one.
    request_key: str
    created_at: datetime
    updated_at: datetime


class RowStamp(LedgerModel):
    """What an event vouches for about one audited row as its transaction left it (``lmsbridge.ledger.rows``).

    No learner key appears here: ``ref`` is a digest of the row's primary key and ``row`` a label without
    the learner (a share id, an activity, a message key, a course and due date)."""

    #: shares, completions, messages or certificate_notices.
    table: str
    #: sha256 of the table and the row's primary key (32 hex digits).
    ref: str
    #: The share the row belongs to (shares, completions), else None.
    share_id: str | None
    #: The row for a person to find: the share id, the owner's activity, the message key …
    row: str
    #: sha256 of every column of the row, as stored (64 hex digits).
    digest: str
    #: 8 hex digits per column, in the table's column order: which fields differ, when the digest does.
    fields: str


class Event(LedgerModel):
    """One entry of the append-only, hash-chained event log."""

    seq: int
    share_id: str | None
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    #: The audited rows written in the event's transaction (hashed with the event; empty for most events
    #: before migration 0006, and for events that wrote no audited row).
    rows: list[RowStamp] = Field(default_factory=list)


class RowProblem(LedgerModel):
    """An audited row that disagrees with the event log."""

    #: ``ledger.verify.row.changed`` (differs from its last event), ``.missing`` (an event vouches for a
    #: row that is not there: deleted, or its key edited), ``.unrecorded`` (a row no event vouches for:
    #: inserted outside lmsbridge), ``.disputed`` (at the upgrade to row stamps, a share row disagreed
    #: with the events written before it).
    code: str
    table: str
    share_id: str | None
    #: The row's label (see ``RowStamp.row``).
    row: str
    #: The row's primary key as it is now (None when the row is gone).
    key: list[str] | None = None
    #: The last event that vouches for the row (None: no event does).
    seq: int | None = None
    #: The fields that differ (``changed``, ``disputed``).
    fields: list[str] = Field(default_factory=list)
    #: The problem, as a message.
    problem: Message


class VerifyReport(LedgerModel):
    """The outcome of walking the event chain, then of checking the audited rows against it."""

    ok: bool
    #: Events read.
    events: int
    #: The first event that is missing, changed, out of place or added outside lmsbridge; for a row
    #: problem, the last event that vouches for the first bad row (None when no event does).
    first_bad_seq: int | None = None
    #: Stable code of the (first) problem (``ledger.verify.changed``, ``ledger.verify.row.changed`` …);
    #: empty when ok.
    problem_code: str = ""
    #: The problem, as a message; None when ok.
    problem: Message | None = None
    #: Hash of the last good event: write it down elsewhere to detect a rewrite of the whole chain.
    head_hash: str | None = None
    #: Audited rows checked (shares, completions, messages, certificate notices). The rows are checked
    #: only against an intact chain: 0 when the chain is broken.
    rows: int = 0
    #: Every audited row that disagrees with the events, in table and row order.
    row_problems: list[RowProblem] = Field(default_factory=list)


class SyncCursor(LedgerModel):
    share_id: str
    cursor: datetime
    updated_at: datetime


class Completion(LedgerModel):
    """A completion brought back to the owner: who (pseudonym), which activity, when."""

    share_id: str
    learner_key: str
    owner_activity: str
    borrower_activity: str
    time_completed: datetime | None
    synced_at: datetime


class FailedItem(LedgerModel):
    """An item a sync could not carry over; retried on later runs until cleared."""

    share_id: str
    item_kind: FailureKind
    item_key: str
    reason: str
    attempts: int = Field(ge=1)
    first_failed_at: datetime
    last_failed_at: datetime


class SyncRun(LedgerModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    #: What the run did, in numbers (no learner data).
    counts: dict[str, Any]
    #: The process that ran it (None for runs from before runs named theirs).
    pid: int | None = None
    host: str | None = None


class SentMessage(LedgerModel):
    """A message lmsbridge wrote (request e-mail, notice): recorded so it is written once per key."""

    key: str
    kind: str
    to: str
    subject: str
    message_id: str
    path: str
    created_at: datetime


class CertificateNotice(LedgerModel):
    """A «what you still miss» notice sent to one learner for one due date of one course."""

    course_key: str
    learner_key: str
    due_date: date
    sent_at: datetime
