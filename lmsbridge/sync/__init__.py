"""Completion sync of shared courses back to the owner platform (DESIGN.md rule 10, issue 6).

In stages (:mod:`lmsbridge.sync.engine`): plan (the ledger), read (the borrower), match (identity on the
owner), write (the owner), commit (the ledger); the summary carries what the run wrote for the certificate
groups after it. ``lmsbridge.sync.match`` is the match stage; the matching rule itself is
``lmsbridge.sync.identity.match``.
"""

from __future__ import annotations

from lmsbridge.sync.context import ProgressListener
from lmsbridge.sync.engine import CompletionSync, run_sync
from lmsbridge.sync.identity import Directory, Match, Person, learner_key
from lmsbridge.sync.mapping import Activity, ActivityMapping, map_activities
from lmsbridge.sync.outcome import CourseWrites, OwnerCourse, ShareOutcome, SyncSummary
from lmsbridge.sync.plan import SyncOptions
from lmsbridge.sync.secret import pseudonym_secret
from lmsbridge.sync.status import SyncStatus, sync_status

__all__ = [
    "Activity",
    "ActivityMapping",
    "CompletionSync",
    "CourseWrites",
    "Directory",
    "Match",
    "OwnerCourse",
    "Person",
    "ProgressListener",
    "ShareOutcome",
    "SyncOptions",
    "SyncStatus",
    "SyncSummary",
    "learner_key",
    "map_activities",
    "pseudonym_secret",
    "run_sync",
    "sync_status",
]
