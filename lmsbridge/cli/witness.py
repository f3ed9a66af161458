"""Printing what became of an act: who acted on the platform's word, and the receipts written (or not)."""

from __future__ import annotations

import click

from lmsbridge import i18n
from lmsbridge.workflows.shares import ActResult
from lmsbridge.workflows.witnesses import Delivered


def echo_undelivered(delivered: Delivered | None) -> None:
    """A receipt that could not be written: on stderr, with what to do (the act itself is recorded)."""
    for holder, reason in (delivered.failed if delivered else []):
        click.echo(i18n.t("witness.cli.failed", course=holder.name, reason=reason), err=True)


def echo_act(result: ActResult | None) -> None:
    """The platform's answer the act rests on, its receipt, and any receipt not written."""
    if result is None:
        return
    click.echo(i18n.t("share.cli.by", who=result.actor.label, site=result.actor.site))
    receipt = result.witnessed.receipts.get(result.share.id) if result.witnessed else None
    if receipt is not None:
        places = ", ".join(holder.name for holder, _ in result.witnessed.written) if result.witnessed else ""
        click.echo(i18n.t("share.cli.receipt", receipt=receipt.text, places=places or "-"))
    echo_undelivered(result.witnessed)


commands: list[click.Command] = []
