"""``lmsbridge doctor`` end to end: against recorded responses, and everything else a run needs (the ledger, the
outbox, the pseudonym secret, SMTP, certificate courses) against the sandbox."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sync.secret import fingerprint
from tests.conftest import fixture
from tests.ledger.support import Raw
from tests.sandbox_cli import PSEUDONYM_SECRET, write_config

CONFIG = """
[platforms.lp]
title = "Læringsportal"
url = "http://lp.test"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "LP_TOKEN"
share_category_id = 3
retry_attempts = 1
"""
REST = "http://lp.test/webservice/rest/server.php"
TOKEN = "0e003bccd18dbb819ae30974e1ea0652"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform above, with what a run needs besides it: a ledger (made), an outbox, the pseudonym secret."""
    path = tmp_path / "lmsbridge.toml"
    path.write_text('ledger = "ledger.db"\n' + CONFIG, encoding="utf-8")
    Ledger.open(tmp_path / "ledger.db").close()
    monkeypatch.setenv("LP_TOKEN", TOKEN)
    monkeypatch.setenv("LMSBRIDGE_PSEUDONYM_SECRET", "a-pseudonym-secret-of-32-characters")
    return path


def serve(name: str) -> None:
    responses.post(REST, json=fixture(name)["response"])


RECEIPT_FIELD = {"name": "lmsbridge-kvittering", "shortname": "lmsbridge_kvittering", "type": "text", "valueraw": "",
                 "value": None}


def listing(*, receipt_field: bool = True) -> dict[str, Any]:
    """The recorded course listing; with the receipt field the site admin made for issue 12 (the lab has none)."""
    found: dict[str, Any] = fixture("lp__core_course_get_courses_by_field__ok_category")["response"]
    if receipt_field:
        for course in found["courses"]:
            course["customfields"].append(dict(RECEIPT_FIELD))
    return found


@responses.activate
def test_doctor_all_good(config: Path) -> None:
    serve("lp__core_webservice_get_site_info__ok")
    responses.post(REST, json=listing())
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 0, result.output
    assert "Læringsportal Helse Bergen (lab)" in result.output
    assert "4.5dev+" in result.output and "lmsbridge" in result.output
    assert TOKEN not in result.output


@responses.activate
def test_doctor_reports_missing_functions_and_fields(config: Path) -> None:
    info = fixture("lp__core_webservice_get_site_info__ok")["response"]
    info["functions"] = [
        f for f in info["functions"] if f["name"] != "core_completion_override_activity_completion_status"
    ]
    responses.post(REST, json=info)
    courses = listing()
    for course in courses["courses"]:
        course["customfields"] = [f for f in course["customfields"] if f["shortname"] != "tidsbruk"]
    responses.post(REST, json=courses)
    result = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    platform = report["platforms"][0]
    assert platform["missing_functions"] == ["core_completion_override_activity_completion_status"]
    assert platform["missing_fields"] == ["tidsbruk"]
    assert report["ok"] is False


