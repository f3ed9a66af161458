"""``lmsbridge config show`` and ``lmsbridge init``: the configuration in effect, and a new one."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from click.core import ParameterSource

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.config import (
    DEFAULT_CONFIG_NAME,
    Config,
    ConfigDraft,
    FoundConfig,
    PlatformDraft,
    find_config,
    load_config,
    render_config,
    renewals_until,
    settings,
)
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger

KS_URL = "https://laring.ks.no"


def found_config(ctx: click.Context) -> FoundConfig | None:
    """The configuration file this run reads, and how it was found (``--config`` or ``$LMSBRIDGE_CONFIG``: click
    reads both into one option; else the search path)."""
    given = app(ctx).config_path
    if not given:
        return find_config()
    source = ctx.find_root().get_parameter_source("config_path")
    return find_config(given, found_by="env" if source is ParameterSource.ENVIRONMENT else "option")


def echo_found(found: FoundConfig | None) -> None:
    """The file, how it was found, and the files further down the search path that it hides."""
    if found is None:
        return
    click.echo(i18n.t("config.show.file", path=found.path, found_by=found.message()))
    if found.shadowed:
        click.echo(i18n.t("config.show.shadowed", paths=", ".join(str(p) for p in found.shadowed)))


def echo_warnings(config: Config) -> None:
    for warning in config.warnings:
        click.echo(i18n.t("config.warning", warning=warning), err=True)


@click.group("config")
def config_group() -> None:
    """The configuration: where it is read from and what is in effect.

    \b
    Where lmsbridge looks, in this order (the first found is read, the rest are not):
      --config FILE, $LMSBRIDGE_CONFIG, ./lmsbridge.toml,
      ~/.config/lmsbridge/lmsbridge.toml ($XDG_CONFIG_HOME), /etc/lmsbridge/lmsbridge.toml
    Any value can be overridden with LMSBRIDGE_<SECTION>__<KEY>, e.g. LMSBRIDGE_LEDGER.

    \b
    Examples:
      lmsbridge config show
      lmsbridge --config /etc/lmsbridge/lmsbridge.toml config show --json
    """


@config_group.command(
    "show",
    epilog="""\b
Examples:
  lmsbridge config show
  LMSBRIDGE_LEDGER=/tmp/test.db lmsbridge config show     # the ledger now says where it came from
  lmsbridge config show --json

Exit status: 0 when the configuration is valid (each value is printed); 2 when it is not (every problem
is named, with the nearest valid key).""",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Print every value in effect and where it came from: the file, an environment variable or the default.

    Secrets are never in the configuration (it names the variable or file holding each); the password of a
    postgresql:// ledger URL and a user and password in a platform's URL are hidden. Variables with the
    LMSBRIDGE_ prefix that are no configuration key are warned about.
    """
    found = found_config(ctx)
    config = app(ctx).config()
    values = settings(config)
    if as_json:
        echo_json({"file": str(config.source) if config.source else None,
                   "found_by": found.found_by if found else None,
                   "shadowed": [str(p) for p in found.shadowed] if found else [],
                   "values": {s.key: {"value": _plain(s.value), "origin": str(s.origin)} for s in values},
                   "warnings": [w.render() for w in config.warnings]})
        return
    echo_found(found)
    width = max((len(s.key) for s in values), default=0)
    for setting in values:
        value = setting.value
        shown = value.render() if isinstance(value, Message) else json.dumps(value, ensure_ascii=False)
        click.echo(f"{setting.key.ljust(width)} = {shown}  # {setting.origin.message()}")
    echo_warnings(config)


def _plain(value: object) -> object:
    return value.render() if isinstance(value, Message) else value


@click.command(
    "init",
    epilog="""\b
Examples:
  lmsbridge init                                             # asks what it needs (in a terminal)
  lmsbridge init --side hospital --organisation "Helse Bergen HF" --lp-url https://laringsportal.helse-bergen.no
  lmsbridge --config /etc/lmsbridge/lmsbridge.toml init --side hospital --organisation "Helse Bergen HF" \\
      --lp-url https://laringsportal.helse-bergen.no --ledger /var/lib/lmsbridge/ledger.db \\
      --outbox /var/lib/lmsbridge/outbox
  lmsbridge init --ledger-only                               # the ledger of the configuration there is
  lmsbridge sandbox serve --write-config sandbox/lmsbridge.toml   # a configuration for the sandbox sites

Exit status: 0 when the file (and the ledger) were written; 2 when the file exists (give --force), a value
is missing and there is no terminal to ask in, or the ledger cannot be made where the file says.""",
)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--side", type=click.Choice(["hospital", "municipal"]),
              help="Your side of the agreement: hospital (a Læringsportal) or municipal (KS Læring).")
@click.option("--organisation", help="Your organisation, e.g. «Helse Bergen HF» or «Bergen kommune».")
@click.option("--partner", help="With --side municipal: the hospital trust whose Læringsportal you share with.")
@click.option("--ks-url", help=f"KS Læring's address. Default: {KS_URL}")
@click.option("--lp-url", help="The Læringsportal's address, e.g. https://laringsportal.helse-bergen.no")
@click.option("--ks-token-env", default="LMSBRIDGE_KS_TOKEN", show_default=True,
              help="The environment variable that will hold KS Læring's web-service token.")
