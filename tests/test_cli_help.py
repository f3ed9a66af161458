"""Every command's help, in bokmål by default and English with --lang en: lmsbridge's texts and click's own; examples
and exit codes in every help; the global options anywhere on the line; one error prefix; errors as JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lmsbridge import __version__, i18n
from lmsbridge.cli.clicktexts import CLICK_PLURALS, CLICK_TEXTS, MODULES
from lmsbridge.cli.command import EXIT_CODES, TYPE_METAVARS, _Rendered
from lmsbridge.cli.main import cli

ROOT = Path(__file__).parent.parent
COURSE = str(ROOT / "examples" / "course.toml")
#: click's English, which must not be left in a help or an error in bokmål.
CLICK_ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[default:",
                 "[required]", "Error:", "Try '", "[OPTIONS]", "COMMAND [ARGS]", "TEXT", "INTEGER")


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


COMMANDS = all_commands(cli)


def command_at(path: tuple[str, ...]) -> click.Command:
    found: click.Command = cli
    for name in path:
        assert isinstance(found, click.Group)
        found = found.commands[name]
    return found


def help_of(path: tuple[str, ...], lang: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help", "--lang", lang])
    assert result.exit_code == 0, result.output
    return result.output


def test_there_are_commands() -> None:
    assert ("doctor",) in COMMANDS and ("share", "approve") in COMMANDS


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "lmsbridge")
def test_every_help_is_in_bokmal_with_examples_and_exit_codes(path: tuple[str, ...]) -> None:
    text = help_of(path, "nb")
    assert "Bruk: " in text and "Eksempler:" in text and "Valg:" in text
    assert f"lmsbridge {' '.join(path)}".strip() in text
    if not isinstance(command_at(path), click.Group) or not path:
        assert "Avslutningskoder" in text
        assert re.search(r"\n  0 +fullført", text) and re.search(r"\n  2 +kommandolinjen", text)
    left = [english for english in CLICK_ENGLISH if english in text]
    assert not left, f"English in the bokmål help of {' '.join(path)}: {left}\n{text}"


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "lmsbridge")
def test_every_help_is_in_english_with_lang_en(path: tuple[str, ...]) -> None:
    text = help_of(path, "en")
    assert "Usage: " in text and "Examples:" in text and "Options:" in text
    assert "Show this message and exit." in text
    assert text != help_of(path, "nb")


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_text_of_a_help_is_a_message_code(path: tuple[str, ...]) -> None:
    """No English written into a command: its help, its options' help and metavars, its examples' comments are
    codes with a text in both languages (click's own texts are ``CLICK_TEXTS``'s)."""
    command = command_at(path)
    assert isinstance(command, _Rendered)
    assert command.help and i18n.has(command.help), f"{path}: help {command.help!r} is not a message code"
    assert command.examples, f"{path} has no examples"
    for _line, comment in command.examples:
        assert comment is None or i18n.has(comment), comment
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        help_text = getattr(param, "help", None)
        if isinstance(param, click.Option):
            assert help_text and (i18n.has(help_text) or help_text in CLICK_TEXTS), \
                f"{' '.join(path)} {param.opts[0]}: help {help_text!r} is not a message code"
        metavar = param.metavar
        assert metavar is None or i18n.has(metavar) or (metavar.isupper() and metavar.isascii() and len(metavar) <= 3), \
            f"{' '.join(path)} {param.name}: metavar {metavar!r} is not a message code"


def test_click_texts_have_both_languages_and_click_still_has_them() -> None:
    for code in [*CLICK_TEXTS.values(), *(c for pair in CLICK_PLURALS.values() for c in pair), *TYPE_METAVARS.values(),
                 *EXIT_CODES.values()]:
        assert i18n.has(code) and code in i18n.catalogue("en"), code
    for name in MODULES:  # the hook replaces these names; a click that no longer has them would go untranslated
        module = sys.modules.get(name) or __import__(name, fromlist=["_"])
        assert hasattr(module, "_"), name


def test_click_is_itself_again_after_a_command() -> None:
    import click.core

    CliRunner().invoke(cli, ["--help"])
    assert click.core._("Usage:") == "Usage:"


# --- global options anywhere ----------------------------------------------------------------------------------------


def test_the_readme_second_line_parses_lang_after_the_command() -> None:
    """``lmsbridge demo --lang en``: the README's second line (the whole demo runs in tests/cli/test_demo.py)."""
    result = CliRunner().invoke(cli, ["demo", "--lang", "en", "--help"])
    assert result.exit_code == 0 and "See lmsbridge work on two built-in sandbox sites" in result.output
    assert "--lang" in (ROOT / "README.md").read_text(encoding="utf-8").split("lmsbridge demo", 2)[1]


