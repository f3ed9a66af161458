"""The event log and the audited rows through a ``Database``: what the store and the migrations share.

``write_event`` appends one event (and moves the chain head) inside the caller's transaction;
``audited_rows`` reads the audited tables as verify compares them; ``stamp_existing_rows`` is migration
0006's baseline: the rows written before row stamps, stamped as they are in one event that says so.
"""

from __future__ import annotations

from typing import Any

from lmsbridge.ledger.chain import GENESIS, StoredEvent, details_text, event_hash
from lmsbridge.ledger.database import Database
from lmsbridge.ledger.rows import (
    AUDITED,
    BASELINE_ACTION,
    SHARES,
    SYSTEM_ACTOR,
    AuditedTable,
    history_disputes,
    stamp,
    stamps_text,
)


def write_event(db: Database, *, share_id: str | None, at: str, actor: str, action: str, details: str,
                row_digests: str = "") -> StoredEvent:
    """Append an event after the last one and move the head to it. The caller holds the transaction."""
    last = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").first()
    seq = int(last["seq"]) + 1 if last else 1
    prev = str(last["hash"]) if last else GENESIS
    digest = event_hash(seq, share_id, at, actor, action, details, prev, row_digests)
    db.execute("INSERT INTO events (seq, share_id, at, actor, action, details, prev_hash, hash, row_digests) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (seq, share_id, at, actor, action, details, prev, digest, row_digests))
    db.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", (seq, digest))
    return StoredEvent(seq=seq, share_id=share_id, at=at, actor=actor, action=action, details=details,
                       prev_hash=prev, hash=digest, row_digests=row_digests)


def stored_events(db: Database) -> list[StoredEvent]:
    """Every event as stored, in seq order."""
    return [
        StoredEvent(seq=int(r["seq"]), share_id=r["share_id"], at=str(r["at"]), actor=str(r["actor"]),
                    action=str(r["action"]), details=str(r["details"]), prev_hash=str(r["prev_hash"]),
                    hash=str(r["hash"]), row_digests=str(r.get("row_digests") or ""))
        for r in db.execute("SELECT * FROM events ORDER BY seq").rows
    ]


def audited_rows(db: Database, table: AuditedTable) -> list[dict[str, Any]]:
    return db.execute(f"SELECT * FROM {table.name} ORDER BY {', '.join(table.key)}").rows


def stamp_existing_rows(db: Database, *, at: str, migration: str) -> StoredEvent | None:
    """The baseline (migration 0006): stamp every audited row as it is, in one event by lmsbridge.

    The events written before stamps vouch for no row, so the rows are taken as found, with two checks
    against those events, recorded in the same hashed event: ``disputed`` lists each share whose state
    (or flow, owner's or borrower's course) disagrees with its own events, or that no event names; verify
    reports them from then on. A share that events name but that is gone is found by verify itself.
    Completions and messages had no per-row events and are taken as found. None when there is no row.
    """
    rows = {name: audited_rows(db, table) for name, table in AUDITED.items()}
    if not any(rows.values()):
        return None
    disputes = history_disputes(rows[SHARES.name], stored_events(db))
    details: dict[str, Any] = {
        "migration": migration,
        "stamped": {name: len(found) for name, found in rows.items()},
        "note": "rows as found at the upgrade to row stamps; events before it did not vouch for rows",
    }
    if disputes:
        details["disputed"] = disputes
    stamps = [stamp(AUDITED[name], row) for name, found in rows.items() for row in found]
    return write_event(db, share_id=None, at=at, actor=SYSTEM_ACTOR, action=BASELINE_ACTION,
                       details=details_text(details), row_digests=stamps_text(stamps))
