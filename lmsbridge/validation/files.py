"""Course information from files: a course file (TOML, YAML, JSON), a SCORM package, a Moodle backup.

Untrusted input: sizes are bounded, archives are read in memory member by member (never extracted, so
path-traversal names cannot write anywhere), decompressed sizes and ratios are bounded (zip bombs), and
XML is parsed with entity expansion, DTDs and network access off. Every failure is an ``InputError``.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from lxml import etree
from pydantic import ValidationError

from lmsbridge.adapters.wire import safe_xml_parser
from lmsbridge.errors import InputError
from lmsbridge.sharing.courseinfo import CourseInfo

MAX_COURSE_FILE = 5 * 1024 * 1024
MAX_ARCHIVE = 200 * 1024 * 1024
MAX_MEMBER = 20 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_RATIO = 200


def _read_limited(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if size > limit:
        raise InputError(f"{path}: too large ({size} bytes; the limit is {limit})")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def parse_course_data(data: bytes, name: str) -> dict[str, Any]:
    """Bytes of a TOML/YAML/JSON course file → a dict (the format chosen by extension, else sniffed)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".toml" or (suffix not in (".json", ".yaml", ".yml") and "=" in text.split("\n", 1)[0]):
            loaded: Any = tomllib.loads(text)
        elif suffix == ".json" or text.lstrip().startswith("{"):
            loaded = json.loads(text)
        else:
            loaded = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise InputError(f"{name}: malformed course file ({first})") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{name}: a course file must hold a table/object of course information items")
    course = loaded.get("course", loaded)
    if not isinstance(course, dict):
        raise InputError(f"{name}: [course] must be a table")
    return course


def course_info_from_mapping(data: dict[str, Any], name: str) -> CourseInfo:
    try:
        return CourseInfo.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err.get("loc", ()))
        raise InputError(f"{name}: {key}: {err.get('msg')}") from None


def load_course_file(path: Path) -> CourseInfo:
    return course_info_from_mapping(parse_course_data(_read_limited(path, MAX_COURSE_FILE), str(path)), str(path))


