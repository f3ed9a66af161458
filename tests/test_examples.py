"""The shipped examples work as installed: the example configuration passes ``doctor`` against the sandbox, the
cron lines and the systemd timers never start two runs together, and the systemd units may write the ledger and
the outbox where the configuration puts them."""

from __future__ import annotations

import configparser
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from lmsbridge.config import load_config
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox

EXAMPLES = Path(__file__).parent.parent / "examples"
#: The full run has this many minutes before the next quarter-hour run starts, at the least.
FULL_RUN_HEADROOM = 50


def test_the_example_configuration_passes_doctor_against_the_sandbox(sandbox: Sandbox, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """As installed in /etc/lmsbridge, with the secrets file the units read; only the sites' addresses and the
    state folder (/var/lib/lmsbridge) are the sandbox's and the test's, given as the environment overrides."""
    shutil.copy(EXAMPLES / "lmsbridge.toml", tmp_path / "lmsbridge.toml")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "lp.token").write_text(sandbox["lp"].token, encoding="utf-8")
    state = tmp_path / "var-lib-lmsbridge"
    state.mkdir()
    Ledger.open(state / "ledger.db").close()  # lmsbridge init --ledger-only
    for name, value in {"LMSBRIDGE_PLATFORMS__KS__URL": sandbox["ks"].url,
                        "LMSBRIDGE_PLATFORMS__LP__URL": sandbox["lp"].url,
                        "LMSBRIDGE_LEDGER": str(state / "ledger.db"), "LMSBRIDGE_OUTBOX": str(state / "outbox"),
                        "LMSBRIDGE_KS_TOKEN": sandbox["ks"].token,
                        "LMSBRIDGE_PSEUDONYM_SECRET": "a-pseudonym-secret-of-32-characters"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "lmsbridge.toml"), "--lang", "en", "doctor"])
    assert result.exit_code == 0, result.output
    assert "Certificates HBHF-SMITTE-01: the course is on lp" in result.output
    assert "Warning" not in result.output


def test_the_example_configuration_keeps_its_state_where_the_units_may_write() -> None:
    config = load_config(EXAMPLES / "lmsbridge.toml")
    writable = Path("/var/lib/lmsbridge")
    assert Path(config.ledger_url(create=True)).parent == writable
    assert config.outbox_dir().parent == writable
    for unit in ("lmsbridge-sync.service", "lmsbridge-sync-full.service"):
        service = unit_file(unit)["Service"]
        assert service["ProtectSystem"] == "strict"
        assert Path("/var/lib") / service["StateDirectory"] == writable
        assert service["Environment"] == "LMSBRIDGE_CONFIG=/etc/lmsbridge/lmsbridge.toml"
        # items retried next run (4) and another run holding the lock (75) do not fail the unit
        assert {"4", "75"} <= set(service["SuccessExitStatus"].split())


def unit_file(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(EXAMPLES / "systemd" / name, encoding="utf-8")
    return parser


def test_the_systemd_timers_never_start_the_two_runs_together() -> None:
    quick = set(calendar_minutes(unit_file("lmsbridge-sync.timer")["Timer"]["OnCalendar"]))
    full = set(calendar_minutes(unit_file("lmsbridge-sync-full.timer")["Timer"]["OnCalendar"]))
    assert "--full" in unit_file("lmsbridge-sync-full.service")["Service"]["ExecStart"]
    assert "--full" not in unit_file("lmsbridge-sync.service")["Service"]["ExecStart"]
    assert_apart(quick, full)


def test_the_cron_lines_never_start_the_two_runs_together() -> None:
    lines = [line for line in (EXAMPLES / "crontab").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 2
    runs = {("--full" in line): set(cron_minutes(*line.split()[:2])) for line in lines}
    assert_apart(runs[False], runs[True])


def assert_apart(quick: set[int], full: set[int]) -> None:
    """No minute of the day starts both; after each full run, no quarter-hour run for ``FULL_RUN_HEADROOM``
    minutes; and the quarter-hour runs do come every 15 minutes outside that hour."""
    assert full and quick and not quick & full
    for start in full:
        assert not {(start + m) % 1440 for m in range(FULL_RUN_HEADROOM)} & quick
    assert len(quick) >= 23 * 4 - 1


def cron_minutes(minute: str, hour: str) -> Iterator[int]:
    for h in expand(hour, 24, "-"):
        for m in expand(minute, 60, "-"):
            yield h * 60 + m


def calendar_minutes(spec: str) -> Iterator[int]:
    """The minutes of the day of an OnCalendar ``*-*-* H:M[:S]`` (lists, ``..`` ranges, ``/`` steps)."""
    time = spec.split()[-1].split(":")
    for h in expand(time[0], 24, ".."):
        for m in expand(time[1], 60, ".."):
            yield h * 60 + m


def expand(field: str, size: int, dash: str) -> list[int]:
    found: list[int] = []
    for part in field.split(","):
        part, _, step = part.partition("/")
        if part == "*":
            first, last = 0, size - 1
        elif dash in part:
            first, last = (int(x) for x in part.split(dash))
        else:
            first = int(part)
            last = size - 1 if step else first
        found += list(range(first, last + 1, int(step or 1)))
    assert all(0 <= n < size for n in found) and re.fullmatch(r"[0-9*,/.\-]+", field)
    return found
