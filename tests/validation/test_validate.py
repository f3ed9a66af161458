"""Validation of course information from every source, against the recorded Læringsportal courses."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from lmsbridge.adapters.models import Course
from lmsbridge.adapters.profile import PlatformProfile
from lmsbridge.cli.main import cli
from lmsbridge.errors import InputError
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.requirements import check_course_info, parse_minutes, passes
from lmsbridge.validation.files import load_any
from lmsbridge.validation.live import course_info_from_course
from tests.conftest import fixture

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
PROFILE = PlatformProfile(title="LP", url="http://lp.test", role="hospital", organisation="Helse Bergen HF")
CATEGORIES = ["Helse og velferd", "Skolesektor", "Annet"]


def recorded(name: str) -> Course:
    return Course.model_validate(fixture(name)["response"]["courses"][0])


def test_hbhf_smitte_01_passes() -> None:
    info = course_info_from_course(recorded("lp__core_course_get_courses_by_field__ok_shortname"), PROFILE)
    assert info.study_category == "Helse og velferd" and info.licence == "CC BY"
    assert str(info.study_start) == "2025-01-06"  # 1736118000 in Europe/Oslo
    assert check_course_info(info, categories=CATEGORIES) == []


def test_hbhf_legemid_02_fails_with_one_finding_per_missing_item() -> None:
    info = course_info_from_course(recorded("lp__core_course_get_courses_by_field__ok_shortname_partial_metadata"), PROFILE)
    findings = check_course_info(info, categories=CATEGORIES)
    errors = sorted(f.code for f in findings if f.severity == "error")
    assert errors == sorted(
        f"missing.{item}"
        for item in ("content", "target_groups", "study_category", "study_start", "summary", "prerequisites",
                     "produced_by", "course_coordinator")
    )
    assert len({f.item for f in findings if f.severity == "error"}) == len(errors)
    assert not passes(findings)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30 min", 30), ("1 t 15 min", 75), ("1 time", 60), ("2 timer", 120), ("1,5 t", 90), ("PT45M", 45),
     ("PT1H30M", 90), ("45 minutter", 45), ("ca. en stund", None), ("", None), ("TBD", None)],
)
def test_time_needed_parses_to_minutes(text: str, minutes: int | None) -> None:
    assert parse_minutes(text) == minutes


GOOD = CourseInfo.model_validate(
    {"fullname": "F", "shortname": "S", "goals": "Mål", "content": "Innhold", "target_groups": "Sykepleiere",
     "study_category": "Helse og velferd", "study_start": "2025-01-06", "create_home_page": True,
     "summary": "Sammendrag", "prerequisites": "Ingen", "produced_by": "A, B, C, D", "time_needed": "30 min",
     "course_coordinator": "K", "licence": "CC BY-SA", "owner": "Helse Bergen HF"}
)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"summary": "  "}, "missing.summary"),
        ({"summary": "TBD"}, "placeholder.summary"),
        ({"goals": "<p> </p>"}, "missing.goals"),
        ({"content": "-"}, "placeholder.content"),
        ({"produced_by": "Kari Nordmann, sykepleier"}, "produced_by.incomplete"),
        ({"time_needed": "en stund"}, "time_needed.unparseable"),
        ({"study_category": "Kultur"}, "category.unknown"),
        ({"create_home_page": False}, "home_page.no"),
        ({"licence": "WTFPL"}, "licence.unknown"),
        ({"study_start": None}, "missing.study_start"),
    ],
)
def test_each_check(change: dict[str, object], code: str) -> None:
    info = GOOD.model_copy(update=change if "produced_by" not in change else
                           {"produced_by": CourseInfo.model_validate({"produced_by": change["produced_by"]}).produced_by})
    codes = [f.code for f in check_course_info(info, categories=CATEGORIES)]
    assert codes == [code]


def test_messages_in_both_languages() -> None:
    info = GOOD.model_copy(update={"summary": None})
    (nb,) = check_course_info(info, categories=CATEGORIES, lang="nb")
    (en,) = check_course_info(info, categories=CATEGORIES, lang="en")
    assert nb.code == en.code == "missing.summary"
    assert "mangler" in nb.message and "missing" in en.message


def test_course_files_in_three_formats(tmp_path: Path) -> None:
    good = load_any(EXAMPLES / "course.toml")
    assert check_course_info(good, categories=CATEGORIES) == []
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps({**good.model_dump(mode="json", exclude_none=True),
                                   "produced_by": "A, B, C, D"}), encoding="utf-8")
    assert load_any(as_json).shortname == "HBHF-SMITTE-01"
    incomplete = load_any(EXAMPLES / "course-incomplete.yaml")
    assert incomplete.goals and not passes(check_course_info(incomplete, categories=CATEGORIES))


MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:lom="http://ltsc.ieee.org/xsd/LOM">
 <metadata><lom:lom>
  <lom:general><lom:title><lom:string language="nb">Smittevern \xe2\x80\x93 basale rutiner</lom:string></lom:title>
   <lom:description><lom:string language="nb">Kort innf\xc3\xb8ring i smittevern.</lom:string></lom:description></lom:general>
  <lom:educational><lom:typicalLearningTime><lom:duration>PT45M</lom:duration></lom:typicalLearningTime></lom:educational>
  <lom:rights><lom:description><lom:string language="nb">CC BY-SA</lom:string></lom:description></lom:rights>
 </lom:lom></metadata>
 <organizations/><resources/>
</manifest>"""


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_scorm_package_with_course_file_inside(tmp_path: Path) -> None:
    extra = (EXAMPLES / "course.toml").read_text(encoding="utf-8").replace('fullname = "Smittevern – basale rutiner"\n', "")
    extra = extra.replace('summary = "Kort innføring i basale smittevernrutiner."\n', "")
    extra = extra.replace('time_needed = "30 min"\n', "").replace('licence = "Alle rettigheter reservert"\n', "")
    package = make_zip(tmp_path / "kurs.zip", {"imsmanifest.xml": MANIFEST, "course.toml": extra.encode()})
    info = load_any(package)
    assert info.fullname == "Smittevern – basale rutiner"
    assert info.summary == "Kort innføring i smittevern."
    assert info.time_needed == "PT45M" and info.licence == "CC BY-SA"
    assert check_course_info(info, categories=CATEGORIES) == []


