"""``lmsbridge doctor``."""

from __future__ import annotations

import click

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import ExitCode
from lmsbridge.health import PlatformHealth, check_platform


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

    Prints the site name, the Moodle release, the web-service user, which needed functions the token
    may not call, and which mapped custom course fields are missing. Exit 0 when all is well, 1 when
    something needed is missing, 3 when a platform cannot be reached.
    """
    context = app(ctx)
    config = context.config()
    names = list(platforms) or list(config.platforms)
    results = [check_platform(config.platform(name), context.client(name)) for name in names]
    if as_json:
        echo_json({"ok": all(r.ok for r in results), "platforms": [r.as_dict() for r in results]})
    else:
        for health in results:
            _print(health, config.platform(health.platform).receipt_field)
        click.echo(i18n.t("doctor.summary_ok") if all(r.ok for r in results) else i18n.t("doctor.summary_bad"))
    if any(not r.reachable for r in results):
        ctx.exit(ExitCode.UNREACHABLE)
    if not all(r.ok for r in results):
        ctx.exit(ExitCode.FAILED)


commands = [doctor]
