"""``lmsbridge validate`` end to end (click's CliRunner): every source kind, every exit code, --json, --lang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner, Result

from lmsbridge.cli.main import cli
from tests.conftest import fixture
from tests.readers.builders import COMPANION_TOML, EXAMPLES, make_mbz, make_zip, scorm_members

REST = "http://lp.test/webservice/rest/server.php"
CONFIG = """
[platforms.lp]
title = "Læringsportal Helse Bergen"
url = "http://lp.test"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "LP_TOKEN"
retry_attempts = 1

[platforms.ks]
title = "KS Læring"
url = "http://ks.test"
role = "municipal"
organisation = "KS"
token_env = "KS_TOKEN"
categories = { "Helse og velferd" = 2, "Skolesektor" = 4 }
"""


def invoke(*args: str, config: Path | None = None) -> Result:
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*prefix, *args])


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lmsbridge.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("LP_TOKEN", "secret-lp-token")
    return path


# --- files: no configuration needed ---------------------------------------------------------------------


def test_the_readme_main_job_passes_without_any_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./lmsbridge.toml, no LMSBRIDGE_CONFIG
    result = invoke("validate", str(EXAMPLES / "course.toml"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"✔ {EXAMPLES / 'course.toml'} (HBHF-SMITTE-01): oppfyller kravene"


def test_a_broken_config_file_does_not_matter_for_a_course_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lmsbridge.toml").write_text("this is [not toml", encoding="utf-8")
    assert invoke("validate", str(EXAMPLES / "course.toml")).exit_code == 0


def test_a_failing_course_file_is_a_table_and_exit_1() -> None:
    result = invoke("validate", str(EXAMPLES / "course-incomplete.yaml"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("✘ ") and "(HBHF-LEGEMID-02): 10 feil, 1 advarsel" in lines[0]
    assert "Alvor" in lines[1] and "Melding" in lines[1] and "Kode" in lines[1]
    assert "Kurssammendrag mangler" in result.output and "missing.summary" in result.output


def test_english_messages() -> None:
    result = invoke("--lang", "en", "validate", str(EXAMPLES / "course-incomplete.yaml"))
    assert result.exit_code == 1 and "10 errors, 1 warning" in result.output and "Summary is missing" in result.output


def test_scorm_package_with_its_course_file_beside_it(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members())
    assert invoke("validate", str(package)).exit_code == 1  # the manifest alone is not enough
    (tmp_path / "kurs.toml").write_text(COMPANION_TOML, encoding="utf-8")
    result = invoke("validate", str(package))
    assert result.exit_code == 0, result.output
    assert "(HBHF-SMITTE-01): oppfyller kravene" in result.output


def test_scorm_package_with_a_named_course_file(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members())
    (tmp_path / "info.toml").write_text(COMPANION_TOML, encoding="utf-8")
    assert invoke("validate", str(package), "--course-file", str(tmp_path / "info.toml")).exit_code == 0


def test_moodle_backup(tmp_path: Path) -> None:
    result = invoke("validate", "--json", str(make_mbz(tmp_path / "backup-hbhf-smitte-01.mbz")))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (course,) = report["courses"]
    assert course["kind"] == "backup" and course["shortname"] == "HBHF-SMITTE-01" and course["ok"] is True
    assert course["info"]["study_start"] == "2025-01-06"


def test_many_files_get_a_summary_line_and_json_for_machines(tmp_path: Path) -> None:
    files = [str(EXAMPLES / "course.toml"), str(EXAMPLES / "course-incomplete.yaml"), str(make_mbz(tmp_path / "b.mbz"))]
    result = invoke("validate", *files)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "3 kurs kontrollert: 2 oppfyller kravene, 1 har feil (10 feil og 1 advarsel i alt)"
    report = json.loads(invoke("validate", "--json", *files).output)
    assert report["ok"] is False
    assert report["summary"] == {"total": 3, "passed": 2, "failed": 1, "unreadable": 0, "errors": 10, "warnings": 1}
    assert [c["kind"] for c in report["courses"]] == ["course-file", "course-file", "backup"]
    failing = report["courses"][1]
    assert failing["errors"] == 10 and {"code": "missing.summary", "severity": "error", "item": "summary",
                                        "message": "Kurssammendrag mangler"} in failing["findings"]


@pytest.mark.parametrize("platform", ["ks", "lp"])
def test_a_course_file_checked_against_ks_laerings_categories(config: Path, tmp_path: Path, platform: str) -> None:
    """«Krav til kursinfo i KS Læring»: KS Læring's study categories, whichever platform is named (the same
    rule as ``share request``); lp's own «studiekategori» options, which list «Annet», do not count."""
    other = tmp_path / "annet.toml"
    other.write_text((EXAMPLES / "course.toml").read_text(encoding="utf-8").replace(
        'study_category = "Helse og velferd"', 'study_category = "Annet"'), encoding="utf-8")
    result = invoke("validate", "--platform", platform, str(other), "--json", config=config)
    assert result.exit_code == 1  # KS is configured with «Helse og velferd» and «Skolesektor» only
    codes = [f["code"] for f in json.loads(result.output)["courses"][0]["findings"]]
    assert codes == ["category.unknown"]