COURSE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<course id="5" contextid="47">
  <shortname>HBHF-SMITTE-01</shortname><fullname>Smittevern \xe2\x80\x93 basale rutiner</fullname>
  <summary>&lt;p&gt;E-l\xc3\xa6ringskurs i basale smittevernrutiner.&lt;/p&gt;</summary><startdate>1722463200</startdate>
  <customfields>
    <customfield id="1"><shortname>maal</shortname><type>textarea</type><value>&lt;p&gt;M\xc3\xa5l&lt;/p&gt;</value></customfield>
    <customfield id="4"><shortname>studiekategori</shortname><type>select</type><value>1</value></customfield>
    <customfield id="5"><shortname>studiestart</shortname><type>date</type><value>1736118000</value></customfield>
    <customfield id="11"><shortname>lisens</shortname><type>select</type><value>2</value></customfield>
  </customfields>
</course>"""


def make_mbz(path: Path, members: dict[str, bytes]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def test_moodle_backup(tmp_path: Path) -> None:
    mbz = make_mbz(tmp_path / "backup.mbz", {"moodle_backup.xml": b"<moodle_backup/>", "course/course.xml": COURSE_XML})
    info = load_any(mbz)
    assert info.shortname == "HBHF-SMITTE-01" and info.study_category == "Helse og velferd"
    assert info.licence == "CC BY-SA" and info.goals == "<p>Mål</p>"
    codes = {f.code for f in check_course_info(info, categories=CATEGORIES)}
    assert "missing.content" in codes and "missing.study_category" not in codes


BOMB = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><manifest>&lol2;</manifest>'
XXE = b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><manifest>&x;</manifest>'


def hostile_inputs(tmp_path: Path) -> dict[str, Path]:
    out = {
        "missing": tmp_path / "nope.toml",
        "broken_zip": tmp_path / "broken.zip",
        "no_manifest": make_zip(tmp_path / "empty.zip", {"index.html": b"<html/>"}),
        "malformed_xml": make_zip(tmp_path / "bad.zip", {"imsmanifest.xml": b"<manifest><unclosed>"}),
        "billion_laughs": make_zip(tmp_path / "bomb.zip", {"imsmanifest.xml": BOMB}),
        "external_entity": make_zip(tmp_path / "xxe.zip", {"imsmanifest.xml": XXE}),
        "zip_bomb": make_zip(tmp_path / "zipbomb.zip", {"imsmanifest.xml": b"<a>" + b" " * 30_000_000 + b"</a>"}),
        "traversal": make_zip(tmp_path / "trav.zip", {"../../etc/imsmanifest.xml": b"<manifest"}),
        "broken_mbz": tmp_path / "broken.mbz",
        "mbz_without_course": make_mbz(tmp_path / "x.mbz", {"moodle_backup.xml": b"<moodle_backup/>"}),
        "malformed_toml": tmp_path / "bad.toml",
        "wrong_type": tmp_path / "wrong.json",
        "folder": tmp_path,
    }
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (tmp_path / "broken.mbz").write_bytes(b"\x1f\x8b\x08 not gzip really")
    (tmp_path / "bad.toml").write_text("fullname = \n", encoding="utf-8")
    (tmp_path / "wrong.json").write_text('{"study_start": "not a date"}', encoding="utf-8")
    return out


@pytest.mark.parametrize("case", ["missing", "broken_zip", "no_manifest", "malformed_xml", "billion_laughs",
                                  "external_entity", "zip_bomb", "traversal", "broken_mbz", "mbz_without_course",
                                  "malformed_toml", "wrong_type", "folder"])
def test_bad_input_is_one_clear_message_and_exit_2(tmp_path: Path, case: str) -> None:
    path = hostile_inputs(tmp_path)[case]
    if case != "folder":
        with pytest.raises(InputError):
            load_any(path)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_exit_codes_and_json() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(EXAMPLES / "course.toml")])
    assert ok.exit_code == 0 and "oppfyller kravene" in ok.output
    bad = runner.invoke(cli, ["--lang", "en", "validate", "--json", str(EXAMPLES / "course-incomplete.yaml")])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["ok"] is False and "missing.summary" in {f["code"] for f in report["courses"][0]["findings"]}
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["validate", "--course", "X"]).exit_code == 2


LIVE_CONFIG = """
[platforms.lp]
title = "LP"
url = "http://lp.test"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "LP_TOKEN"
retry_attempts = 1
"""


@responses.activate
def test_live_course_and_category_listing_in_one_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    monkeypatch.setenv("LP_TOKEN", "x")
    rest = "http://lp.test/webservice/rest/server.php"
    responses.post(rest, json=fixture("lp__core_course_get_courses_by_field__ok_shortname")["response"])
    result = CliRunner().invoke(cli, ["--config", str(config), "validate", "--platform", "lp", "--course", "HBHF-SMITTE-01"])
    assert result.exit_code == 0, result.output
    responses.replace(responses.POST, rest, json=fixture("lp__core_course_get_courses_by_field__ok_category")["response"])
    result = CliRunner().invoke(cli, ["--config", str(config), "validate", "--platform", "lp", "--category", "3", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    by_name = {c["course"]: c["ok"] for c in report["courses"]}
    assert by_name["HBHF-SMITTE-01"] is True and by_name["HBHF-LEGEMID-02"] is False
    assert len(responses.calls) == 2  # one for the course, ONE for the whole category
