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
from lmsbridge.cli.command import group
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import ExitCode, InputError
from lmsbridge.i18n import N_, Message
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


@group(name="notify", help=N_("help.notify"), examples=[
    "lmsbridge notify downtime --from lp --start 2026-12-01T18:00 --end 2026-12-01T22:00",
    "lmsbridge notify renewal",
])
def notify_group() -> None:
    pass


@notify_group.command(
    name="downtime",
    help=N_("help.notify.downtime"),
    exits=(ExitCode.UNREACHABLE,),
    examples=[
        'lmsbridge notify downtime --from lp --start 2026-12-01T18:00 --end 2026-12-01T22:00 --affected "Alle kurs"',
        "lmsbridge notify downtime --from ks --kind upgrade --start 2026-12-05T08:00 --end 2026-12-05T12:00",
    ],
)
@click.option("--from", "from_platform", required=True, metavar=N_("metavar.platform"),
              help=N_("help.notify.downtime.from"))
@click.option("--start", required=True, metavar=N_("metavar.time"), help=N_("help.notify.downtime.start"))
@click.option("--end", required=True, metavar=N_("metavar.time"), help=N_("help.notify.downtime.end"))
@click.option("--kind", type=click.Choice(["downtime", "upgrade"]), default="downtime", show_default=True,
              help=N_("help.notify.downtime.kind"))
@click.option("--affected", default="", help=N_("help.notify.downtime.affected"))
@click.pass_context
def notify_downtime(ctx: click.Context, from_platform: str, start: str, end: str, kind: str, affected: str) -> None:
    as_json = app(ctx).json
    context = app(ctx)
    config = context.config()
    source = config.platform(from_platform)
    others = [p for p in config.platforms.values() if p.role is not source.role]
    if not others:
        raise InputError(Message("notify.no_other"))
    mailer = Mailer(config.outbox_dir(), config.smtp, operator_name=config.operator.name,
                    operator_email=config.operator.email)
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
    help=N_("help.notify.renewal"),
    exits=(ExitCode.UNREACHABLE,),
    examples=["lmsbridge notify renewal", "lmsbridge notify renewal --lang en --json"],
)
@click.pass_context
def notify_renewal(ctx: click.Context) -> None:
    as_json = app(ctx).json
    config = app(ctx).config()
    mailer = Mailer(config.outbox_dir(), config.smtp, operator_name=config.operator.name,
                    operator_email=config.operator.email)
    with Ledger.open(config.ledger_url(create=True)) as ledger:
        status, written = send_renewal_reminders(config, ledger, mailer, today=datetime.now(OSLO).date(),
                                                 when=datetime.now(UTC))
    if not as_json:
        click.echo(status.reason)
    _print_written(written, as_json)


commands = [notify_group]
