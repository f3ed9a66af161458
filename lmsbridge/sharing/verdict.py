"""The one answer every rule of the agreement gives: yes or no, a stable code, and the reason.

``code`` is language-neutral and stable (for logs, the ledger and tests); ``reason`` is the same verdict
rendered for people through ``lmsbridge.i18n`` (Norwegian bokmål unless told otherwise). The code is
also the message's key in the i18n catalogue, and ``details`` its values, so a verdict can be
re-rendered in the other language with ``reason_in``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmsbridge import i18n
from lmsbridge.errors import RuleViolation


@dataclass(frozen=True)
class Verdict:
    """A rule's answer. ``allowed`` may be True with a warning code (e.g. ``term.expiring``)."""

    allowed: bool
    code: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def warning(self) -> bool:
        """Allowed, but a person should look (the rule marked it so in ``details``)."""
        return self.allowed and bool(self.details.get("warning"))

    def reason_in(self, lang: str) -> str:
        """The reason in another language ('nb' or 'en')."""
        return i18n.t(self.code, i18n.normalise_language(lang), **self.details)

    def require(self) -> Verdict:
        """Return the verdict when allowed; raise ``RuleViolation`` carrying the reason when not."""
        if not self.allowed:
            raise RuleViolation(self.reason)
        return self


def verdict(allowed: bool, code: str, *, lang: str | None = None, **details: Any) -> Verdict:
    """Build a verdict whose reason is message ``code`` rendered with ``details``."""
    return Verdict(
        allowed=allowed,
        code=code,
        reason=i18n.t(code, i18n.normalise_language(lang) if lang else None, **details),
        details=dict(details),
    )


def same_organisation(a: str | None, b: str | None) -> bool:
    """Organisations are compared trimmed, case-insensitively and with inner whitespace collapsed."""
    left, right = organisation_key(a), organisation_key(b)
    return bool(left) and left == right


def organisation_key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()
