"""Reading files a user hands us, which may be broken or hostile: bounded, in memory, never extracted.

* Files are size-checked before they are read (``MAX_TEXT_FILE`` for course files and XML,
  ``MAX_ARCHIVE`` for archives).
* Archives are read member by member into memory; nothing is ever written to disk, so a member named
  ``../../etc/passwd`` cannot write anywhere. Such names are refused all the same: no real SCORM
  package or Moodle backup has them.
* Zip bombs: the member count, the declared sizes (each and in total), the declared AND the actual
  decompressed size of every member read, and the compression ratio are all bounded. A gzip'd tar is
  read as a stream through a counter that stops after ``scan_limit`` decompressed bytes.
* XML is parsed with the adapters' safe parser options (no DTD loading, no entity expansion, no network)
  and a document declaring a DOCTYPE or entities is refused outright (billion laughs, external entities).

Every failure is an ``InputError`` with one message (exit code 2 in the CLI), never a traceback.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree

from lmsbridge.adapters.wire import safe_xml_parser
from lmsbridge.errors import InputError
from lmsbridge.i18n import Message

MiB = 1024 * 1024
#: Course files and XML documents (course files are a few kB; course.xml rarely 1 MB).
MAX_TEXT_FILE = 5 * MiB
#: SCORM packages and Moodle backups, as stored.
MAX_ARCHIVE = 200 * MiB
#: Members of one archive (a large SCORM package has a few thousand files).
MAX_MEMBERS = 20_000
#: Decompressed size / compressed size, beyond which a member or an archive is taken for a bomb ...
MAX_RATIO = 100
#: ... once it decompresses to more than this (small XML files compress very well).
RATIO_FLOOR = 1 * MiB
#: Sum of the sizes a zip declares for its members.
MAX_DECLARED_TOTAL = 4 * 1024 * MiB
#: Decompressed bytes read through while looking for the members we need in a tar stream.
MAX_TAR_SCAN = 2 * 1024 * MiB


def size_text(size: int) -> str:
    if size >= MiB:
        return f"{size / MiB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size} B"


def input_error(code: str, **values: object) -> InputError:
    return InputError(Message(code, **values))


def check_file(path: Path, limit: int) -> int:
    """The file's size, after checking that it is a readable file within ``limit``."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise input_error("input.not_found", path=path) from None
    except OSError as exc:
        raise input_error("input.unreadable", path=path, reason=exc.strerror or exc.__class__.__name__) from None
    if path.is_dir():
        raise input_error("input.is_folder", path=path)
    if stat.st_size > limit:
        raise input_error("input.too_large", path=path, size=size_text(stat.st_size), limit=size_text(limit))
    return stat.st_size


def read_file(path: Path, limit: int = MAX_TEXT_FILE) -> bytes:
    """The whole file, refused when it is larger than ``limit`` (also if it grew while being read)."""
    check_file(path, limit)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise input_error("input.unreadable", path=path, reason=exc.strerror or exc.__class__.__name__) from None
    if len(data) > limit:
        raise input_error("input.too_large", path=path, size=f"> {size_text(limit)}", limit=size_text(limit))
    return data


def read_head(path: Path, size: int = 512) -> bytes:
    check_file(path, MAX_ARCHIVE)
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise input_error("input.unreadable", path=path, reason=exc.strerror or exc.__class__.__name__) from None


def is_safe_member_name(name: str) -> bool:
    """A relative path that stays inside the archive: no absolute path, drive, ``..``, NUL or backslash trick."""
    if not name or "\x00" in name:
        return False
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return False
    return ".." not in PurePosixPath(posix).parts


def member_key(name: str) -> str:
    """Normalised member name: forward slashes, no leading ``./``."""
    posix = name.replace("\\", "/")
    while posix.startswith("./"):
        posix = posix[2:]
    return posix


# --- zip ---------------------------------------------------------------------------------------------------

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError, zlib.error, KeyError, IndexError, OverflowError)  # fmt: skip


class ZipArchive:
    """A zip read in memory, member by member, under the limits above. Nothing is extracted."""

    def __init__(self, data: bytes, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise input_error("input.broken_archive", path=path, kind=kind, detail=_detail(exc)) from None
        if len(infos) > MAX_MEMBERS:
            raise input_error("input.too_many_members", path=path, limit=MAX_MEMBERS)
        self._infos: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            if not is_safe_member_name(info.filename):
                raise input_error("input.unsafe_member", path=path, member=info.filename[:120])
            key = member_key(info.filename)
            if key in self._infos and not info.is_dir():
                raise input_error("input.duplicate_member", path=path, member=key[:120])
            self._infos[key] = info
            declared += info.file_size
        if declared > MAX_DECLARED_TOTAL or (declared > RATIO_FLOOR and declared > MAX_RATIO * max(len(data), 1)):
            raise input_error("input.bomb", path=path, member=path.name,
                              detail=f"{size_text(declared)} / {size_text(len(data))}")

    def names(self) -> list[str]:
        return [name for name, info in self._infos.items() if not info.is_dir()]

    def has(self, member: str) -> bool:
        info = self._infos.get(member)
        return info is not None and not info.is_dir()

    def read(self, member: str, limit: int = MAX_TEXT_FILE) -> bytes:
        info = self._infos[member]
        if info.file_size > limit:
            raise input_error("input.member_too_large", path=self.path, member=member,
                              size=size_text(info.file_size), limit=size_text(limit))
        _check_ratio(self.path, member, info.file_size, info.compress_size)
        try:
            with self._zip.open(info) as handle:
                data = handle.read(limit + 1)
        except _ZIP_ERRORS as exc:
            raise input_error("input.broken_archive", path=self.path, kind=self.kind,
                              detail=f"{member}: {_detail(exc)}") from None
        if len(data) > limit:
            raise input_error("input.bomb", path=self.path, member=member, detail=f"> {size_text(limit)}")
        if len(data) != info.file_size:
            raise input_error("input.broken_archive", path=self.path, kind=self.kind,
                              detail=f"{member}: declared {info.file_size} bytes, holds {len(data)}")
        _check_ratio(self.path, member, len(data), info.compress_size)
        return data


def _check_ratio(path: Path, member: str, size: int, compressed: int) -> None:
    if size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1):
        raise input_error("input.bomb", path=path, member=member,
                          detail=f"{size_text(size)} / {size_text(compressed)}")


