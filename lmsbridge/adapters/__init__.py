"""Moodle web-service adapters: transport (the one HTTP choke point), wire format, typed client, profiles,
the report builder's completion report as typed rows."""

from __future__ import annotations

from lmsbridge.adapters.client import (
    FEATURE_FUNCTIONS,
    MAX_ITEMS_PER_WRITE,
    REPORT_FUNCTIONS,
    REQUIRED_FUNCTIONS,
    MoodleClient,
    PlannedCall,
)
from lmsbridge.adapters.profile import DEFAULT_FIELDS, DEFAULT_SELECT_OPTIONS, PlatformProfile
from lmsbridge.adapters.reports import CompletionReport, CompletionRow
from lmsbridge.adapters.transport import MoodleTransport, RetryPolicy
from lmsbridge.adapters.workers import WorkerClients

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_SELECT_OPTIONS",
    "FEATURE_FUNCTIONS",
    "MAX_ITEMS_PER_WRITE",
    "REPORT_FUNCTIONS",
    "REQUIRED_FUNCTIONS",
    "CompletionReport",
    "CompletionRow",
    "MoodleClient",
    "MoodleTransport",
    "PlannedCall",
    "PlatformProfile",
    "RetryPolicy",
    "WorkerClients",
]
