"""``lmsbridge doctor``: everything a run needs, checked."""

from __future__ import annotations

from datetime import datetime

import click

from lmsbridge import i18n
from lmsbridge.certificates.course import platform_for
from lmsbridge.cli.config import echo_found, echo_warnings, found_config
from lmsbridge.cli.context import AppContext, app, echo_json
from lmsbridge.config import Config
from lmsbridge.errors import ExitCode, LmsbridgeError, combined_exit_code
from lmsbridge.health import (
    Check,
    PlatformHealth,
    check,
    check_certificate_course,
    check_ledger,
    check_outbox,
    check_platform,
    failed,
    platform_error,
)
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.mail import probe_smtp
from lmsbridge.readers.mapping import OSLO
from lmsbridge.sharing.term import TermStatus
from lmsbridge.sync.secret import check_secret, pseudonym_secret
from lmsbridge.workflows.agreement import agreement_status

#: A check's name → the message code of its title.
TITLES: dict[str, str] = {"ledger": N_("doctor.title.ledger"), "outbox": N_("doctor.title.outbox"),
                          "pseudonym_secret": N_("doctor.title.pseudonym_secret"), "smtp": N_("doctor.title.smtp"),
                          "certificates": N_("doctor.title.certificates")}


def _print(health: PlatformHealth, receipt_field: str = "") -> None:
    if not health.reachable:
        # The error names the platform itself ("ks: core_…: …"): say it once.
        error = health.error.unplaced() if health.error else ""
        if health.error_code in ("transport", "retriable"):
            click.echo(i18n.t("doctor.unreachable", platform=health.platform, error=error))
        else:
            click.echo(i18n.t("doctor.refused", platform=health.platform, error=error))
        return
    click.echo(
        i18n.t(
            "doctor.site",
            platform=health.platform,
            sitename=health.sitename,
            release=health.release,
            user=health.ws_user,
        )
    )
    if health.missing_functions:
        click.echo(i18n.t("doctor.functions_missing", functions=", ".join(health.missing_functions)))
    else:
        click.echo(i18n.t("doctor.functions_ok"))
    for feature, functions in health.missing_optional.items():
        click.echo(i18n.t("doctor.optional_missing", feature=feature, functions=", ".join(functions)))
    if health.report_visits_filter is False:
        click.echo(i18n.t("doctor.report_visits_filter_missing"))
    if not health.fields_checked:
        click.echo(i18n.t("doctor.fields_unknown"))
    elif health.missing_fields:
        click.echo(i18n.t("doctor.fields_missing", fields=", ".join(health.missing_fields)))
        if receipt_field in health.missing_fields:
            click.echo(i18n.t("doctor.receipt_field_missing", field=receipt_field))
    else:
        click.echo(i18n.t("doctor.fields_ok"))
    if health.error:
        click.echo(f"  {health.error}")


def _print_check(item: Check) -> None:
    name, _, course = item.name.partition(".")
    title = i18n.t(TITLES[name], course=course)
    code = N_("doctor.check.ok") if item.ok else N_("doctor.check.failed")
    click.echo(i18n.t(code, title=title, message=item.message))


