"""Why an item failed, kept as a message code plus values and rendered in the language of whoever looks.

A failed item's reason is stored in the ledger (``failed_items.reason``, a TEXT column) and shown later by
``sync status``, perhaps to someone who reads the other language than the run's. So the sync keeps a
``Reason`` (an ``lmsbridge.i18n`` code and its values; a value may itself be a ``Reason``) and stores it as
a small JSON object ``{"code": …, "values": {…}}`` in the same column: no ledger migration. A row written
before this (plain text) is shown as it was written.

What cannot be re-rendered stays text: Moodle's own message (always as Moodle sent it), and the text of
an error built outside the sync (the transport's "cannot reach …", for instance), which is in the
language of the run that met it. A Moodle error framed by ``lmsbridge.errors`` is kept as its frame's
code and values, so its frame follows the reader's language too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias

from lmsbridge import i18n
from lmsbridge.adapters.wire import where_of
from lmsbridge.errors import MoodleError

#: The longest text of its own (an error's text, Moodle's message) a reason keeps.
MAX_TEXT = 300

#: A reason's text kept as it is (a row from before structured reasons, an error's own text).
TEXT = "sync.text"

i18n.register({TEXT: {"nb": "{text}", "en": "{text}"}})

Value: TypeAlias = "str | int | float | Reason"


def shorten(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


@dataclass(frozen=True)
class Reason:
    """A message code and its values (sorted by name, so equal reasons compare equal)."""

    code: str
    values: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def of(cls, code: str, /, **values: Value) -> Reason:
        return cls(code, tuple(sorted(values.items())))

    @classmethod
    def text(cls, text: str) -> Reason:
        """Text that is shown as it is, in whatever language it was written."""
        return cls.of(TEXT, text=shorten(text))

    @property
    def plain(self) -> bool:
        return self.code == TEXT

    def render(self, lang: str | None = None) -> str:
        """The reason in ``lang`` (default: the current language)."""
        values = {name: value.render(lang) if isinstance(value, Reason) else value for name, value in self.values}
        return i18n.t(self.code, lang, **values)

    def __str__(self) -> str:
        return self.render()

    def as_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "values": {name: value.as_data() if isinstance(value, Reason) else value for name, value in self.values},
        }

    def stored(self) -> str:
        """The form kept in the ledger: JSON for a coded reason, the text itself for plain text."""
        if self.plain:
            return str(dict(self.values)["text"])
        return json.dumps(self.as_data(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_data(cls, data: object) -> Reason | None:
        if not isinstance(data, dict) or set(data) != {"code", "values"}:
            return None
        code, raw = data["code"], data["values"]
        if not isinstance(code, str) or not code or not isinstance(raw, dict):
            return None
        values: dict[str, Value] = {}
        for name, value in raw.items():
            if isinstance(value, dict):
                nested = cls.from_data(value)
                if nested is None:
                    return None
                values[str(name)] = nested
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                values[str(name)] = value
            else:
                return None
        return cls.of(code, **values)

    @classmethod
    def from_stored(cls, text: str) -> Reason:
        """Read back what ``stored`` wrote; any other text (an older row) is kept as plain text."""
        if text.startswith("{"):
            try:
                found = cls.from_data(json.loads(text))
            except ValueError:
                found = None
            if found is not None:
                return found
        return cls(TEXT, (("text", text),))


def cause(exc: BaseException) -> Reason:
    """Why ``exc`` happened, as a reason: the sync's own errors keep their code; a Moodle error framed by
    ``lmsbridge.errors`` keeps its frame's code and Moodle's text; anything else is its text."""
    own = getattr(exc, "reason", None)
    if isinstance(own, Reason):
        return own
    if isinstance(exc, MoodleError):
        where = where_of(exc.site, exc.wsfunction)
        code = exc.errorcode or exc.exception
        if str(exc) == i18n.t(exc.frame, where=where, message=exc.moodle_message, code=code):
            return Reason.of(exc.frame, where=where, message=shorten(exc.moodle_message), code=code)
    return Reason.text(str(exc))


def without_platform(text: str, platform: str) -> str:
    """``"ks: core_…: …"`` → ``"core_…: …"``: for a message that names the platform itself already."""
    prefix = f"{platform}: "
    return text[len(prefix):] if text.startswith(prefix) else text


__all__ = ["MAX_TEXT", "TEXT", "Reason", "Value", "cause", "shorten", "without_platform"]
