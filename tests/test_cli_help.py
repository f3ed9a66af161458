"""Every command has --help with an example; --version and python -m work; errors never trace back."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from lmsbridge import __version__
from lmsbridge.cli.main import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


COMMANDS = all_commands(cli)


def test_there_are_commands() -> None:
    assert ("doctor",) in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or "Eksempel" in result.output, f"{' '.join(path)} --help has no example"
    assert "lmsbridge " + path[0] in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "lmsbridge", "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "doctor" in out.stdout


def test_unknown_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--nope"])
    assert result.exit_code == 2
