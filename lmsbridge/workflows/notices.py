"""Notices to the other party, written (and sent) and logged in the ledger as events.

«Nede-tid eller oppgraderinger … skal varsles den andre parten … uten ugrunnet opphold» (seed 002), and the
quarterly meeting wants to see what was notified: every notice lmsbridge writes (downtime, upgrade, the
agreement's renewal, and the share acts' notices once they send any) is a ``notice`` event with its kind,
recipient and key, in the same transaction as the message row it vouches for. ``ledger verify`` and
``lmsbridge report`` read them from there. A notice is logged once per key: writing it again (a re-run)
adds no event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lmsbridge.config import Config
from lmsbridge.ledger import Ledger
from lmsbridge.mail import Mailer
from lmsbridge.sharing.notices import Notice

#: The ledger event of a notice (``details.kind`` says which).
NOTICE_ACTION = "notice"


def operator_actor(config: Config) -> str:
    """Who acts, as the ledger names the actor: «Ola Hansen (Helse Bergen HF)»."""
    op = config.operator
    who = op.name or op.email or "unknown"
    return f"{who} ({op.organisation})" if op.organisation else who


@dataclass(frozen=True)
class NoticeWritten:
    to: str
    key: str
    path: str
    sent: bool
    #: False when the notice was written before under the same key (no second event).
    logged: bool


def deliver_notice(*, ledger: Ledger, mailer: Mailer, notice: Notice, kind: str, key: str, actor: str,
                   when: datetime, details: Mapping[str, Any] | None = None,
                   cc: tuple[str, ...] = ()) -> NoticeWritten:
    """Write the notice to the outbox (and send it when SMTP is configured), then log it: the message row
    and a ``notice`` event carrying ``kind``, the recipient, the key and ``details``, in ONE transaction."""
    delivery = mailer.deliver(to=notice.to, cc=cc, subject=notice.subject, body=notice.body, key=key, when=when)
    with ledger.transaction():
        logged = ledger.record_message(key=key, kind=f"notice-{kind}", to=notice.to, subject=notice.subject,
                                       message_id=delivery.message_id, path=str(delivery.path), now=when)
        if logged:
            ledger.append_event(share_id=None, actor=actor, action=NOTICE_ACTION, at=when,
                                details={"kind": kind, "to": notice.to, **({"cc": list(cc)} if cc else {}),
                                         "key": key, "sent": delivery.sent,
                                         **(details or {})})
    return NoticeWritten(notice.to, key, str(delivery.path), delivery.sent, logged)


__all__ = ["NOTICE_ACTION", "NoticeWritten", "deliver_notice", "operator_actor"]
