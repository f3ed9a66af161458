"""lmsbridge's click command classes: help in the user's language, examples, exit codes, global options anywhere.

Every text of a command's help is a message code, rendered when the help is shown, so ``--lang`` and
``LMSBRIDGE_LANG`` choose its language as they do every other text's::

    @share_group.command(name="approve", help=N_("help.share.approve"), exits=(ExitCode.FAILED,),
                         examples=[("lmsbridge share approve S-0001", None)])
    @click.argument("share_id", metavar=N_("metavar.share"))
    @click.option("--reason", help=N_("help.share.reason"))

``Command`` and ``Group`` make each of their parameters this module's ``Option``/``Argument`` (one made with
``click.option`` is converted), render ``help``, metavars and the epilog (notes, examples with their comments,
the exit codes the command may end with: every command may end with 0 and 2), and carry the global options
(``--config``, ``--lang``, ``-v``, ``--json``) so that they work after the subcommand as well as before it.
click's own texts («Usage:», «Options», «Error: No such option …») are ``clicktexts``'s.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click

from lmsbridge import i18n
from lmsbridge.cli.clicktexts import help_text
from lmsbridge.cli.context import app
from lmsbridge.errors import ExitCode
from lmsbridge.i18n import N_

#: A command line and the code of the comment after it (None: no comment).
Example = tuple[str, str | None]

#: What each exit code means, in the root's --help, each command's help and the README (tests/cli/test_exit_codes.py
#: fails on a member of ``ExitCode`` without a line here).
EXIT_CODES: dict[int, str] = {
    ExitCode.OK: N_("exit.ok"),
    ExitCode.FAILED: N_("exit.failed"),
    ExitCode.USAGE: N_("exit.usage"),
    ExitCode.UNREACHABLE: N_("exit.unreachable"),
    ExitCode.PARTIAL: N_("exit.partial"),
    ExitCode.LOCKED: N_("exit.locked"),
    ExitCode.INTERRUPTED: N_("exit.interrupted"),
}
#: The codes every command may end with (its own come on top): done, and a command line that cannot be used.
ALWAYS = (ExitCode.OK, ExitCode.USAGE)

#: Metavars click makes from a parameter's type → the code of ours.
TYPE_METAVARS: dict[str, str] = {
    "TEXT": N_("metavar.text"),
    "INTEGER": N_("metavar.integer"),
    "INTEGER RANGE": N_("metavar.integer"),
    "FLOAT": N_("metavar.number"),
    "FLOAT RANGE": N_("metavar.number"),
    "PATH": N_("metavar.path"),
    "FILE": N_("metavar.file"),
    "DIRECTORY": N_("metavar.folder"),
    "DURATION": N_("metavar.duration"),
}

F = TypeVar("F", bound=Callable[..., Any])


# --- parameters ----------------------------------------------------------------------------------------------


class Option(click.Option):
    """An option whose help and metavar may be message codes."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        written = self.help
        self.help = help_text(written)  # click adds «[default: …]» and «[required]» to it (clicktexts)
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = written

    def make_metavar(self, ctx: click.Context) -> str:
        if self.metavar is not None:
            return help_text(self.metavar) or self.metavar
        made = super().make_metavar(ctx)
        code = TYPE_METAVARS.get(made)
        return i18n.t(code) if code else made


class Argument(click.Argument):
    """An argument whose metavar may be a message code (the name; «[…]» and «...» are added as click does)."""

    def make_metavar(self, ctx: click.Context) -> str:
        if self.metavar is None:
            return super().make_metavar(ctx)
        shown = help_text(self.metavar) or self.metavar
        if not self.required:
            shown = f"[{shown}]"
        return shown + ("..." if self.nargs != 1 else "")


def _ours(param: click.Parameter) -> click.Parameter:
    """A parameter made with plain click, as this module's class (the same object: its callbacks stay)."""
    if type(param) is click.Option:
        param.__class__ = Option
    elif type(param) is click.Argument:
        param.__class__ = Argument
    return param


# --- the global options ----------------------------------------------------------------------------------------


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        app(ctx).config_path = value


def _remember_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        i18n.set_language(value)


