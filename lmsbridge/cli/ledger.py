"""``lmsbridge ledger verify|events``: check the event chain and the audited rows, and read the log. Thin:
parse, one call, print."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lmsbridge import i18n
from lmsbridge.cli.command import group
from lmsbridge.cli.context import app, echo_json
from lmsbridge.cli.output import chosen, emit, output_options
from lmsbridge.cli.witness import echo_undelivered
from lmsbridge.errors import ExitCode
from lmsbridge.i18n import N_
from lmsbridge.ledger import Event, Ledger, VerifyReport
from lmsbridge.ledger.witnesses import WitnessReport
from lmsbridge.workflows.witnesses import Witnesses

F = TypeVar("F", bound=Callable[..., Any])


DEFAULT_LEDGER = "lmsbridge.db"
#: Row problems printed as text (``--json`` has them all).
SHOWN_ROW_PROBLEMS = 50


def ledger_option(command: F) -> F:
    return click.option(
        "--ledger",
        "ledger_location",
        metavar=N_("metavar.ledger"),
        envvar="LMSBRIDGE_LEDGER",
        help=N_("help.ledger.location"),
    )(command)


def resolve_ledger(ctx: click.Context, given: str | None) -> str:
    """--ledger / $LMSBRIDGE_LEDGER, else the configuration's (``ctx.obj.ledger_url()``), else the default."""
    if given:
        return given
    from_config = getattr(ctx.obj, "ledger_url", None)
    if callable(from_config):
        return str(from_config())
    return DEFAULT_LEDGER


def open_ledger(ctx: click.Context, given: str | None) -> Ledger:
    """The ledger ``resolve_ledger`` names, which must exist: reading a ledger never begins one."""
    return Ledger.open(resolve_ledger(ctx, given), create=False)


@group(name="ledger", help=N_("help.ledger"), examples=[
    "lmsbridge ledger verify",
    "lmsbridge ledger events --share S-0001",
    "lmsbridge ledger verify --ledger /var/lib/lmsbridge/ledger.db --json",
])
def ledger_group() -> None:
    pass


@ledger_group.command(
    name="verify",
    help=N_("help.ledger.verify"),
    notes=N_("help.ledger.verify.notes"),
    exits=(ExitCode.FAILED, ExitCode.UNREACHABLE),
    examples=[
        "lmsbridge ledger verify",
        ("lmsbridge ledger verify --witnesses", N_("help.ledger.example.witnesses")),
        "lmsbridge ledger verify --json",
        "LMSBRIDGE_LEDGER=postgresql://lmsbridge@db/lmsbridge lmsbridge ledger verify",
    ],
)
@ledger_option
@click.option("--witnesses", is_flag=True, help=N_("help.ledger.verify.witnesses"))
@click.pass_context
def verify_command(ctx: click.Context, ledger_location: str | None, witnesses: bool) -> None:
    as_json = app(ctx).json
    witness_report: WitnessReport | None = None
    with open_ledger(ctx, ledger_location) as ledger:
        report = ledger.verify()
        if witnesses:
            context = app(ctx)
            witness_report = Witnesses(context.config(), ledger, lambda name: context.client(name)).verify()
    ok = report.ok and (witness_report is None or witness_report.ok)
    if as_json:
        data = report.model_dump(mode="json")
        if witness_report is not None:
            data["witnesses"] = witness_report.model_dump(mode="json")
        data["ok"] = ok
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _echo_chain(report)
        if witness_report is not None:
            _echo_witnesses(witness_report)
    if not ok:
        ctx.exit(ExitCode.FAILED)


def _echo_chain(report: VerifyReport) -> None:
    if report.ok:
        click.echo(i18n.t("ledger.cli.ok", events=report.events))
        click.echo(i18n.t("ledger.cli.rows.one") if report.rows == 1 else i18n.t("ledger.cli.rows", rows=report.rows))
        if report.head_hash:
            click.echo(i18n.t("ledger.cli.head", hash=report.head_hash))
    elif report.row_problems:
        count = len(report.row_problems)
        click.echo(i18n.t("ledger.cli.bad_rows.one") if count == 1 else i18n.t("ledger.cli.bad_rows", count=count))
        for problem in report.row_problems[:SHOWN_ROW_PROBLEMS]:
            click.echo(f"  {problem.problem}  [{problem.code}]")
        if count > SHOWN_ROW_PROBLEMS:
            click.echo("  " + i18n.t("ledger.cli.more_rows", count=count - SHOWN_ROW_PROBLEMS))
    else:
        click.echo(i18n.t("ledger.cli.bad", problem=report.problem, seq=report.first_bad_seq))
        click.echo(i18n.t("ledger.cli.rows_unchecked"))