@responses.activate
def test_doctor_names_what_the_owners_acts_and_their_witnesses_need(config: Path) -> None:
    """The recorded lab: its service lacks core_course_get_user_administration_options (the owner's acts ask the
    platform with it) and its sites lack the receipt field; the site admin adds both (README)."""
    serve("lp__core_webservice_get_site_info__ok")
    responses.post(REST, json=listing(receipt_field=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor"])
    assert result.exit_code == 1
    assert "«owner-acts» needs core_course_get_user_administration_options" in result.output
    assert "lmsbridge_kvittering" in result.output and "the site admin creates it" in result.output


@responses.activate
def test_doctor_invalid_token_is_one_line_and_configuration(config: Path) -> None:
    serve("lp__core_webservice_get_site_info__err_invalid_token")
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 2  # as in every command: a token the platform does not know is configuration
    assert "invalidtoken" in result.output
    assert "Traceback" not in result.output and TOKEN not in result.output


@responses.activate
def test_doctor_dead_network(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(REST, body=requests.ConnectionError("refused"))
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 3
    assert "kan ikke nås" in result.output
    assert "Traceback" not in result.output


def test_doctor_without_token_env_is_a_config_error_and_checks_the_rest(config: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LP_TOKEN")
    result = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor"])
    assert result.exit_code == 2
    assert "LP_TOKEN" in result.output
    assert "Ledger: " in result.output and "Pseudonym secret: set" in result.output  # the rest is checked too


# --- everything else a run needs, against the sandbox -----------------------------------------------------------


@pytest.fixture
def sandbox_config(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    certificates = '[certificates.HBHF-SMITTE-01]\nplatform = "lp"\ndue = 2026-11-01'
    return write_config(sandbox, tmp_path, monkeypatch, extra=certificates)


def doctor_json(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def test_doctor_checks_everything_a_run_needs(sandbox_config: Path) -> None:
    code, report = doctor_json(sandbox_config)
    assert code == 0 and report["ok"], report
    found = checks(report)
    assert sorted(found) == ["certificates.HBHF-SMITTE-01", "ledger", "outbox", "pseudonym_secret"]
    assert all(c["ok"] for c in found.values())
    assert found["ledger"]["events"] == 0 and found["ledger"]["migrations"] > 0
    assert found["certificates.HBHF-SMITTE-01"]["platform"] == "lp"
    assert report["config"] == {"file": str(sandbox_config.resolve()), "found_by": "option", "warnings": []}
    text = CliRunner().invoke(cli, ["--config", str(sandbox_config), "--lang", "en", "doctor"]).output
    assert f"Configuration: {sandbox_config} (found by --config)" in text
    for line in ("Ledger: ", "Outbox: ", "Pseudonym secret: set ($TEST_PSEUDONYM)",
                 "Certificates HBHF-SMITTE-01: the course is on lp", "All good."):
        assert line in text


def test_doctor_fails_without_the_pseudonym_secret(sandbox_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to pass, and then «sync run» failed."""
    monkeypatch.delenv("TEST_PSEUDONYM")
    code, report = doctor_json(sandbox_config)
    assert code == 2 and not checks(report)["pseudonym_secret"]["ok"]
    assert "TEST_PSEUDONYM" in checks(report)["pseudonym_secret"]["message"]
    monkeypatch.setenv("TEST_PSEUDONYM", "short")
    assert doctor_json(sandbox_config)[0] == 2


def test_doctor_fails_when_the_pseudonym_secret_is_not_the_ledgers(sandbox_config: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret that is set but another than the ledger's pseudonyms were made with: the sync would refuse it."""
    code, report = doctor_json(sandbox_config)
    assert code == 0 and "the next run takes this one" in checks(report)["pseudonym_secret"]["message"]
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert ledger.secret_fingerprint() is None  # doctor recorded nothing
        ledger.adopt_secret_fingerprint(fingerprint(PSEUDONYM_SECRET.encode()), actor="test")
    code, report = doctor_json(sandbox_config)
    assert code == 0 and "the one the ledger was made with" in checks(report)["pseudonym_secret"]["message"]
    monkeypatch.setenv("TEST_PSEUDONYM", "another-secret-of-at-least-16")
    code, report = doctor_json(sandbox_config)
    secret = checks(report)["pseudonym_secret"]
    assert code == 2 and not secret["ok"] and "not the one the ledger's pseudonyms were made with" in secret["message"]
    assert "another-secret" not in json.dumps(report)


def test_doctor_fails_on_a_ledger_that_is_not_there_or_not_a_ledger(sandbox_config: Path, tmp_path: Path) -> None:
    (tmp_path / "ledger.db").unlink()
    code, report = doctor_json(sandbox_config)
    ledger = checks(report)["ledger"]
    assert code == 2 and not ledger["ok"] and "there is no ledger at" in ledger["message"]
    assert not (tmp_path / "ledger.db").exists()  # doctor makes none
    (tmp_path / "ledger.db").write_bytes(b"not a database, just some bytes " * 64)
    code, report = doctor_json(sandbox_config)
    ledger = checks(report)["ledger"]
    assert code == 2 and "the file is not a ledger (not an SQLite database)" in ledger["message"]
    assert "file is not a database" not in ledger["message"]  # never SQLite's own words


def test_doctor_fails_on_a_broken_chain(sandbox_config: Path, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.append_event(share_id=None, actor="test", action="test.event", details={"n": 1})
    raw = Raw(str(tmp_path / "ledger.db"))  # someone edits the file by hand
    raw.drop_append_only_triggers()
    raw.execute("UPDATE events SET actor = 'someone else'")
    raw.close()
    code, report = doctor_json(sandbox_config)
    assert code == 1 and not checks(report)["ledger"]["ok"]


def test_doctor_fails_on_an_outbox_that_cannot_be_written(sandbox_config: Path, tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be", encoding="utf-8")
    code, report = doctor_json(sandbox_config)
    assert code == 2 and not checks(report)["outbox"]["ok"]


def test_doctor_fails_on_a_certificate_course_that_is_not_there(sandbox: Sandbox, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(sandbox, tmp_path, monkeypatch, extra='[certificates.NO-SUCH]\nplatform = "lp"\ndue = 2026-11-01')
    code, report = doctor_json(config)
    assert code == 1 and "lp has no course NO-SUCH" in checks(report)["certificates.NO-SUCH"]["message"]


def test_doctor_tries_smtp_when_configured(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nobody listens on it once closed
    config = write_config(sandbox, tmp_path, monkeypatch,
                          extra=f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 2')
    code, report = doctor_json(config)
    assert code == 3 and "cannot be reached" in checks(report)["smtp"]["message"]
    config = write_config(sandbox, tmp_path, monkeypatch,
                          extra=f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nusername = "lmsbridge"\n'
                          'password_env = "NO_SUCH_PASSWORD"')
    code, report = doctor_json(config)
    assert code == 2 and "NO_SUCH_PASSWORD" in checks(report)["smtp"]["message"]


def test_doctor_warns_of_a_variable_that_is_no_configuration_key(sandbox_config: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSBRIDGE_LANGUAGE", "en")
    code, report = doctor_json(sandbox_config)
    assert code == 0 and report["config"]["warnings"] == [
        "$LMSBRIDGE_LANGUAGE is not a configuration key and is not used; did you mean $LMSBRIDGE_LANG?"]
    monkeypatch.setenv("LMSBRIDGE_LEDGR", "/tmp/x.db")  # a near miss of a key: refused, as by every command
    result = CliRunner().invoke(cli, ["--config", str(sandbox_config), "--lang", "en", "doctor"])
    assert result.exit_code == 2 and "did you mean $LMSBRIDGE_LEDGER?" in result.output


def with_report(config: Path) -> Path:
    """ks names its completion report (report 1 of the sandbox, without the visits filter at first)."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('token_env = "TOKEN_KS"', 'token_env = "TOKEN_KS"\ncompletion_report_id = 1'),
                      encoding="utf-8")
    return config


def test_doctor_says_when_the_report_lacks_the_visits_filter(sandbox_config: Path, sandbox: Sandbox) -> None:
    config = with_report(sandbox_config)
    code, report = doctor_json(config, "--platform", "ks")
    assert code == 0, report
    (ks,) = report["platforms"]
    assert ks["report_visits_filter"] is False
    text = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor", "--platform", "ks"]).output
    assert "the completion report lacks the filter «Last access to course»" in text
    assert not sandbox.sites["ks"].state.report_filters, "doctor leaves the report's filters reset"

    state = sandbox.sites["ks"].state
    with state.changing():  # the administrator adds it (README: «Faster runs»)
        state.reports[1].filters.append("access:timeaccess")
    code, report = doctor_json(config, "--platform", "ks")
    assert code == 0 and report["platforms"][0]["report_visits_filter"] is True
    text = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor", "--platform", "ks"]).output
    assert "«Last access to course»" not in text


def test_doctor_does_not_guess_about_a_report_it_may_not_read(sandbox_config: Path, sandbox: Sandbox) -> None:
    config = with_report(sandbox_config)
    state = sandbox.sites["ks"].state
    with state.changing():  # the report is no longer shared with the lmsbridgews role: errorreportview
        state.reports[1].audience = []
    code, report = doctor_json(config, "--platform", "ks")
    assert report["platforms"][0]["report_visits_filter"] is None
    text = CliRunner().invoke(cli, ["--config", str(config), "--lang", "en", "doctor", "--platform", "ks"]).output
    assert "«Last access to course»" not in text and "Traceback" not in text
    assert code == 0, report  # the sync says why it cannot use the report (a warning, then reads learner by learner)
