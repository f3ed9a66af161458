"""Witnesses: receipts of the ledger kept by the platforms, and what they say about the ledger. Pure functions.

A hash chain proves nothing to someone who can write the ledger file: they can rewrite it whole. So after each
share act (and each sync run that brought completions back), lmsbridge writes a *receipt* onto the share's
courses on both platforms (a course custom field, ``lmsbridge_kvittering`` by default) and into the act's
e-mail to the contact point: ``S-0001 approve #3 <sha256 of event 3>``, the share's latest event and the chain
head after it. Each course keeps one receipt per share, the latest; the hash of event N covers every event
before it, so one receipt vouches for the whole history up to N.

``check_witnesses`` compares what the platforms hold with the ledger and names the share and the platform of
each disagreement: a receipt for an event the ledger does not have (rolled back, cut, emptied), for an event
the ledger has with another hash or meaning (rewritten), for a share the ledger does not have (deleted,
replaced); a share, or a share's later events, that no platform witnessed (forged, or a receipt lmsbridge could
not write yet: ``lmsbridge ledger witness`` writes those).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from lmsbridge.i18n import N_, Message
from lmsbridge.ledger.models import LedgerModel

#: One receipt as written: share id, the event's action, its number, the chain head after it.
RECEIPT = re.compile(r"(S-\d+) ([a-z][a-z0-9._-]*) #(\d+) ([0-9a-f]{64})")
#: Between the receipts of several shares on one course (a text field holds one line of 1333 characters).
SEPARATOR = "; "

# Problem codes (stable; the messages say it for people).
BEYOND = N_("witness.beyond")
REWRITTEN = N_("witness.rewritten")
SHARE_MISSING = N_("witness.share_missing")
MISSING = N_("witness.missing")
UNWITNESSED = N_("witness.unwitnessed")
NO_FIELD = N_("witness.no_field")
ELSEWHERE = N_("witness.elsewhere")
#: Problems that are notes, not failures: a receipt copied with a course (a backup restored elsewhere).
NOTES = frozenset({ELSEWHERE})


@dataclass(frozen=True, order=True)
class Receipt:
    share_id: str
    act: str
    seq: int
    head: str

    @property
    def text(self) -> str:
        return f"{self.share_id} {self.act} #{self.seq} {self.head}"


def parse_receipts(text: str | None) -> list[Receipt]:
    """The receipts in a field's value (anything else in it is ignored); the latest per share."""
    latest: dict[str, Receipt] = {}
    for share_id, act, seq, head in RECEIPT.findall(text or ""):
        receipt = Receipt(share_id, act, int(seq), head)
        if share_id not in latest or latest[share_id].seq < receipt.seq:
            latest[share_id] = receipt
    return sorted(latest.values(), key=lambda r: _share_order(r.share_id))


def _share_order(share_id: str) -> tuple[int, str]:
    return (len(share_id), share_id)


def with_receipt(text: str | None, receipt: Receipt) -> str:
    """The field's value with ``receipt`` in place of the share's earlier one."""
    kept = [r for r in parse_receipts(text) if r.share_id != receipt.share_id]
    return SEPARATOR.join(r.text for r in sorted([*kept, receipt], key=lambda r: _share_order(r.share_id)))


@dataclass(frozen=True)
class EventRef:
    """What a receipt is checked against: an event's share, action and hash."""

    seq: int
    share_id: str | None
    action: str
    hash: str


@dataclass(frozen=True)
class Holder:
    """A course that holds (or should hold) receipts."""

    platform: str
    course_id: int
    shortname: str = ""

    @property
    def name(self) -> str:
        return f"{self.platform}:{self.shortname or self.course_id}"


@dataclass(frozen=True)
class Found:
    """The receipts one course on one platform holds."""

    holder: Holder
    receipts: tuple[Receipt, ...] = ()


@dataclass(frozen=True)
class ShareCourses:
    """Where a share's receipts belong, as the ledger says: the owner's course, and the borrower's once it has one."""

    share_id: str
    holders: tuple[Holder, ...]


class WitnessProblem(LedgerModel):
    code: str
    share_id: str | None
    platform: str
    course_id: int | None = None
    problem: Message


class WitnessReport(LedgerModel):
    """What the platforms' receipts say of the ledger."""

    ok: bool
    #: Platforms read, and receipts found on them.
    platforms: list[str] = Field(default_factory=list)
    receipts: int = 0
    #: The newest event a platform witnessed as the ledger has it (0: none); the events after it are
    #: vouched for by the hash chain alone, unless they belong to a share (then checked above).
    witnessed_seq: int = 0
    last_seq: int = 0
    problems: list[WitnessProblem] = Field(default_factory=list)
    notes: list[WitnessProblem] = Field(default_factory=list)