def _echo_witnesses(report: WitnessReport) -> None:
    platforms = ", ".join(report.platforms)
    if report.ok:
        click.echo(i18n.t("witness.cli.ok", receipts=report.receipts, platforms=platforms, seq=report.witnessed_seq,
                          last=report.last_seq))
    else:
        click.echo(i18n.t("witness.cli.bad", count=len(report.problems), platforms=platforms))
        for problem in report.problems:
            click.echo(f"  {problem.problem}  [{problem.code}]")
    for note in report.notes:
        click.echo(f"  {note.problem}  [{note.code}]")


@ledger_group.command(
    name="witness",
    help=N_("help.ledger.witness"),
    notes=N_("help.ledger.witness.notes"),
    exits=(ExitCode.FAILED, ExitCode.PARTIAL),
    examples=[
        ("lmsbridge ledger witness", N_("help.ledger.example.witness")),
        "lmsbridge ledger witness --share S-0001",
    ],
)
@ledger_option
@click.option("--share", "share_ids", multiple=True, metavar=N_("metavar.share"), help=N_("help.ledger.witness.share"))
@click.pass_context
def witness_command(ctx: click.Context, ledger_location: str | None, share_ids: tuple[str, ...]) -> None:
    context = app(ctx)
    with open_ledger(ctx, ledger_location) as ledger:
        delivered = Witnesses(context.config(), ledger, lambda name: context.client(name)).write(
            share_ids or [s.id for s in ledger.list_shares()])
    if context.json:
        echo_json({"ok": not delivered.failed, "shares": len(delivered.receipts),
                   "written": [{"course": holder.name, "platform": holder.platform, "receipt": receipt.text}
                               for holder, receipt in delivered.written],
                   "failed": [{"course": holder.name, "platform": holder.platform, "reason": reason.render()}
                              for holder, reason in delivered.failed]})
    else:
        for holder, receipt in delivered.written:
            click.echo(i18n.t("witness.cli.written", course=holder.name, receipt=receipt.text))
        echo_undelivered(delivered)
        click.echo(i18n.t("witness.cli.done", shares=len(delivered.receipts), written=len(delivered.written)))
    if delivered.failed:
        ctx.exit(ExitCode.PARTIAL)


@ledger_group.command(
    name="events",
    help=N_("help.ledger.events"),
    examples=["lmsbridge ledger events", "lmsbridge ledger events --share S-0001",
              "lmsbridge ledger events --share S-0001 --json", "lmsbridge ledger events -o jsonl",
              ("lmsbridge ledger events --excel > hendelser.csv", N_("help.output.example.excel"))],
)
@ledger_option
@click.option("--share", "share_id", metavar=N_("metavar.share"), help=N_("help.ledger.events.share"))
@output_options
@click.pass_context
def events_command(ctx: click.Context, ledger_location: str | None, share_id: str | None, fmt: str | None,
                   excel: bool) -> None:
    with open_ledger(ctx, ledger_location) as ledger:
        events = ledger.events(share_id)

    def as_table() -> None:
        if not events:
            click.echo(i18n.t("ledger.cli.no_events"))
        for event in events:
            click.echo(_event_line(event))

    emit(chosen(ctx, fmt, excel), [e.model_dump(mode="json") for e in events],
         ["seq", "at", "share_id", "actor", "action", "details"], excel=excel, table=as_table)


def _event_line(event: Event) -> str:
    details = json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else ""
    return f"#{event.seq:<5} {event.at:%Y-%m-%d %H:%M}Z  {event.share_id or '-':<8} {event.actor}: {event.action}  {details}".rstrip()


commands = [ledger_group]
