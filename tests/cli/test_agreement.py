"""``licence check`` and ``notify downtime`` from the command line."""

from __future__ import annotations

import email
import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from tests.conftest import fixture

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "lmsbridge.toml"


@pytest.mark.parametrize(
    ("args", "code", "allowed"),
    [
        (["--licence", "CC BY-SA", "--owner", "KS", "--owner-role", "municipal", "--seller", "Helse Bergen HF"],
         "resale.cc_by_sa", True),
        (["--licence", "CC BY", "--owner", "KS", "--owner-role", "municipal", "--seller", "Helse Bergen HF"],
         "resale.borrowed", False),
        (["--licence", "CC BY-SA", "--owner", "Helse Bergen HF", "--owner-role", "hospital", "--seller", "KS"],
         "resale.hospital_cc_by_sa", False),
        (["--licence", "Alle rettigheter reservert", "--owner", "KS", "--owner-role", "municipal", "--seller", "KS"],
         "resale.owner", True),
    ],
)
def test_licence_check(args: list[str], code: str, allowed: bool) -> None:
    result = CliRunner().invoke(cli, ["licence", "check", *args, "--json"])
    assert result.exit_code == (0 if allowed else 1), result.output
    verdict = json.loads(result.output)
    assert verdict["allowed"] is allowed and verdict["code"] == code and verdict["reason"]


@responses.activate
def test_licence_check_reads_the_live_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSBRIDGE_KS_TOKEN", "x")
    responses.post("https://laring.ks.no/webservice/rest/server.php",
                   json=fixture("ks__core_course_get_courses_by_field__ok_after_update")["response"])
    result = CliRunner().invoke(cli, ["--config", str(EXAMPLE), "licence", "check", "--platform", "ks",
                                      "--course", "5", "--seller", "KS", "--json"])
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.output)["code"].startswith("resale.")


def test_notify_downtime_writes_eml_to_the_other_party(tmp_path: Path) -> None:
    config = tmp_path / "lmsbridge.toml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "notify", "downtime", "--from", "lp",
                                      "--start", "2026-12-01T18:00", "--end", "2026-12-01T22:00",
                                      "--affected", "Alle kurs", "--json"])
    assert result.exit_code == 0, result.output
    (notice,) = json.loads(result.output)["notices"]
    assert notice["to"] == "kslaring@ks.no"
    message = email.message_from_bytes(Path(notice["path"]).read_bytes())
    assert message["To"] == "kslaring@ks.no"


def test_notify_bad_time_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(EXAMPLE), "notify", "downtime", "--from", "lp",
                                      "--start", "tomorrow", "--end", "later"])
    assert result.exit_code == 2 and "Traceback" not in result.output
