"""Source 3: Moodle course backups (.mbz): moodle_backup.xml and course/course.xml as Moodle 4.5 writes them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lmsbridge.adapters import PlatformProfile
from lmsbridge.errors import InputError
from lmsbridge.readers import DEFAULT_MAPPING, SourceKind, load_path, study_categories
from lmsbridge.sharing.requirements import check_course_info
from tests.readers.builders import (
    COURSE_XML,
    MOODLE_BACKUP_XML,
    backup_members,
    course_xml_with,
    make_mbz,
    make_zip,
)

CATEGORIES = study_categories(DEFAULT_MAPPING)


def test_lp1_backup_gives_the_same_information_as_the_live_course(tmp_path: Path) -> None:
    source = load_path(make_mbz(tmp_path / "backup.mbz"))
    info = source.info
    assert source.kind is SourceKind.BACKUP
    assert (info.fullname, info.shortname) == ("Smittevern – basale rutiner", "HBHF-SMITTE-01")
    assert info.study_category == "Helse og velferd"  # select index 1
    assert info.study_start == date(2025, 1, 6)  # 1736118000 is 2025-01-05 23:00 UTC: the day in Oslo
    assert info.licence == "CC BY" and info.label == "delt til KS Læring"
    assert info.create_home_page is True  # a Moodle course has its own course page
    assert info.produced_by is not None and info.produced_by.hospital == "Haukeland universitetssjukehus"
    assert check_course_info(info, categories=CATEGORIES) == []


def test_lp2_backup_fails_with_one_finding_per_missing_item(tmp_path: Path) -> None:
    # HBHF-LEGEMID-02 as seeded: only maal, tidsbruk and eier set; empty fields back up as $@NULL@$ or "".
    course_xml = course_xml_with(
        {"maal": "<p>Deltakeren kjenner regelverket for legemiddelhåndtering.</p>", "innhold": None,
         "malgrupper": "", "studiekategori": "0", "studiestart": "0", "kurssammendrag": "", "tidsbruk": "45 min",
         "lisens": "0", "eier": "Helse Bergen HF"},
        summary="<p>Kurs i forsvarlig legemiddelhåndtering.</p>",
    )
    info = load_path(make_mbz(tmp_path / "b.mbz", backup_members(course_xml))).info
    codes = [f.code for f in check_course_info(info, categories=CATEGORIES)]
    assert codes == ["missing.content", "missing.target_groups", "missing.study_category", "missing.study_start",
                     "missing.summary", "missing.prerequisites", "missing.produced_by", "missing.course_coordinator",
                     "licence.missing"]


def test_without_the_custom_fields_the_course_itself_is_read(tmp_path: Path) -> None:
    course_xml = course_xml_with({}, startdate="1740783600", category="Helse og velferd",
                                 summary='<p class="lmsbridge-label" data-lmsbridge-label="delt-fra-ks">Delt fra KS</p>'
                                         "<p>Tre korte leksjoner.</p>")
    profile = PlatformProfile(title="KS", url="http://ks.test", role="municipal", organisation="KS",
                              categories={"Helse og velferd": 2})
    info = load_path(make_mbz(tmp_path / "b.mbz", backup_members(course_xml)), mapping=profile).info
    assert info.study_start == date(2025, 3, 1)  # course startdate, Oslo day
    assert info.study_category == "Helse og velferd"  # the course category, named in the profile
    assert info.summary == "<p>Tre korte leksjoner.</p>"  # without lmsbridge's label paragraph
    assert info.label == "delt fra KS"


def test_a_zip_format_backup_of_an_older_site(tmp_path: Path) -> None:
    source = load_path(make_zip(tmp_path / "old.mbz", backup_members()))
    assert source.kind is SourceKind.BACKUP and source.info.shortname == "HBHF-SMITTE-01"
    plain_tar = load_path(make_mbz(tmp_path / "plain.mbz", compress=False))
    assert plain_tar.info == source.info


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    assert load_path(make_mbz(tmp_path / "backup.tar.gz")).kind is SourceKind.BACKUP
    assert load_path(make_mbz(tmp_path / "backup")).kind is SourceKind.BACKUP


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"course/course.xml": COURSE_XML}, "ingen moodle_backup.xml"),
        ({"moodle_backup.xml": MOODLE_BACKUP_XML}, "ingen course/course.xml"),
        ({"moodle_backup.xml": b"<backup/>", "course/course.xml": COURSE_XML}, "ikke en Moodle-sikkerhetskopi"),
        ({"moodle_backup.xml": MOODLE_BACKUP_XML.replace(b"<type>course</type>", b"<type>activity</type>"),
          "course/course.xml": COURSE_XML}, "gjelder «activity», ikke et helt kurs"),
        ({"moodle_backup.xml": MOODLE_BACKUP_XML, "course/course.xml": b"<section/>"}, "beskriver ikke et kurs"),
        ({"moodle_backup.xml": MOODLE_BACKUP_XML, "course/course.xml": b"<course><fullname>x</course>"},
         "ugyldig XML"),
    ],
)
def test_what_is_not_a_course_backup(tmp_path: Path, members: dict[str, bytes], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_path(make_mbz(tmp_path / "b.mbz", members))
