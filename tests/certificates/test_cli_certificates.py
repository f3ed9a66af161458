"""``lmsbridge certificates group|list|notify`` from the command line, against the sandbox (in process)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.main import cli
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import NOTIFY_LOCK, Ledger
from lmsbridge.sandbox import Sandbox
from tests.sandbox_cli import write_config


@pytest.fixture
def config_file(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Both sites in process (tests/conftest.py: the CLI's sessions reach them through the process-wide routing)."""
    certificates = "\n".join([
        "[certificates.HBHF-SMITTE-01]", 'platform = "lp"', "due = 2026-11-01", "grace_days = 10", "points = 2.0",
        'activity_points = { "Håndhygiene" = 1.0, "Smittemåter og barrierer" = 1.0 }'])
    return write_config(sandbox, tmp_path, monkeypatch, extra=certificates)


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_group_then_list_csv(config_file: Path) -> None:
    grouped = invoke(config_file, "certificates", "group", "--today", "2026-11-20", "--json")
    assert grouped.exit_code == 0, grouped.output
    data = json.loads(grouped.output)
    assert data["grouped"][0]["groups"] == {"Fullført 100%": 5, "Fullført, ikke 100%": 3, "Inaktiv": 4}
    again = invoke(config_file, "certificates", "group", "--today", "2026-11-20")
    assert again.exit_code == 0 and "(0 endringer)" in again.output
    listed = invoke(config_file, "certificates", "list", "--today", "2026-11-20", "--csv")
    rows = list(csv.DictReader(io.StringIO(listed.output)))
    assert len(rows) == 12
    kari = next(r for r in rows if r["name"] == "Kari Nordmann")
    assert kari["group"] == "Fullført 100%" and kari["points"] == "2"
    assert {r["manual_issue"] for r in rows if r["group"] == "Inaktiv"} == {"true"}
    table = invoke(config_file, "certificates", "list", "--today", "2026-11-20")
    assert table.exit_code == 0 and "Kari Nordmann" in table.output


def test_notify_dry_run_then_real(config_file: Path, sandbox: Sandbox) -> None:
    dry = invoke(config_file, "certificates", "notify", "--today", "2026-11-02", "--dry-run")
    assert dry.exit_code == 0 and "7 planlagt" in dry.output and "core_message_send_instant_messages" in dry.output
    assert sandbox.sites["lp"].state.messages_to(8) == []
    real = invoke(config_file, "certificates", "notify", "--today", "2026-11-02", "--json")
    assert json.loads(real.output)["notices"][0]["sent"] == 7
    again = invoke(config_file, "certificates", "notify", "--today", "2026-11-02")
    assert "0 sendt" in again.output and "7 varslet før" in again.output


def test_unknown_course_is_a_configuration_error(config_file: Path) -> None:
    result = invoke(config_file, "certificates", "group", "--course", "NOPE")
    assert result.exit_code == 2 and "NOPE" in result.output


def test_a_second_notify_while_one_sends_tells_nobody_twice(config_file: Path, sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    """Issue 11: two notifies at once told every learner twice. The second stops at once (exit 75; --quiet: 0 and
    nothing printed), whatever path it reached the ledger by."""
    (tmp_path / "link.db").symlink_to(tmp_path / "ledger.db")
    with Ledger.open(tmp_path / "link.db") as ledger, ledger.acquire_lock(NOTIFY_LOCK):
        second = invoke(config_file, "certificates", "notify", "--today", "2026-11-02")
        quiet = invoke(config_file, "certificates", "notify", "--today", "2026-11-02", "--quiet")
        dry = invoke(config_file, "certificates", "notify", "--today", "2026-11-02", "--dry-run")
    assert second.exit_code == ExitCode.LOCKED and "kjører allerede" in second.output
    assert quiet.exit_code == 0 and quiet.output == ""
    assert dry.exit_code == 0 and "7 planlagt" in dry.output  # a dry run sends and records nothing: no lock
    assert sandbox.sites["lp"].state.messages_to(8) == []
    sent = invoke(config_file, "certificates", "notify", "--today", "2026-11-02", "--quiet")
    assert sent.exit_code == 0 and sent.output == ""
    assert len(sandbox.sites["lp"].state.messages_to(8)) == 1