def parse_xml(data: bytes, name: str) -> etree._Element:
    if len(data) > MAX_MEMBER:
        raise InputError(f"{name}: XML too large")
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise InputError(f"{name}: XML with DOCTYPE/entity declarations is refused")
    try:
        return etree.fromstring(data, parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{name}: malformed XML ({exc})") from None


def _zip_members(data: bytes, name: str) -> dict[str, bytes]:
    """Read the small text members of a zip in memory, with bomb limits. Names are only looked at."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"{name}: not a readable zip archive ({exc.__class__.__name__})") from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{name}: too many members in the archive")
    wanted: dict[str, bytes] = {}
    with archive:
        for info in infos:
            base = info.filename.replace("\\", "/")
            if not base.lower().endswith((".xml", ".toml", ".yaml", ".yml", ".json")):
                continue
            if info.file_size > MAX_MEMBER or (info.compress_size and info.file_size / info.compress_size > MAX_RATIO
                                               and info.file_size > 1_000_000):
                raise InputError(f"{name}: member {base!r} decompresses too large (zip bomb?)")
            try:
                with archive.open(info) as member:
                    content = member.read(MAX_MEMBER + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
                raise InputError(f"{name}: broken member {base!r} ({exc.__class__.__name__})") from None
            if len(content) > MAX_MEMBER:
                raise InputError(f"{name}: member {base!r} decompresses too large (zip bomb?)")
            wanted[base] = content
    return wanted


def _text(node: etree._Element | None) -> str | None:
    if node is None:
        return None
    text = " ".join(str(t).strip() for t in node.itertext() if str(t).strip())
    return text or None


def _local(root: etree._Element, tag: str) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == tag]


def _iso_duration_text(value: str | None) -> str | None:
    return value.strip() if value and re.match(r"^P", value.strip(), re.I) else value


def load_scorm(path: Path, beside: Path | None = None) -> CourseInfo:
    """SCORM package: title, LOM description, typical learning time, rights from imsmanifest.xml; the
    rest from a course file inside the zip (course.toml/yaml/json) or beside it."""
    data = _read_limited(path, MAX_ARCHIVE)
    members = _zip_members(data, str(path))
    manifest_name = next((n for n in members if n.lower().rsplit("/", 1)[-1] == "imsmanifest.xml"), None)
    if manifest_name is None:
        raise InputError(f"{path}: no imsmanifest.xml in the package: not a SCORM package")
    root = parse_xml(members[manifest_name], f"{path}:{manifest_name}")
    values: dict[str, Any] = {}
    lom_title = next(iter(_local(root, "title")), None)
    values["fullname"] = _text(lom_title)
    desc = next(iter(_local(root, "description")), None)
    if desc is not None:
        values["summary"] = _text(desc)
    ltime = next(iter(_local(root, "typicalLearningTime")), None)
    if ltime is not None:
        values["time_needed"] = _iso_duration_text(_text(next(iter(_local(ltime, "duration")), ltime)))
    rights = next(iter(_local(root, "rights")), None)
    if rights is not None:
        rdesc = next(iter(_local(rights, "description")), None)
        values["licence"] = _text(rdesc)
    for member, content in members.items():
        if member.lower().rsplit("/", 1)[-1].startswith("course."):
            values.update(parse_course_data(content, f"{path}:{member}"))
    if beside is None:
        for ext in (".toml", ".yaml", ".yml", ".json"):
            candidate = path.with_suffix(ext)
            if candidate.exists():
                beside = candidate
                break
    if beside is not None:
        values.update(parse_course_data(_read_limited(beside, MAX_COURSE_FILE), str(beside)))
    return course_info_from_mapping({k: v for k, v in values.items() if v is not None}, str(path))


def _mbz_members(data: bytes, name: str) -> dict[str, bytes]:
    if data[:2] == b"PK":
        return _zip_members(data, name)
    wanted: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            count = 0
            total = 0
            for member in archive:
                count += 1
                if count > MAX_MEMBERS:
                    raise InputError(f"{name}: too many members in the backup")
                if not member.isfile():
                    continue
                base = member.name.lstrip("./")
                if base not in ("moodle_backup.xml", "course/course.xml"):
                    continue
                if member.size > MAX_MEMBER:
                    raise InputError(f"{name}: member {base!r} too large")
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                content = handle.read(MAX_MEMBER + 1)
                total += len(content)
                wanted[base] = content
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{name}: not a readable Moodle backup ({exc.__class__.__name__})") from None
    return wanted


def load_mbz(path: Path) -> CourseInfo:
    """Moodle backup (.mbz: gzip'd tar, or zip): full/short name, summary, start date, custom fields."""
    members = _mbz_members(_read_limited(path, MAX_ARCHIVE), str(path))
    course_xml = members.get("course/course.xml")
    if course_xml is None:
        raise InputError(f"{path}: no course/course.xml in the backup: not a Moodle course backup")
    if "moodle_backup.xml" in members:
        parse_xml(members["moodle_backup.xml"], f"{path}:moodle_backup.xml")  # must be well-formed too
    root = parse_xml(course_xml, f"{path}:course/course.xml")
    values: dict[str, Any] = {}
    for tag, item in (("fullname", "fullname"), ("shortname", "shortname"), ("summary", "summary")):
        node = root.find(tag)
        if node is not None and node.text:
            values[item] = node.text
    start = root.findtext("startdate")
    if start and start.strip().isdigit() and int(start) > 0:
        values["study_start"] = datetime.fromtimestamp(int(start), tz=UTC).date()
    # Moodle backs up course custom fields as <customfields><customfield><shortname/><type/><value/>…
    from lmsbridge.adapters.profile import DEFAULT_FIELDS, DEFAULT_SELECT_OPTIONS

    by_shortname = {short: item for item, short in DEFAULT_FIELDS.items()}
    for custom in root.iter("customfield"):
        short = (custom.findtext("shortname") or "").strip()
        value: str | None = custom.findtext("value")
        field_item = by_shortname.get(short)
        if not field_item or value is None or value == "":
            continue
        if short in DEFAULT_SELECT_OPTIONS:
            options = DEFAULT_SELECT_OPTIONS[short]
            index = int(value) if value.strip().isdigit() else 0
            values[field_item] = options[index] if 0 < index < len(options) else None
        elif (custom.findtext("type") or "") == "date" and value.strip().isdigit():
            values[field_item] = datetime.fromtimestamp(int(value), tz=UTC).date() if int(value) else None
        else:
            values[field_item] = value
    values.setdefault("create_home_page", True)
    return course_info_from_mapping({k: v for k, v in values.items() if v is not None}, str(path))


def sniff_kind(path: Path) -> str:
    """'scorm', 'mbz' or 'file', by content first and extension second."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    if suffix == ".mbz" or head[:2] == b"\x1f\x8b":
        return "mbz"
    if head[:2] == b"PK":
        return "scorm"
    return "file"


def load_any(path: Path) -> CourseInfo:
    kind = sniff_kind(path)
    if kind == "mbz":
        return load_mbz(path)
    if kind == "scorm":
        return load_scorm(path)
    return load_course_file(path)
