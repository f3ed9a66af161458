"""The whole lmsbridge exception tree, under one root.

Errors are grouped by what the caller should do about them (after singer-sdk's exceptions):

* ``RetriableError``  — transient; try the same thing again later (network, HTTP 5xx, 429).
* ``RecordError``     — this one record/item is bad; skip it and carry on with the others.
* ``FatalError``      — stop: configuration, credentials, permissions, corrupt local state.

Moodle reports web-service errors inside HTTP 200 bodies (tests/fixtures/moodle/INDEX.md);
``moodle_error_from`` maps ``exception``/``errorcode`` to a subclass with one table.
No message built here ever contains a web-service token.

Every error carries its ``exit_code`` from ``ExitCode``, the one table of the process's exit codes.

Every error carries its ``message``: an ``lmsbridge.i18n.Message`` (code and values), rendered only when
shown (``str(error)`` renders it in the current language). A Moodle error's ``message`` is lmsbridge's frame
(which site, which call, what to check) around Moodle's own text, kept as Moodle sent it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from lmsbridge.i18n import N_, Message

# --- exit codes ------------------------------------------------------------------------------------
# The process exit codes, one table for every command (cron, systemd and scripts read them; the README's «Exit
# codes», ``lmsbridge --help`` and each command's help state them, from ``cli.command.EXIT_CODES``): 0 all went
# through; 1 a check failed or a rule refused; 2 the command line, an input or the configuration cannot be used (a
# token the platform rejects is configuration, a share or course named that is not there is input); 3 a platform
# could not be reached; 4 some items failed (kept and retried next run); 75 another run holds the lock (nothing
# was done; try again later).


class ExitCode(IntEnum):
    OK = 0
    #: Refused (a rule, a share's state), a check that failed.
    FAILED = 1
    #: The command line, an input file, or the configuration (secrets included) cannot be used.
    USAGE = 2
    CONFIG = 2
    INPUT = 2
    #: A platform could not be reached, after the transport's retries.
    UNREACHABLE = 3
    #: Some items failed; they are kept and tried again next run.
    PARTIAL = 4
    #: Another run holds the ledger's lock (``sync run``, ``certificates notify``): this one did nothing and
    #: stopped at once. sysexits' EX_TEMPFAIL: try again later. Under ``--quiet`` the command exits 0 instead,
    #: silently, so that cron and systemd do not report the overlap as an error.
    LOCKED = 75
    #: Ctrl-C (128 + SIGINT).
    INTERRUPTED = 130


#: Which code wins when one command has several outcomes (a sync, then its certificate groups).
PRECEDENCE: tuple[ExitCode, ...] = (ExitCode.CONFIG, ExitCode.UNREACHABLE, ExitCode.PARTIAL)


def exit_code_for(*, config: bool = False, unreachable: bool = False, failed: bool = False) -> ExitCode:
    """A run's code from what went wrong: the configuration first, then a platform, then some items."""
    if config:
        return ExitCode.CONFIG
    if unreachable:
        return ExitCode.UNREACHABLE
    if failed:
        return ExitCode.PARTIAL
    return ExitCode.OK


def combined_exit_code(*codes: int) -> int:
    """The code of several runs together: by ``PRECEDENCE``, else the highest."""
    for code in PRECEDENCE:
        if code in codes:
            return code
    return max(codes, default=ExitCode.OK)


# --- the exceptions ----------------------------------------------------------------------------


class LmsbridgeError(Exception):
    """Root of every error lmsbridge raises on purpose. ``message`` says what happened, as data."""

    #: Stable, language-neutral code for output and logs.
    code: str = "error"
    #: Process exit code the CLI uses for this error.
    exit_code: int = ExitCode.FAILED

    def __init__(self, message: Message | str, *, details: tuple[Message, ...] = ()) -> None:
        self.message = message if isinstance(message, Message) else Message.text(message)
        #: What the message sums up, one message each (a refused request's findings): shown below it.
        self.details = details
        super().__init__(message if isinstance(message, str) else message.code)

    def __str__(self) -> str:
        return self.message.render()


class RetriableError(LmsbridgeError):
    """Transient: the same call may succeed later."""

    code = "retriable"
    exit_code = ExitCode.UNREACHABLE


class RecordError(LmsbridgeError):
    """One record or item is bad; skip it and go on with the rest."""

    code = "record"


class FatalError(LmsbridgeError):
    """Stop: nothing further will succeed until a person acts."""

    code = "fatal"