def _remember_verbosity(_ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        logging.getLogger().setLevel(logging.WARNING - 10 * min(value, 2))


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        app(ctx).json = True


def global_options(*, root: bool) -> list[click.Option]:
    """``--config``, ``--lang``, ``-v`` and ``--json``: on the root, and on every command so that they may come
    after it (there hidden but for ``--json``, which says what the command prints). Only the root reads the
    environment (``LMSBRIDGE_CONFIG``): a command's own default would undo a ``--config`` given before it."""
    hidden = not root
    return [
        Option(["--config", "config_path"], type=click.Path(dir_okay=False), metavar=N_("metavar.file"),
               envvar="LMSBRIDGE_CONFIG" if root else None, expose_value=False, is_eager=True, hidden=hidden,
               callback=_remember_config, help=N_("help.global.config")),
        Option(["--lang"], type=click.Choice(i18n.LANGUAGES), expose_value=False, is_eager=True, hidden=hidden,
               callback=_remember_lang, help=N_("help.global.lang")),
        Option(["-v", "--verbose"], count=True, expose_value=False, hidden=hidden, callback=_remember_verbosity,
               help=N_("help.global.verbose")),
        Option(["--json", "as_json_output"], is_flag=True, expose_value=False, callback=_remember_json,
               help=N_("help.global.json")),
    ]


def _names(param: click.Parameter) -> set[str]:
    return {*param.opts, *param.secondary_opts}


# --- commands ------------------------------------------------------------------------------------------------


class _Rendered(click.Command):
    """What ``Command`` and ``Group`` share: the help rendered from codes, the epilog built, global options."""

    examples: tuple[Example, ...] = ()
    exits: tuple[int, ...] = ()
    notes: str | None = None
    #: The root shows the global options; every other command has them hidden (but ``--json``).
    root = False

    def prepare(self, *, examples: Iterable[Example | str] = (), exits: Iterable[int] = (),
                notes: str | None = None) -> None:
        self.examples = tuple((example, None) if isinstance(example, str) else example for example in examples)
        self.exits = tuple(sorted({*ALWAYS, *exits}))
        self.notes = notes
        self.params = [_ours(param) for param in self.params]
        taken = set().union(*(_names(param) for param in self.params))
        self.params += [option for option in global_options(root=self.root) if not _names(option) & taken]

    # help text, short help, usage
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = help_text(self.help)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(inspect.cleandoc(text))

    def get_short_help_str(self, limit: int = 45) -> str:
        written = self.short_help, self.help
        self.short_help, self.help = help_text(self.short_help), help_text(self.help)
        try:
            return super().get_short_help_str(limit)  # click's own shortening, of the text in the user's language
        finally:
            self.short_help, self.help = written

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        ours = {self.options_metavar: N_("help.usage.options"),
                getattr(self, "subcommand_metavar", None): N_("help.usage.command")}
        return [i18n.t(ours[piece]) if piece in ours else piece for piece in super().collect_usage_pieces(ctx)]

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        found = super().get_help_option(ctx)
        return _ours(found) if found is not None else None  # type: ignore[return-value]

    # the epilog: notes, examples, exit codes
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for text in (help_text(self.epilog), help_text(self.notes)):
            if text:
                formatter.write_paragraph()
                with formatter.indentation():
                    formatter.write_text(inspect.cleandoc(text))
        if self.examples:
            with formatter.section(i18n.t("help.examples")):
                formatter.write_text("\b\n" + "\n".join(example_lines(self.examples)))
        if self.exits:
            self.format_exits(formatter)

    def format_exits(self, formatter: click.HelpFormatter) -> None:
        with formatter.section(i18n.t("help.exits")):
            formatter.write_dl([(str(code), i18n.t(EXIT_CODES[code])) for code in self.exits])


def example_lines(examples: Sequence[Example]) -> list[str]:
    """Each example's command, and its comment after «#», the comments lined up."""
    width = max((len(line) for line, comment in examples if comment), default=0)
    return [f"{line:<{width}}  # {i18n.t(comment)}" if comment else line for line, comment in examples]


class Command(_Rendered):
    def __init__(self, *args: Any, examples: Iterable[Example | str] = (), exits: Iterable[int] = (),
                 notes: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepare(examples=examples, exits=exits, notes=notes)


class Group(_Rendered, click.Group):
    command_class = Command
    group_class = type  # a group's groups are of its own class

    def __init__(self, *args: Any, examples: Iterable[Example | str] = (), exits: Iterable[int] = (),
                 notes: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepare(examples=examples, exits=exits, notes=notes)

    def format_exits(self, formatter: click.HelpFormatter) -> None:
        """A group's commands say their own exit codes."""


def command(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], Command]:
    """``click.command`` with this module's ``Command`` (``help``, ``examples``, ``exits``, ``notes``)."""
    return click.command(name, cls=Command, **attrs)


def group(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], Group]:
    return click.group(name, cls=Group, **attrs)


def adopt(command: click.Command, texts: dict[str, Any] | None = None) -> click.Command:
    """A command made with plain click (a module whose help is not yet in the catalogue) as this module's class,
    with its help from ``texts``: {"help": code, "examples": […], "exits": (…), "<param name>": code, "<name>": {…}
    for a group's command}. Its English epilog gives way to the examples. Commands of this module's class are
    left as they are."""
    texts = texts or {}
    if not isinstance(command, _Rendered):
        command.__class__ = Group if isinstance(command, click.Group) else Command
        assert isinstance(command, _Rendered)
        command.help = texts.get("help", command.help)
        if "examples" in texts:
            command.epilog = None
        for param in command.params:
            param.help = texts.get(param.name or "", getattr(param, "help", None))
        command.prepare(examples=texts.get("examples", ()), exits=texts.get("exits", ()))
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            adopt(sub, texts.get(name))
    return command
