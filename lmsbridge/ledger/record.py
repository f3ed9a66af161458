"""The agreement's record in the ledger: shares and their states, the hash-chained event log, messages written.

These are the audited rows (``lmsbridge.ledger.rows``): each is stamped when written and vouched for by the
event its transaction appends; ``verify`` walks the chain and checks the rows against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from typing_extensions import Unpack

from lmsbridge.domain import Label, ShareFlow
from lmsbridge.errors import LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger import audit
from lmsbridge.ledger.base import _SHARE_CHANGES, LedgerBase, ShareChanges, _dt, _ts, _value
from lmsbridge.ledger.chain import ChainHead, check_chain
from lmsbridge.ledger.errors import LedgerConstraintError, LedgerNotFoundError, ShareStateError
from lmsbridge.ledger.models import (
    SHARE_STATES,
    SHARE_TRANSITIONS,
    SentMessage,
    Share,
    VerifyReport,
)
from lmsbridge.ledger.rows import (
    AUDITED,
    MESSAGES,
    SHARES,
    UNREADABLE,
    check_rows,
    parse_stamps,
    stamp,
)
from lmsbridge.ledger.witnesses import EventRef


class AgreementRecord(LedgerBase):
    """Shares, events and messages."""

    # -- shares ----------------------------------------------------------------------------------------

    def _share(self, row: Mapping[str, Any]) -> Share:
        data = dict(row)
        data["created_at"] = _dt(data["created_at"])
        data["updated_at"] = _dt(data["updated_at"])
        return self._model(Share, data)

    def _next_share_id(self) -> str:
        # Zero-padded, so the longest-then-greatest id is the last one (S-9999 < S-10000).
        rows = self._execute("SELECT id FROM shares WHERE id LIKE 'S-%' ORDER BY LENGTH(id) DESC, id DESC LIMIT 1")
        last = int(str(rows[0]["id"])[2:]) if rows and str(rows[0]["id"])[2:].isdigit() else 0
        return f"S-{last + 1:04d}"

    def create_share(
        self,
        *,
        flow: ShareFlow | str,
        owner_platform: str,
        owner_course_id: int | None,
        owner_course_shortname: str,
        owner_org: str,
        borrower_platform: str,
        borrower_org: str,
        initiator: str,
        licence_at_share: str,
        label: Label | str,
        owner_support: str,
        borrower_support: str,
        contact_point: str,
        request_key: str,
        borrower_course_id: int | None = None,
        borrower_course_shortname: str | None = None,
        now: datetime | None = None,
    ) -> Share:
        """Record a new share in state ``requested`` with the next id (S-0001, S-0002 …).

        The request key is unique: asking again for the same thing finds the share
        (``find_share_by_request_key``) instead of making a second one; here a repeat is refused.
        """
        when = _ts(now or self.now())
        flow_value = ShareFlow(flow).value
        with self.transaction():
            existing = self.find_share_by_request_key(request_key)
            if existing is not None:
                raise LedgerConstraintError(Message("ledger.duplicate_request", id=existing.id, key=request_key))
            share_id = self._next_share_id()
            values: dict[str, object] = {
                "id": share_id, "flow": flow_value, "state": "requested",
                "owner_platform": owner_platform, "owner_course_id": owner_course_id,
                "owner_course_shortname": owner_course_shortname, "owner_org": owner_org,
                "borrower_platform": borrower_platform, "borrower_course_id": borrower_course_id,
                "borrower_course_shortname": borrower_course_shortname, "borrower_org": borrower_org,
                "initiator": initiator, "licence_at_share": licence_at_share, "label": _value(label),
                "owner_support": owner_support, "borrower_support": borrower_support,
                "contact_point": contact_point, "request_key": request_key,
                "created_at": when, "updated_at": when,
            }
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            return self._one_share(share_id, self._write_audited(
                SHARES, f"INSERT INTO shares ({columns}) VALUES ({marks}) RETURNING *", tuple(values.values())))

    def _one_share(self, share_id: str, rows: Sequence[Mapping[str, Any]]) -> Share:
        """The share row a write returned (the write lock keeps it there between the check and the write)."""
        if len(rows) != 1:
            raise LedgerNotFoundError(Message("ledger.no_share", id=share_id))
        return self._share(rows[0])

    def get_share(self, share_id: str) -> Share | None:
        rows = self._execute("SELECT * FROM shares WHERE id = ?", (share_id,))
        return self._share(rows[0]) if rows else None

    def require_share(self, share_id: str) -> Share:
        """The share, or ``LedgerNotFoundError`` naming it."""
        share = self.get_share(share_id)
        if share is None:
            raise LedgerNotFoundError(Message("ledger.no_share", id=share_id))
        return share

    def find_share_by_request_key(self, request_key: str) -> Share | None:
        rows = self._execute("SELECT * FROM shares WHERE request_key = ?", (request_key,))
        return self._share(rows[0]) if rows else None

    def find_share_for_course(self, owner_platform: str, owner_course_id: int, borrower_platform: str) -> Share | None:
        """The share of this owner course with this borrower platform (one per course and pair; of the several
        an older lmsbridge made after a revoke, the latest)."""
        rows = self._execute(
            "SELECT * FROM shares WHERE owner_platform = ? AND owner_course_id = ? AND borrower_platform = ? "
            "ORDER BY LENGTH(id) DESC, id DESC LIMIT 1", (owner_platform, owner_course_id, borrower_platform))
        return self._share(rows[0]) if rows else None

    def list_shares(self, state: str | None = None, platform: str | None = None) -> list[Share]:
        """Shares in id order; ``state`` filters by state, ``platform`` by owner or borrower platform."""
        sql = "SELECT * FROM shares WHERE 1 = 1"
        params: list[object] = []
        if state:
            sql += " AND state = ?"
            params.append(state)
        if platform:
            sql += " AND (owner_platform = ? OR borrower_platform = ?)"
            params += [platform, platform]
        return [self._share(row) for row in self._execute(sql + " ORDER BY LENGTH(id), id", params)]

    def update_share_state(self, share_id: str, new_state: str, *, now: datetime | None = None,
                           **changes: Unpack[ShareChanges]) -> Share:
        """Move a share to ``new_state`` (only along ``SHARE_TRANSITIONS``), optionally setting the borrower's
        course in the same write. Record the event for it with ``append_event`` in the same transaction."""
        if new_state not in SHARE_STATES:
            raise LedgerError(f"unknown share state {new_state!r} (known: {', '.join(SHARE_STATES)})")
        target = new_state
        unknown = set(changes) - _SHARE_CHANGES
        if unknown:
            raise LedgerError(f"cannot change {', '.join(sorted(unknown))} of a share")
        when = _ts(now or self.now())
        with self.transaction():
            share = self.require_share(share_id)
            allowed = SHARE_TRANSITIONS[share.state]
            if target not in allowed:
                following: str | Message = ", ".join(sorted(allowed)) or Message("ledger.transition.none")
                raise ShareStateError(
                    Message("ledger.transition", id=share_id, current=share.state, target=target, next=following),
                    share_id=share_id, current=share.state, target=target,
                )
            sets = ["state = ?", "updated_at = ?", *(f"{key} = ?" for key in changes)]
            params = [target, when, *changes.values(), share_id, share.state]
            # The state in the WHERE makes the check and the write one step.
            return self._one_share(share_id, self._write_audited(
                SHARES, f"UPDATE shares SET {', '.join(sets)} WHERE id = ? AND state = ? RETURNING *", params))

    def set_borrower_course(self, share_id: str, course_id: int | None, shortname: str | None, *,
                            now: datetime | None = None) -> Share:
        """Link the borrower's course (the copy or the link) to the share, without changing its state."""
        when = _ts(now or self.now())
        with self.transaction():
            self.require_share(share_id)
            return self._one_share(share_id, self._write_audited(
                SHARES, "UPDATE shares SET borrower_course_id = ?, borrower_course_shortname = ?, updated_at = ? "
                "WHERE id = ? RETURNING *", (course_id, shortname, when, share_id)))

    def verify(self) -> VerifyReport:
        """Walk the chain from the first event and name the first edited, deleted, moved or inserted one;
        over an intact chain, compare every audited row with the last event that vouches for it and name
        each row that differs, that no event vouches for, or that an event vouches for and is gone."""
        with self.transaction():  # one consistent view of the events, the head and the rows
            stored = audit.stored_events(self._db)
            head_rows = self._execute("SELECT seq, hash FROM chain_head WHERE id = 1")
            current = {name: audit.audited_rows(self._db, table) for name, table in AUDITED.items()}
        head = ChainHead(int(head_rows[0]["seq"]), str(head_rows[0]["hash"])) if head_rows else None
        report = check_chain(stored, head)
        if not report.ok:
            return report
        check = check_rows(stored, current)
        if check.unreadable_seq is not None:
            return report.model_copy(update={"ok": False, "first_bad_seq": check.unreadable_seq,
                                             "problem_code": UNREADABLE,
                                             "problem": Message("ledger.verify.stamps_unreadable", seq=check.unreadable_seq)})
        if not check.problems:
            return report.model_copy(update={"rows": check.rows})
        first = check.problems[0]
        return report.model_copy(update={"ok": False, "rows": check.rows, "row_problems": check.problems,
                                         "first_bad_seq": first.seq, "problem_code": first.code,
                                         "problem": first.problem})

    # -- what the witnesses are checked against -------------------------------------------------------------

    def event_refs(self) -> dict[int, EventRef]:
        """Every event's share, action and hash, by seq (as stored: verify says whether the chain holds)."""
        return {int(r["seq"]): EventRef(int(r["seq"]), r["share_id"], str(r["action"]), str(r["hash"]))
                for r in self._execute("SELECT seq, share_id, action, hash FROM events ORDER BY seq")}

    def share_heads(self) -> dict[str, EventRef]:
        """Each share's latest event: the last that names it, or that vouches for one of its rows as they are
        (its share row, its completions) — so an event that vouches for a share's rows counts for the share
        whatever share it names."""
        with self.transaction():
            stored = audit.stored_events(self._db)
            rows = {name: audit.audited_rows(self._db, table) for name, table in AUDITED.items() if table.share_column}
        vouching: dict[tuple[str, str], int] = {}
        heads: dict[str, EventRef] = {}
        by_seq = {e.seq: EventRef(e.seq, e.share_id, e.action, e.hash) for e in stored}

        def bump(share_id: str, seq: int) -> None:
            if share_id not in heads or heads[share_id].seq < seq:
                heads[share_id] = by_seq[seq]

        for event in stored:
            try:
                for item in parse_stamps(event.row_digests):
                    vouching[(item.table, item.ref)] = event.seq
            except ValueError:
                continue  # verify names an unreadable event
            if event.share_id is not None:
                bump(event.share_id, event.seq)
        for name, found in rows.items():
            table = AUDITED[name]
            for row in found:
                seq = vouching.get((name, stamp(table, row).ref))
                share_id = row.get(table.share_column or "")
                if seq is not None and share_id is not None:
                    bump(str(share_id), seq)
        return heads

    # -- messages ------------------------------------------------------------------------------------------

    def record_message(self, *, key: str, kind: str, to: str, subject: str, message_id: str, path: str,
                       now: datetime | None = None) -> bool:
        """Record a message written (an e-mail in the outbox …) once per key. True if it was new."""
        return len(self._write_audited(
            MESSAGES,
            "INSERT INTO messages (key, kind, recipient, subject, message_id, path, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING *",
            (key, kind, to, subject, message_id, path, _ts(now or self.now())),
        )) == 1

    def find_message(self, key: str) -> SentMessage | None:
        rows = self._execute("SELECT * FROM messages WHERE key = ?", (key,))
        return self._message(rows[0]) if rows else None

    def messages(self, kind: str | None = None) -> list[SentMessage]:
        sql, params = "SELECT * FROM messages", []
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", [kind]
        return [self._message(row) for row in self._execute(sql + " ORDER BY created_at, key", params)]

    def _message(self, row: Mapping[str, Any]) -> SentMessage:
        data = dict(row)
        data["to"] = data.pop("recipient")
        data["created_at"] = _dt(data["created_at"])
        return self._model(SentMessage, data)