def receipt_problem(receipt: Receipt, holder: Holder, events: Mapping[int, EventRef], last_seq: int,
                    share_ids: Iterable[str]) -> WitnessProblem | None:
    """What is wrong with the ledger by this receipt, or None when the ledger has the event as witnessed."""
    values = {"share": receipt.share_id, "platform": holder.platform, "course": holder.name, "act": receipt.act,
              "seq": receipt.seq}
    if receipt.share_id not in set(share_ids):
        return _problem(SHARE_MISSING, receipt.share_id, holder, Message(SHARE_MISSING, **values))
    event = events.get(receipt.seq)
    if event is None or receipt.seq > last_seq:
        return _problem(BEYOND, receipt.share_id, holder, Message(BEYOND, last=last_seq, **values))
    if event.hash != receipt.head or event.action != receipt.act:
        return _problem(REWRITTEN, receipt.share_id, holder,
                        Message(REWRITTEN, head=receipt.head[:12], found=event.hash[:12], found_act=event.action,
                                **values))
    return None


def _problem(code: str, share_id: str | None, holder: Holder, message: Message) -> WitnessProblem:
    return WitnessProblem(code=code, share_id=share_id, platform=holder.platform, course_id=holder.course_id,
                          problem=message)


def check_witnesses(found: Sequence[Found], *, shares: Sequence[ShareCourses], heads: Mapping[str, EventRef],
                    events: Mapping[int, EventRef], last_seq: int, platforms: Sequence[str],
                    no_field: Sequence[str] = ()) -> WitnessReport:
    """Compare the receipts ``found`` on ``platforms`` with the ledger: its ``events`` (by seq, up to
    ``last_seq``), its shares and where their receipts belong, and each share's latest event (``heads``)."""
    problems: list[WitnessProblem] = []
    notes: list[WitnessProblem] = []
    for platform in no_field:
        problems.append(WitnessProblem(code=NO_FIELD, share_id=None, platform=platform,
                                       problem=Message(NO_FIELD, platform=platform)))
    share_ids = {s.share_id for s in shares}
    expected = {(h.platform, h.course_id): s.share_id for s in shares for h in s.holders}
    held: dict[tuple[str, str, int], Receipt] = {}
    witnessed = 0
    count = 0
    for item in found:
        for receipt in item.receipts:
            count += 1
            held[(receipt.share_id, item.holder.platform, item.holder.course_id)] = receipt
            problem = receipt_problem(receipt, item.holder, events, last_seq, share_ids)
            if problem is not None:
                problems.append(problem)
                continue
            witnessed = max(witnessed, receipt.seq)
            if not any(v == receipt.share_id and k == (item.holder.platform, item.holder.course_id)
                       for k, v in expected.items()):
                notes.append(_problem(ELSEWHERE, receipt.share_id, item.holder,
                                      Message(ELSEWHERE, share=receipt.share_id, course=item.holder.name)))
    read = set(platforms) - set(no_field)  # a platform without the field is one problem, not one per share
    for share in shares:
        head = heads.get(share.share_id)
        for holder in share.holders:
            if holder.platform not in read:
                continue
            values = {"share": share.share_id, "platform": holder.platform, "course": holder.name}
            kept = held.get((share.share_id, holder.platform, holder.course_id))
            if kept is None:
                problems.append(_problem(MISSING, share.share_id, holder, Message(MISSING, **values)))
            elif head is not None and kept.seq < head.seq and not _is_problem(problems, kept, holder):
                problems.append(_problem(UNWITNESSED, share.share_id, holder,
                                         Message(UNWITNESSED, seq=kept.seq, head_seq=head.seq, act=head.action,
                                                 **values)))
    problems.sort(key=lambda p: (_share_order(p.share_id or ""), p.platform, p.code))
    return WitnessReport(ok=not problems, platforms=list(platforms), receipts=count, witnessed_seq=witnessed,
                         last_seq=last_seq, problems=problems, notes=notes)


def _is_problem(problems: Sequence[WitnessProblem], receipt: Receipt, holder: Holder) -> bool:
    return any(p.share_id == receipt.share_id and p.platform == holder.platform and p.course_id == holder.course_id
               for p in problems)


__all__ = [
    "RECEIPT",
    "EventRef",
    "Found",
    "Holder",
    "Receipt",
    "ShareCourses",
    "WitnessProblem",
    "WitnessReport",
    "check_witnesses",
    "parse_receipts",
    "receipt_problem",
    "with_receipt",
]
