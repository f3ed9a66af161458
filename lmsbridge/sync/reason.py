"""Why an item failed: an ``lmsbridge.i18n.Message``, rendered in the language of whoever looks.

A failed item's reason is stored in the ledger (``failed_items.reason``, a TEXT column) as
``Message.stored()`` (``{"code": …, "values": {…}}``) and shown later by ``sync status``, perhaps to someone
who reads the other language than the run's. A row written before messages (plain text) is shown as it was.
"""

from __future__ import annotations

from lmsbridge.errors import LmsbridgeError, RecordError
from lmsbridge.i18n import Message

#: The longest text of its own (an unexpected error's text, Moodle's message) a reason keeps.
MAX_TEXT = 300


def shorten(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def cause(exc: BaseException) -> Message:
    """Why ``exc`` happened, as a message: lmsbridge's errors carry theirs (Moodle's own text inside kept to
    ``MAX_TEXT``); anything else is its text."""
    if isinstance(exc, LmsbridgeError):
        return _shortened(exc.message)
    return Message.text(shorten(str(exc)))


class UnexpectedError(RecordError):
    """An exception lmsbridge did not foresee (a bug, or an answer no check caught), met while handling one item
    or one share: kept as that item's or share's failure, with the exception's type and text, so the rest of
    the run goes on (issue 11 item 1: one bad record never stops the run)."""

    code = "unexpected"

    def __init__(self, exc: BaseException) -> None:
        self.original = exc
        super().__init__(Message("sync.unexpected", error=type(exc).__name__, text=shorten(str(exc))))


def _shortened(message: Message) -> Message:
    values = {name: _shortened(v) if isinstance(v, Message) else shorten(v) if isinstance(v, str) else v
              for name, v in message.values.items()}
    return Message(message.code, **values)


__all__ = ["MAX_TEXT", "UnexpectedError", "cause", "shorten"]
