"""Audited rows, as pure functions: which tables the event chain vouches for, how a row is stamped, and
how the rows as they are compare with the events.

The audit trail is the shares, the completion log (each completion brought back to an owner) and the
records of messages sent (e-mails in ``messages``, learner notices in ``certificate_notices``). Every write
of one of their rows puts a *stamp* of the row, as its transaction left it, into the hashed event of that
transaction (``Event.rows``, stored in ``events.row_digests``): the table, an opaque reference to the row's
primary key, the share it belongs to, a label a person can read, the sha256 of every column, and 8 hex
digits per column (what lets verify say *which* fields differ). ``check_rows`` compares the rows as they
are with the last stamp of each and names every row with no stamp (inserted behind lmsbridge's back), every
stamp with no row (deleted, or its key edited), and every row that differs from its stamp. A stamp with an
empty digest says lmsbridge removed the row in that event (re-keying the pseudonyms to a new secret moves
completions and notices to new keys: ``removed``).

Not audited, and written without events: sync cursors, failed items, sync runs and run locks are
operational state (where the next run starts, what it retries, who runs): wrong values there make a sync
redo or retry work, never rewrite what was agreed or brought back. ``migrations`` and ``chain_head`` are
the ledger's own bookkeeping (verify checks the head against the chain).

No learner key goes into a stamp: the reference is a digest of the primary key, and the label of a
completion or a notice names the share and activity, or the course and due date, never the learner (the
events never carried learner data, and still do not).

Cells are digested as the database gives them back (TEXT as str, INTEGER as int, NULL as None); another
type written by hand into a SQLite column (a REAL, a BLOB) is digested with its type, so it never matches.
The columns of each table are fixed here (stamp version 1): a migration that changes an audited table's
columns must stamp its rows again in an event, as ``0006_row_digests`` stamped the rows written before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lmsbridge.i18n import N_, Message
from lmsbridge.ledger.chain import StoredEvent
from lmsbridge.ledger.models import RowProblem, RowStamp

FIELD_DIGITS = 8
REF_DIGITS = 32

#: The event migration 0006 writes: the stamps of the rows as they were at the upgrade.
BASELINE_ACTION = "ledger.baseline"
#: The actor of the events lmsbridge writes on its own (the baseline, rows written without an event).
SYSTEM_ACTOR = "lmsbridge"

CHANGED = "ledger.verify.row.changed"
MISSING = "ledger.verify.row.missing"
UNRECORDED = "ledger.verify.row.unrecorded"
DISPUTED = "ledger.verify.row.disputed"
UNREADABLE = "ledger.verify.stamps_unreadable"


@dataclass(frozen=True)
class AuditedTable:
    name: str
    #: The primary key's columns.
    key: tuple[str, ...]
    #: Every column, in the order the stamp's field digits follow.
    columns: tuple[str, ...]
    #: The column naming the share the row belongs to, if any.
    share_column: str | None
    #: The row's label (never a learner key).
    label: Callable[[Mapping[str, Any]], str]


SHARES = AuditedTable(
    "shares", ("id",),
    ("id", "flow", "state", "owner_platform", "owner_course_id", "owner_course_shortname", "owner_org",
     "borrower_platform", "borrower_course_id", "borrower_course_shortname", "borrower_org", "initiator",
     "licence_at_share", "label", "owner_support", "borrower_support", "contact_point", "request_key",
     "created_at", "updated_at"),
    "id", lambda row: str(row["id"]),
)
COMPLETIONS = AuditedTable(
    "completions", ("share_id", "learner_key", "owner_activity"),
    ("share_id", "learner_key", "owner_activity", "borrower_activity", "time_completed", "synced_at"),
    "share_id", lambda row: str(row["owner_activity"]),
)
MESSAGES = AuditedTable(
    "messages", ("key",),
    ("key", "kind", "recipient", "subject", "message_id", "path", "created_at"),
    None, lambda row: str(row["key"]),
)
CERTIFICATE_NOTICES = AuditedTable(
    "certificate_notices", ("course_key", "learner_key", "due_date"),
    ("course_key", "learner_key", "due_date", "sent_at"),
    None, lambda row: f"{row['course_key']} {row['due_date']}",
)

#: The audited tables, in the order verify reports them.
AUDITED: dict[str, AuditedTable] = {t.name: t for t in (SHARES, COMPLETIONS, MESSAGES, CERTIFICATE_NOTICES)}
_ORDER = {name: i for i, name in enumerate(AUDITED)}


def _cell(value: object) -> str:
    """A cell as digested, tagged with its type: what SQLite and PostgreSQL give back for TEXT, INTEGER and
    NULL, and any other type apart (so a number written as text, or a REAL, differs from the INTEGER)."""
    if value is None:
        return "n"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, bool):
        return f"b{int(value)}"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return "r" + repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "x" + bytes(value).hex()
    return f"o{type(value).__name__}:{value}"


def _framed(parts: Iterable[str]) -> bytes:
    """The parts, each length-prefixed, so no two different lists of parts give the same bytes."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        out += b"%d:" % len(data)
        out += data
    return bytes(out)


