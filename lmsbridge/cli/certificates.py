"""``lmsbridge certificates group|list|notify``: certificate groups («kursbevis») on the owner platform."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import click

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates import CertificatesRun, certificate_list, group_certificates, notify_certificates
from lmsbridge.cli.context import app, echo_json, table
from lmsbridge.cli.output import chosen, emit, output_options
from lmsbridge.cli.sync import _today, console, print_certificates
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import NOTIFY_LOCK, Ledger, LockedError
from lmsbridge.sync.secret import check_secret, pseudonym_secret

EXAMPLES = """\b
Examples:
  lmsbridge certificates group                     # place participants in the three groups (idempotent)
  lmsbridge certificates group --course HBHF-SMITTE-01 --dry-run
  lmsbridge certificates list --csv > kursbevis.csv
  lmsbridge certificates notify --dry-run          # who would be told what they still miss
"""

_course = click.option("--course", "courses", multiple=True,
                       help="Only this course (its [certificates.<shortname>] key; repeatable).")
_today_option = click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
                             help="Pretend today is this date (YYYY-MM-DD); default: today in Europe/Oslo.")


def _date(value: object) -> date:
    return value.date() if isinstance(value, datetime) else _today()


def _clients(ctx: click.Context, dry_run: bool) -> dict[str, MoodleClient]:
    context = app(ctx)
    return {name: context.client(name, dry_run=dry_run) for name in context.config().platforms}


def _print_planned(clients: dict[str, MoodleClient]) -> None:
    planned = [(name, call) for name, client in clients.items() for call in client.planned]
    if planned:
        click.echo(i18n.t("certificates.dry_run"))
        for name, call in planned:
            click.echo(f"  {name} {call.wsfunction} {dict(call.params)}")


@click.group(name="certificates", epilog=EXAMPLES)
def certificates_group() -> None:
    """Certificate groups «Fullført 100%», «Fullført, ikke 100%», «Inaktiv», the issuance list, and notices."""


@certificates_group.command(name="group", epilog=EXAMPLES)
@_course
@_today_option
@click.option("--dry-run", is_flag=True, help="Print the group changes that would be made; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def certificates_group_command(ctx: click.Context, courses: tuple[str, ...], today: object, dry_run: bool,
                               as_json: bool) -> None:
    """Place each participant of a certificate course in its group on the owner platform.

    After the due date: everything done → «Fullført 100%»; something done → «Fullført, ikke 100%»; nothing
    done and the grace period over → «Inaktiv». Before the due date nobody is grouped. Groups are created
    when missing; a learner whose state changed is moved. Running it twice changes nothing the second time.
    """
    config = app(ctx).config()
    clients = _clients(ctx, dry_run)
    with Ledger.open(config.ledger_url()) as ledger:
        shares = ledger.list_shares(state="published")
    run = group_certificates(config, clients.__getitem__, today=_date(today), shares=shares, courses=courses)
    if as_json:
        echo_json(run.as_dict())
    else:
        print_certificates(run)
        for outcome in run.grouped:
            if outcome.created_groups:
                click.echo(i18n.t("certificates.created", groups=", ".join(outcome.created_groups)))
            for move in outcome.moves:
                change = " ".join([*(f"-«{g}»" for g in move.remove), *([f"+«{move.add}»"] if move.add else [])])
                click.echo(i18n.t("certificates.move", userid=move.userid, change=change))
            if outcome.unread:
                click.echo(i18n.t("certificates.unread", n=outcome.unread))
        if dry_run:
            _print_planned(clients)
    ctx.exit(run.exit_code)


@certificates_group.command(name="list", epilog=EXAMPLES)
@_course
@_today_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV (UTF-8, comma-separated, header row).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@output_options
@click.pass_context
def certificates_list_command(ctx: click.Context, courses: tuple[str, ...], today: object, as_csv: bool,
                              as_json: bool, fmt: str | None, excel: bool) -> None:
    """The issuance list: each participant's group and credit points (all points for 100%, the points earned
    otherwise; «Inaktiv» is flagged for an administrator to issue by hand)."""
    config = app(ctx).config()
    clients = _clients(ctx, False)
    with Ledger.open(config.ledger_url()) as ledger:
        shares = ledger.list_shares(state="published")
    run = certificate_list(config, clients.__getitem__, today=_date(today), shares=shares, courses=courses)
    fields = ["course", "platform", "due", "userid", "name", "email", "idnumber", "group", "done", "required",
              "points", "points_total", "manual_issue", "missing", "note"]
    emit(chosen(ctx, fmt or ("csv" if as_csv else "json" if as_json else None), excel), run.rows, fields,
         excel=excel, as_json={"rows": run.rows, "errors": {key: str(error) for key, error in run.errors.items()}},
         table=lambda: _print_table(run))
    for course, error in run.errors.items():
        click.echo(i18n.t("certificates.error", course=course, error=error), err=True)
    ctx.exit(run.exit_code)


def _print_table(run: CertificatesRun) -> None:
    issuance = table(i18n.t("table.certificates"), ["course", "name", "group", "done", "points", "manual", "missing"])
    for row in run.rows:
        issuance.add_row(str(row["course"]), str(row["name"]), str(row["group"]) or "-",
                      f"{row['done']}/{row['required']}", f"{row['points']:g}/{row['points_total']:g}",
                      "x" if row["manual_issue"] else "", str(row["missing"]))
    console().print(issuance)


@certificates_group.command(name="notify", epilog=EXAMPLES)
@_course
@_today_option
@click.option("--dry-run", is_flag=True, help="Print the messages that would be sent; send nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when everything went through (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def certificates_notify_command(ctx: click.Context, courses: tuple[str, ...], today: object, dry_run: bool,
                                quiet: bool, as_json: bool) -> None:
    """Message each participant who is not complete, naming what is missing (once per due date).

    A message Moodle refuses (the learner's privacy settings, an unknown user) is reported and tried again
    next time; it does not stop the others. One notify at a time per ledger: a second one while the first
    runs stops at once with exit 75 (with --quiet: exit 0 and no output), so nobody is told twice.
    """
    config = app(ctx).config()
    clients = _clients(ctx, dry_run)
    with Ledger.open(config.ledger_url()) as ledger:
        shares = ledger.list_shares(state="published")
        try:
            with contextlib.nullcontext() if dry_run else ledger.acquire_lock(NOTIFY_LOCK):
                # notices are kept under pseudonyms: another secret would tell everyone again
                check_secret(ledger, pseudonym_secret(config.sync, config.source.parent if config.source else None),
                             adopt=not dry_run)
                run = notify_certificates(config, clients.__getitem__, ledger, today=_date(today), shares=shares,
                                          courses=courses)
        except LockedError:
            if quiet:  # another notify is telling them: no error to mail
                ctx.exit(ExitCode.OK)
            raise
    if quiet and run.exit_code == ExitCode.OK and not dry_run:
        ctx.exit(ExitCode.OK)
    if as_json:
        echo_json(run.as_dict())
    else:
        for notice in run.notices:
            click.echo(i18n.t("certificates.notified", course=notice.key, due=notice.due, sent=notice.sent,
                              planned=notice.planned, already=notice.already, complete=notice.complete))
            for failure in notice.failed:
                click.echo(i18n.t("certificates.not_sent", userid=failure["userid"], reason=failure["reason"]))
        for course, error in run.errors.items():
            click.echo(i18n.t("certificates.error", course=course, error=error))
        if dry_run:
            _print_planned(clients)
    ctx.exit(run.exit_code)


commands = [certificates_group]
