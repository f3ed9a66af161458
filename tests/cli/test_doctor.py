"""``lmsbridge doctor`` end to end against recorded responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from tests.conftest import fixture

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
    path = tmp_path / "lmsbridge.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("LP_TOKEN", TOKEN)
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
    assert "«owner-acts» also needs core_course_get_user_administration_options" in result.output
    assert "lmsbridge_kvittering" in result.output and "the site admin creates it" in result.output


@responses.activate
def test_doctor_invalid_token_is_one_line_and_nonzero(config: Path) -> None:
    serve("lp__core_webservice_get_site_info__err_invalid_token")
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 2  # a token the platform rejects: configuration
    assert "invalidtoken" in result.output
    assert "Traceback" not in result.output and TOKEN not in result.output


@responses.activate
def test_doctor_dead_network(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(REST, body=requests.ConnectionError("refused"))
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 3
    assert "kan ikke nås" in result.output
    assert "Traceback" not in result.output


def test_doctor_without_token_env_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "lmsbridge.toml"
    path.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert result.exit_code == 2
    assert "LP_TOKEN" in result.output