def _sha(*parts: str) -> str:
    return hashlib.sha256(_framed(parts)).hexdigest()


def stamp(table: AuditedTable, row: Mapping[str, Any]) -> RowStamp:
    """The stamp of ``row`` (column → value, as read from the database) of ``table``."""
    ref = _sha("lmsbridge.row.ref/1", table.name, *(_cell(row.get(c)) for c in table.key))[:REF_DIGITS]
    cells = [_cell(row.get(c)) for c in table.columns]
    per_field = hashlib.sha256(_framed(("lmsbridge.field/1", table.name, ref)))
    fields = []
    for column, cell in zip(table.columns, cells, strict=True):
        one = per_field.copy()
        one.update(_framed((column, cell)))
        fields.append(one.hexdigest()[:FIELD_DIGITS])
    share = row.get(table.share_column) if table.share_column else None
    # Built without validation: every value is made here, of the declared type (this runs once per row
    # written and per row verified).
    return RowStamp.model_construct(
        table=table.name,
        ref=ref,
        share_id=None if share is None else str(share),
        row=table.label(row),
        digest=_sha("lmsbridge.row/1", table.name, *cells),
        fields="".join(fields),
    )


def removed(table: AuditedTable, row: Mapping[str, Any]) -> RowStamp:
    """The stamp that says lmsbridge removed ``row`` (its digest and fields empty): re-keying the pseudonyms
    moves a row to another primary key, so its old key is vouched gone, not missing."""
    return stamp(table, row).model_copy(update={"digest": "", "fields": ""})


def _sort_key(item: RowStamp | RowProblem) -> tuple[int, str, str, str]:
    return (_ORDER.get(item.table, len(_ORDER)), item.share_id or "", item.row,
            item.ref if isinstance(item, RowStamp) else item.code)


