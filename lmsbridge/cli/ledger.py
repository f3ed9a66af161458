"""``lmsbridge ledger verify|events``: check the event chain and the audited rows, and read the log. Thin:
parse, one call, print."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lmsbridge import i18n
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import Event, Ledger

F = TypeVar("F", bound=Callable[..., Any])


DEFAULT_LEDGER = "lmsbridge.db"
#: Row problems printed as text (``--json`` has them all).
SHOWN_ROW_PROBLEMS = 50


def ledger_option(command: F) -> F:
    return click.option(
        "--ledger",
        "ledger_location",
        metavar="PATH_OR_URL",
        envvar="LMSBRIDGE_LEDGER",
        help="The ledger: a SQLite file, sqlite:///path or postgresql://… "
        "Default: $LMSBRIDGE_LEDGER, else the configuration's ledger.",
    )(command)


def resolve_ledger(ctx: click.Context, given: str | None) -> str:
    """--ledger / $LMSBRIDGE_LEDGER, else the configuration's (``ctx.obj.ledger_url()``), else the default."""
    if given:
        return given
    from_config = getattr(ctx.obj, "ledger_url", None)
    if callable(from_config):
        return str(from_config())
    return DEFAULT_LEDGER


@click.group(name="ledger")
def ledger_group() -> None:
    """The ledger, the only state lmsbridge keeps: check its event chain and rows, and read its log.

    Every share request, approval, publication and revocation is an event; each event carries the hash of
    the one before, so an event edited, deleted or inserted afterwards is found. Each event also carries a
    digest of the shares, completions and sent messages it wrote, so such a row edited, deleted or
    inserted behind lmsbridge's back is found too.

    \b
    Examples:
      lmsbridge ledger verify
      lmsbridge ledger events --share S-0001
      lmsbridge ledger verify --ledger /var/lib/lmsbridge/ledger.db --json
    """


@ledger_group.command(
    name="verify",
    epilog="""\b
Examples:
  lmsbridge ledger verify
  lmsbridge ledger verify --json
  LMSBRIDGE_LEDGER=postgresql://lmsbridge@db/lmsbridge lmsbridge ledger verify

Exit status: 0 when the chain is intact and every share, completion and message sent matches its last
event; 1 when an event was changed, deleted or inserted, or such a row was (each row is named).""",
)
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def verify_command(ctx: click.Context, ledger_location: str | None, as_json: bool) -> None:
    """Walk the event chain from the first event and name the first one that is not as it was written; then
    name every share, completion or message row that differs from the last event vouching for it, that no
    event vouches for, or that is gone."""
    with Ledger.open(resolve_ledger(ctx, ledger_location), create=False) as ledger:
        report = ledger.verify()
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    elif report.ok:
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
    if not report.ok:
        ctx.exit(ExitCode.FAILED)


@ledger_group.command(
    name="events",
    epilog="""\b
Examples:
  lmsbridge ledger events
  lmsbridge ledger events --share S-0001
  lmsbridge ledger events --share S-0001 --json""",
)
@ledger_option
@click.option("--share", "share_id", metavar="ID", help="Only the events of this share (e.g. S-0001).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def events_command(ctx: click.Context, ledger_location: str | None, share_id: str | None, as_json: bool) -> None:
    """List events, oldest first: when, which share, who, what, and why."""
    with Ledger.open(resolve_ledger(ctx, ledger_location), create=False) as ledger:
        events = ledger.events(share_id)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False, indent=2))
        return
    if not events:
        click.echo(i18n.t("ledger.cli.no_events"))
    for event in events:
        click.echo(_event_line(event))


def _event_line(event: Event) -> str:
    details = json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else ""
    return f"#{event.seq:<5} {event.at:%Y-%m-%d %H:%M}Z  {event.share_id or '-':<8} {event.actor}: {event.action}  {details}".rstrip()


commands = [ledger_group]
