"""``-o table|json|jsonl|csv`` and ``--excel`` for the listing commands: one way to print rows.

``json`` is the command's own JSON (what ``--json`` prints); ``jsonl`` one object per row; ``csv`` RFC 4180 with a
header row (comma, UTF-8, ``true``/``false``, numbers with a point), for programs. ``--excel`` is CSV the way a
Norwegian Excel opens it with a double click: «;» between fields, a UTF-8 byte order mark (else Excel reads
cp1252), decimal comma and «ja»/«nei», so that «57,2» is a number and «Gjør» keeps its «ø».
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click

from lmsbridge.cli.context import app, echo_json
from lmsbridge.i18n import N_

FORMATS = ("table", "json", "jsonl", "csv")
BOM = "\ufeff"

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """``-o/--output`` and ``--excel`` on a listing command (parameters ``fmt`` and ``excel``)."""
    func = click.option("--excel", is_flag=True, help=N_("help.output.excel"))(func)
    return click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default=None,
                        help=N_("help.output"))(func)


def chosen(ctx: click.Context, fmt: str | None, excel: bool) -> str:
    """The format asked for: ``--excel`` is CSV, ``--json`` is json, else a table."""
    if excel:
        return "csv"
    return fmt or ("json" if app(ctx).json else "table")


def _cell(value: Any, excel: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("ja" if value else "nei") if excel else ("true" if value else "false")
    if isinstance(value, float):
        text = repr(value) if not value.is_integer() else str(int(value))
        return text.replace(".", ",") if excel else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, excel: bool = False) -> str:
    """``rows`` as CSV under ``columns`` (missing values empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n" if excel else "\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column), excel) for column in columns])
    return (BOM if excel else "") + buffer.getvalue()


def emit(fmt: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], *, excel: bool = False,
         as_json: Any = None, table: Callable[[], None]) -> None:
    """Print ``rows`` as ``fmt``: ``table`` calls ``table``; ``json`` prints ``as_json`` (default: the rows)."""
    if fmt == "table":
        table()
    elif fmt == "json":
        echo_json(list(rows) if as_json is None else as_json)
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
    else:
        click.echo(csv_text(rows, columns, excel=excel), nl=False)
