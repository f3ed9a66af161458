"""``doctor``: can lmsbridge do its work here? Everything a run needs, each checked on its own.

Each platform (its token, the functions the token may call, the custom fields, the receipt field), each
certificate course, the ledger (configured, there, writable, up to date, its chain whole), the outbox
(writable), and, through ``check``, the pseudonym secret and the SMTP server. A failed check carries the exit
code of what failed, as every other command would exit on it: 2 configuration (a token the platform does not
know, a secret or a ledger missing), 3 a platform or server that cannot be reached, 1 something needed is
missing on a platform or the ledger's chain is broken.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lmsbridge.adapters import FEATURE_FUNCTIONS, REPORT_FUNCTIONS, REQUIRED_FUNCTIONS, MoodleClient, PlatformProfile
from lmsbridge.config import Config
from lmsbridge.errors import ConfigError, ExitCode, LmsbridgeError, RetriableError
from lmsbridge.i18n import N_, Message, os_reason
from lmsbridge.ledger import MIGRATIONS, Ledger
from lmsbridge.ledger.database import parse_location

#: Seconds doctor waits for a ledger another run is writing to.
LEDGER_WAIT = 5.0


@dataclass
class PlatformHealth:
    platform: str
    url: str
    reachable: bool = False
    sitename: str = ""
    release: str = ""
    ws_user: str = ""
    missing_functions: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    #: feature name -> functions it needs that the token may not call (not a failure).
    missing_optional: dict[str, list[str]] = field(default_factory=dict)
    fields_checked: bool = False
    #: Has the completion report the «Last access to course» filter? (None: no report, or not asked)
    report_visits_filter: bool | None = None
    error: Message | None = None
    error_code: str = ""
    #: The exit code of the error, as every command would exit on it (0 without one).
    error_exit: int = ExitCode.OK

    @property
    def ok(self) -> bool:
        # An error after the site answered (the course listing could not be read) is not «all is well».
        return self.reachable and not self.missing_functions and not self.missing_fields and self.error is None

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return self.error_exit or ExitCode.FAILED
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def as_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "url": self.url,
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "reachable": self.reachable,
            "sitename": self.sitename,
            "release": self.release,
            "ws_user": self.ws_user,
            "missing_functions": self.missing_functions,
            "missing_fields": self.missing_fields,
            "missing_optional": self.missing_optional,
            "fields_checked": self.fields_checked,
            "report_visits_filter": self.report_visits_filter,
            "error": self.error.render() if self.error else "",
            "error_code": self.error_code,
        }


def platform_error(profile: PlatformProfile, error: LmsbridgeError) -> PlatformHealth:
    """A platform whose check could not begin (its token cannot be read) or whose site refused or did not answer."""
    return PlatformHealth(platform=profile.name, url=profile.url, error=error.message, error_code=error.code,
                          error_exit=error.exit_code)


def check_platform(profile: PlatformProfile, client: MoodleClient) -> PlatformHealth:
    """Site info, functions the token may NOT call, mapped custom fields missing on the site."""
    try:
        info = client.site_info()
    except LmsbridgeError as exc:
        return platform_error(profile, exc)
    health = PlatformHealth(platform=profile.name, url=profile.url, reachable=True, sitename=info.sitename,
                            release=info.release, ws_user=info.username)
    needed = set(REQUIRED_FUNCTIONS)
    if profile.completion_report_id:
        needed |= REPORT_FUNCTIONS
    health.missing_functions = sorted(needed - info.function_names)
    for feature, functions in FEATURE_FUNCTIONS.items():
        lacking = sorted(functions - info.function_names)
        if lacking:
            health.missing_optional[feature] = lacking
    if profile.completion_report_id and not (REPORT_FUNCTIONS - info.function_names):
        health.report_visits_filter = _has_visits_filter(client, profile.completion_report_id)
    try:
        if profile.share_category_id:
            courses = client.courses_in_category(profile.share_category_id)
        else:
            courses = client.all_courses()
    except RetriableError:
        raise
    except LmsbridgeError as exc:
        health.error = Message("doctor.cannot_list", error=exc.message)
        health.error_code = exc.code
        health.error_exit = exc.exit_code
        return health
    # Moodle lists every visible custom field on every course, empty ones too (INDEX.md), so any one
    # course shows which fields exist on the site.
    present = {custom.shortname for course in courses[:1] for custom in course.customfields}
    if courses:
        health.fields_checked = True
        # the receipt field too: without it the share acts are not witnessed (ledger verify --witnesses)
        wanted = set(profile.fields.values()) | ({profile.receipt_field} if profile.receipt_field else set())
        health.missing_fields = sorted(wanted - present)
    return health


def _has_visits_filter(client: MoodleClient, reportid: int) -> bool | None:
    """Does the completion report have the «Last access to course» filter, which spares incremental runs a
    participant listing per shared course? (None when the report cannot be read: the sync says why.) Leaves
    the report's filters reset, as a run's own read does (a run resets them itself before it reads unfiltered)."""
    try:
        found = client.has_visits_filter(reportid)
        client.reset_report_filters(reportid)
    except RetriableError:
        raise
    except LmsbridgeError:
        return None
    return found


# --- everything else a run needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One more thing doctor checked: the ledger, the outbox, a secret, the SMTP server, a certificate course."""

    #: What was checked: ``ledger``, ``outbox``, ``pseudonym_secret``, ``smtp``, ``certificates.<course>``.
    name: str
    ok: bool
    #: What was found: the state when ok, the problem when not.
    message: Message
    exit_code: int = ExitCode.OK
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "exit_code": int(self.exit_code), "message": self.message.render(),
                "code": self.message.code, **self.details}


