"""Secrets out of everything a platform says: one redactor, fed with every secret the configuration names.

A server or a proxy in front of it may echo the request in an error (the form body starts with
``wstoken=…``), and whatever a platform says is shown (``doctor``, ``validate``), logged, or stored (a sync's
failed items). So the transport, the one place platform text comes in, runs every answer and every error
through a ``Redactor`` before anyone sees it: its own token, the other platforms' tokens, the SMTP password,
the pseudonym secret and the password of any URL (``known_secrets`` in ``lmsbridge.config`` gathers them).

A secret is looked for as it is and as it would be echoed: form-encoded (``%2B``, ``+``), JSON-escaped,
and HTML-escaped; each is replaced by ``***``. A value shorter than ``MIN_SECRET_LENGTH`` is left alone:
replacing it would garble ordinary words in every answer that happens to contain it (a Moodle token has 32
characters).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from pydantic import SecretStr

from lmsbridge.errors import LmsbridgeError, MoodleError, MoodleWarningsError
from lmsbridge.i18n import Message, Value

REDACTED = "***"
MIN_SECRET_LENGTH = 8

E = TypeVar("E", bound=LmsbridgeError)
#: A user name and a password for HTTP basic auth.
Credentials = tuple[str, SecretStr]


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``https://user:pw@host/path`` → (``https://host/path``, ("user", SecretStr("pw"))); else (url, None).

    The URL without them is the one to show; the user and password go only into HTTP basic auth."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), SecretStr(unquote(password)))


def _spellings(secret: str) -> set[str]:
    """The ways ``secret`` can come back: raw, form- and URL-encoded, JSON- and HTML-escaped."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }


class Redactor:
    """Replaces every known secret in text, data, messages and errors by ``***``."""

    def __init__(self, secrets: Iterable[SecretStr | str] = ()) -> None:
        values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
        self._secrets: tuple[str, ...] = tuple(sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}))
        spellings = {spelling for value in self._secrets for spelling in _spellings(value)}
        # Longest first: "user:password" goes before "password" would break it up.
        self._texts: tuple[str, ...] = tuple(sorted(spellings, key=lambda t: (-len(t), t)))
        self._bytes: tuple[bytes, ...] = tuple(t.encode("utf-8") for t in self._texts)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def including(self, secrets: Iterable[SecretStr | str]) -> Redactor:
        """This redactor with more secrets."""
        return Redactor([*self._secrets, *secrets])

    def found_in(self, body: bytes) -> bool:
        """Does ``body`` hold any secret (in any spelling)? A few scans at C speed."""
        return any(spelling in body for spelling in self._bytes)

    def text(self, text: str) -> str:
        for spelling in self._texts:
            if spelling in text:
                text = text.replace(spelling, REDACTED)
        return text

    def data(self, value: Any) -> Any:
        """Decoded JSON/XML with every string (keys too) redacted. Depth is bounded by the decoder."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    def answer(self, body: bytes, data: Any) -> Any:
        """A decoded answer, redacted when its body holds a secret (most never do: then as it is)."""
        return self.data(data) if self and self.found_in(body) else data

    def message(self, message: Message) -> Message:
        if message.plain:
            return Message.text(self.text(str(message.values.get("text", ""))))
        return Message(message.code, **{name: self._value(value) for name, value in message.values.items()})

    def _value(self, value: Value) -> Value:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Message):
            return self.message(value)
        if isinstance(value, tuple):
            return tuple(self._value(v) for v in value)
        return value

    def error(self, error: E) -> E:
        """The same error with its message, and any platform text it keeps, redacted (in place)."""
        if not self:
            return error
        error.message = self.message(error.message)
        if isinstance(error, MoodleError):
            error.moodle_message = self.text(error.moodle_message)
            error.debuginfo = self.text(error.debuginfo) if error.debuginfo is not None else None
        if isinstance(error, MoodleWarningsError):
            for warning in error.warnings:
                warning.message = self.text(warning.message)
        return error


__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Credentials", "Redactor", "split_credentials"]
