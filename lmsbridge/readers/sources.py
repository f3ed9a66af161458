"""Where course information comes from, detected by content (the extension only breaks ties).

* a course file (TOML, YAML, JSON)                 → ``coursefile.load_course_file``
* a SCORM package (zip with ``imsmanifest.xml``)   → ``scorm.scorm_info``
* a Moodle backup (gzip'd tar, or zip with ``moodle_backup.xml``) → ``backup.backup_info``
* a live course, or all courses of a category or a platform → ``live_sources``

Each gives ``Source`` records: what was read (for people and for ``--json``), and the ``CourseInfo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from lmsbridge.adapters import MoodleClient
from lmsbridge.readers.backup import MOODLE_BACKUP, backup_info
from lmsbridge.readers.coursefile import load_course_file
from lmsbridge.readers.live import course_info_from_course, fetch_courses
from lmsbridge.readers.mapping import DEFAULT_MAPPING, FieldMapping
from lmsbridge.readers.scorm import has_manifest, scorm_archive_info
from lmsbridge.readers.untrusted import MAX_ARCHIVE, ZipArchive, input_error, read_file, read_head
from lmsbridge.sharing.courseinfo import CourseInfo


class SourceKind(StrEnum):
    COURSE_FILE = "course-file"
    SCORM = "scorm"
    BACKUP = "backup"
    LIVE = "live"


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OTHER_ARCHIVES = (b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"\x28\xb5\x2f\xfd")
_ARCHIVE_SUFFIXES = (".zip", ".mbz", ".tgz", ".gz", ".tar")


@dataclass(frozen=True)
class Source:
    """One course's information and where it was read."""

    kind: SourceKind
    name: str  # the file, or «platform:shortname»
    info: CourseInfo
    details: dict[str, Any] = field(default_factory=dict)  # platform, id, category … for --json

    def title(self) -> str:
        """How people know the course: its short name or full name, and where it came from."""
        known = self.info.shortname or self.info.fullname
        if self.kind is SourceKind.LIVE:
            return self.name
        return f"{self.name} ({known})" if known else self.name


def detect_kind(path: Path) -> SourceKind:
    """By content: gzip or tar → backup; zip → SCORM or backup by its members; else a course file."""
    head = read_head(path, 512)
    if head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar":
        return SourceKind.BACKUP
    if head.startswith(_ZIP_MAGIC):
        return SourceKind.SCORM  # refined by its members in ``load_path``
    if head.startswith(_OTHER_ARCHIVES):
        raise input_error("input.unsupported_archive", path=path)
    if path.suffix.casefold() in _ARCHIVE_SUFFIXES:
        # Named like an archive but not one: say so rather than trying it as a course file.
        detail = "no zip/gzip signature" if head else "empty file"
        raise input_error("input.broken_archive", path=path, kind=path.suffix.lstrip(".").upper(), detail=detail)
    return SourceKind.COURSE_FILE


def load_path(path: Path, *, mapping: FieldMapping = DEFAULT_MAPPING, course_file: Path | None = None) -> Source:
    """Any supported file → its course information (``InputError`` when it cannot be used)."""
    kind = detect_kind(path)
    if kind is SourceKind.COURSE_FILE:
        return Source(kind, str(path), load_course_file(path))
    data = read_file(path, MAX_ARCHIVE)
    if kind is SourceKind.SCORM:
        archive = ZipArchive(data, path, "zip")
        names = archive.names()
        if has_manifest(names):
            return Source(kind, str(path), scorm_archive_info(archive, course_file=course_file))
        if MOODLE_BACKUP not in names:
            if path.suffix.casefold() != ".zip":
                raise input_error("input.zip_neither", path=path)
            raise input_error("input.no_manifest", path=path)
        kind = SourceKind.BACKUP
    return Source(kind, str(path), backup_info(data, path, mapping=mapping))


def live_sources(
    client: MoodleClient,
    profile: FieldMapping,
    *,
    platform: str,
    keys: Sequence[str] = (),
    category: int | None = None,
    everything: bool = False,
) -> list[Source]:
    """Live courses by id/shortname, of a category, or of the whole platform (one listing call)."""
    courses = fetch_courses(client, keys=keys, category=category, everything=everything)
    return [
        Source(
            SourceKind.LIVE,
            f"{platform}:{course.shortname or course.id}",
            course_info_from_course(course, profile),
            {"platform": platform, "id": course.id, "categoryid": course.categoryid},
        )
        for course in courses
    ]


__all__ = ["Source", "SourceKind", "detect_kind", "live_sources", "load_path"]