def failed(name: str, error: LmsbridgeError, **details: object) -> Check:
    return Check(name, False, error.message, error.exit_code or ExitCode.FAILED, dict(details))


def check(name: str, probe: Callable[[], Message]) -> Check:
    """Run ``probe`` (it returns what it found, or raises what is wrong) as the check ``name``."""
    try:
        return Check(name, True, probe())
    except LmsbridgeError as exc:
        return failed(name, exc)


def check_ledger(config: Config, *, wait: float = LEDGER_WAIT) -> Check:
    """The ledger is configured and there, its folder writable, its schema this version's (a pending migration
    is applied, as the next command would), and its event chain and audited rows whole (``ledger verify``)."""
    try:
        url = config.ledger_url()
        folder = _sqlite_folder(url)
        if folder is not None:
            _writable(folder, "ledger")
        with Ledger.open(url, create=False, busy_timeout=wait) as ledger:
            report = ledger.verify()
            where = ledger.location
    except LmsbridgeError as exc:
        return failed("ledger", exc)
    details: dict[str, object] = {"location": where, "events": report.events, "head": report.head_hash,
                                  "migrations": len(MIGRATIONS)}
    if not report.ok:
        problem = report.problem or Message("doctor.ledger.broken_chain")
        return Check("ledger", False, Message("doctor.ledger.broken", where=where, problem=problem),
                     ExitCode.FAILED, details)
    head = f"#{report.events} {report.head_hash[:12]}…" if report.head_hash else "—"
    return Check("ledger", True, Message("doctor.ledger.ok", where=where, events=report.events, rows=report.rows,
                                         head=head), details=details)


def _sqlite_folder(url: str) -> Path | None:
    location = parse_location(url)
    return Path(location.target).parent if location.dialect == "sqlite" and not location.is_memory else None


def check_outbox(config: Config) -> Check:
    """The outbox folder is writable (or, not made yet, can be made: the first message makes it)."""
    outbox = config.outbox_dir()
    try:
        if outbox.exists():
            _writable(outbox, "outbox")
            return Check("outbox", True, Message("doctor.outbox.ok", path=outbox), details={"path": str(outbox)})
        parent = next(p for p in outbox.parents if p.exists())
        _writable(parent, "outbox")
    except LmsbridgeError as exc:
        return failed("outbox", exc, path=str(outbox))
    return Check("outbox", True, Message("doctor.outbox.new", path=outbox), details={"path": str(outbox)})


#: What ``_writable`` says of each folder that cannot be written.
_NOT_WRITABLE = {"ledger": N_("doctor.ledger.not_writable"), "outbox": N_("doctor.outbox.not_writable")}


def _writable(folder: Path, what: str) -> None:
    """Write and remove a file in ``folder``: the only sure answer (a read-only mount, ProtectSystem=strict)."""
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, os.strerror(20), str(folder))
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lmsbridge-doctor-"):
            pass
    except OSError as exc:
        raise ConfigError(Message(_NOT_WRITABLE[what], path=folder, reason=os_reason(exc))) from None


def check_certificate_course(key: str, platform: str, client: MoodleClient) -> Check:
    """The course a ``[certificates.<key>]`` section names is on its platform."""
    name = f"certificates.{key}"
    try:
        course = client.course(key)
    except LmsbridgeError as exc:
        return failed(name, exc, platform=platform)
    if course is None:
        return Check(name, False, Message("doctor.certificates.missing", course=key, platform=platform),
                     ExitCode.FAILED, {"platform": platform})
    return Check(name, True, Message("doctor.certificates.ok", course=key, platform=platform, id=course.id),
                 details={"platform": platform, "course_id": course.id})
