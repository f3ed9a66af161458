"""Certificate groups («kursbevis») on the owner platform, the issuance list, and «what you miss» notices.

Configured per course under ``[certificates.<shortname>]`` (due date, grace period, credit points). The
rules are pure (:mod:`lmsbridge.certificates.rules`); the rest reads and writes the owner platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates.course import CourseState, issuance_rows, platform_for, read_course
from lmsbridge.certificates.groups import GroupingOutcome, apply_groups, group_course
from lmsbridge.certificates.notify import NoticeOutcome, notify_missing
from lmsbridge.certificates.rules import GROUP_NAMES, CertificateGroup, place
from lmsbridge.config import Config
from lmsbridge.errors import ConfigError, ExitCode, LmsbridgeError, exit_code_for
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync.outcome import CourseWrites, SyncSummary
from lmsbridge.sync.secret import pseudonym_secret

ClientFor = Callable[[str], MoodleClient]


@dataclass
class CertificatesRun:
    """Outcome over every configured course: one failing course does not stop the others."""

    grouped: list[GroupingOutcome] = field(default_factory=list)
    notices: list[NoticeOutcome] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, Message] = field(default_factory=dict)
    unreachable: bool = False
    config_error: bool = False

    @property
    def exit_code(self) -> ExitCode:
        failed = (bool(self.errors) or any(n.failed for n in self.notices)
                  or any(g.unread or g.manual for g in self.grouped))
        return exit_code_for(config=self.config_error, unreachable=self.unreachable, failed=failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "grouped": [g.as_dict() for g in self.grouped],
            "notices": [n.as_dict() for n in self.notices],
            "errors": {key: error.render() for key, error in self.errors.items()},
        }


def _courses(config: Config, only: Sequence[str]) -> list[str]:
    if not config.certificates:
        raise ConfigError(Message("certificates.no_sections"), key="certificates")
    unknown = [key for key in only if key not in config.certificates]
    if unknown:
        known = ", ".join(sorted(config.certificates))
        raise ConfigError(Message("certificates.no_section", key=unknown[0], known=known), key="certificates")
    return list(only) or sorted(config.certificates)


def _each(config: Config, client_for: ClientFor, shares: Sequence[Share], only: Sequence[str], run: CertificatesRun,
          action: Callable[[MoodleClient, str, str], None]) -> None:
    for key in _courses(config, only):
        try:
            platform = platform_for(config, key, shares)
            action(client_for(platform), platform, key)
        except LmsbridgeError as exc:
            # by the error's own exit code: a token the platform rejects is configuration, like a ConfigError
            run.errors[key] = exc.message
            run.config_error = run.config_error or exc.exit_code == ExitCode.CONFIG
            run.unreachable = run.unreachable or exc.exit_code == ExitCode.UNREACHABLE


def group_certificates(config: Config, client_for: ClientFor, *, today: date, shares: Sequence[Share] = (),
                       courses: Sequence[str] = (),
                       known: Mapping[tuple[str, str], CourseWrites] | None = None) -> CertificatesRun:
    """``certificates group``: every configured course, or ``courses``. ``known``: per (platform, course short
    name), what a sync run just read of the course and wrote to it, so as not to read it again."""
    run = CertificatesRun()

    def one(client: MoodleClient, platform: str, key: str) -> None:
        outcome, _ = group_course(client, config.platform(platform), key, config.certificates[key], today=today,
                                  page_size=config.sync.page_size, known=(known or {}).get((platform, key)))
        run.grouped.append(outcome)

    _each(config, client_for, shares, courses, run, one)
    return run


def group_after_sync(config: Config, client_for: ClientFor, summary: SyncSummary, *, today: date) -> CertificatesRun:
    """The end of ``sync run``: every configured course grouped, from what the run knows — the published shares
    it read (where each course lives), each owner course it read and the completions it wrote there."""
    return group_certificates(config, client_for, today=today, shares=summary.published, known=summary.writes())


def certificate_list(config: Config, client_for: ClientFor, *, today: date, shares: Sequence[Share] = (),
                     courses: Sequence[str] = ()) -> CertificatesRun:
    """``certificates list``: the issuance list rows of every configured course."""
    run = CertificatesRun()

    def one(client: MoodleClient, platform: str, key: str) -> None:
        state = read_course(client, config.platform(platform), key, config.certificates[key], today=today,
                            page_size=config.sync.page_size)
        run.rows.extend(issuance_rows(state))

    _each(config, client_for, shares, courses, run, one)
    return run


def notify_certificates(config: Config, client_for: ClientFor, ledger: Ledger | None, *, today: date,
                        shares: Sequence[Share] = (), courses: Sequence[str] = (),
                        lang: str | None = None) -> CertificatesRun:
    """``certificates notify``: a message to each participant not complete, once per due date."""
    secret = pseudonym_secret(config.sync, config.source.parent if config.source else None)
    run = CertificatesRun()

    def one(client: MoodleClient, platform: str, key: str) -> None:
        state = read_course(client, config.platform(platform), key, config.certificates[key], today=today,
                            page_size=config.sync.page_size)
        run.notices.append(notify_missing(client, None if client.dry_run else ledger, state, secret=secret,
                                          lang=lang))

    _each(config, client_for, shares, courses, run, one)
    return run


__all__ = [
    "GROUP_NAMES",
    "CertificateGroup",
    "CertificatesRun",
    "CourseState",
    "GroupingOutcome",
    "NoticeOutcome",
    "apply_groups",
    "certificate_list",
    "group_after_sync",
    "group_certificates",
    "group_course",
    "issuance_rows",
    "notify_certificates",
    "notify_missing",
    "place",
    "read_course",
]
