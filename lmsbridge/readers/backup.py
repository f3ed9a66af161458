"""Moodle course backups (.mbz: a gzip'd tar, or a zip from older sites).

Two members are read, in memory: ``moodle_backup.xml`` (is this a backup of a whole course, and where
is the course folder) and ``course/course.xml``, whose shape in Moodle 4.5 is that of
``backup_course_structure_step`` (backup/moodle2/backup_stepslib.php) and read back by
``restore_course_structure_step`` at the paths ``/course``, ``/course/category`` and
``/course/customfields/customfield``::

    <course id="5" contextid="47">
      <shortname>HBHF-SMITTE-01</shortname> <fullname>…</fullname> <summary>…HTML…</summary>
      <startdate>1722463200</startdate> …
      <category id="3"><name>Helse Bergen HF</name><description>$@NULL@$</description></category>
      <customfields>
        <customfield id="1">
          <shortname>maal</shortname> <type>textarea</type> <value>&lt;p&gt;…</value>
          <valueformat>1</valueformat> <valuetrust>0</valuetrust>
        </customfield> …
      </customfields>
    </course>

``value`` is what the field's data controller stores (``get_instance_data_for_backup``): the text, the
1-based option index of a select field, Unix seconds of a date field; ``$@NULL@$`` is Moodle's
backup spelling of NULL. Custom fields are mapped to items by the profile's shortnames (the recorded
sites' by default), exactly like a live course (``validation.live``); so are the fallbacks for what the
mapping does not cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from lmsbridge.readers.live import yes_no
from lmsbridge.readers.mapping import DEFAULT_MAPPING, FieldMapping, custom_value, oslo_date, to_int
from lmsbridge.readers.untrusted import (
    ZipArchive,
    child,
    children,
    input_error,
    local_name,
    parse_xml,
    tar_members,
    text_of,
)
from lmsbridge.sharing.courseinfo import ITEMS, CourseInfo
from lmsbridge.sharing.labels import labels_in, remove_labels

MOODLE_BACKUP = "moodle_backup.xml"
COURSE_XML = "course/course.xml"
NULL = "$@NULL@$"  # how Moodle's backup writes a NULL


def _value(element: etree._Element | None) -> str | None:
    text = text_of(element)
    return None if text is None or text == NULL else text


def backup_members(data: bytes, path: Path) -> dict[str, bytes]:
    """``moodle_backup.xml`` and ``course/course.xml`` of a .mbz (gzip'd tar, plain tar or zip)."""
    if data[:2] == b"PK":
        archive = ZipArchive(data, path, "Moodle-backup/zip")
        return {name: archive.read(name) for name in (MOODLE_BACKUP, COURSE_XML) if archive.has(name)}
    return tar_members(data, path, lambda name: name in (MOODLE_BACKUP, COURSE_XML), kind="Moodle-backup/tar")


def _check_backup_description(members: dict[str, bytes], path: Path) -> etree._Element | None:
    if MOODLE_BACKUP not in members:
        raise input_error("input.no_moodle_backup", path=path)
    root = parse_xml(members[MOODLE_BACKUP], path, MOODLE_BACKUP)
    if local_name(root) != "moodle_backup":
        raise input_error("input.not_moodle_backup", path=path, root=local_name(root))
    information = child(root, "information")
    kind = (_value(child(information, "details", "detail", "type")) or "course").strip()
    if kind != "course":
        raise input_error("input.not_course_backup", path=path, kind=kind[:40])
    return information


def backup_info(data: bytes, path: Path, *, mapping: FieldMapping = DEFAULT_MAPPING) -> CourseInfo:
    """A Moodle course backup's bytes → CourseInfo."""
    members = backup_members(data, path)
    information = _check_backup_description(members, path)
    if COURSE_XML not in members:
        raise input_error("input.no_course_xml", path=path)
    course = parse_xml(members[COURSE_XML], path, COURSE_XML)
    if local_name(course) != "course":
        raise input_error("input.not_course_xml", path=path, root=local_name(course))

    def original(name: str) -> str | None:
        return _value(child(information, f"original_course_{name}"))

    values: dict[str, Any] = {
        "fullname": _value(child(course, "fullname")) or original("fullname"),
        "shortname": _value(child(course, "shortname")) or original("shortname"),
    }
    items_by_shortname = {short: item for item, short in mapping.fields.items() if item in ITEMS}
    present: set[str] = set()
    customfields = child(course, "customfields")
    for custom in children(customfields, "customfield") if customfields is not None else []:
        shortname = (_value(child(custom, "shortname")) or "").strip()
        item = items_by_shortname.get(shortname)
        if item is None or item in ("fullname", "shortname"):
            continue
        field_type = (_value(child(custom, "type")) or "").strip()
        values[item] = custom_value(mapping, item, shortname, field_type, _value(child(custom, "value")))
        present.add(item)
    summary = _value(child(course, "summary"))
    if "summary" not in present:
        values["summary"] = remove_labels(summary) if summary else None
    if "study_start" not in present:
        values["study_start"] = oslo_date(to_int(_value(child(course, "startdate")) or original("startdate")))
    if "study_category" not in present:
        category = (_value(child(course, "category", "name")) or "").strip()
        known = {name.casefold(): name for name in mapping.categories}
        values["study_category"] = known.get(category.casefold())
    if "label" not in present and summary:
        found = labels_in(summary)
        values["label"] = next(iter(found)).value if len(found) == 1 else None
    # A backup is of a Moodle course, which has its own course page (as a live course).
    values["create_home_page"] = yes_no(values["create_home_page"]) if "create_home_page" in present else True
    return CourseInfo.from_items(values)


__all__ = ["COURSE_XML", "MOODLE_BACKUP", "backup_info", "backup_members"]
