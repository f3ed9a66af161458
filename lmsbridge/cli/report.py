"""``lmsbridge report``: the partners' quarterly picture, from the ledger (and the platforms with --live)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import click

from lmsbridge import i18n
from lmsbridge.cli.command import command
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import ExitCode, InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger
from lmsbridge.report import Period, collect, day_of


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(i18n.t("report.bad_date", value=value), param_hint=option) from None


def _period(quarter: str | None, start: str | None, end: str | None, today: date) -> Period:
    if quarter and (start or end):
        raise click.UsageError(i18n.t("report.quarter_or_dates"))
    if quarter or not (start or end):
        chosen = Period.quarter(quarter) if quarter else Period.of(today)
        # a quarter not over yet is shown so far: weeks to come would only repeat today's figures
        return chosen if chosen.end <= today or chosen.start > today else replace(chosen, end=today)
    first, last = _date(start, "--from"), _date(end, "--to")
    current = Period.of(today)
    return Period.between(first or current.start, last or today)


def write_atomically(path: Path, text: str) -> None:
    """The whole report or nothing: a half-written page never replaces a good one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(Message("report.write_failed", path=path, reason=i18n.os_reason(exc))) from None


@command(
    help=N_("help.report"),
    exits=(ExitCode.UNREACHABLE, ExitCode.PARTIAL),
    notes=N_("help.report.notes"),
    examples=[
        ("lmsbridge report", N_("help.report.example.quarter")),
        "lmsbridge report --quarter 2026Q4 --out rapport.html",
        ("lmsbridge report --quarter 2026Q4 --live", N_("help.report.example.live")),
        "lmsbridge report --lang en --from 2026-10-01 --to 2026-11-15",
        "lmsbridge report --quarter 2026Q4 -o csv > tall.csv",
    ],
)
@click.option("--quarter", metavar=N_("metavar.quarter"), help=N_("help.report.quarter"))
@click.option("--from", "start", metavar=N_("metavar.date"), help=N_("help.report.from"))
@click.option("--to", "end", metavar=N_("metavar.date"), help=N_("help.report.to"))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar=N_("metavar.file"),
              help=N_("help.report.out"))
@click.option("-o", "--output", "fmt", type=click.Choice(["html", "json", "csv"]), default=None,
              help=N_("help.report.output"))
@click.option("--live", is_flag=True, help=N_("help.report.live"))
@click.pass_context
def report(ctx: click.Context, quarter: str | None, start: str | None, end: str | None, out: Path | None,
           fmt: str | None, live: bool) -> None:
    fmt = fmt or ("json" if app(ctx).json else "html")
    from lmsbridge.report.render import render_csv, render_html, render_json  # Jinja2: only when reporting

    context = app(ctx)
    config = context.config()
    now = datetime.now(UTC)
    period = _period(quarter, start, end, day_of(now))
    with Ledger.open(config.ledger_url(), create=False) as ledger:
        figures = collect(ledger, config, period, now=now, lang=i18n.language())
        if live:
            from lmsbridge.report.live import add_live_figures

            figures = add_live_figures(figures, config, context.client, ledger.list_shares(), today=day_of(now),
                                       now=now)
    if fmt == "html":
        target = out or Path(f"report-{period.label}.html")
        write_atomically(target, render_html(figures))
        click.echo(i18n.t("report.written", path=target.resolve()))
    else:
        text = render_json(figures) if fmt == "json" else render_csv(figures)
        if out is None:
            click.echo(text, nl=False)
        else:
            write_atomically(out, text)
            if context.json:
                echo_json({"ok": not figures.live_errors, "written": str(out.resolve()),
                           "live_errors": figures.live_errors})
            else:
                click.echo(i18n.t("report.written", path=out.resolve()))
    if figures.live_errors:
        ctx.exit(figures.live_exit_code)


commands = [report]
