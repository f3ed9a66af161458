"""``sync status``: the last run, each published share's cursor, and the failed items (from the ledger).

A failed item's reason is rendered when shown, in the reader's language (:mod:`lmsbridge.sync.reason`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmsbridge.i18n import Message
from lmsbridge.ledger import FailedItem, Ledger
from lmsbridge.sync.outcome import reason_code


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
    failures: list[FailedItem] = field(default_factory=list)

    @staticmethod
    def reason(failure: FailedItem) -> Message:
        return Message.from_stored(failure.reason)

    def failure_dicts(self) -> list[dict[str, Any]]:
        """The failed items for ``--json``: the ledger's fields, the reason in the current language and its
        code (None for a reason stored as text)."""
        out = []
        for failure in self.failures:
            data = failure.model_dump(mode="json")
            reason = self.reason(failure)
            data["reason"] = reason.render()
            data["reason_code"] = reason_code(reason)
            out.append(data)
        return out

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
            "failures": self.failure_dicts(),
        }


def sync_status(ledger: Ledger) -> SyncStatus:
    shares = ledger.list_shares(state="published")
    counts: dict[str, int] = {}
    for row in ledger.completions():
        counts[row.share_id] = counts.get(row.share_id, 0) + 1
    last = ledger.last_run()
    last_run = last.model_dump(mode="json") if last else None
    if last is not None and last_run is not None and last.status == "running" and not ledger.run_alive(last):
        last_run["status"] = "interrupted"  # its process is gone; the next run marks it so in the ledger
    return SyncStatus(
        last_run=last_run,
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
        failures=ledger.list_failures(),
    )


__all__ = ["ShareCursor", "SyncStatus", "sync_status"]