@pytest.mark.parametrize("args", [
    ["validate", COURSE, "--lang", "en"],
    ["--lang", "en", "validate", COURSE],
    ["validate", "--lang=en", COURSE],
])
def test_lang_anywhere(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "meets the requirements" in result.output or "passes" in result.output, result.output


@pytest.mark.parametrize("args", [["validate", COURSE, "--json"], ["--json", "validate", COURSE]])
def test_json_anywhere(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


def test_config_and_verbose_after_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = CliRunner().invoke(cli, ["doctor", "-v", "--config", str(missing), "--lang", "en"])
    assert result.exit_code == 2
    assert f"Error: {missing}: cannot read the configuration file" in result.stderr


def test_config_after_the_command_wins_over_the_environment(tmp_path: Path) -> None:
    given = tmp_path / "given.toml"
    result = CliRunner().invoke(cli, ["doctor", "--config", str(given)], env={"LMSBRIDGE_CONFIG": "/elsewhere.toml"})
    assert str(given) in result.stderr and "/elsewhere.toml" not in result.stderr


# --- one error prefix, in the user's language ----------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "prefix", "hint", "no_such"), [
    ("nb", "Feil: ", "Prøv «lmsbridge doctor --help» for hjelp.", "Valget «--nope» finnes ikke."),
    ("en", "Error: ", "Try 'lmsbridge doctor --help' for help.", "No such option «--nope»."),
])
def test_a_usage_error_in_the_users_language(lang: str, prefix: str, hint: str, no_such: str) -> None:
    result = CliRunner().invoke(cli, ["doctor", "--nope", "--lang", lang], prog_name="lmsbridge")
    assert result.exit_code == 2
    assert hint in result.stderr
    assert f"{prefix}{no_such}" in result.stderr
    other = "Error:" if lang == "nb" else "Feil:"
    assert other not in result.stderr


def test_a_missing_argument_names_it_in_bokmal() -> None:
    result = CliRunner().invoke(cli, ["share", "approve"], prog_name="lmsbridge")
    assert result.exit_code == 2
    assert "Bruk: lmsbridge share approve [VALG] DELING" in result.stderr
    assert "Feil: Mangler argument 'DELING'." in result.stderr


def test_a_bad_choice_in_bokmal() -> None:
    result = CliRunner().invoke(cli, ["share", "list", "--state", "nope"])
    assert result.exit_code == 2 and "Feil: Ugyldig verdi for '--state': «nope» er ikke en av" in result.stderr


# --- errors as JSON --------------------------------------------------------------------------------------------------


def test_an_error_is_a_json_object_on_stdout_with_json(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = CliRunner().invoke(cli, ["doctor", "--config", str(missing), "--json"])
    assert result.exit_code == 2 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error == {"code": "config", "message_code": "config.where", "exit_code": 2,
                     "message": f"{missing}: konfigurasjonsfilen kan ikke leses (finnes ikke)"}


def test_a_usage_error_is_json_too() -> None:
    result = CliRunner().invoke(cli, ["share", "approve", "--json", "--lang", "en"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "usage" and error["exit_code"] == 2 and "Missing argument" in error["message"]


# --- the process itself ----------------------------------------------------------------------------------------------


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "lmsbridge", "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "doctor" in out.stdout and "Bruk:" in out.stdout


def test_unknown_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--nope"])
    assert result.exit_code == 2