def stamps_text(stamps: Iterable[RowStamp]) -> str:
    """The stamps as stored in ``events.row_digests`` and hashed with the event: JSON in table and row
    order, keys sorted; "" for none."""
    ordered = sorted(stamps, key=_sort_key)
    if not ordered:
        return ""
    return json.dumps([s.model_dump() for s in ordered], ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def parse_stamps(text: str) -> list[RowStamp]:
    """The stamps of ``events.row_digests``; ``ValueError`` when it is not stamps."""
    if not text:
        return []
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("not a list")
        return [RowStamp.model_validate(item) for item in data]
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


# -- the upgrade: the rows written before stamps, against the events written with them ----------------------

#: The share actions lmsbridge wrote before migration 0006, and the state each one left (frozen: later
#: actions are stamped and need no such table).
STATE_AFTER = {"request": "requested", "approve": "approved", "reject": "rejected", "publish": "published",
               "revoke": "revoked"}
#: Which details of those events name which column of the share (request: flow, course; publish: the
#: borrower's course).
DETAIL_COLUMNS = {
    "request": {"flow": "flow", "course": "owner_course_shortname"},
    "publish": {"borrower_course_id": "borrower_course_id", "borrower_course": "borrower_course_shortname"},
}


def history_disputes(shares: Iterable[Mapping[str, Any]],
                     events: Iterable[StoredEvent]) -> dict[str, dict[str, list[object]]]:
    """Share rows that disagree with what the events before row stamps say of them.

    Returns ``{share id: {column: [value in the row, value by the events]}}``; ``{}`` for a share no event
    names. The state is the one the share's last request/approve/reject/publish/revoke left; flow, the
    owner's course and the borrower's course are compared when the request and publish events name them.
    """
    said: dict[str, dict[str, object]] = {}
    for event in events:
        if event.share_id is None:
            continue
        facts = said.setdefault(event.share_id, {})
        if event.action in STATE_AFTER:
            facts["state"] = STATE_AFTER[event.action]
        columns = DETAIL_COLUMNS.get(event.action)
        if columns:
            try:
                details = json.loads(event.details)
            except ValueError:
                continue
            if isinstance(details, dict):
                for key, column in columns.items():
                    if key in details:
                        facts[column] = details[key]
    disputes: dict[str, dict[str, list[object]]] = {}
    for row in shares:
        share_id = str(row["id"])
        if share_id not in said:
            disputes[share_id] = {}
            continue
        differ = {column: [row.get(column), value] for column, value in sorted(said[share_id].items())
                  if row.get(column) != value}
        if differ:
            disputes[share_id] = differ
    return disputes


# -- verify ------------------------------------------------------------------------------------------------------


@dataclass
class RowCheck:
    """The audited rows against the events: rows read, and what disagrees."""

    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    #: An event whose stamps cannot be read (verify stops there).
    unreadable_seq: int | None = None


#: How each audited table's row is named in a problem.
_ROW_NAMES = {
    "shares": N_("ledger.row.shares"),
    "completions": N_("ledger.row.completions"),
    "messages": N_("ledger.row.messages"),
    "certificate_notices": N_("ledger.row.certificate_notices"),
}
#: Each problem's message (the disputed share with no events before it has its own).
_PROBLEMS = {
    CHANGED: N_("ledger.verify.row.changed"),
    MISSING: N_("ledger.verify.row.missing"),
    UNRECORDED: N_("ledger.verify.row.unrecorded"),
    DISPUTED: N_("ledger.verify.row.disputed"),
}
_NO_EVENTS = N_("ledger.verify.row.disputed.no_events")


def _what(table: str, share_id: str | None, row: str, key: Sequence[str] | None) -> Message:
    what = Message(_ROW_NAMES[table], share=share_id or "-", row=row)
    if key is not None and table in ("completions", "certificate_notices"):
        learner = key[1]
        what = Message("ledger.row.learner", what=what, learner=learner[:12])
    return what


def _problem(code: str, table: str, share_id: str | None, row: str, *, key: Sequence[str] | None = None,
             seq: int | None = None, fields: Sequence[str] = (), text: str | None = None,
             shown_fields: tuple[Message, ...] = ()) -> RowProblem:
    what = _what(table, share_id, row, key)
    return RowProblem(
        code=code, table=table, share_id=share_id, row=row, key=list(key) if key is not None else None, seq=seq,
        fields=list(fields),
        problem=Message(text or _PROBLEMS[code], what=what, seq=seq,
                        fields=shown_fields or ", ".join(fields) or "-"),
    )


def _differing(table: AuditedTable, written: str, now: str) -> list[str]:
    n = FIELD_DIGITS
    if len(written) != len(now) or len(now) != n * len(table.columns):
        return list(table.columns)
    return [c for i, c in enumerate(table.columns) if written[i * n:(i + 1) * n] != now[i * n:(i + 1) * n]]


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def check_rows(events: Iterable[StoredEvent], current: Mapping[str, Iterable[Mapping[str, Any]]]) -> RowCheck:
    """Compare the rows as they are (``current``: table name → rows) with the last stamp of each in
    ``events`` (ordered by seq, the chain already verified). Also: a share named by an event that is not
    in the table (covers the shares deleted before stamps), and the disputes the upgrade recorded."""
    check = RowCheck()
    latest: dict[tuple[str, str], tuple[RowStamp, int]] = {}
    named: dict[str, int] = {}
    disputes: list[tuple[int, str, Mapping[str, Any]]] = []
    for event in events:
        if event.share_id is not None:
            named[event.share_id] = event.seq
        try:
            stamps = parse_stamps(event.row_digests)
        except ValueError:
            check.unreadable_seq = event.seq
            return check
        for item in stamps:
            latest[(item.table, item.ref)] = (item, event.seq)
        if event.action == BASELINE_ACTION and event.actor == SYSTEM_ACTOR:
            try:
                recorded = json.loads(event.details).get("disputed") or {}
            except (ValueError, AttributeError):
                recorded = {}
            if isinstance(recorded, dict):
                disputes.extend((event.seq, str(k), v) for k, v in recorded.items() if isinstance(v, dict))

    seen: set[tuple[str, str]] = set()
    shares_here: set[str] = set()
    for table in AUDITED.values():
        for row in current.get(table.name, ()):
            check.rows += 1
            now = stamp(table, row)
            key = [str(row.get(c)) for c in table.key]
            if table is SHARES:
                shares_here.add(now.row)
            seen.add((table.name, now.ref))
            entry = latest.get((table.name, now.ref))
            if entry is None or not entry[0].digest:  # never stamped, or stamped as removed
                check.problems.append(_problem(UNRECORDED, table.name, now.share_id, now.row, key=key))
            elif entry[0].digest != now.digest:
                written, seq = entry
                check.problems.append(_problem(CHANGED, table.name, now.share_id, now.row, key=key, seq=seq,
                                               fields=_differing(table, written.fields, now.fields)))
    missing_shares: set[str] = set()
    for (table_name, ref), (written, seq) in latest.items():
        if (table_name, ref) not in seen and written.digest:  # an empty digest: removed by lmsbridge
            check.problems.append(_problem(MISSING, table_name, written.share_id, written.row, seq=seq))
            if table_name == SHARES.name:
                missing_shares.add(written.row)
    for share_id, seq in named.items():
        if share_id not in shares_here and share_id not in missing_shares:
            check.problems.append(_problem(MISSING, SHARES.name, share_id, share_id, seq=seq))
    for seq, share_id, differ in disputes:
        share_key = [share_id] if share_id in shares_here else None
        if not differ:
            check.problems.append(_problem(DISPUTED, SHARES.name, share_id, share_id, key=share_key, seq=seq,
                                           text=_NO_EVENTS))
            continue
        pairs = {column: value for column, value in differ.items() if isinstance(value, list) and len(value) == 2}
        shown = tuple(Message("ledger.verify.row.dispute_field", field=column, row=_shown(pair[0]),
                              events=_shown(pair[1])) for column, pair in sorted(pairs.items()))
        check.problems.append(_problem(DISPUTED, SHARES.name, share_id, share_id, key=share_key, seq=seq,
                                       fields=sorted(differ), shown_fields=shown))
    check.problems.sort(key=_sort_key)
    return check