@click.option("--lp-token-env", default="LMSBRIDGE_LP_TOKEN", show_default=True,
              help="The environment variable that will hold the Læringsportal's web-service token.")
@click.option("--ledger", "ledger", default="ledger.db", show_default=True,
              help="The ledger: a SQLite file (relative to the configuration file) or postgresql://…")
@click.option("--outbox", default="outbox", show_default=True, help="Folder for the .eml files.")
@click.option("--name", "operator_name", default="", help="Your name, under the e-mails lmsbridge writes.")
@click.option("--email", "operator_email", default="", help="Your e-mail address, under the e-mails.")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option("--ledger-only", is_flag=True,
              help="Write no configuration: make the empty ledger and the outbox the configuration names.")
@click.option("--no-input", is_flag=True, help="Never ask, also in a terminal (a missing value is an error).")
@click.pass_context
def init(ctx: click.Context, file: Path | None, side: str | None, organisation: str | None, partner: str | None,
         ks_url: str | None, lp_url: str | None, ks_token_env: str, lp_token_env: str, ledger: str, outbox: str,
         operator_name: str, operator_email: str, force: bool, ledger_only: bool, no_input: bool) -> None:
    """Write a commented configuration for your side of the agreement, and make its ledger and outbox.

    Writes FILE (default: --config / $LMSBRIDGE_CONFIG, else ./lmsbridge.toml), never over an existing file
    without --force. The file passes the strict schema as written; tokens and the pseudonym secret are named by
    environment variables, never written. In a terminal it asks for what the options do not give; otherwise
    it asks nothing. Then it makes the ledger (empty) and the outbox where the file says, so that `lmsbridge
    doctor` finds them: run it as the user the sync will run as. Next: set the variables, run `lmsbridge doctor`.
    """
    target = file or Path(app(ctx).config_path or DEFAULT_CONFIG_NAME)
    if ledger_only:
        make_ledger(load_config(target))
        return
    if target.exists() and not force:
        raise InputError(Message("init.exists", path=target))
    ask = not no_input and sys.stdin.isatty()
    if not ask:  # every value it would ask for, named at once
        missing = [option for option, value in (("--organisation", organisation), ("--lp-url", lp_url),
                                                ("--partner", partner if side == "municipal" else "-"))
                   if not value]
        if missing:
            raise click.UsageError(i18n.t("init.missing", option=", ".join(missing)))
    side = side or _ask(ask, N_("init.ask.side"), default="hospital", choice=click.Choice(["hospital", "municipal"]))
    organisation = organisation or _ask(ask, N_("init.ask.organisation"))
    if side == "municipal":
        partner = partner or _ask(ask, N_("init.ask.partner"))
    hospital = organisation if side == "hospital" else str(partner)
    ks_url = ks_url or _ask(ask, N_("init.ask.ks_url"), default=KS_URL)
    lp_url = lp_url or _ask(ask, N_("init.ask.lp_url"))
    ours = PlatformRole(side)
    draft = ConfigDraft(
        platforms=(
            PlatformDraft("ks", "KS Læring", ks_url, PlatformRole.MUNICIPAL, "KS", ("env", ks_token_env),
                          ours is PlatformRole.MUNICIPAL, contact_point="kslaring@ks.no"),
            PlatformDraft("lp", f"Læringsportal {hospital}", lp_url, PlatformRole.HOSPITAL, hospital,
                          ("env", lp_token_env), ours is PlatformRole.HOSPITAL),
        ),
        organisation=organisation, today=date.today(), operator_name=operator_name, operator_email=operator_email,
        ledger=ledger, outbox=outbox, renewals=renewals_until(date.today()))
    config = write_config(target, draft)
    click.echo(i18n.t("init.written", path=target))
    make_ledger(config)
    variables = [ks_token_env, lp_token_env, config.sync.pseudonym_secret_env]
    click.echo(i18n.t("init.next", variables=", ".join(variables), config=target))


def write_config(target: Path, draft: ConfigDraft) -> Config:
    """Write ``draft`` to ``target`` (its folder made) and read it back as lmsbridge will: strict, so a file
    that would not load is never left behind."""
    text = render_config(draft)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(Message("init.cannot_write", path=target, reason=i18n.os_reason(exc))) from None
    return load_config(target)


def write_secret_file(path: Path, value: str) -> None:
    """A token or secret in a file only its owner may read (0600 from the start)."""
    path.touch(mode=0o600)
    path.write_text(value, encoding="utf-8")


def make_ledger(config: Config) -> None:
    """The configuration's ledger (empty, migrated, 0600) and outbox folder, unless they are there."""
    url = config.ledger_url(create=True)
    with Ledger.open(url) as ledger:
        where = ledger.location
    try:
        config.outbox_dir().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(Message("init.cannot_write", path=config.outbox_dir(), reason=i18n.os_reason(exc))) from None
    click.echo(i18n.t("init.ledger", ledger=where, outbox=config.outbox_dir()))


def _ask(ask: bool, prompt: str, *, default: str | None = None, choice: click.Choice | None = None) -> str:  # type: ignore[type-arg]
    """A value the options did not give: asked in a terminal, else its default (``init`` has named the values
    without a default already)."""
    if ask:
        return str(click.prompt(i18n.t(prompt), default=default, type=choice))
    return default or ""


commands = [config_group, init]

__all__ = ["commands", "echo_found", "echo_warnings", "found_config", "make_ledger", "write_config",
           "write_secret_file"]
