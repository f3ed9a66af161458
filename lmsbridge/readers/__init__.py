"""Where course information comes from: course files, SCORM packages, Moodle backups, live courses.

This layer reads (files, archives, the platforms through the adapters) and builds ``CourseInfo``; the
rules in ``lmsbridge.sharing.requirements`` judge it. Source functions:

* ``load_course_file(path)``                      — TOML, YAML or JSON course file
* ``scorm_info(data, path, course_file=None)``    — SCORM package bytes (+ a course file inside/beside)
* ``backup_info(data, path, mapping=…)``          — Moodle backup bytes (.mbz: gzip'd tar or zip)
* ``load_path(path, mapping=…)``                  — any of the three, detected by content → ``Source``
* ``course_info_from_course(course, profile)``    — a live course (wire ``Course``) through a profile
* ``live_sources(client, profile, platform=…, keys=…, category=…, everything=…)`` — live courses → ``Source``
* ``study_categories(profile)``                   — the categories to check a course against
"""

from __future__ import annotations

from lmsbridge.readers.backup import backup_info
from lmsbridge.readers.coursefile import load_course_file, parse_course_file
from lmsbridge.readers.live import course_info_from_course, fetch_courses
from lmsbridge.readers.mapping import DEFAULT_MAPPING, FieldMapping, study_categories
from lmsbridge.readers.scorm import scorm_info
from lmsbridge.readers.sources import Source, SourceKind, detect_kind, live_sources, load_path

__all__ = [
    "DEFAULT_MAPPING",
    "FieldMapping",
    "Source",
    "SourceKind",
    "backup_info",
    "course_info_from_course",
    "detect_kind",
    "fetch_courses",
    "live_sources",
    "load_course_file",
    "load_path",
    "parse_course_file",
    "scorm_info",
    "study_categories",
]
