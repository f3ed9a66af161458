"""``lmsbridge sync run|status`` from the command line, against the sandbox: output, exit codes, the lock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import lmsbridge.cli.sync as cli_sync
from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from tests.sync.helpers import SECRET, publish

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def config_file(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_PSEUDONYM", SECRET)
    lines = [f'ledger = "{tmp_path / "ledger.db"}"', "", "[sync]", 'pseudonym_secret_env = "TEST_PSEUDONYM"', "",
             "[certificates.HBHF-SMITTE-01]", 'platform = "lp"', "due = 2026-11-01", "grace_days = 10", ""]
    for name, site in sandbox.sites.items():
        monkeypatch.setenv(f"TOKEN_{name.upper()}", site.token)
        lines += [f"[platforms.{name}]", f'title = "{name}"', f'url = "{site.url}"',
                  f'role = "{"municipal" if name == "ks" else "hospital"}"',
                  f'organisation = "{"KS" if name == "ks" else "Helse Bergen HF"}"',
                  f'token_env = "TOKEN_{name.upper()}"', "retry_attempts = 1", ""]
    path = tmp_path / "lmsbridge.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        publish(ledger, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks",
                borrower_course=3, borrower_shortname="KSL-HBHF-SMITTE-01")
    return path


def invoke(config: Path, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_run_then_status(config_file: Path, sandbox: Sandbox) -> None:
    result = invoke(config_file, "sync", "run", "--json", "--no-certificates")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"]["written"] == 5 and data["status"] == "ok" and data["shares"][0]["unmatched"] == 2
    table = invoke(config_file, "sync", "run", "--no-certificates")
    assert table.exit_code == 0 and "S-0001" in table.output and "0 fullføringer" in table.output
    status = invoke(config_file, "sync", "status", "--json")
    info = json.loads(status.output)
    assert info["last_run"]["status"] == "ok" and info["shares"][0]["completions"] == 5
    assert info["shares"][0]["cursor"] is not None
    assert {f["item_kind"] for f in info["failures"]} == {"unmatched"}
    plain = invoke(config_file, "sync", "status")
    assert "S-0001" in plain.output and "unmatched" in plain.output


def test_quiet_prints_nothing_when_all_went_through(config_file: Path) -> None:
    result = invoke(config_file, "sync", "run", "--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_certificate_groups_after_the_sync(config_file: Path, sandbox: Sandbox) -> None:
    result = invoke(config_file, "sync", "run")
    assert result.exit_code == 0, result.output
    assert "Kursbevisgrupper: HBHF-SMITTE-01" in result.output
    assert {g.name for g in sandbox.sites["lp"].state.groups.values()} == {"Fullført 100%", "Fullført, ikke 100%",
                                                                           "Inaktiv"}


def test_dry_run_prints_the_writes_and_changes_nothing(config_file: Path, tmp_path: Path) -> None:
    result = invoke(config_file, "sync", "run", "--dry-run", "--no-certificates")
    assert result.exit_code == 0, result.output
    assert "core_completion_override_activity_completion_status" in result.output
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert ledger.completions() == [] and ledger.last_run() is None


def test_missing_secret_exits_2(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PSEUDONYM")
    result = invoke(config_file, "sync", "run")
    assert result.exit_code == 2 and "TEST_PSEUDONYM" in result.output


def test_second_run_while_one_runs_exits_at_once(config_file: Path, tmp_path: Path, sandbox: Sandbox) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger, ledger.acquire_lock("sync"):
        result = invoke(config_file, "sync", "run")
    assert result.exit_code == 1 and "kjører allerede" in result.output
    assert sandbox.sites["ks"].state.call_count == 0


def test_unreachable_platform_exits_3(config_file: Path) -> None:
    text = config_file.read_text(encoding="utf-8")
    import re

    config_file.write_text(re.sub(r'url = "http://127\.0\.0\.1:\d+"', 'url = "http://127.0.0.1:9"', text, count=1),
                           encoding="utf-8")
    result = invoke(config_file, "sync", "run", "--no-certificates")
    assert result.exit_code == 3, result.output


def test_failed_items_exit_4(config_file: Path, sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"].state
    from lmsbridge.sandbox import SERVED_FUNCTIONS

    ks.set_service_functions(sorted(SERVED_FUNCTIONS - {"core_completion_get_activities_completion_status"}))
    result = invoke(config_file, "sync", "run", "--no-certificates")
    assert result.exit_code == 4, result.output


def test_every_runs_again_and_ctrl_c_stops_cleanly(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    def fake_wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt
        return False

    monkeypatch.setattr(cli_sync, "wait", fake_wait)
    result = invoke(config_file, "sync", "run", "--every", "15m", "--no-certificates")
    assert result.exit_code == 0
    assert waits == [900.0, 900.0] and "Stoppet." in result.output
    assert result.output.count("S-0001") >= 2


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h", 3600), ("900", 900), ("30s", 30)])
def test_parse_every(text: str, seconds: float) -> None:
    assert cli_sync.parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "5s", "soon", "-1m"])
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(click.BadParameter):
        cli_sync.parse_every(text)
