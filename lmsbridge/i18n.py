"""User-facing text: one ``Message`` type, carried as data and rendered at the edges.

Every user-facing outcome — an error, a rule's verdict, a validation finding, a failed item's reason, a line
of a notice — is a ``Message``: a stable, language-neutral ``code`` and the values it names. The library
builds and passes messages; only the edges (the CLI, e-mails, reports, ``sync status``) render them, in
Norwegian bokmål by default or English (``--lang en`` / ``LMSBRIDGE_LANG=en``, see ``set_language``).

The texts are in one gettext catalogue per language, ``lmsbridge/locale/<lang>/LC_MESSAGES/lmsbridge.po``:
the msgid is the code, the msgstr the text with ``{name}`` placeholders. lmsbridge reads the compiled
``lmsbridge.mo`` beside it (the standard library's ``gettext``: a few milliseconds, where parsing the .po takes a
fifth of a second at every start). ``pybabel extract`` finds every code in the source through the keywords in
``EXTRACT_KEYWORDS`` (``Message("code")``, ``t("code")``, ``N_("code")`` for a code kept in a table);
``scripts/messages`` runs it and compiles the .mo files, and tests/test_catalogue.py fails on a code without
a text in either language, a text no code uses, or a .mo that is not its .po compiled.

A value may itself be a ``Message`` (an item's label, Moodle's error inside lmsbridge's frame) or a tuple of
values (rendered joined by ", "); both follow the language of the whole. A float is written the language's way
(«57,2» in bokmål, «57.2» in English: Babel's ``format_decimal``); ``number``, ``moment`` and ``day`` do the same
for the edges' own numbers, times (Europe/Oslo, with the zone) and dates.
"""

from __future__ import annotations

import errno
import gettext
import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"
#: The locale Babel formats numbers and dates in, per language: English the British way (a 24-hour clock, the
#: day first), as the users are in Norway.
LOCALES = {"nb": "nb_NO", "en": "en_GB"}
#: Where the platforms and their users are: every time shown to a person is in this zone.
OSLO = ZoneInfo("Europe/Oslo")

#: Babel's extraction keywords: the call names whose first argument is a message code.
#: ``verdict(allowed, code, …)`` and ``input_error(code, …)`` build a message from their code argument.
EXTRACT_KEYWORDS: dict[str, Any] = {"Message": None, "t": None, "N_": None, "verdict": (2,), "input_error": None}

#: Where the catalogues are (``<lang>/LC_MESSAGES/lmsbridge.po``).
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "lmsbridge"


Value: TypeAlias = "str | int | float | bool | Message | tuple[Value, ...] | None"

_language: str | None = None
_catalogues: dict[str, dict[str, str]] = {}
_loading = threading.Lock()


def N_(code: str) -> str:
    """Mark ``code`` as a message code for ``pybabel extract`` where it sits in a table, not in a call."""
    return code


#: The code of a text kept as it is (Moodle's own words, an older ledger row written as plain text).
TEXT = N_("text")