@click.command(
    epilog="""\b
Examples:
  lmsbridge doctor
  lmsbridge doctor --platform ks --json
  sudo -u lmsbridge sh -c 'set -a; . /etc/lmsbridge/secrets.env; lmsbridge doctor'   # as the sync runs

Exit status: 0 when all is well; 1 when something needed is missing on a platform (a function, a custom
field, a certificate course) or the ledger's chain is broken; 2 configuration: a token the platform does not
know or that is not set, the pseudonym secret missing, short or not the ledger's (its fingerprint), the ledger
or the outbox missing or not writable, the SMTP password; 3 a platform or the SMTP server cannot be reached. The worst wins, in the order 2, 3, 1.""",
)
@click.option("--platform", "platforms", multiple=True, help="Check only this platform (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def doctor(ctx: click.Context, platforms: tuple[str, ...], as_json: bool) -> None:
    """Check everything a run needs, and say what is missing.

    \b
    - the configuration: which file, how it was found, variables that are no configuration key;
    - the agreement's term (a warning from [agreement] warn_days days before it ends);
    - each platform: its token, the site and Moodle release, the web-service functions the token may not
      call, the custom course fields (and the receipt field) missing on the site;
    - each [certificates.<course>]: the course is on its platform;
    - the ledger: configured, there, writable, this version's schema, its chain and rows whole (head);
    - the outbox: writable;
    - the pseudonym secret: set, long enough, and the one the ledger's pseudonyms were made with;
    - the SMTP server, when [smtp] is set: answers, STARTTLS and login accepted.
    """
    context = app(ctx)
    config = context.config()
    term = agreement_status(config, datetime.now(OSLO).date())
    names = list(platforms) or list(config.platforms)
    results = [_platform(context, config, name) for name in names]
    checks = [*_certificates(context, config, results), check_ledger(config), check_outbox(config),
              check("pseudonym_secret", lambda: _secret(config))]
    if config.smtp is not None:
        smtp = config.smtp
        checks.append(check("smtp", lambda: probe_smtp(smtp)))
    code = combined_exit_code(*(r.exit_code for r in results), *(c.exit_code for c in checks if not c.ok))
    ok = code == ExitCode.OK  # the term is told, not failed on: doctor checks what a run needs
    if as_json:
        found = found_config(ctx)
        echo_json({"ok": ok, "exit_code": int(code),
                   "config": {"file": str(config.source) if config.source else None,
                              "found_by": found.found_by if found else None,
                              "warnings": [w.render() for w in config.warnings]},
                   "agreement": _term_dict(term), "platforms": [r.as_dict() for r in results],
                   "checks": [c.as_dict() for c in checks]})
    else:
        echo_found(found_config(ctx))
        echo_warnings(config)
        _print_term(term)
        for health in results:
            _print(health, config.platform(health.platform).receipt_field)
        for item in checks:
            _print_check(item)
        click.echo(i18n.t("doctor.summary_ok") if ok else i18n.t("doctor.summary_bad"))
    ctx.exit(code)


def _platform(context: AppContext, config: Config, name: str) -> PlatformHealth:
    profile = config.platform(name)
    try:
        return check_platform(profile, context.client(name))
    except LmsbridgeError as exc:  # the token cannot be read; the course listing did not answer
        return platform_error(profile, exc)


def _certificates(context: AppContext, config: Config, results: list[PlatformHealth]) -> list[Check]:
    """Each configured certificate course on a platform that answered (the others are told already)."""
    answered = {r.platform for r in results if r.reachable}
    shares: list[Share] | None = None
    found = []
    for key in config.certificates:
        try:
            platform = platform_for(config, key)
        except LmsbridgeError as exc:
            if shares is None:
                shares = _shares(config)
            try:
                platform = platform_for(config, key, shares)
            except LmsbridgeError:
                found.append(failed(f"certificates.{key}", exc))
                continue
        if platform in answered:
            found.append(check_certificate_course(key, platform, context.client(platform)))
    return found


def _shares(config: Config) -> list[Share]:
    """The ledger's shares, to find a certificate course's platform (none when the ledger cannot be read: the
    ledger's own check says why)."""
    try:
        with Ledger.open(config.ledger_url(), create=False) as ledger:
            return ledger.list_shares()
    except LmsbridgeError:
        return []


def _secret(config: Config) -> Message:
    """The pseudonym secret can be read, is long enough, and is the one the ledger's pseudonyms were made with
    (its fingerprint in the ledger): the sync refuses it otherwise. Doctor writes nothing: a ledger without a
    fingerprint yet is told, the first run records this secret's."""
    base = config.source.parent if config.source else None
    secret = pseudonym_secret(config.sync, base)
    settings = config.sync
    where = str(settings.pseudonym_secret_file) if settings.pseudonym_secret_file else f"${settings.pseudonym_secret_env}"
    try:
        ledger = Ledger.open(config.ledger_url(), create=False, read_only=True)
    except LmsbridgeError:  # the ledger's own check says why
        return Message("doctor.secret.unchecked", where=where)
    with ledger:
        if ledger.secret_fingerprint() is None:
            return Message("doctor.secret.first", where=where)
        check_secret(ledger, secret, adopt=False)
    return Message("doctor.secret.ok", where=where)


def _print_term(term: TermStatus) -> None:
    """The agreement's term first: from ``[agreement] warn_days`` before its end, a warning to renew it."""
    if term.expiring:
        click.echo(i18n.t("doctor.term.expiring", reason=term.reason), err=True)
    elif term.valid:
        click.echo(i18n.t("doctor.term.valid", end=term.current_term_end.isoformat(), days_left=term.days_left))
    else:
        click.echo(i18n.t("doctor.term.invalid", reason=term.reason))


def _term_dict(term: TermStatus) -> dict[str, object]:
    return {"valid": term.valid, "code": term.code, "reason": term.reason, "expiring": term.expiring,
            "term_start": term.current_term_start.isoformat(), "term_end": term.current_term_end.isoformat(),
            "days_left": term.days_left}


commands = [doctor]
