"""Fuzzing the file parsers: random bytes and mutated valid files give a CourseInfo or an InputError, nothing else."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmsbridge.errors import InputError
from lmsbridge.readers import load_path
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.requirements import check_course_info
from tests.readers.builders import (
    COMPANION_TOML,
    COURSE_XML,
    EXAMPLES,
    MANIFEST_2004,
    MOODLE_BACKUP_XML,
    backup_members,
    tar_bytes,
    zip_bytes,
)

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = ["c.toml", "c.json", "c.yaml", "c", "p.zip", "b.mbz"]
COURSE_FILES = {
    "c.toml": (EXAMPLES / "course.toml").read_bytes(),
    "c.yaml": (EXAMPLES / "course-incomplete.yaml").read_bytes(),
    "c.json": b'{"fullname": "F", "produsert_av": "A, B, C, D", "description": {"goals": "M"}, "tidsbruk": 30}',
}
SCORM = zip_bytes({"imsmanifest.xml": MANIFEST_2004, "course-info.toml": COMPANION_TOML.encode()})
BACKUP = tar_bytes(backup_members())


def outcome(folder: Path, name: str, data: bytes) -> None:
    """Load the bytes as a file called ``name``; only CourseInfo (then checkable) or InputError may come out."""
    path = folder / name
    path.write_bytes(data)
    try:
        info = load_path(path).info
    except InputError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert isinstance(info, CourseInfo)
    check_course_info(info, categories=["Helse og velferd"])  # whatever was read can be checked


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(min_value=1, max_value=255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[at : at + draw(st.integers(min_value=1, max_value=32))]
    return bytes(data)


@FUZZ
@given(data=st.binary(max_size=4096), name=st.sampled_from(NAMES))
def test_random_bytes(tmp_path: Path, data: bytes, name: str) -> None:
    outcome(tmp_path, name, data)


@FUZZ
@given(name=st.sampled_from(sorted(COURSE_FILES)), data=st.data())
def test_mutated_course_files(tmp_path: Path, name: str, data: st.DataObject) -> None:
    outcome(tmp_path, name, data.draw(mutated(COURSE_FILES[name])))


@FUZZ
@given(text=st.text(max_size=200), key=st.sampled_from(["fullname", "studiestart", "produsert_av", "tidsbruk",
                                                        "kursbeskrivelse", "opprett_hjemmeside", "lisens"]))
def test_any_text_value_in_a_course_file(tmp_path: Path, text: str, key: str) -> None:
    import json

    outcome(tmp_path, "c.json", json.dumps({key: text}).encode())


@FUZZ
@given(data=st.data())
def test_mutated_scorm_packages(tmp_path: Path, data: st.DataObject) -> None:
    outcome(tmp_path, "p.zip", data.draw(mutated(SCORM)))


@FUZZ
@given(data=st.data())
def test_mutated_manifests_inside_valid_packages(tmp_path: Path, data: st.DataObject) -> None:
    manifest = data.draw(mutated(MANIFEST_2004))
    outcome(tmp_path, "p.zip", zip_bytes({"imsmanifest.xml": manifest}))


@FUZZ
@given(data=st.data())
def test_mutated_backups(tmp_path: Path, data: st.DataObject) -> None:
    outcome(tmp_path, "b.mbz", data.draw(mutated(BACKUP)))


@FUZZ
@given(data=st.data(), which=st.sampled_from(["moodle_backup.xml", "course/course.xml"]))
def test_mutated_backup_xml_inside_valid_archives(tmp_path: Path, data: st.DataObject, which: str) -> None:
    members = {"moodle_backup.xml": MOODLE_BACKUP_XML, "course/course.xml": COURSE_XML}
    members[which] = data.draw(mutated(members[which]))
    outcome(tmp_path, "b.mbz", tar_bytes(members))


@FUZZ
@given(data=st.data())
def test_mutated_uncompressed_tar_recompressed(tmp_path: Path, data: st.DataObject) -> None:
    tar = gzip.decompress(BACKUP)
    outcome(tmp_path, "b.mbz", gzip.compress(data.draw(mutated(tar))))
