"""``lmsbridge doctor``."""

from __future__ import annotations

from datetime import datetime

import click

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import ExitCode, combined_exit_code
from lmsbridge.health import PlatformHealth, check_platform
from lmsbridge.readers.mapping import OSLO
from lmsbridge.sharing.term import TermStatus
from lmsbridge.workflows.agreement import agreement_status


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


@click.command(
    epilog="""\b
Examples:
  lmsbridge doctor
  lmsbridge doctor --platform ks --json
"""
)
@click.option("--platform", "platforms", multiple=True, help="Check only this platform (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def doctor(ctx: click.Context, platforms: tuple[str, ...], as_json: bool) -> None:
    """Check that each platform is reachable and offers what lmsbridge needs.

    Prints the agreement's term (a warning from [agreement] warn_days days before it ends), then per platform
    the site name, the Moodle release, the web-service user, which needed functions the token may not call,
    and which mapped custom course fields are missing. Exit 0 when all is well, 1 when something needed is
    missing, 3 when a platform cannot be reached.
    """
    context = app(ctx)
    config = context.config()
    term = agreement_status(config, datetime.now(OSLO).date())
    names = list(platforms) or list(config.platforms)
    results = [check_platform(config.platform(name), context.client(name)) for name in names]
    ok = all(r.ok for r in results)  # the term is told, not failed on: doctor checks what the tokens can do
    if as_json:
        echo_json({"ok": ok, "agreement": _term_dict(term), "platforms": [r.as_dict() for r in results]})
    else:
        _print_term(term)
        for health in results:
            _print(health, config.platform(health.platform).receipt_field)
        click.echo(i18n.t("doctor.summary_ok") if ok else i18n.t("doctor.summary_bad"))
    if any(not r.reachable for r in results):
        # a token the platform rejects is configuration (2); any other failed first call, not reached (3)
        ctx.exit(combined_exit_code(*(ExitCode.CONFIG if r.exit_code == ExitCode.CONFIG else ExitCode.UNREACHABLE
                                      for r in results if not r.reachable)))
    if not ok:
        ctx.exit(ExitCode.FAILED)


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
