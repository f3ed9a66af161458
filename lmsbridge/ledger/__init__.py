"""The ledger: the only state lmsbridge owns (shares, hash-chained events, sync cursors, completions)."""

from __future__ import annotations

from lmsbridge.ledger.store import (
    Event,
    Ledger,
    LockedError,
    Share,
    VerifyReport,
)

__all__ = ["Event", "Ledger", "LockedError", "Share", "VerifyReport"]
