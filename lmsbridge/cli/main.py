"""Entry point: the root ``lmsbridge`` group, global options, and the ONE place errors become messages.

Command groups live in sibling modules and are listed in ``COMMAND_MODULES``; each exposes ``commands``,
a list of click commands/groups to attach to the root.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from lmsbridge import __version__, i18n
from lmsbridge.cli.context import AppContext
from lmsbridge.errors import ExitCode, LmsbridgeError

# Modules under lmsbridge.cli that contribute commands. Add one line per module.
COMMAND_MODULES: tuple[str, ...] = (
    "lmsbridge.cli.config",
    "lmsbridge.cli.doctor",
    "lmsbridge.cli.validate",
    "lmsbridge.cli.licence",
    "lmsbridge.cli.notify",
    "lmsbridge.cli.keys",
    "lmsbridge.cli.shares",
    "lmsbridge.cli.ledger",
    "lmsbridge.cli.sync",
    "lmsbridge.cli.certificates",
    "lmsbridge.cli.report",
    "lmsbridge.cli.sandbox",
    "lmsbridge.cli.demo",
)

class RootGroup(click.Group):
    """Turns every lmsbridge error into one readable line and an exit code (no tracebacks)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LmsbridgeError as exc:
            click.echo(i18n.t("cli.error") + f": {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(i18n.t("cli.interrupted"), err=True)
            ctx.exit(ExitCode.INTERRUPTED)


@click.group(
    cls=RootGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  lmsbridge demo                       # see the whole tool work on two built-in sandbox sites
  lmsbridge validate examples/course.toml
  lmsbridge --config lmsbridge.toml doctor
  LMSBRIDGE_LANG=en lmsbridge --help
""",
)
@click.version_option(__version__, prog_name="lmsbridge")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="LMSBRIDGE_CONFIG",
    help="Configuration file (TOML). Default: $LMSBRIDGE_CONFIG, else ./lmsbridge.toml if it exists.",
)
@click.option(
    "--lang",
    type=click.Choice(["nb", "en"]),
    envvar="LMSBRIDGE_LANG",
    help="Language of messages: nb (Norwegian bokmål, default) or en.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, lang: str | None, verbose: int) -> None:
    """lmsbridge: course sharing between KS Læring and a hospital Læringsportal.

    Validates course information, runs the share workflows of the pilot agreement (request, approve,
    publish, revoke) with a ledger, and syncs completions of shared courses back to their owner.
    """
    i18n.set_language(lang)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = AppContext(config_path=config_path)


def _attach_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.commands:
            cli.add_command(command)


_attach_commands()


def main() -> None:
    cli(prog_name="lmsbridge")


if __name__ == "__main__":  # pragma: no cover
    main()
