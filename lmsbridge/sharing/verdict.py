"""The one answer every rule of the agreement gives: yes or no, and why, as a ``Message``.

A verdict carries data only: its ``message`` (a stable code and the values the reason names) is rendered
where a person reads it (``verdict.reason`` in the current language, ``reason_in(lang)`` in another), so the
rules stay pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmsbridge.errors import RuleViolation
from lmsbridge.i18n import Message


@dataclass(frozen=True)
class Verdict:
    """A rule's answer. ``allowed`` may be True with ``warning`` set (e.g. ``term.expiring``)."""

    allowed: bool
    message: Message
    #: Allowed, but a person should look.
    warning: bool = False

    @property
    def code(self) -> str:
        """The stable, language-neutral code of the answer (for logs, the ledger and tests)."""
        return self.message.code

    @property
    def details(self) -> dict[str, Any]:
        """The values the reason names."""
        return dict(self.message.values)

    @property
    def reason(self) -> str:
        """The reason in the current language (an edge's convenience)."""
        return self.message.render()

    def reason_in(self, lang: str) -> str:
        """The reason in another language ('nb' or 'en')."""
        return self.message.render(lang)

    def require(self) -> Verdict:
        """Return the verdict when allowed; raise ``RuleViolation`` carrying the reason when not."""
        if not self.allowed:
            raise RuleViolation(self.message)
        return self


def verdict(allowed: bool, code: str, /, **details: Any) -> Verdict:
    """The verdict whose reason is message ``code`` with ``details``; ``warning=True`` among them marks an
    allowed answer a person should look at (it is not a value of the message)."""
    warning = bool(details.pop("warning", False))
    return Verdict(allowed=allowed, message=Message(code, **details), warning=warning)


def same_organisation(a: str | None, b: str | None) -> bool:
    """Organisations are compared trimmed, case-insensitively and with inner whitespace collapsed."""
    left, right = organisation_key(a), organisation_key(b)
    return bool(left) and left == right


def organisation_key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()
