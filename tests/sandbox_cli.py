"""A configuration for the CLI over the sandbox's two sites, and a way to run a command on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox

PSEUDONYM_SECRET = "test-pseudonym-secret-0123456789"  # the same as tests/sync/helpers.py SECRET


def write_config(sandbox: Sandbox, folder: Path, monkeypatch: pytest.MonkeyPatch, *,
                 urls: dict[str, str] | None = None, extra: str = "", ledger: bool = True) -> Path:
    """``folder/lmsbridge.toml`` naming both sites (``urls`` replaces a site's address), their tokens in the
    environment, the ledger and the outbox in ``folder``; the ledger made (empty, as ``lmsbridge init`` makes
    it) unless not ``ledger``."""
    monkeypatch.setenv("TEST_PSEUDONYM", PSEUDONYM_SECRET)
    lines = [f'ledger = "{folder / "ledger.db"}"', f'outbox = "{folder / "outbox"}"', extra, "",
             "[sync]", 'pseudonym_secret_env = "TEST_PSEUDONYM"', ""]
    for name, site in sandbox.sites.items():
        monkeypatch.setenv(f"TOKEN_{name.upper()}", site.token)
        lines += [f"[platforms.{name}]", f'title = "{name}"', f'url = "{(urls or {}).get(name, site.url)}"',
                  f'role = "{"municipal" if name == "ks" else "hospital"}"',
                  f'organisation = "{"KS" if name == "ks" else "Helse Bergen HF"}"',
                  f'token_env = "TOKEN_{name.upper()}"', "retry_attempts = 1", ""]
    path = folder / "lmsbridge.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    if ledger:
        Ledger.open(folder / "ledger.db").close()
    return path


def run(config: Path, *args: str) -> Result:
    """One command, as a user runs it (errors become messages in the CLI, never a traceback here)."""
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def one_error_line(result: Result) -> str:
    """The command's one «Feil: …» line; fails the test on a traceback or an unexpected exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Feil: ")]
    assert len(lines) == 1, result.output
    return lines[0]
