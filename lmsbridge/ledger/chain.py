"""The event chain, as pure functions: how an event is hashed and how a stored chain is checked.

``hash = sha256(canonical JSON of [seq, share_id, at, actor, action, details, prev_hash])`` where ``at`` and
``details`` are hashed as the exact text stored (ISO-8601 UTC; JSON with sorted keys), so verifying never
depends on re-serialising. An event that vouches for audited rows (``row_digests``, migration 0006: the
stamps of the shares, completions and messages its transaction wrote, see ``lmsbridge.ledger.rows``) has
that text as an eighth element; an event without stamps (every event before 0006) keeps the seven, so old
hashes stay valid, and blanking the stamps of an event changes what its hash covers. The first event
follows ``GENESIS``. A separate head record (last seq and hash, written in the same transaction as each
event) reveals a cut-off or extended tail, which a chain alone cannot show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger.models import VerifyReport

GENESIS = "0" * 64


@dataclass(frozen=True)
class StoredEvent:
    """An event row as stored (text as written), the input of ``check_chain``."""

    seq: int
    share_id: str | None
    at: str
    actor: str
    action: str
    details: str
    prev_hash: str
    hash: str
    #: The stamps of the audited rows the event vouches for, as stored (JSON), or "".
    row_digests: str = ""


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


def event_hash(seq: int, share_id: str | None, at: str, actor: str, action: str, details: str, prev_hash: str,
               row_digests: str = "") -> str:
    fields: list[object] = [seq, share_id, at, actor, action, details, prev_hash]
    if row_digests:
        fields.append(row_digests)
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath | set | frozenset):
        return str(value) if isinstance(value, PurePath) else sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def details_text(details: Mapping[str, Any] | None) -> str:
    """Event details as stored and hashed: JSON, keys sorted, no NaN; dates, enums and paths as text."""
    try:
        return json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"event details must be JSON data: {exc}") from exc


def _bad(events: int, seq: int, problem: Message) -> VerifyReport:
    """The chain is bad from event ``seq``: ``problem`` says how (its code is the problem's stable code)."""
    code = problem.code.removesuffix(".one")
    return VerifyReport(ok=False, events=events, first_bad_seq=seq, problem_code=code, problem=problem.but(seq=seq))


def check_chain(rows: Iterable[StoredEvent], head: ChainHead | None) -> VerifyReport:
    """Walk ``rows`` (ordered by seq) and name the first bad event: missing, out of place, relinked, edited,
    or cut off / added past the recorded head."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    for row in rows:
        count += 1
        if row.seq > expected_seq:
            return _bad(count, expected_seq, Message("ledger.verify.missing"))
        if row.seq < expected_seq:
            return _bad(count, row.seq, Message("ledger.verify.out_of_place"))
        if row.prev_hash != prev:
            return _bad(count, row.seq, Message("ledger.verify.broken_link", previous=row.seq - 1))
        digest = event_hash(row.seq, row.share_id, row.at, row.actor, row.action, row.details, row.prev_hash,
                            row.row_digests)
        if digest != row.hash:
            return _bad(count, row.seq, Message("ledger.verify.changed"))
        prev = row.hash
        expected_seq += 1
    last = expected_seq - 1
    head_seq = head.seq if head else 0
    if head_seq > last:
        if head_seq == last + 1:
            return _bad(count, last + 1, Message("ledger.verify.tail_missing.one", head=head_seq))
        return _bad(count, last + 1, Message("ledger.verify.tail_missing", head=head_seq))
    if head_seq < last:
        return _bad(count, head_seq + 1, Message("ledger.verify.added"))
    if head is not None and head.hash != prev:
        return _bad(count, last, Message("ledger.verify.head_changed"))
    return VerifyReport(ok=True, events=count, head_hash=prev if count else None)
