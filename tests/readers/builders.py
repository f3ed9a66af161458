"""Test material: course files, SCORM packages and Moodle backups built in memory from tests/readers/data."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).parent.parent.parent
DATA = Path(__file__).parent / "data"
EXAMPLES = ROOT / "examples"

MOODLE_BACKUP_XML = (DATA / "moodle_backup.xml").read_bytes()
COURSE_XML = (DATA / "course.xml").read_bytes()  # LP1 HBHF-SMITTE-01 as Moodle 4.5 backs it up
MANIFEST_2004 = (DATA / "imsmanifest_2004.xml").read_bytes()
MANIFEST_12 = (DATA / "imsmanifest_12.xml").read_bytes()
METADATA_12 = (DATA / "metadata_12.xml").read_bytes()

#: What a SCORM package's manifest cannot hold, for a course file beside or inside it.
COMPANION_TOML = """\
shortname = "HBHF-SMITTE-01"
studiekategori = "Helse og velferd"
studiestart = "06.01.2025"
opprett_hjemmeside = "ja"
forutsetninger = "Ingen forkunnskaper kreves."
produsert_av = "Kari Nordmann, fagutviklingssykepleier, Seksjon for smittevern, Haukeland universitetssjukehus"
kurskoordinator = "Ola Hansen"
eier = "Helse Bergen HF"
"""


def make_zip(path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zip_bytes(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return raw.getvalue()


def tar_bytes(members: dict[str, bytes], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue()) if compress else raw.getvalue()


def make_mbz(path: Path, members: dict[str, bytes] | None = None, *, compress: bool = True) -> Path:
    """A Moodle backup as Moodle 4.5 writes it (gzip'd tar), LP1's course by default."""
    if members is None:
        members = backup_members()
    path.write_bytes(tar_bytes(members, compress=compress))
    return path


def backup_members(course_xml: bytes = COURSE_XML) -> dict[str, bytes]:
    return {
        "moodle_backup.xml": MOODLE_BACKUP_XML,
        "course/course.xml": course_xml,
        "course/inforef.xml": b"<inforef/>",
        "sections/section_9/section.xml": b"<section id='9'/>",
        "files.xml": b"<files/>",
    }


def course_xml_with(fields: dict[str, str | None], *, startdate: str = "1722463200", summary: str | None = None,
                    category: str = "Helse Bergen HF") -> bytes:
    """LP1's course.xml with its custom fields replaced (value None → $@NULL@$, missing key → not backed up)."""
    root = etree.fromstring(COURSE_XML)
    root.find("startdate").text = startdate  # type: ignore[union-attr]
    root.find("category/name").text = category  # type: ignore[union-attr]
    if summary is not None:
        root.find("summary").text = summary  # type: ignore[union-attr]
    customfields = root.find("customfields")
    assert customfields is not None
    types = {c.findtext("shortname"): c.findtext("type") for c in customfields}
    for old in list(customfields):
        customfields.remove(old)
    for index, (shortname, value) in enumerate(fields.items(), start=1):
        custom = etree.SubElement(customfields, "customfield", id=str(index))
        etree.SubElement(custom, "shortname").text = shortname
        etree.SubElement(custom, "type").text = types.get(shortname) or "text"
        etree.SubElement(custom, "value").text = "$@NULL@$" if value is None else value
        etree.SubElement(custom, "valueformat").text = "0"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def scorm_members(manifest: bytes = MANIFEST_2004, **extra: bytes) -> dict[str, bytes]:
    return {"imsmanifest.xml": manifest, "index.html": b"<html><body>Hei</body></html>", **extra}
