"""The ledger: the only state lmsbridge owns.

Shares and their states, an append-only hash-chained event log, sync cursors, the completion log brought
back to owners, failed items, sync runs, messages written, certificate notices, and a run lock. SQLite by
default (a file, WAL), PostgreSQL through psycopg 3 for a ``postgresql://`` URL. Platforms stay the source
of truth for courses, users and completions.

The audit trail is the events and the rows they vouch for: shares, completions, messages and certificate
notices (each event carries stamps of the rows its transaction wrote; ``lmsbridge.ledger.rows``).
Cursors, failed items, sync runs and run locks are operational state, outside it.
"""

from __future__ import annotations

from lmsbridge.ledger.chain import GENESIS
from lmsbridge.ledger.errors import LedgerConstraintError, LedgerNotFoundError, LockedError, ShareStateError
from lmsbridge.ledger.locks import NOTIFY_LOCK, SYNC_LOCK
from lmsbridge.ledger.migrations import MIGRATIONS, Migration
from lmsbridge.ledger.models import (
    FAILURE_KINDS,
    LEARNER_FAILURE_KINDS,
    RUN_STATUSES,
    SHARE_STATES,
    SHARE_TRANSITIONS,
    CertificateNotice,
    Completion,
    Event,
    FailedItem,
    FailureKind,
    RowProblem,
    RowStamp,
    RunStatus,
    SentMessage,
    Share,
    ShareState,
    SyncCursor,
    SyncRun,
    VerifyReport,
    is_pseudonym,
)
from lmsbridge.ledger.store import Ledger, RunLock, ShareChanges

__all__ = [
    "FAILURE_KINDS",
    "GENESIS",
    "LEARNER_FAILURE_KINDS",
    "MIGRATIONS",
    "NOTIFY_LOCK",
    "RUN_STATUSES",
    "SHARE_STATES",
    "SHARE_TRANSITIONS",
    "SYNC_LOCK",
    "CertificateNotice",
    "Completion",
    "Event",
    "FailedItem",
    "FailureKind",
    "Ledger",
    "LedgerConstraintError",
    "LedgerNotFoundError",
    "LockedError",
    "Migration",
    "RowProblem",
    "RowStamp",
    "RunLock",
    "RunStatus",
    "SentMessage",
    "Share",
    "ShareChanges",
    "ShareState",
    "ShareStateError",
    "SyncCursor",
    "SyncRun",
    "VerifyReport",
    "is_pseudonym",
]
