"""click's own texts («Usage:», «Options», «Error: No such option …») in the user's language.

click marks its texts for gettext: each of its modules does ``from gettext import gettext as _`` (and
``ngettext``) and calls them when it writes a help page or an error. ``in_language()`` puts this module's
``gettext``/``ngettext`` in their place while lmsbridge's root command runs (``cli.main.RootGroup.main``) and
puts click's back afterwards. They look click's English text up in ``CLICK_TEXTS`` and give the catalogue's
text for its code in the current language, or click's own text when there is none (a text click adds later
stays English, never wrong).

A text click makes once and keeps («Show this message and exit.» of the help option, «Show the version and
exit.») is translated where it is shown: ``help_text`` looks help texts up here too.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

from lmsbridge import i18n
from lmsbridge.i18n import N_

#: click's text (its msgid) → the code of our text. Placeholders keep click's names; ``{name!r}`` becomes
#: «{name}» (the text formats the value itself).
CLICK_TEXTS: dict[str, str] = {
    "Usage:": N_("click.usage"),
    "Options": N_("click.options"),
    "Commands": N_("click.commands"),
    "Positional arguments": N_("click.arguments"),
    "Show this message and exit.": N_("click.help_option"),
    "Show the version and exit.": N_("click.version_option"),
    "%(prog)s, version %(version)s": N_("click.version"),
    "Error: {message}": N_("click.error"),
    "Try '{command} {option}' for help.": N_("click.try_help"),
    "Missing command.": N_("click.missing_command"),
    "Missing argument": N_("click.missing_argument"),
    "Missing option": N_("click.missing_option"),
    "Missing parameter": N_("click.missing_parameter"),
    "Missing {param_type}": N_("click.missing_param_type"),
    "Missing parameter: {param_name}": N_("click.missing_parameter_name"),
    "No such option {name!r}.": N_("click.no_such_option"),
    "No such command {name!r}.": N_("click.no_such_command"),
    "Invalid value: {message}": N_("click.invalid_value"),
    "Invalid value for {param_hint}: {message}": N_("click.invalid_value_for"),
    "Option {name!r} does not take a value.": N_("click.option_takes_no_value"),
    "Argument {name!r} takes {nargs} values.": N_("click.argument_values"),
    "Could not open file {filename!r}: {message}": N_("click.open_file"),
    "{value!r} is not a valid {number_type}.": N_("click.not_a_number"),
    "{value} is not in the range {range}.": N_("click.not_in_range"),
    "{value!r} is not a valid boolean. Recognized values: {states}": N_("click.not_a_boolean"),
    "default: {default}": N_("click.default"),
    "env var: {var}": N_("click.env_var"),
    "required": N_("click.required"),
    "Aborted!": N_("click.aborted"),
    "Error: invalid input": N_("click.invalid_input"),
    "Repeat for confirmation": N_("click.repeat"),
    "Error: The two entered values do not match.": N_("click.no_match"),
}

#: click's singular and plural text → the codes of ours (``ngettext``).
CLICK_PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        (N_("click.extra_argument.one"), N_("click.extra_argument.many")),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        (N_("click.option_needs_value.one"), N_("click.option_needs_value.many")),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        (N_("click.did_you_mean.one"), N_("click.did_you_mean.many")),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        (N_("click.not_a_choice.one"), N_("click.not_a_choice.many")),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        (N_("click.date_format.one"), N_("click.date_format.many")),
}

#: The click modules that call ``_``/``ngettext`` while a command runs (``decorators`` makes its texts once, at
#: import: ``help_text`` translates those).
MODULES = ("click.core", "click.exceptions", "click.formatting", "click.parser", "click.types", "click.termui")


def _text(code: str, fallback: str) -> str:
    """The raw text of ``code`` (placeholders left for click to fill) in the current language."""
    return i18n.catalogue(i18n.language()).get(code, fallback)


def gettext(message: str) -> str:
    code = CLICK_TEXTS.get(message)
    return _text(code, message) if code else message


def ngettext(singular: str, plural: str, n: int) -> str:
    codes = CLICK_PLURALS.get((singular, plural))
    chosen = singular if n == 1 else plural
    return _text(codes[0] if n == 1 else codes[1], chosen) if codes else chosen


def help_text(text: str | None) -> str | None:
    """A help text as shown: a message code's text, click's own text in the user's language, else as written."""
    if not text:
        return text
    if i18n.has(text):
        return i18n.t(text)
    return gettext(text)


@contextlib.contextmanager
def in_language() -> Iterator[None]:
    """click's texts from the catalogue while the block runs (the language is looked up each time)."""
    saved: list[tuple[ModuleType, str, object]] = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute, ours in (("_", gettext), ("ngettext", ngettext)):
            if hasattr(module, attribute):
                saved.append((module, attribute, getattr(module, attribute)))
                setattr(module, attribute, ours)
    try:
        yield
    finally:
        for module, attribute, theirs in reversed(saved):
            setattr(module, attribute, theirs)