# --- local, non-Moodle errors ----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: the key (dotted, ``platforms.ks.url``; or the environment variable,
    ``$LMSBRIDGE_LEDGR``) and what is wrong with it."""

    key: str
    message: Message


class ConfigError(FatalError):
    """The configuration file or environment is wrong. ``problems`` holds every problem found at once (a file
    with four mistakes names all four), each with its key."""

    code = "config"
    exit_code = ExitCode.CONFIG

    def __init__(self, message: Message | str | None = None, *, path: str | None = None, key: str | None = None,
                 problems: Sequence[ConfigProblem] = ()) -> None:
        self.path = path
        if not problems:
            inner = message if isinstance(message, Message) else Message.text(message or "")
            problems = [ConfigProblem(key or "", inner)]
        self.problems = list(problems)
        self.key = self.problems[0].key or None
        super().__init__(_config_message(path, self.problems))


def _config_message(path: str | None, problems: Sequence[ConfigProblem]) -> Message:
    """One problem: ``<file>: <key>: <problem>``; several: ``<file>: N problems`` and one line for each."""
    where = f"{path}: " if path else ""
    if len(problems) == 1:
        only = problems[0]
        if not where and not only.key:
            return only.message
        return Message("config.where", where=where + (f"{only.key}: " if only.key else ""), message=only.message)
    lines: Message | None = None
    for problem in reversed(problems):
        line = Message("config.line", key=problem.key, problem=problem.message)
        lines = line if lines is None else Message("config.lines", first=line, rest=lines)
    return Message("config.problems", where=where, n=len(problems), lines=lines)


class InputError(FatalError):
    """A file or argument given by the user cannot be used (missing, malformed, hostile, too large)."""

    code = "input"
    exit_code = ExitCode.INPUT


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

    def __init__(self, message: Message | str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class ProtocolError(FatalError):
    """The platform answered with something that is not a Moodle web-service response."""

    code = "protocol"


class BadValueError(RecordError):
    """A value in a platform's answer is outside any sane range (an id of 5,000 digits, a time in year
    318857, a progress of 10^400 %): this record cannot be used; the others can."""

    code = "bad_value"

    def __init__(self, value: str | Message, *, allowed: str, site: str | None = None,
                 wsfunction: str | None = None, field: str = "") -> None:
        self.value = value
        self.allowed = allowed
        self.site = site
        self.wsfunction = wsfunction
        self.field = field
        # The site is the place (a frame that names the platform drops it); the function stays in the text.
        super().__init__(Message("wire.bad_value", where=f"{site}: " if site else "", function=wsfunction or "-",
                                 field=field, value=value, allowed=allowed))


# --- Moodle web-service errors ---------------------------------------------------------------


class MoodleError(LmsbridgeError):
    """An exception reported by Moodle (HTTP 200 body with ``exception``/``errorcode``/``message``)."""

    code = "moodle"
    #: Message code of the frame around Moodle's text (what happened, what to check).
    frame: str = N_("moodle.error")

    def __init__(
        self,
        message: str,
        *,
        exception: str = "",
        errorcode: str = "",
        debuginfo: str | None = None,
        wsfunction: str | None = None,
        site: str | None = None,
        text: Message | None = None,
    ) -> None:
        """``message`` is Moodle's text as sent. ``text``, when given, is the whole message instead: for
        an error lmsbridge concludes itself (e.g. a course that is not there)."""
        self.exception = exception
        self.errorcode = errorcode
        self.moodle_message = message
        self.debuginfo = debuginfo
        self.wsfunction = wsfunction
        self.site = site
        if text is None:
            where = "".join(f"{part}: " for part in (site, wsfunction) if part)
            text = Message(self.frame, where=where, message=Message.text(message), code=errorcode or exception)
        super().__init__(text)


class MoodleRecordError(MoodleError, RecordError):
    """Moodle refused one item (not found, invalid parameter, not enrolled …)."""

    code = "moodle_record"


class NotFoundError(MoodleRecordError):
    """invalidrecord / dml_missing_record_exception and friends. When it ends a command, the course (or other
    record) named is not there: input."""

    code = "not_found"
    exit_code = ExitCode.INPUT


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
    """The platform does not know the token: configuration (exit 2) in every command, like a token not set."""

    code = "invalid_token"
    exit_code = ExitCode.CONFIG
    frame = N_("moodle.invalid_token")


class AccessDeniedError(MoodleFatalError):
    """Function not in the token's service, missing capability, not in a report's audience."""

    code = "access_denied"
    frame = N_("moodle.access_denied")


class RemoteError(MoodleError):
    """Any other Moodle exception; carries the class, errorcode and message as sent."""

    code = "remote"


class LoginError(MoodleFatalError):
    """/login/token.php refused (its own error shape: error/errorcode)."""

    code = "login"
    exit_code = ExitCode.CONFIG
    frame = N_("moodle.login")


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
    frame = N_("moodle.warnings")

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
