"""``lmsbridge ledger verify|events``: what the operator reads, and the exit codes cron sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lmsbridge import i18n
from lmsbridge.cli.context import AppContext
from lmsbridge.cli.ledger import commands, ledger_group
from lmsbridge.ledger import Ledger
from tests.ledger.support import NOW, Raw, new_share


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger.open(path, clock=lambda: NOW) as ledger:
        with ledger.transaction():
            share = new_share(ledger)
            ledger.append_event(share_id=share.id, actor="Ola Nordmann", action="request",
                                details={"reason": "nytt kurs"})
        ledger.append_event(share_id=share.id, actor="Kari Nordmann", action="approve")
        ledger.append_event(share_id=None, actor="cron", action="sync")
    return path


def run(*args: str, obj: Any = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(ledger_group, list(args), obj=obj, env=env)


def tamper(path: Path) -> None:
    raw = Raw(str(path))
    raw.drop_append_only_triggers()
    raw.execute("UPDATE events SET actor = 'Mallory' WHERE seq = 2")
    raw.close()


def test_the_module_exposes_the_group() -> None:
    assert commands == [ledger_group]


def test_verify_an_intact_ledger(ledger_path: Path) -> None:
    result = run("verify", "--ledger", str(ledger_path))
    assert result.exit_code == 0, result.output
    assert "Hovedboken er i orden: 3 hendelser, kjeden er hel." in result.output
    assert "Radene stemmer med hendelsene: 1 rad (delinger, fullføringer, sendte meldinger)." in result.output


def test_verify_in_english(ledger_path: Path) -> None:
    i18n.set_language("en")
    result = run("verify", "--ledger", str(ledger_path))
    assert result.exit_code == 0 and "Ledger OK: 3 events, chain intact." in result.output
    assert "Rows match their events: 1 row " in result.output


def test_verify_names_the_first_bad_event_and_exits_1(ledger_path: Path) -> None:
    tamper(ledger_path)
    result = run("verify", "--ledger", str(ledger_path))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Hovedboken er ikke til å stole på: hendelse 2 er endret etter at den ble skrevet. Første feil: hendelse 2.",
        "Radene er ikke kontrollert: det gjøres mot en hel kjede.",
    ]


def test_verify_json(ledger_path: Path) -> None:
    ok = json.loads(run("verify", "--json", "--ledger", str(ledger_path)).output)
    assert (ok["ok"], ok["events"], ok["first_bad_seq"], ok["rows"], ok["row_problems"]) == (True, 3, None, 1, [])
    tamper(ledger_path)
    result = run("verify", "--json", "--ledger", str(ledger_path))
    bad = json.loads(result.output)
    assert result.exit_code == 1
    assert (bad["ok"], bad["first_bad_seq"], bad["problem_code"]) == (False, 2, "ledger.verify.changed")


def test_events_of_one_share_as_text_and_json(ledger_path: Path) -> None:
    text = run("events", "--share", "S-0001", "--ledger", str(ledger_path))
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("#1") and "Ola Nordmann: request" in lines[0] and '"nytt kurs"' in lines[0]
    everything = json.loads(run("events", "--json", "--ledger", str(ledger_path)).output)
    assert [e["action"] for e in everything] == ["request", "approve", "sync"]
    assert everything[0]["at"] == "2026-11-24T09:00:00Z"


def test_the_ledger_comes_from_the_environment_or_the_configuration(ledger_path: Path) -> None:
    assert run("events", env={"LMSBRIDGE_LEDGER": str(ledger_path)}).output.count("\n") == 3

    class Configured(AppContext):
        def ledger_url(self) -> str:
            return str(ledger_path)

    assert run("verify", obj=Configured()).exit_code == 0


def test_a_missing_ledger_is_an_error_not_an_empty_ledger(tmp_path: Path) -> None:
    result = run("verify", "--ledger", str(tmp_path / "typo.db"))
    assert result.exit_code != 0 and "typo.db" in str(result.exception)
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("command", [[], ["verify"], ["events"]])
def test_help_has_examples(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Eksempler:" in result.output and "lmsbridge ledger" in result.output
