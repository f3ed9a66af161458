"""SCORM packages (.zip): what ``imsmanifest.xml`` says about the course, plus a course file for the rest.

From the manifest's LOM metadata (inline, or the file ``adlcp:location`` names; SCORM 2004's LOM and
SCORM 1.2's IMS MD 1.2 alike, matched by local name whatever the namespace):

* ``general/title``            → full name (else the default organization's ``title``)
* ``general/description``      → the description: a part per heading («Mål:», «Innhold:», «Målgrupper:»);
                                 the text before the first heading → the summary
* ``educational/typicalLearningTime/duration`` (1.2: ``typicallearningtime/datetime``), ISO 8601
                                 → time needed («PT1H30M» → «1 t 30 min»)
* ``rights/description``       → licence (its usual spellings named as the sites name them)

Everything else the agreement asks for (short name, study category, study start, produced by …) comes
from a course file: ``course-info.toml`` or ``kursinfo.toml`` (or .yaml/.yml/.json) inside the package
next to the manifest, and/or a file with the package's name beside it (``kurs.zip`` → ``kurs.toml``), or
the one named with ``--course-file``. The course file wins over the manifest, the file beside the
package over the one inside it. (Not plain ``course.json``: authoring tools put their own files by
such names into packages.)
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from lxml import etree

from lmsbridge.readers.coursefile import COURSE_FILE_SUFFIXES, MAX_COURSE_FILE, load_course_file, parse_course_file
from lmsbridge.readers.untrusted import (
    ZipArchive,
    child,
    children,
    input_error,
    is_safe_member_name,
    local_name,
    parse_xml,
    text_of,
)
from lmsbridge.sharing.courseinfo import CourseDescription, CourseInfo, split_description
from lmsbridge.sharing.licence import normalise_licence
from lmsbridge.sharing.requirements import format_minutes, parse_minutes

MANIFEST = "imsmanifest.xml"
COURSE_FILE_NAMES = tuple(f"{stem}{suffix}" for stem in ("course-info", "kursinfo") for suffix in COURSE_FILE_SUFFIXES)
#: Languages of LOM strings, most wanted first (the agreement's items are in Norwegian).
LANGUAGE_PREFERENCE = ("nb", "no", "nob", "nn", "nno", "en", "x-none", "")


_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _lang_of(element: etree._Element) -> str:
    return (element.get("language") or element.get(_XML_LANG) or "").strip().casefold()


def lang_string(element: etree._Element | None) -> str | None:
    """A LOM LangString (``<string language=…>`` or 1.2's ``<langstring xml:lang=…>``) in the best language."""
    if element is None:
        return None
    strings = [c for c in element if local_name(c) in ("string", "langstring")]
    if not strings:
        return text_of(element)

    def rank(candidate: etree._Element) -> int:
        lang = _lang_of(candidate).split("-")[0] if _lang_of(candidate) != "x-none" else "x-none"
        return LANGUAGE_PREFERENCE.index(lang) if lang in LANGUAGE_PREFERENCE else len(LANGUAGE_PREFERENCE)

    for candidate in sorted(strings, key=rank):
        text = text_of(candidate)
        if text:
            return text.strip()
    return None


def _find_manifest(archive: ZipArchive) -> str:
    names = [n for n in archive.names() if PurePosixPath(n).name.casefold() == MANIFEST]
    top = [n for n in names if "/" not in n]
    if top:
        return top[0]
    # A package zipped with its folder: exactly one manifest one level down.
    one_down = [n for n in names if n.count("/") == 1]
    if len(one_down) == 1:
        return one_down[0]
    raise input_error("input.no_manifest", path=archive.path)


def _lom(archive: ZipArchive, manifest: etree._Element, folder: str) -> etree._Element | None:
    metadata = child(manifest, "metadata")
    if metadata is None:
        return None
    inline = child(metadata, "lom")
    if inline is not None:
        return inline
    location = (text_of(child(metadata, "location")) or "").strip()
    if not location:
        return None
    member = f"{folder}{location}".replace("\\", "/")
    if not is_safe_member_name(member):
        raise input_error("input.unsafe_member", path=archive.path, member=location[:120])
    member = str(PurePosixPath(member))
    if not archive.has(member):
        return None
    root = parse_xml(archive.read(member), archive.path, member)
    if local_name(root) == "lom":
        return root
    return next((el for el in root.iter() if local_name(el) == "lom"), None)


def _organization_title(manifest: etree._Element) -> str | None:
    organizations = child(manifest, "organizations")
    if organizations is None:
        return None
    candidates = children(organizations, "organization")
    default = organizations.get("default")
    chosen = next((o for o in candidates if default and o.get("identifier") == default), None)
    chosen = chosen if chosen is not None else (candidates[0] if candidates else None)
    title = text_of(child(chosen, "title"))
    return title.strip() if title else None


def time_needed_from_duration(text: str | None) -> str | None:
    """An ISO 8601 duration (or SCORM 1.2's «0000:30:00») → «30 min»; unreadable text is kept as it is."""
    if not text or not text.strip():
        return None
    minutes = parse_minutes(text.strip())
    return format_minutes(minutes) if minutes is not None else text.strip()


def manifest_info(archive: ZipArchive, manifest_name: str) -> CourseInfo:
    """What the manifest (and its LOM metadata) can hold, as CourseInfo."""
    root = parse_xml(archive.read(manifest_name), archive.path, manifest_name)
    if local_name(root) != "manifest":
        raise input_error("input.not_a_manifest", path=archive.path, member=manifest_name, root=local_name(root))
    folder = manifest_name[: -len(MANIFEST)]
    lom = _lom(archive, root, folder)
    values: dict[str, object] = {}
    values["fullname"] = lang_string(child(lom, "general", "title")) or _organization_title(root)
    described = lang_string(child(lom, "general", "description"))
    if described:
        parts = split_description(described)
        values["summary"] = parts.pop("text")
        values["description"] = CourseDescription(**parts) if any(parts.values()) else None
    learning_time = child(lom, "educational", "typicallearningtime")
    duration = child(learning_time, "duration")
    if duration is None:  # IMS MD 1.2 (SCORM 1.2)
        duration = child(learning_time, "datetime")
    values["time_needed"] = time_needed_from_duration(text_of(duration) if duration is not None else None)
    rights = lang_string(child(lom, "rights", "description"))
    if rights:
        text = " ".join(rights.split())
        values["licence"] = normalise_licence(text) or text
    return CourseInfo.model_validate({k: v for k, v in values.items() if v is not None})


def _course_file_inside(archive: ZipArchive, folder: str) -> CourseInfo | None:
    found = [n for n in archive.names() if n.casefold() in {f"{folder}{name}".casefold() for name in COURSE_FILE_NAMES}]
    if len(found) > 1:
        raise input_error("input.ambiguous_course_file", path=archive.path, files=", ".join(found))
    if not found:
        return None
    return parse_course_file(archive.read(found[0], MAX_COURSE_FILE), f"{archive.path}:{found[0]}")


def course_file_beside(path: Path) -> Path | None:
    """``kurs.zip`` → ``kurs.toml`` (or .yaml/.yml/.json) in the same folder, if there is one."""
    found = [path.with_suffix(suffix) for suffix in COURSE_FILE_SUFFIXES if path.with_suffix(suffix).is_file()]
    found = [candidate for candidate in found if candidate != path]
    if len(found) > 1:
        raise input_error("input.ambiguous_course_file", path=path, files=", ".join(p.name for p in found))
    return found[0] if found else None


def scorm_info(data: bytes, path: Path, *, course_file: Path | None = None) -> CourseInfo:
    """A SCORM package's bytes → CourseInfo (manifest, then a course file inside, then one beside)."""
    return scorm_archive_info(ZipArchive(data, path, "SCORM/zip"), course_file=course_file)


def scorm_archive_info(archive: ZipArchive, *, course_file: Path | None = None) -> CourseInfo:
    path = archive.path
    manifest_name = _find_manifest(archive)
    info = manifest_info(archive, manifest_name)
    inside = _course_file_inside(archive, manifest_name[: -len(MANIFEST)])
    if inside is not None:
        info = info.merged(inside)
    beside = course_file if course_file is not None else course_file_beside(path)
    if beside is not None:
        info = info.merged(load_course_file(beside))
    return info


def has_manifest(names: list[str]) -> bool:
    return any(re.fullmatch(r"(?:[^/]+/)?imsmanifest\.xml", n, re.IGNORECASE) for n in names)


__all__ = ["COURSE_FILE_NAMES", "course_file_beside", "has_manifest", "lang_string", "manifest_info",
           "scorm_archive_info", "scorm_info", "time_needed_from_duration"]
