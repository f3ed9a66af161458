"""``lmsbridge notify downtime|renewal``: notices to the contact points, each logged in the ledger.

Downtime or upgrades go to the other party's contact point; the reminder to renew the agreement to both.
Every notice is a ``notice`` event in the ledger (``workflows.notices``), so ``ledger verify`` and
``lmsbridge report`` see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

import click

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import InputError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger
from lmsbridge.mail import Mailer
from lmsbridge.sharing.notices import downtime_notice
from lmsbridge.workflows.agreement import send_renewal_reminders
from lmsbridge.workflows.notices import NoticeWritten, deliver_notice, operator_actor

OSLO = ZoneInfo("Europe/Oslo")


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(i18n.t("notify.bad_time", value=value)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


@click.group(name="notify")
def notify_group() -> None:
    """Notices to the contact points (downtime, upgrades, renewal of the agreement), logged in the ledger.

    \b
    Examples:
      lmsbridge notify downtime --from lp --start 2026-12-01T18:00 --end 2026-12-01T22:00
      lmsbridge notify renewal
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
    SMTP is configured, and logged in the ledger (a «notice» event).
    """
    context = app(ctx)
    config = context.config()
    source = config.platform(from_platform)
    others = [p for p in config.platforms.values() if p.role is not source.role]
    if not others:
        raise InputError(Message("notify.no_other"))
    mailer = Mailer(config.outbox_dir(), config.smtp)
    begin, finish = _moment(start), _moment(end)
    written = []
    with Ledger.open(config.ledger_url(create=True)) as ledger:
        for other in others:
            to = other.contact_point or config.agreement.contact_point
            notice = downtime_notice(
                from_party=source.title, to_contact_point=to, start=begin, end=finish,
                kind=cast(Literal["downtime", "upgrade"], kind), affected=affected, lang=i18n.language(),
            )
            written.append(deliver_notice(
                ledger=ledger, mailer=mailer, notice=notice, kind=kind, actor=operator_actor(config),
                key=f"notice-{kind}-{source.name}-{begin:%Y%m%dT%H%M}-{other.name}", when=datetime.now(UTC),
                details={"from_platform": source.name, "to_platform": other.name, "start": begin.isoformat(),
                         "end": finish.isoformat(), "affected": affected},
            ))
    _print_written(written, as_json)


def _print_written(written: list[NoticeWritten], as_json: bool) -> None:
    if as_json:
        echo_json({"notices": [{"to": n.to, "path": n.path, "sent": n.sent, "logged": n.logged} for n in written]})
        return
    for notice in written:
        click.echo(i18n.t("notify.sent", to=notice.to, path=notice.path) if notice.sent
                   else i18n.t("notify.written", to=notice.to, path=notice.path))


@notify_group.command(
    name="renewal",
    epilog="""\b
Examples:
  lmsbridge notify renewal
  lmsbridge --lang en notify renewal --json
""",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def notify_renewal(ctx: click.Context, as_json: bool) -> None:
    """Remind both parties' contact points that the agreement must be renewed before its term ends.

    «Varighet: ett år, må deretter fornyes.» The reminder names the term and the days left; it is written
    once per term and contact point (as an .eml in the outbox, sent when SMTP is configured) and logged in
    the ledger. `doctor` and `share request` warn from [agreement] warn_days (60) days before the end.
    """
    config = app(ctx).config()
    mailer = Mailer(config.outbox_dir(), config.smtp)
    with Ledger.open(config.ledger_url(create=True)) as ledger:
        status, written = send_renewal_reminders(config, ledger, mailer, today=datetime.now(OSLO).date(),
                                                 when=datetime.now(UTC))
    if not as_json:
        click.echo(status.reason)
    _print_written(written, as_json)


commands = [notify_group]
