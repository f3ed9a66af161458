"""Source 2: SCORM packages: imsmanifest.xml (LOM) plus a course file inside the package or beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsbridge.errors import InputError
from lmsbridge.readers import DEFAULT_MAPPING, SourceKind, load_path, study_categories
from lmsbridge.readers.scorm import time_needed_from_duration
from lmsbridge.sharing.requirements import check_course_info
from tests.readers.builders import COMPANION_TOML, MANIFEST_12, MANIFEST_2004, METADATA_12, make_zip, scorm_members

CATEGORIES = study_categories(DEFAULT_MAPPING)


def test_the_manifest_gives_title_description_time_and_licence(tmp_path: Path) -> None:
    source = load_path(make_zip(tmp_path / "kurs.zip", scorm_members()))
    info = source.info
    assert source.kind is SourceKind.SCORM
    assert info.fullname == "Smittevern – basale rutiner"  # the Norwegian LangString, not the English one
    assert info.summary == "Kort innføring i basale smittevernrutiner."  # the description before its headings
    assert info.goals is not None and info.goals.startswith("Deltakeren kan gjøre rede")
    assert info.content == "Håndhygiene, bruk av hansker og frakk, smittemåter og barrierer."
    assert info.target_groups == "Sykepleiere, helsefagarbeidere og leger i kommuner og sykehus."
    assert info.time_needed == "1 t 30 min"  # PT1H30M
    assert info.licence == "CC BY-SA"  # «Creative Commons Navngivelse-DelPåSammeVilkår 4.0»
    codes = [f.code for f in check_course_info(info, categories=CATEGORIES)]
    assert codes == ["missing.shortname", "missing.study_category", "missing.study_start", "missing.create_home_page",
                     "missing.prerequisites", "missing.produced_by", "missing.course_coordinator", "owner.missing"]


def test_a_course_file_inside_the_package_completes_it(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members(**{"course-info.toml": COMPANION_TOML.encode()}))
    info = load_path(package).info
    assert info.shortname == "HBHF-SMITTE-01" and info.fullname == "Smittevern – basale rutiner"
    assert check_course_info(info, categories=CATEGORIES) == []


def test_a_course_file_beside_the_package_completes_it_and_wins(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members(**{"kursinfo.yaml": b"tidsbruk: 2 timer\neier: Inne\n"}))
    (tmp_path / "kurs.toml").write_text(COMPANION_TOML, encoding="utf-8")
    info = load_path(package).info
    assert info.owner == "Helse Bergen HF"  # beside beats inside
    assert info.time_needed == "2 timer"  # inside beats the manifest
    assert check_course_info(info, categories=CATEGORIES) == []


def test_a_named_course_file_is_used_instead_of_one_beside(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members())
    (tmp_path / "kurs.toml").write_text('eier = "Beside"\n', encoding="utf-8")
    named = tmp_path / "annet.toml"
    named.write_text(COMPANION_TOML, encoding="utf-8")
    assert load_path(package, course_file=named).info.owner == "Helse Bergen HF"


def test_scorm_1_2_with_metadata_in_a_separate_file(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "brann.zip", scorm_members(MANIFEST_12, **{"metadata/course.xml": METADATA_12}))
    info = load_path(package).info
    assert info.fullname == "Brannvern – årlig repetisjon"
    assert info.summary == "Tre korte leksjoner om brannvern."
    assert info.time_needed == "20 min"  # «0000:20:00.00»
    assert info.licence == "Alle rettigheter reservert"


def test_without_metadata_the_organization_title_is_the_name(tmp_path: Path) -> None:
    manifest = MANIFEST_12.replace(b"<adlcp:location>metadata/course.xml</adlcp:location>", b"")
    info = load_path(make_zip(tmp_path / "p.zip", scorm_members(manifest))).info
    assert info.fullname == "Brannvern – årlig repetisjon" and info.summary is None and info.time_needed is None


def test_a_package_zipped_with_its_folder(tmp_path: Path) -> None:
    members = {f"kurs/{name}": data for name, data in scorm_members(**{"course-info.toml": COMPANION_TOML.encode()}).items()}
    info = load_path(make_zip(tmp_path / "p.zip", members)).info
    assert info.fullname == "Smittevern – basale rutiner" and info.shortname == "HBHF-SMITTE-01"


def test_an_unknown_rights_text_is_kept_for_the_check(tmp_path: Path) -> None:
    manifest = MANIFEST_2004.replace("Creative Commons Navngivelse-DelPåSammeVilkår 4.0".encode(), b"Fri bruk")
    info = load_path(make_zip(tmp_path / "p.zip", scorm_members(manifest))).info
    assert info.licence == "Fri bruk"
    assert "licence.unknown" in [f.code for f in check_course_info(info, categories=None)]


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "package.bin", scorm_members())
    assert load_path(package).kind is SourceKind.SCORM


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("PT45M", "45 min"), ("PT1H30M", "1 t 30 min"), ("PT2H", "2 t"), ("0000:30:00.00", "30 min"),
     ("P0D", "P0D"), ("snart", "snart"), ("", None), (None, None)],
)
def test_iso_8601_learning_time_becomes_time_needed(duration: str | None, expected: str | None) -> None:
    assert time_needed_from_duration(duration) == expected


def test_two_course_files_beside_a_package_are_ambiguous(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "kurs.zip", scorm_members())
    (tmp_path / "kurs.toml").write_text(COMPANION_TOML, encoding="utf-8")
    (tmp_path / "kurs.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="flere kursfiler"):
        load_path(package)


def test_an_authoring_tools_own_course_json_is_not_taken_for_a_course_file(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "p.zip", scorm_members(**{"course.json": b'{"_type": "course", "title": "x"}'}))
    assert load_path(package).info.fullname == "Smittevern – basale rutiner"


def test_two_course_files_inside_a_package_are_ambiguous(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "p.zip", scorm_members(**{"kursinfo.toml": b"", "course-info.yaml": b""}))
    with pytest.raises(InputError, match="flere kursfiler"):
        load_path(package)