# --- live courses -------------------------------------------------------------------------------------------


@responses.activate
def test_a_live_course_by_shortname_passes(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_course_get_courses_by_field__ok_shortname")["response"])
    result = invoke("validate", "--platform", "lp", "--course", "HBHF-SMITTE-01", config=config)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "✔ lp:HBHF-SMITTE-01: oppfyller kravene"
    assert "secret-lp-token" not in result.output


@responses.activate
def test_a_live_course_with_missing_items_fails(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_course_get_courses_by_field__ok_shortname_partial_metadata")["response"])
    result = invoke("validate", "--platform", "lp", "--course", "HBHF-LEGEMID-02", "--json", config=config)
    assert result.exit_code == 1
    (course,) = json.loads(result.output)["courses"]
    assert course["source"] == "lp:HBHF-LEGEMID-02" and course["id"] == 6 and course["platform"] == "lp"
    assert course["errors"] == 8 and course["warnings"] == 1


@responses.activate
def test_a_category_in_one_call(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_course_get_courses_by_field__ok_category")["response"])
    result = invoke("validate", "--platform", "lp", "--category", "3", config=config)
    assert result.exit_code == 1
    assert len(responses.calls) == 1
    assert "✔ lp:HBHF-SMITTE-01" in result.output and "✘ lp:HBHF-LEGEMID-02" in result.output
    # HBHF-BRANN-03 is in «Annet», not one of KS Læring's categories: refused here as by ``share request``
    assert "✘ lp:HBHF-BRANN-03" in result.output and "category.unknown" in result.output
    assert result.output.splitlines()[-1].startswith("3 kurs kontrollert: 1 oppfyller kravene, 2 har feil")


@responses.activate
def test_a_whole_platform_in_one_call(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_course_get_courses_by_field__ok_nofield")["response"])
    result = invoke("validate", "--platform", "lp", "--all", "--json", config=config)
    assert result.exit_code == 1 and len(responses.calls) == 1
    assert [c["shortname"] for c in json.loads(result.output)["courses"]] == [
        "HBHF-SMITTE-01", "HBHF-LEGEMID-02", "HBHF-BRANN-03"]


@responses.activate
def test_an_unknown_course_is_exit_2(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_course_get_courses_by_field__ok_nonexistent_id")["response"])
    result = invoke("validate", "--platform", "lp", "--course", "999", config=config)
    assert result.exit_code == 2 and result.output.strip() == "Feil: Fant ikke kurset «999» på lp"


@responses.activate
def test_an_invalid_token_is_reported_in_one_line(config: Path) -> None:
    responses.post(REST, json=fixture("lp__core_webservice_get_site_info__err_invalid_token")["response"])
    result = invoke("validate", "--platform", "lp", "--course", "5", config=config)
    # a token the platform does not know is configuration, in every command (issue 13)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output and "secret-lp-token" not in result.output


# --- usage errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "oppgi en fil"),
        (["--course", "X"], "krever --platform"),
        (["--category", "3"], "krever --platform"),
        (["--all"], "krever --platform"),
        (["--category", "tre", "--platform", "lp"], "tre"),
        (["a.zip", "b.zip", "--course-file", "c.toml"], "--course-file"),
        (["--nope"], "--nope"),
    ],
)
def test_usage_errors_are_exit_2(args: list[str], message: str) -> None:
    result = invoke("validate", *args)
    assert result.exit_code == 2 and message in result.output


def test_live_sources_need_a_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", "--platform", "lp", "--course", "X")
    assert result.exit_code == 2 and "ingen konfigurasjonsfil" in result.output


def test_an_unknown_platform_is_exit_2(config: Path) -> None:
    result = invoke("validate", "--platform", "nope", "--all", config=config)
    assert result.exit_code == 2 and "ingen plattform heter «nope»" in result.output


def test_help_shows_examples_and_the_exit_codes() -> None:
    result = invoke("validate", "--help")
    assert result.exit_code == 0
    for text in ("lmsbridge validate examples/course.toml", "--platform lp --course HBHF-SMITTE-01", "--category",
                 "--all", "Avslutningskoder:", "1  en kontroll feilet", "studiekategori"):
        assert text in result.output


# --- schemas ------------------------------------------------------------------------------------------------


def test_schemas_are_written_and_checked(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    assert invoke("schemas", "--check", "--out", str(out)).exit_code == 1  # missing = stale
    written = invoke("schemas", "--out", str(out))
    assert written.exit_code == 0 and "course-info.schema.json" in written.output
    assert invoke("schemas", "--check", "--out", str(out)).exit_code == 0
    schema = json.loads((out / "course-info.schema.json").read_text(encoding="utf-8"))
    assert {"studiekategori", "study_category", "tidsbruk"} <= set(schema["properties"])
    config = json.loads((out / "config.schema.json").read_text(encoding="utf-8"))
    assert "source" not in config["properties"] and "platforms" in config["properties"]


def test_a_packages_course_file_listed_too_is_read_with_the_package_only(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members())
    (tmp_path / "kurs.toml").write_text(COMPANION_TOML, encoding="utf-8")
    result = invoke("validate", "--json", str(package), str(tmp_path / "kurs.toml"))
    assert result.exit_code == 0, result.output
    assert [c["kind"] for c in json.loads(result.output)["courses"]] == ["scorm"]


# --- a batch: every file reported ----------------------------------------------------------------------


def test_a_batch_reports_every_file_and_ends_with_2_when_one_cannot_be_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("not = a = course", encoding="utf-8")
    files = [str(EXAMPLES / "course.toml"), str(tmp_path / "missing.toml"), str(broken),
             str(EXAMPLES / "course-incomplete.yaml")]
    result = invoke("validate", *files)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"✔ {files[0]}")
    assert lines[1].startswith("✘ ") and "missing.toml" in lines[1] and "finnes ikke" in lines[1]
    assert lines[2].startswith("✘ ") and "broken.toml" in lines[2]
    assert any(line.startswith(f"✘ {files[3]}") for line in lines[3:])  # read and checked after the unreadable ones
    assert lines[-1].startswith("4 kurs kontrollert: 1 oppfyller kravene, 1 har feil")
    assert lines[-1].endswith("; 2 kunne ikke leses")


def test_a_batch_in_json_has_every_file_and_the_unreadable_ones_as_errors(tmp_path: Path) -> None:
    files = [str(EXAMPLES / "course.toml"), str(tmp_path / "missing.toml"), str(EXAMPLES / "course-incomplete.yaml")]
    result = invoke("validate", *files, "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [c["source"] for c in data["courses"]] == files
    assert [c["ok"] for c in data["courses"]] == [True, False, False]
    assert data["courses"][1]["error"]["exit_code"] == 2 and "missing.toml" in data["courses"][1]["error"]["message"]
    assert data["courses"][2]["errors"] == 10
    assert data["summary"] == {"total": 3, "passed": 1, "failed": 1, "unreadable": 1, "errors": 10, "warnings": 1}


def test_quiet_shows_only_what_fails_and_the_summary() -> None:
    passing, failing = str(EXAMPLES / "course.toml"), str(EXAMPLES / "course-incomplete.yaml")
    result = invoke("validate", passing, failing, passing, "--quiet")
    assert result.exit_code == 1
    assert passing not in result.output
    assert result.output.splitlines()[0].startswith(f"✘ {failing}")
    assert result.output.splitlines()[-1].startswith("3 kurs kontrollert: 2 oppfyller kravene, 1 har feil")
    alone = invoke("validate", passing, "-q")
    assert alone.exit_code == 0 and alone.output.strip() == (
        "1 kurs kontrollert: 1 oppfyller kravene, 0 har feil (0 feil og 0 advarsler i alt)")


def test_one_file_that_cannot_be_read_is_the_error_line(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "missing.toml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Feil: ") and "missing.toml" in result.stderr


def test_a_batch_as_csv_for_excel_and_as_json_lines(tmp_path: Path) -> None:
    import csv
    import io

    files = [str(EXAMPLES / "course.toml"), str(tmp_path / "missing.toml"), str(EXAMPLES / "course-incomplete.yaml")]
    excel = invoke("validate", *files, "--excel")
    assert excel.exit_code == 2
    rows = list(csv.DictReader(io.StringIO(excel.stdout_bytes.decode("utf-8-sig")), delimiter=";"))
    assert [(r["source"], r["ok"]) for r in rows] == [(files[0], "ja"), (files[1], "nei"), (files[2], "nei")]
    assert "finnes ikke" in rows[1]["error"] and "missing.summary" in rows[2]["codes"].split()
    lines = invoke("validate", *files, "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line)["ok"] for line in lines] == [True, False, False]
