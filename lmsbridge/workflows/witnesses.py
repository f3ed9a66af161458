"""Receipts on the platforms: written after each share act and sync run, read back by ``ledger verify --witnesses``.

The receipts live in a course custom field the platform profile names (``receipt_field``, default
``lmsbridge_kvittering``: type text, visible to teachers, locked, made by the site admin). They are written and
read with the lmsbridge service's key on both platforms (the field is locked, so only a role with
moodle/course:changelockedcustomfields writes it; course editors cannot). Moodle ignores an unknown or locked
field silently, so every write is read back.

A receipt is never moved backwards: before writing, the course's receipt for the share must name an event the
ledger has, with the same hash, not after the one being written. So a rolled-back or rewritten ledger cannot
overwrite the platforms' memory of it through lmsbridge (``WitnessConflict``); ``ledger verify --witnesses``
names the disagreement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import Course
from lmsbridge.config import Config
from lmsbridge.errors import LedgerError, LmsbridgeError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.ledger.witnesses import (
    EventRef,
    Found,
    Holder,
    Receipt,
    ShareCourses,
    WitnessReport,
    check_witnesses,
    parse_receipts,
    receipt_problem,
    with_receipt,
)


class WitnessConflict(LedgerError):
    """A platform's receipt disagrees with the ledger: lmsbridge will not build on it or overwrite it."""

    code = "witness"


@dataclass
class Delivered:
    """What a round of receipt writing did."""

    written: list[tuple[Holder, Receipt]] = field(default_factory=list)
    #: Receipts not written: the platform could not be reached, refused, or has no such field.
    failed: list[tuple[Holder, Message]] = field(default_factory=list)
    #: The receipt of each share, written or not (for the e-mail).
    receipts: dict[str, Receipt] = field(default_factory=dict)


def holders(share: Share) -> list[Holder]:
    """The courses that keep a share's receipts: the owner's course, and the borrower's once it exists."""
    found = []
    if share.owner_course_id:
        found.append(Holder(share.owner_platform, share.owner_course_id, share.owner_course_shortname))
    if share.borrower_course_id:
        found.append(Holder(share.borrower_platform, share.borrower_course_id, share.borrower_course_shortname or ""))
    return found


@dataclass
class Witnesses:
    config: Config
    ledger: Ledger
    #: The lmsbridge service's client of a platform (receipts are read and written with it).
    client_for: Callable[[str], MoodleClient]

    def _field(self, platform: str) -> str:
        return self.config.platform(platform).receipt_field

    def _receipts_of(self, course: Course, platform: str) -> list[Receipt] | None:
        """The course's receipts; None when the course does not show the field (missing, or hidden from us)."""
        custom = course.field(self._field(platform))
        return None if custom is None else parse_receipts(custom.raw_text)

    def receipt(self, share_id: str, heads: dict[str, EventRef] | None = None) -> Receipt | None:
        head = (heads if heads is not None else self.ledger.share_heads()).get(share_id)
        return Receipt(share_id, head.action, head.seq, head.hash) if head is not None else None

    def check(self, share: Share) -> None:
        """Before an act: the platforms' receipts for this share must agree with the ledger (``WitnessConflict``)."""
        events = self.ledger.event_refs()
        last = max(events, default=0)
        for holder in holders(share):
            course = self.client_for(holder.platform).course(holder.course_id)
            if course is None:
                continue
            for receipt in self._receipts_of(course, holder.platform) or []:
                if receipt.share_id != share.id:
                    continue
                problem = receipt_problem(receipt, holder, events, last, [share.id])
                if problem is not None:
                    raise WitnessConflict(Message("witness.conflict", problem=problem.problem))

    def write(self, share_ids: Iterable[str]) -> Delivered:
        """Write each share's latest receipt onto its courses (never backwards; read back)."""
        out = Delivered()
        heads = self.ledger.share_heads()
        events = self.ledger.event_refs()
        last = max(events, default=0)
        for share_id in dict.fromkeys(share_ids):
            share = self.ledger.get_share(share_id)
            receipt = self.receipt(share_id, heads)
            if share is None or receipt is None:
                continue
            out.receipts[share_id] = receipt
            for holder in holders(share):
                try:
                    if self._write_one(holder, receipt, events, last):
                        out.written.append((holder, receipt))
                except WitnessConflict:
                    raise
                except LmsbridgeError as exc:
                    out.failed.append((holder, exc.message))
        return out

    def _write_one(self, holder: Holder, receipt: Receipt, events: dict[int, EventRef], last: int) -> bool:
        client = self.client_for(holder.platform)
        course = client.course(holder.course_id)
        if course is None:
            raise LedgerError(Message("witness.course_gone", course=holder.name))
        field_name = self._field(holder.platform)
        current = course.field(field_name)
        for earlier in parse_receipts(current.raw_text if current is not None else ""):
            if earlier.share_id != receipt.share_id:
                continue
            if earlier == receipt:
                return False
            problem = receipt_problem(earlier, holder, events, last, [receipt.share_id])
            if problem is not None or earlier.seq > receipt.seq:
                message = problem.problem if problem is not None else Message(
                    "witness.ahead", share=receipt.share_id, course=holder.name, seq=earlier.seq, ours=receipt.seq)
                raise WitnessConflict(Message("witness.conflict", problem=message))
        value = with_receipt(current.raw_text if current is not None else "", receipt)
        client.update_courses([{"id": course.id, "customfields": [{"shortname": field_name, "value": value}]}])
        again = client.course(holder.course_id)
        if again is None or receipt not in (self._receipts_of(again, holder.platform) or []):
            raise LedgerError(Message("witness.not_kept", course=holder.name, field=field_name))
        return True

    def verify(self, platforms: Iterable[str] | None = None) -> WitnessReport:
        """Read every receipt on the platforms (one listing call each) and compare them with the ledger."""
        names = list(platforms or self.config.platforms)
        found: list[Found] = []
        no_field: list[str] = []
        for name in names:
            courses = self.client_for(name).all_courses()
            seen_field = False
            for course in courses:
                receipts = self._receipts_of(course, name)
                if receipts is None:
                    continue
                seen_field = True
                if receipts:
                    found.append(Found(Holder(name, course.id, course.shortname), tuple(receipts)))
            if courses and not seen_field:
                no_field.append(name)
        shares = [ShareCourses(s.id, tuple(holders(s))) for s in self.ledger.list_shares()]
        events = self.ledger.event_refs()
        return check_witnesses(found, shares=shares, heads=self.ledger.share_heads(), events=events,
                               last_seq=max(events, default=0), platforms=names, no_field=no_field)


__all__ = ["Delivered", "WitnessConflict", "Witnesses", "holders"]
