"""The ledger's own refinements of ``LedgerError`` (what the caller should do: stop, or wait and re-run)."""

from __future__ import annotations

from lmsbridge.errors import ExitCode, LedgerError, RuleViolation
from lmsbridge.i18n import Message


class LockedError(LedgerError):
    """Another process holds the lock (a sync run is already running): stop now, re-run later."""

    code = "locked"
    exit_code = ExitCode.LOCKED


class ShareStateError(LedgerError, RuleViolation):
    """A share cannot move from its state to the one asked for (e.g. revoking a share never published)."""

    code = "share_state"
    exit_code = ExitCode.FAILED

    def __init__(self, message: Message, *, share_id: str, current: str, target: str) -> None:
        self.share_id = share_id
        self.current = current
        self.target = target
        super().__init__(message)


class LedgerNotFoundError(LedgerError):
    """No such share (or run, or ledger) where one was named: input."""

    code = "ledger_not_found"
    exit_code = ExitCode.INPUT


class LedgerUnusableError(LedgerError):
    """The ledger's file is missing, cannot be opened or written, or is no ledger (not a database, damaged): the
    configuration (or the file's place) is wrong, not the ledger's content. Exit 2, as a configuration error."""

    code = "ledger_unusable"
    exit_code = ExitCode.CONFIG


class LedgerConstraintError(LedgerError):
    """A write broke one of the ledger's constraints (a duplicate key, a share that does not exist …)."""

    code = "ledger_constraint"
    exit_code = ExitCode.FAILED
