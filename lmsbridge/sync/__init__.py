"""Completion sync of shared courses back to the owner platform (DESIGN.md rule 10, issue 6)."""

from __future__ import annotations

from lmsbridge.sync.engine import CompletionSync, ProgressListener, SyncOptions, pseudonym_secret, run_sync
from lmsbridge.sync.identity import Directory, Match, Person, learner_key, match
from lmsbridge.sync.mapping import Activity, ActivityMapping, map_activities
from lmsbridge.sync.outcome import ShareOutcome, SyncSummary
from lmsbridge.sync.status import SyncStatus, sync_status

__all__ = [
    "Activity",
    "ActivityMapping",
    "CompletionSync",
    "Directory",
    "Match",
    "Person",
    "ProgressListener",
    "ShareOutcome",
    "SyncOptions",
    "SyncStatus",
    "SyncSummary",
    "learner_key",
    "map_activities",
    "match",
    "pseudonym_secret",
    "run_sync",
    "sync_status",
]