# --- tar (a Moodle backup: gzip'd tar) ------------------------------------------------------------------------


class _Budget(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``limit`` bytes (decompressed)."""

    def __init__(self, read: Callable[[int], bytes], limit: int, on_exceeded: Callable[[], InputError]) -> None:
        super().__init__()
        self.read_inner = read
        self.limit = limit
        self.used = 0
        self.on_exceeded = on_exceeded

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self.read_inner(len(view))
        self.used += len(chunk)
        if self.used > self.limit:
            raise self.on_exceeded()
        view[: len(chunk)] = chunk
        return len(chunk)


def tar_members(data: bytes, path: Path, wanted: Callable[[str], bool], *, kind: str) -> dict[str, bytes]:
    """The members ``wanted`` picks (by normalised name) of a tar or gzip'd tar, read as a stream."""
    raw = io.BytesIO(data)
    read = gzip.GzipFile(fileobj=raw, mode="rb").read if data[:2] == b"\x1f\x8b" else raw.read
    scan_limit = min(MAX_TAR_SCAN, max(RATIO_FLOOR * 50, MAX_RATIO * len(data)))

    def exceeded() -> InputError:
        return input_error("input.bomb", path=path, member=path.name, detail=f"> {size_text(scan_limit)}")

    budget = _Budget(read, scan_limit, exceeded)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BufferedReader(budget), mode="r|") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_MEMBERS:
                    raise input_error("input.too_many_members", path=path, limit=MAX_MEMBERS)
                if not is_safe_member_name(member.name):
                    raise input_error("input.unsafe_member", path=path, member=member.name[:120])
                key = member_key(member.name)
                if not member.isfile() or not wanted(key):
                    continue
                if key in found:
                    raise input_error("input.duplicate_member", path=path, member=key)
                if member.size > MAX_TEXT_FILE:
                    raise input_error("input.member_too_large", path=path, member=key,
                                      size=size_text(member.size), limit=size_text(MAX_TEXT_FILE))
                handle = archive.extractfile(member)
                content = handle.read(MAX_TEXT_FILE + 1) if handle is not None else b""
                if len(content) != member.size:
                    raise input_error("input.broken_archive", path=path, kind=kind, detail=f"{key}: truncated")
                found[key] = content
    except InputError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, OverflowError, UnicodeError) as exc:
        raise input_error("input.broken_archive", path=path, kind=kind, detail=_detail(exc)) from None
    return found


def _detail(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text[:120]}" if text else exc.__class__.__name__


# --- XML -----------------------------------------------------------------------------------------------------

_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


def _declares_dtd(data: bytes) -> bool:
    upper = data.upper()
    if any(marker in upper for marker in _DECLARATIONS):
        return True
    # UTF-16/32 documents spell the markers with NUL bytes between the letters.
    if b"\x00" in data[:4]:
        squeezed = upper.replace(b"\x00", b"")
        return any(marker in squeezed for marker in _DECLARATIONS)
    return False


def parse_xml(data: bytes, path: Path, member: str) -> etree._Element:
    """Untrusted XML → its root element. DOCTYPE/entity declarations are refused, nothing is fetched."""
    if len(data) > MAX_TEXT_FILE:
        raise input_error("input.member_too_large", path=path, member=member, size=size_text(len(data)),
                          limit=size_text(MAX_TEXT_FILE))
    if _declares_dtd(data):
        raise input_error("input.xml_doctype", path=path, member=member)
    try:
        root = etree.fromstring(data, parser=safe_xml_parser())
    except (etree.LxmlError, ValueError, UnicodeError) as exc:
        raise input_error("input.xml_malformed", path=path, member=member, detail=_detail(exc)) from None
    if root is None:
        raise input_error("input.xml_malformed", path=path, member=member, detail="empty document")
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise input_error("input.xml_doctype", path=path, member=member)
    return root


def local_name(element: etree._Element) -> str:
    """The tag without its namespace, lower-cased (LOM and IMS CP come in several namespace versions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].casefold()


def children(element: etree._Element, name: str) -> list[etree._Element]:
    wanted = name.casefold()
    return [child for child in element if local_name(child) == wanted]


def child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element along ``path`` (local names, any namespace), or None."""
    current = element
    for name in path:
        if current is None:
            return None
        found = children(current, name)
        current = found[0] if found else None
    return current


def text_of(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(str(part) for part in element.itertext())
    return text if text.strip() else None


__all__ = [
    "MAX_ARCHIVE",
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TEXT_FILE",
    "ZipArchive",
    "check_file",
    "child",
    "children",
    "input_error",
    "is_safe_member_name",
    "local_name",
    "parse_xml",
    "read_file",
    "read_head",
    "tar_members",
    "text_of",
]