class Message:
    """A message code and its values: what every user-facing outcome is until an edge renders it.

    Equal messages compare and hash equal (values are kept sorted by name); ``str()`` renders in the current
    language; ``as_data`` / ``from_data`` are the stored form (the ledger keeps failed items' reasons so).
    """

    __slots__ = ("_items", "code")

    code: str
    _items: tuple[tuple[str, Value], ...]

    def __init__(self, code: str, /, **values: object) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "_items", tuple(sorted((name, _value(v)) for name, v in values.items())))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Message is immutable")

    @classmethod
    def text(cls, text: str) -> Message:
        """Text shown as it is, in whatever language it was written (Moodle's own message, say)."""
        return cls(TEXT, text=text)

    @property
    def values(self) -> dict[str, Value]:
        return dict(self._items)

    @property
    def plain(self) -> bool:
        """A text kept as it is, not a message of lmsbridge's own."""
        return self.code == TEXT

    def but(self, **values: object) -> Message:
        """The same message with some values replaced or added."""
        return Message(self.code, **{**self.values, **values})

    @property
    def placed(self) -> bool:
        """The message names its place first (a non-empty ``where`` value: "ks: core_…: ")."""
        return bool(self.values.get("where"))

    def unplaced(self) -> Message:
        """The message without the place it names first (its ``where`` value, "ks: core_…: "): for a frame
        that names the platform itself."""
        return self.but(where="") if "where" in self.values else self

    def render(self, lang: str | None = None) -> str:
        """The message in ``lang`` ('nb' or 'en'; default: the current language)."""
        lang = _lang(lang)
        template = catalogue(lang).get(self.code)
        values = {name: _render_value(value, lang) for name, value in self._items}
        if template is None:
            # An unknown code (a newer ledger row, a typo caught by tests/test_catalogue.py) stays readable.
            return self.code if not values else f"{self.code} {values}"
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self._items)
        return f"Message({self.code!r}{', ' if values else ''}{values})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.code, self._items) == (other.code, other._items)

    def __hash__(self) -> int:
        return hash((self.code, self._items))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.code, self._items))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """A field of a pydantic model may hold a message: it is dumped as ``as_data`` and read back from it."""
        from pydantic_core import core_schema

        def validate(value: object) -> Message:
            found = value if isinstance(value, Message) else Message.from_data(value)
            if found is None:
                raise ValueError("expected a message: {'code': ..., 'values': {...}}")
            return found

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(lambda m: m.as_data())
        )

    # --- the stored form -------------------------------------------------------------------------

    def as_data(self) -> dict[str, Any]:
        """``{"code": …, "values": {…}}``, JSON-ready (nested messages as the same shape, tuples as lists)."""
        return {"code": self.code, "values": {name: _value_data(value) for name, value in self._items}}

    @classmethod
    def from_data(cls, data: object) -> Message | None:
        """Read back ``as_data``; None for anything else."""
        if not isinstance(data, dict) or set(data) != {"code", "values"}:
            return None
        code, raw = data["code"], data["values"]
        if not isinstance(code, str) or not code or not isinstance(raw, dict):
            return None
        values: dict[str, object] = {}
        for name, value in raw.items():
            parsed = _value_from_data(value)
            if parsed is _INVALID:
                return None
            values[str(name)] = parsed
        return cls(code, **values)

    def stored(self) -> str:
        """The form kept in a TEXT column: JSON for a message, the text itself for a plain text."""
        if self.plain:
            return str(self.values.get("text", ""))
        return json.dumps(self.as_data(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_stored(cls, text: str) -> Message:
        """Read back what ``stored`` wrote; any other text (a row from before messages) is a plain text."""
        if text.startswith("{"):
            try:
                found = cls.from_data(json.loads(text))
            except ValueError:
                found = None
            if found is not None:
                return found
        return cls.text(text)


def _value(value: object) -> Value:
    """A value as a message keeps it: data that survives JSON; anything else (a path, an error) as its text."""
    if value is None or isinstance(value, Message | str | int | float):
        return value
    if isinstance(value, list | tuple):
        return tuple(_value(v) for v in value)
    return str(value)


def _rebuild(code: str, items: tuple[tuple[str, Value], ...]) -> Message:
    return Message(code, **dict(items))


_INVALID = object()


def _value_data(value: Value) -> object:
    if isinstance(value, Message):
        return value.as_data()
    if isinstance(value, tuple):
        return [_value_data(v) for v in value]
    return value


def _value_from_data(value: object) -> object:
    if isinstance(value, dict):
        nested = Message.from_data(value)
        return _INVALID if nested is None else nested
    if isinstance(value, list):
        items = [_value_from_data(v) for v in value]
        return _INVALID if any(v is _INVALID for v in items) else tuple(items)
    if value is None or isinstance(value, str | int | float):
        return value
    return _INVALID


def _render_value(value: Value, lang: str) -> object:
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, tuple):
        return ", ".join(str(_render_value(v, lang)) for v in value)
    if isinstance(value, float):
        return _Number(value, lang)
    return value


class _Number:
    """A float in a message, written the language's way: ``{n}`` as ``number`` does, ``{n:.1f}`` with that
    precision and the language's decimal sign."""

    __slots__ = ("lang", "value")

    def __init__(self, value: float, lang: str) -> None:
        self.value = value
        self.lang = lang

    def __format__(self, spec: str) -> str:
        if not spec:
            return number(self.value, self.lang)
        from babel.numbers import get_decimal_symbol

        return format(self.value, spec).replace(".", get_decimal_symbol(LOCALES[self.lang]))

    def __str__(self) -> str:
        return format(self)


def t(code: str, lang: str | None = None, /, **values: object) -> str:
    """Render message ``code`` with ``values`` now: for the edges (CLI, e-mail, report)."""
    return Message(code, **values).render(lang)


def render_all(messages: Iterable[Message], lang: str | None = None, sep: str = "; ") -> str:
    return sep.join(m.render(lang) for m in messages)


# --- the catalogues ------------------------------------------------------------------------------


def catalogue_path(lang: str, suffix: str = ".mo") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def catalogue(lang: str) -> Mapping[str, str]:
    """Code → text in ``lang``, read once from its compiled catalogue."""
    found = _catalogues.get(lang)
    if found is None:
        with _loading:
            found = _catalogues.get(lang)
            if found is None:
                with catalogue_path(lang).open("rb") as handle:
                    translations = gettext.GNUTranslations(handle)
                # The compiled catalogue's own table (msgid → msgstr); the header entry ("") is left out.
                table: dict[str, str] = getattr(translations, "_catalog", {})
                found = _catalogues[lang] = {code: text for code, text in table.items() if isinstance(code, str) and code}
    return found


def has(code: str) -> bool:
    return code in catalogue(DEFAULT_LANGUAGE)


# --- the language --------------------------------------------------------------------------------


def normalise_language(value: str | None) -> str:
    """Map 'nb', 'no', 'nb_NO.UTF-8', 'en', 'en_GB' … to one of LANGUAGES."""
    if not value:
        return DEFAULT_LANGUAGE
    head = value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    if head in ("nb", "no", "nn", "norsk", "bokmal", "bokmål"):
        return "nb"
    if head in ("en", "english"):
        return "en"
    return DEFAULT_LANGUAGE


def set_language(value: str | None) -> None:
    global _language
    _language = normalise_language(value) if value else None


def language() -> str:
    return _language or normalise_language(os.environ.get("LMSBRIDGE_LANG"))


# --- numbers and times the language's way (Babel) -----------------------------------------------------------


def number(value: float, lang: str | None = None, *, grouping: bool = True) -> str:
    """``value`` the language's way: «12 345,5» in bokmål, «12,345.5» in English (``grouping`` False: «12345,5»)."""
    from babel.numbers import format_decimal  # Babel's locale data: only when a number is shown

    return format_decimal(value, locale=LOCALES[_lang(lang)], group_separator=grouping)


def moment(value: datetime, lang: str | None = None) -> str:
    """A point in time in Europe/Oslo with its zone: «01.03.2026, 14:05 CET» («01/03/2026, 14:05 CET» in English)."""
    from babel.dates import format_datetime

    locale = LOCALES[_lang(lang)]
    return f"{format_datetime(value, 'short', tzinfo=OSLO, locale=locale)} {format_datetime(value, 'z', tzinfo=OSLO, locale=locale)}"


def day(value: date, lang: str | None = None) -> str:
    """A date the language's way: «01.03.2026» («01/03/2026» in English)."""
    from babel.dates import format_date

    return format_date(value, "short", locale=LOCALES[_lang(lang)])


def _lang(lang: str | None) -> str:
    return normalise_language(lang) if lang else language()


# --- operating-system reasons --------------------------------------------------------------------

# Why a file could not be read or written, in the user's language (OSError.strerror is English).
_OS_REASONS: dict[int, str] = {
    errno.ENOENT: N_("os.not_found"),
    errno.EACCES: N_("os.permission"),
    errno.EPERM: N_("os.permission"),
    errno.EISDIR: N_("os.is_folder"),
    errno.ENOTDIR: N_("os.not_folder"),
    errno.ENOSPC: N_("os.no_space"),
    errno.EROFS: N_("os.read_only"),
    errno.EEXIST: N_("os.exists"),
}


def os_reason(exc: OSError) -> Message:
    """The reason of an ``OSError`` as a message (the system's English text when the errno is unknown)."""
    code = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    if code is not None:
        return Message(code)
    return Message.text(exc.strerror or exc.__class__.__name__)


__all__ = [
    "DEFAULT_LANGUAGE",
    "EXTRACT_KEYWORDS",
    "LANGUAGES",
    "LOCALES",
    "N_",
    "OSLO",
    "TEXT",
    "Message",
    "Value",
    "catalogue",
    "day",
    "has",
    "language",
    "moment",
    "normalise_language",
    "number",
    "os_reason",
    "render_all",
    "set_language",
    "t",
]
