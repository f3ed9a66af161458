"""The whole lmsbridge exception tree, under one root.

Errors are grouped by what the caller should do about them (after singer-sdk's exceptions):

* ``RetriableError``  — transient; try the same thing again later (network, HTTP 5xx, 429).
* ``RecordError``     — this one record/item is bad; skip it and carry on with the others.
* ``FatalError``      — stop: configuration, credentials, permissions, corrupt local state.

Moodle reports web-service errors inside HTTP 200 bodies (tests/fixtures/moodle/INDEX.md);
``moodle_error_from`` maps ``exception``/``errorcode`` to a subclass with one table.
No message built here ever contains a web-service token.

A Moodle error's message is Moodle's own text, as sent; the frame around it (which site, which call,
what to check) is in the user's language (``lmsbridge.i18n``, itself a leaf: no cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lmsbridge import i18n


class LmsbridgeError(Exception):
    """Root of every error lmsbridge raises on purpose."""

    #: Stable, language-neutral code for output and logs.
    code: str = "error"
    #: Process exit code the CLI uses for this error.
    exit_code: int = 1


class RetriableError(LmsbridgeError):
    """Transient: the same call may succeed later."""

    code = "retriable"
    exit_code = 3


class RecordError(LmsbridgeError):
    """One record or item is bad; skip it and go on with the rest."""

    code = "record"


class FatalError(LmsbridgeError):
    """Stop: nothing further will succeed until a person acts."""

    code = "fatal"


# --- local, non-Moodle errors ----------------------------------------------------------------


class ConfigError(FatalError):
    """The configuration file or environment is wrong."""

    code = "config"
    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ""
        if path:
            where = f"{path}: "
        if key:
            where += f"{key}: "
        super().__init__(f"{where}{message}")


class InputError(FatalError):
    """A file or argument given by the user cannot be used (missing, malformed, hostile, too large)."""

    code = "input"
    exit_code = 2


class SecretError(ConfigError):
    """A token or secret could not be read from where the configuration says it is."""

    code = "secret"


class LedgerError(FatalError):
    """The local ledger is unreadable, locked, or inconsistent."""

    code = "ledger"


class RuleViolation(LmsbridgeError):
    """The agreement's rules refuse the requested act; the message carries the reason."""

    code = "rule"


# --- transport -------------------------------------------------------------------------------


class TransportError(RetriableError):
    """The platform could not be reached, timed out, or answered with HTTP 5xx/429."""

    code = "transport"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 coded: i18n.Coded | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        #: The message as code and values, so that a stored reason can be shown in another language.
        self.coded = coded
        super().__init__(message)

    @classmethod
    def of(cls, code: str, /, *, status: int | None = None, retry_after: float | None = None,
           **values: object) -> TransportError:
        """The error whose message is ``code`` rendered with ``values`` and ``status`` (kept for rendering again)."""
        coded: i18n.Coded = (code, values if status is None else {**values, "status": status})
        return cls(i18n.render(coded), status=status, retry_after=retry_after, coded=coded)


class ProtocolError(FatalError):
    """The platform answered with something that is not a Moodle web-service response."""

    code = "protocol"


# --- Moodle web-service errors ---------------------------------------------------------------


class MoodleError(LmsbridgeError):
    """An exception reported by Moodle (HTTP 200 body with ``exception``/``errorcode``/``message``)."""

    code = "moodle"
    #: Message code of the frame around Moodle's text (what happened, what to check).
    frame: str = "moodle.error"

    def __init__(
        self,
        message: str,
        *,
        exception: str = "",
        errorcode: str = "",
        debuginfo: str | None = None,
        wsfunction: str | None = None,
        site: str | None = None,
        text: str | None = None,
    ) -> None:
        """``message`` is Moodle's text as sent. ``text``, when given, is the whole message instead: for
        an error lmsbridge concludes itself (e.g. a course that is not there), already in the user's
        language."""
        self.exception = exception
        self.errorcode = errorcode
        self.moodle_message = message
        self.debuginfo = debuginfo
        self.wsfunction = wsfunction
        self.site = site
        if text is None:
            where = "".join(f"{part}: " for part in (site, wsfunction) if part)
            text = i18n.t(self.frame, where=where, message=message, code=errorcode or exception)
        super().__init__(text)


class MoodleRecordError(MoodleError, RecordError):
    """Moodle refused one item (not found, invalid parameter, not enrolled …)."""

    code = "moodle_record"


class NotFoundError(MoodleRecordError):
    """invalidrecord / dml_missing_record_exception and friends."""

    code = "not_found"


class InvalidParameterError(MoodleRecordError):
    """invalidparameter: Moodle hides the detail unless the site has debugging on."""

    code = "invalid_parameter"


class NotEnrolledError(MoodleRecordError):
    code = "not_enrolled"


class NoCriteriaError(MoodleRecordError):
    """Course has no completion criteria (``nocriteriaset``)."""

    code = "no_criteria"


class MoodleFatalError(MoodleError, FatalError):
    """Moodle refused in a way that will not change by retrying or skipping."""

    code = "moodle_fatal"


class InvalidTokenError(MoodleFatalError):
    code = "invalid_token"
    frame = "moodle.invalid_token"


