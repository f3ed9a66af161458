"""``sync status``: the last run, each published share's cursor, and the failed items (from the ledger)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmsbridge.ledger import Ledger


@dataclass(frozen=True)
class ShareCursor:
    share_id: str
    owner: str
    borrower: str
    course: str
    cursor: datetime | None
    completions: int


@dataclass
class SyncStatus:
    last_run: dict[str, Any] | None
    shares: list[ShareCursor] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_run": self.last_run,
            "shares": [
                {
                    "share": s.share_id,
                    "owner": s.owner,
                    "borrower": s.borrower,
                    "course": s.course,
                    "cursor": s.cursor.isoformat() if s.cursor else None,
                    "completions": s.completions,
                }
                for s in self.shares
            ],
            "failures": self.failures,
        }


def sync_status(ledger: Ledger) -> SyncStatus:
    shares = ledger.list_shares(state="published")
    counts: dict[str, int] = {}
    for row in ledger.completions():
        counts[row.share_id] = counts.get(row.share_id, 0) + 1
    last = ledger.last_run()
    return SyncStatus(
        last_run=last.model_dump(mode="json") if last else None,
        shares=[
            ShareCursor(
                s.id,
                s.owner_platform,
                s.borrower_platform,
                s.owner_course_shortname,
                ledger.get_cursor(s.id),
                counts.get(s.id, 0),
            )
            for s in shares
        ],
        failures=[f.model_dump(mode="json") for f in ledger.list_failures()],
    )


__all__ = ["ShareCursor", "SyncStatus", "sync_status"]
