"""``lmsbridge licence check``: the agreement's resale rule (only CC BY-SA material may be resold)."""

from __future__ import annotations

import click

from lmsbridge import i18n
from lmsbridge.cli.command import group
from lmsbridge.cli.context import app, echo_json
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import ExitCode, InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.readers.live import course_info_from_course
from lmsbridge.sharing.licence import may_resell


@group(name="licence", help=N_("help.licence"),
       examples=["lmsbridge licence check --platform ks --course KSL-HBHF-SMITTE-01 --seller KS"])
def licence_group() -> None:
    pass


@licence_group.command(
    name="check",
    help=N_("help.licence.check"),
    notes=N_("help.licence.check.notes"),
    exits=(ExitCode.FAILED, ExitCode.UNREACHABLE),
    examples=[
        'lmsbridge licence check --platform ks --course KSL-VELFERD-01 --seller "Helse Bergen HF"',
        'lmsbridge licence check --licence "CC BY-SA" --owner KS --owner-role municipal --seller "Helse Bergen HF" --json',
    ],
)
@click.option("--platform", metavar=N_("metavar.platform"), help=N_("help.licence.platform"))
@click.option("--course", metavar=N_("metavar.course"), help=N_("help.licence.course"))
@click.option("--licence", "licence_text", help=N_("help.licence.licence"))
@click.option("--owner", help=N_("help.licence.owner"))
@click.option("--owner-role", type=click.Choice(["municipal", "hospital"]), help=N_("help.licence.owner_role"))
@click.option("--seller", required=True, help=N_("help.licence.seller"))
@click.pass_context
def licence_check(
    ctx: click.Context,
    platform: str | None,
    course: str | None,
    licence_text: str | None,
    owner: str | None,
    owner_role: str | None,
    seller: str,
) -> None:
    as_json = app(ctx).json
    role = PlatformRole(owner_role) if owner_role else None
    if platform and course:
        context = app(ctx)
        profile = context.config().platform(platform)
        found = context.client(platform).course(course)
        if found is None:
            raise InputError(Message("validate.not_found", key=course, platform=platform))
        info = course_info_from_course(found, profile)
        licence_text = licence_text or info.licence
        owner = owner or info.owner or profile.organisation
        owned_by = context.config().platform_of(owner) if owner else None
        role = role or (owned_by.role if owned_by else profile.role)
    if not owner or role is None:
        raise click.UsageError(i18n.t("licence.needs_owner"))
    verdict = may_resell(licence=licence_text, owner_org=owner, owner_role=role, seller_org=seller)
    if as_json:
        echo_json({"allowed": verdict.allowed, "code": verdict.code, "reason": verdict.reason, "details": verdict.details})
    else:
        click.echo(i18n.t("licence.yes", reason=verdict.reason) if verdict.allowed
                   else i18n.t("licence.no", reason=verdict.reason))
    if not verdict.allowed:
        ctx.exit(ExitCode.FAILED)


commands = [licence_group]