class AccessDeniedError(MoodleFatalError):
    """Function not in the token's service, missing capability, not in a report's audience."""

    code = "access_denied"
    frame = "moodle.access_denied"


class RemoteError(MoodleError):
    """Any other Moodle exception; carries the class, errorcode and message as sent."""

    code = "remote"


class LoginError(MoodleFatalError):
    """/login/token.php refused (its own error shape: error/errorcode)."""

    code = "login"
    frame = "moodle.login"


i18n.register(
    {
        "moodle.error": {
            "nb": "{where}plattformen svarte med en feil: «{message}» [{code}]",
            "en": "{where}the platform answered with an error: «{message}» [{code}]",
        },
        "moodle.invalid_token": {
            "nb": "{where}plattformen godtar ikke nøkkelen: «{message}» [{code}]. Sjekk nøkkelen plattformen er "
            "konfigurert med (token_env eller token_file)",
            "en": "{where}the platform does not accept the token: «{message}» [{code}]. Check the token the "
            "platform is configured with (token_env or token_file)",
        },
        "moodle.access_denied": {
            "nb": "{where}plattformen nektet tilgang: «{message}» [{code}]. Sjekk at web-tjenesten til nøkkelen har "
            "funksjonen, og at web-tjenestebrukeren har rettighetene den krever",
            "en": "{where}the platform denied access: «{message}» [{code}]. Check that the token's web service "
            "includes the function and that the web-service user has the capabilities it needs",
        },
        "moodle.login": {
            "nb": "{where}innloggingen ble avvist: «{message}» [{code}]",
            "en": "{where}the login was refused: «{message}» [{code}]",
        },
        "moodle.warnings": {
            "nb": "{where}plattformen meldte problemer: {message} [{code}]",
            "en": "{where}the platform reported problems: {message} [{code}]",
        },
    }
)

# One table: errorcode (or exception class tail) -> subclass. Sources: tests/fixtures/moodle/*err*.
_BY_ERRORCODE: dict[str, type[MoodleError]] = {
    "invalidtoken": InvalidTokenError,
    "accessexception": AccessDeniedError,
    "nopermissions": AccessDeniedError,
    "cannotviewreport": AccessDeniedError,
    "errorreportview": AccessDeniedError,
    "wsusercannotassign": AccessDeniedError,
    "errorcoursecontextnotvalid": AccessDeniedError,
    "invalidrecord": NotFoundError,
    "invalidrecordunknown": NotFoundError,
    "invaliduser": NotFoundError,
    "invalidcoursemodule": NotFoundError,
    "errorcatcontextnotvalid": NotFoundError,
    "invalidparameter": InvalidParameterError,
    "usernotenroled": NotEnrolledError,
    "nocriteriaset": NoCriteriaError,
}

_BY_EXCEPTION_TAIL: dict[str, type[MoodleError]] = {
    "webservice_access_exception": AccessDeniedError,
    "required_capability_exception": AccessDeniedError,
    "require_login_exception": AccessDeniedError,
    "report_access_exception": AccessDeniedError,
    "dml_missing_record_exception": NotFoundError,
    "invalid_parameter_exception": InvalidParameterError,
}


def moodle_error_from(
    body: Mapping[str, Any], *, wsfunction: str | None = None, site: str | None = None
) -> MoodleError:
    """Build the typed error for a Moodle exception body (JSON or decoded XML); ``site`` names the platform."""
    exception = str(body.get("exception") or "")
    errorcode = str(body.get("errorcode") or "")
    message = str(body.get("message") or "")
    debuginfo = body.get("debuginfo")
    tail = exception.rsplit("\\", 1)[-1]
    cls = _BY_ERRORCODE.get(errorcode) or _BY_EXCEPTION_TAIL.get(tail) or RemoteError
    return cls(
        message,
        exception=exception,
        errorcode=errorcode,
        debuginfo=str(debuginfo) if debuginfo is not None else None,
        wsfunction=wsfunction,
        site=site,
    )


class MoodleWarning:
    """One item of a ``warnings`` array (per-item problems that Moodle does not raise)."""

    __slots__ = ("item", "itemid", "message", "warningcode")

    def __init__(self, item: str, itemid: int | None, warningcode: str, message: str) -> None:
        self.item = item
        self.itemid = itemid
        self.warningcode = warningcode
        self.message = message

    def __repr__(self) -> str:
        return f"MoodleWarning({self.item!r}, {self.itemid!r}, {self.warningcode!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MoodleWarning) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class MoodleWarningsError(MoodleRecordError):
    """A write call succeeded as a whole but reported per-item warnings (update/delete courses)."""

    code = "moodle_warnings"
    frame = "moodle.warnings"

    def __init__(
        self, warnings: list[MoodleWarning], *, wsfunction: str | None = None, site: str | None = None
    ) -> None:
        self.warnings = warnings
        first = warnings[0] if warnings else None
        super().__init__(
            "; ".join(f"{w.item} {w.itemid}: {w.message}" for w in warnings) or "warnings",
            exception="warnings",
            errorcode=first.warningcode if first else "",
            wsfunction=wsfunction,
            site=site,
        )
