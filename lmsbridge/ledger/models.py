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

ShareState = Literal["requested", "approved", "published", "revoked", "rejected"]
SHARE_STATES: tuple[ShareState, ...] = ("requested", "approved", "published", "revoked", "rejected")

#: Allowed next states (the same table as ``lmsbridge.sharing.ownership.TRANSITIONS``; a test keeps them
#: equal). Revoked and rejected are final: the history is kept, and a new share is a new request.
SHARE_TRANSITIONS: Mapping[ShareState, frozenset[ShareState]] = {
    "requested": frozenset({"approved", "rejected"}),
    "approved": frozenset({"published"}),
    "published": frozenset({"revoked"}),
    "revoked": frozenset(),
    "rejected": frozenset(),
}

FailureKind = Literal["learner", "activity", "share", "unmatched"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("learner", "activity", "share", "unmatched")

RunStatus = Literal["running", "ok", "partial", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "ok", "partial", "failed")

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
            raise ValueError("datetimes in the ledger are timezone-aware")
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


class VerifyReport(LedgerModel):
    """The outcome of walking the event chain."""

    ok: bool
    #: Events read.
    events: int
    #: The first event that is missing, changed, out of place or added outside lmsbridge.
    first_bad_seq: int | None = None
    #: Stable code of the problem (``ledger.verify.changed`` …); empty when ok.
    problem_code: str = ""
    #: The problem in words (current language); empty when ok.
    problem: str = ""
    #: Hash of the last good event: write it down elsewhere to detect a rewrite of the whole chain.
    head_hash: str | None = None


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


class Message(LedgerModel):
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
