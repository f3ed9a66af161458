"""User-facing text in Norwegian bokmål (default) and English.

Every message has a stable, language-neutral code; modules register their own catalogue next to the
code that uses it (``register``), and ``t(code, **values)`` renders it in the current language.
The language comes from ``set_language`` (the CLI's ``--lang``) or ``LMSBRIDGE_LANG``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from typing import TypeGuard

LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"

_catalogue: dict[str, dict[str, str]] = {}
_language: str | None = None


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add messages: ``{code: {"nb": ..., "en": ...}}``. Both languages are required."""
    for code, texts in messages.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise ValueError(f"message {code!r} lacks {missing}")
        _catalogue[code] = dict(texts)


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


def t(code: str, lang: str | None = None, /, **values: object) -> str:
    """Render message ``code`` in ``lang`` (default: the current language)."""
    texts = _catalogue.get(code)
    if texts is None:
        return code if not values else f"{code} {values}"
    template = texts[lang or language()]
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def has(code: str) -> bool:
    return code in _catalogue


# Why a file could not be read or written, in the user's language (OSError.strerror is English).
_OS_REASONS: dict[int, str] = {
    errno.ENOENT: "os.not_found",
    errno.EACCES: "os.permission",
    errno.EPERM: "os.permission",
    errno.EISDIR: "os.is_folder",
    errno.ENOTDIR: "os.not_folder",
    errno.ENOSPC: "os.no_space",
    errno.EROFS: "os.read_only",
    errno.EEXIST: "os.exists",
}

register(
    {
        "os.not_found": {"nb": "finnes ikke", "en": "no such file or folder"},
        "os.permission": {"nb": "ingen tilgang (rettigheter)", "en": "permission denied"},
        "os.is_folder": {"nb": "er en mappe", "en": "is a folder"},
        "os.not_folder": {"nb": "en del av stien er ikke en mappe", "en": "a part of the path is not a folder"},
        "os.no_space": {"nb": "ikke mer plass på disken", "en": "no space left on the disk"},
        "os.read_only": {"nb": "filsystemet er skrivebeskyttet", "en": "the file system is read-only"},
        "os.exists": {"nb": "finnes allerede", "en": "already exists"},
    }
)


def os_reason(exc: OSError) -> str:
    """The reason of an ``OSError`` in the current language (the system's English text when unknown)."""
    code = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    if code is not None:
        return t(code)
    return exc.strerror or exc.__class__.__name__


#: A message kept unrendered: its code and values; a value may itself be a ``Coded`` message.
Coded = tuple[str, Mapping[str, object]]


def render(message: Coded, lang: str | None = None) -> str:
    """Render a kept message (and the messages among its values) in ``lang``."""
    code, values = message
    return t(code, lang, **{name: render(v, lang) if _is_coded(v) else v for name, v in values.items()})


def _is_coded(value: object) -> TypeGuard[Coded]:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], Mapping)
