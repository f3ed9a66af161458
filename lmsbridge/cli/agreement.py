"""``lmsbridge licence check`` and ``lmsbridge notify downtime``: the agreement's resale and notice rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

import click

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import ExitCode, InputError
from lmsbridge.i18n import Message
from lmsbridge.mail import Mailer
from lmsbridge.sharing.licence import may_resell
from lmsbridge.sharing.notices import downtime_notice
from lmsbridge.validation.live import course_info_from_course

OSLO = ZoneInfo("Europe/Oslo")


@click.group(name="licence")
def licence_group() -> None:
    """The resale rule: borrowed courses may not be resold unless the material is CC BY-SA.

    \b
    Examples:
      lmsbridge licence check --platform ks --course KSL-HBHF-SMITTE-01 --seller KS
    """


@licence_group.command(
    name="check",
    epilog="""\b
Examples:
  lmsbridge licence check --platform ks --course KSL-VELFERD-01 --seller "Helse Bergen HF"
  lmsbridge licence check --licence "CC BY-SA" --owner KS --owner-role municipal --seller "Helse Bergen HF" --json
""",
)
@click.option("--platform", help="Read licence and owner from this platform's course (with --course).")
@click.option("--course", help="Course id or shortname on --platform.")
@click.option("--licence", "licence_text", help="Licence, when not read from a course.")
@click.option("--owner", help="Owning organisation, when not read from a course.")
@click.option("--owner-role", type=click.Choice(["municipal", "hospital"]), help="Owner's side, when not read from a course.")
@click.option("--seller", required=True, help="The organisation that wants to sell the course.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def licence_check(
    ctx: click.Context,
    platform: str | None,
    course: str | None,
    licence_text: str | None,
    owner: str | None,
    owner_role: str | None,
    seller: str,
    as_json: bool,
) -> None:
    """May SELLER sell this course on? The owner always; a borrower only under CC BY-SA; never a hospital
    (Helse Sør-Øst) course. Exit 0 for yes, 1 for no."""
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


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(i18n.t("notify.bad_time", value=value)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


@click.group(name="notify")
def notify_group() -> None:
    """Notices to the other party's contact point (downtime, upgrades).

    \b
    Examples:
      lmsbridge notify downtime --from lp --start 2026-12-01T18:00 --end 2026-12-01T22:00
    """


@notify_group.command(
    name="downtime",
    epilog="""\b
Examples:
  lmsbridge notify downtime --from lp --start 2026-12-01T18:00 --end 2026-12-01T22:00 --affected "Alle kurs"
  lmsbridge notify downtime --from ks --kind upgrade --start 2026-12-05T08:00 --end 2026-12-05T12:00
""",
)
@click.option("--from", "from_platform", required=True, help="The platform that goes down or is upgraded.")
@click.option("--start", required=True, help="Start (ISO 8601; Europe/Oslo when no offset is given).")
@click.option("--end", required=True, help="End (ISO 8601).")
@click.option("--kind", type=click.Choice(["downtime", "upgrade"]), default="downtime", show_default=True)
@click.option("--affected", default="", help="What course activity is affected.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def notify_downtime(
    ctx: click.Context, from_platform: str, start: str, end: str, kind: str, affected: str, as_json: bool
) -> None:
    """Write the notice of planned downtime or an upgrade to the other party's contact point(s).

    «Nede-tid eller oppgraderinger som kan berøre kursaktivitet hos den andre parten skal varsles den
    andre parten … uten ugrunnet opphold.» The notice is written as an .eml in the outbox and sent when
    SMTP is configured.
    """
    context = app(ctx)
    config = context.config()
    source = config.platform(from_platform)
    others = [p for p in config.platforms.values() if p.role is not source.role]
    if not others:
        raise InputError(Message("notify.no_other"))
    mailer = Mailer(config.outbox_dir(), config.smtp)
    begin, finish = _moment(start), _moment(end)
    results = []
    for other in others:
        to = other.contact_point or config.agreement.contact_point
        notice = downtime_notice(
            from_party=source.title, to_contact_point=to, start=begin, end=finish,
            kind=cast(Literal["downtime", "upgrade"], kind), affected=affected, lang=i18n.language(),
        )
        key = f"notice-{kind}-{source.name}-{begin:%Y%m%dT%H%M}-{other.name}"
        delivery = mailer.deliver(to=notice.to, subject=notice.subject, body=notice.body, key=key,
                                  when=datetime.now(UTC))
        results.append({"to": notice.to, "path": str(delivery.path), "sent": delivery.sent})
        if not as_json:
            click.echo(i18n.t("notify.sent", to=notice.to, path=delivery.path) if delivery.sent
                       else i18n.t("notify.written", to=notice.to, path=delivery.path))
    if as_json:
        echo_json({"notices": results})


commands = [licence_group, notify_group]
