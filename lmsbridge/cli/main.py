"""Entry point: the root ``lmsbridge`` group, and the ONE place errors become messages and exit codes.

Command groups live in sibling modules and are listed in ``COMMAND_MODULES``; each exposes ``commands``,
a list of click commands/groups to attach to the root.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from lmsbridge import __version__, i18n
from lmsbridge.cli import clicktexts
from lmsbridge.cli.command import EXIT_CODES, Group, adopt
from lmsbridge.cli.context import app, echo_json
from lmsbridge.cli.pending import PENDING
from lmsbridge.errors import ExitCode, LmsbridgeError
from lmsbridge.i18n import N_, Message

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

#: ``-o``/``--output`` values that make a command print for machines (its errors then come as JSON too).
MACHINE_FORMATS = ("json", "jsonl")


@dataclass(frozen=True)
class Line:
    """What the command line says before click reads it: the language of everything click prints while it
    reads (help, usage errors), and whether an error must come as JSON."""

    lang: str | None = None
    json: bool = False

    @classmethod
    def scan(cls, args: Sequence[str]) -> Line:
        lang, json = None, False
        for at, arg in enumerate(args):
            if arg == "--":
                break
            following = args[at + 1] if at + 1 < len(args) else None
            if arg == "--lang" and following in i18n.LANGUAGES:
                lang = following
            elif arg.startswith("--lang=") and arg[7:] in i18n.LANGUAGES:
                lang = arg[7:]
            elif arg == "--json" or (arg in ("-o", "--output") and following in MACHINE_FORMATS) or \
                    arg in (f"--output={fmt}" for fmt in MACHINE_FORMATS):
                json = True
        return cls(lang, json)


class RootGroup(Group):
    """Runs a command line with click's texts in the user's language, and turns every error into one message
    and an exit code of ``ExitCode`` (no tracebacks): a line on stderr, or with ``--json`` a JSON object on
    stdout. ``main(standalone_mode=False)`` returns the exit code (the error already shown) instead of raising."""

    root = True

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        line = Line.scan(argv)
        i18n.set_language(line.lang)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        with clicktexts.in_language():
            code = self._run(argv, prog_name, complete_var, line, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, argv: list[str], prog_name: str | None, complete_var: str | None, line: Line,
             **extra: Any) -> int:
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except LmsbridgeError as exc:
            return show_error(exc.message, exc.code, exc.exit_code, line.json, details=exc.details)
        except click.ClickException as exc:
            if line.json:
                return show_error(Message.text(exc.format_message()), "usage", exc.exit_code, True)
            exc.show()
            return exc.exit_code
        except click.Abort as exc:
            interrupted = isinstance(exc.__context__, KeyboardInterrupt)
            return show_error(Message(N_("cli.interrupted")), "interrupted",
                              ExitCode.INTERRUPTED if interrupted else ExitCode.INPUT, line.json)
        return result if isinstance(result, int) else ExitCode.OK

    def format_exits(self, formatter: click.HelpFormatter) -> None:
        """The root's help ends with the whole exit-code table (each command's help names its own codes)."""
        with formatter.section(i18n.t("help.exits.title")):
            formatter.write_dl([(str(code), i18n.t(text)) for code, text in EXIT_CODES.items()])


def show_error(message: Message, code: str, exit_code: int, as_json: bool,
               details: Sequence[Message] = ()) -> int:
    """The one place an error is shown: «Feil: …» on stderr (its details below it), or with ``--json`` a JSON
    object on stdout."""
    if as_json:
        error: dict[str, Any] = {"code": code, "message": message.render(), "exit_code": int(exit_code),
                                 "message_code": None if message.plain else message.code}
        if details:
            error["details"] = [{"code": d.code, "message": d.render()} for d in details]
        echo_json({"error": error})
    else:
        click.echo(i18n.t("cli.error") + f": {message.render()}", err=True)
        for detail in details:
            click.echo(f"  {detail.render()}", err=True)
    return exit_code


@click.group(
    cls=RootGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help=N_("help.root"),
    notes=N_("help.root.notes"),
    examples=[
        ("lmsbridge demo", N_("help.root.example.demo")),
        ("lmsbridge demo --lang en", N_("help.root.example.english")),
        ("lmsbridge validate examples/course.toml", None),
        ("lmsbridge doctor --config lmsbridge.toml", None),
    ],
)
@click.version_option(__version__, prog_name="lmsbridge")
@click.pass_context
def cli(ctx: click.Context) -> None:
    app(ctx)


def _attach_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.commands:
            cli.add_command(adopt(command, PENDING.get(command.name or "")))


_attach_commands()


def main() -> None:
    cli(prog_name="lmsbridge")


if __name__ == "__main__":  # pragma: no cover
    main()
