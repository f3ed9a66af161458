"""The ledger: shares, the hash-chained event log, sync cursors, completions, failures, runs, messages.

``Ledger`` is the one class callers use; its parts live in ``base`` (the database, transactions, migrations,
stamping), ``record`` (shares, events, messages: the agreement's audited record) and ``syncstate`` (the
completion sync's state and the run lock).
"""

from __future__ import annotations

from lmsbridge.ledger.base import LedgerBase, RunLock, ShareChanges
from lmsbridge.ledger.record import AgreementRecord
from lmsbridge.ledger.syncstate import SyncState


class Ledger(AgreementRecord, SyncState):
    """One ledger database. Safe to share between threads of one process (writes are serialised)."""


__all__ = ["Ledger", "LedgerBase", "RunLock", "ShareChanges"]
