"""Reading files a user hands us, which may be broken or hostile: bounded, in memory, never extracted.

* Files are size-checked before they are read (``MAX_TEXT_FILE`` for course files and XML,
  ``MAX_ARCHIVE`` for archives), and only regular files are opened: a FIFO, a device or a folder is
  refused by what ``fstat`` says of the opened descriptor (opened non-blocking, so a FIFO with no
  writer cannot hang the read).
* Archives are read member by member into memory; nothing is ever written to disk, so a member named
  ``../../etc/passwd`` cannot write anywhere. Such names are refused all the same: no real SCORM
  package or Moodle backup has them.
* Zip bombs: the member count, the declared sizes (each and in total), the declared AND the actual
  decompressed size of every member read, and the compression ratio are all bounded. The member count
  is read from the end-of-central-directory record (and the central directory's entry signatures)
  BEFORE ``zipfile`` builds an object per entry. A gzip'd tar is read as a stream through a counter
  that stops after ``scan_limit`` decompressed bytes; a PAX header or GNU long name is refused by its
  declared size before ``tarfile`` reads it into memory, and GNU sparse members (whose maps grow without
  bound) are refused outright.
* XML is parsed with the adapters' safe parser options (no DTD loading, no entity expansion, no network)
  and a document declaring a DOCTYPE or entities is refused outright (billion laughs, external entities).

Every failure is an ``InputError`` with one message (exit code 2 in the CLI), never a traceback.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

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


def size_text(size: int) -> Message:
    """A size for people, its number the language's way when shown («57,2 MB»)."""
    if size >= MiB:
        return Message("size.mb", size=round(size / MiB, 1))
    if size >= 1024:
        return Message("size.kb", size=round(size / 1024))
    return Message("size.bytes", size=size)


def more_than(size: int) -> Message:
    return Message("size.more_than", size=size_text(size))


def ratio(size: int, compressed: int) -> Message:
    return Message("size.ratio", size=size_text(size), compressed=size_text(compressed))


def input_error(code: str, **values: object) -> InputError:
    return InputError(Message(code, **values))


def _unreadable(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return input_error("input.not_found", path=path)
    return input_error("input.unreadable", path=path, reason=exc.strerror or exc.__class__.__name__)


def _check_kind(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise input_error("input.is_folder", path=path)
    if not stat.S_ISREG(mode):
        raise input_error("input.not_regular", path=path)


def check_file(path: Path, limit: int) -> int:
    """The file's size, after checking that it is a regular, readable file within ``limit``."""
    try:
        found = path.stat()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    _check_kind(path, found.st_mode)
    if found.st_size > limit:
        raise input_error("input.too_large", path=path, size=size_text(found.st_size), limit=size_text(limit))
    return found.st_size


def open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for reading, refused unless the opened file IS a regular file.

    Non-blocking, so opening a FIFO returns at once (a blocking open waits for a writer forever); the check
    is on the descriptor itself, so a file swapped for a FIFO after ``check_file`` is refused too."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        _check_kind(path, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_file(path: Path, limit: int = MAX_TEXT_FILE) -> bytes:
    """The whole file, refused when it is larger than ``limit`` (also if it grew while being read)."""
    check_file(path, limit)
    try:
        with open_regular(path) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if len(data) > limit:
        raise input_error("input.too_large", path=path, size=more_than(limit), limit=size_text(limit))
    return data


def read_head(path: Path, size: int = 512) -> bytes:
    check_file(path, MAX_ARCHIVE)
    try:
        with open_regular(path) as handle:
            return handle.read(size)
    except OSError as exc:
        raise _unreadable(path, exc) from None


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
        # Before zipfile: it builds an object for every entry of the central directory (2 million entries
        # took 1.2 GB) and only then could the count be checked.
        if zip_member_bound(data) > MAX_MEMBERS:
            raise input_error("input.too_many_members", path=path, limit=MAX_MEMBERS)
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
                              detail=ratio(declared, len(data)))

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
            raise input_error("input.bomb", path=self.path, member=member, detail=more_than(limit))
        if len(data) != info.file_size:
            raise input_error("input.broken_archive", path=self.path, kind=self.kind,
                              detail=f"{member}: declared {info.file_size} bytes, holds {len(data)}")
        _check_ratio(self.path, member, len(data), info.compress_size)
        return data


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory: signature … entries here, entries, size, offset
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # … entries here, entries, size, offset
_CENTRAL_ENTRY = b"PK\x01\x02"


def zip_member_bound(data: bytes) -> int:
    """At least as many members as ``zipfile`` would read from this zip, without reading them: the largest of
    the counts the end records declare and the entry signatures in the central directory they point at
    (``zipfile`` reads entries until the directory's declared size is used up, whatever the count says,
    and every entry starts with a signature). 0 when there is no end record (zipfile will say it is broken)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 0xFFFF))
    if at < 0 or len(data) - at < _EOCD.size:
        return 0
    _, _, _, here, total, size, _, _ = _EOCD.unpack_from(data, at)
    count, end = max(here, total), at
    locator = at - _ZIP64_LOCATOR.size
    record = locator - _ZIP64_EOCD.size
    if record >= 0 and data[locator:locator + 4] == b"PK\x06\x07" and data[record:record + 4] == b"PK\x06\x06":
        fields = _ZIP64_EOCD.unpack_from(data, record)
        count, size, end = max(count, int(fields[6]), int(fields[7])), int(fields[8]), record
    return max(int(count), data.count(_CENTRAL_ENTRY, max(0, end - int(size)), end))


def _check_ratio(path: Path, member: str, size: int, compressed: int) -> None:
    if size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1):
        raise input_error("input.bomb", path=path, member=member,
                          detail=ratio(size, compressed))


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


#: The data of a PAX extended header or a GNU long name: one member's name and attributes, never megabytes.
MAX_TAR_HEADER = 64 * 1024
_TAR_BUFFER = 1024 * 1024
_HEADER_EXTENSIONS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
                      tarfile.SOLARIS_XHDTYPE)


class _RefusedHeader(Exception):
    """A tar header ``tarfile`` would act on without bound; ``kind`` says which (for the message)."""

    def __init__(self, kind: str, size: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.size = size


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile's member header, refusing what it would otherwise read without bound: a PAX header or GNU long
    name is read whole into memory by its declared size (a 23 MB backup declaring gigabytes took 4-6 GB),
    and a GNU sparse map grows entry by entry for as long as the stream goes on. No Moodle backup has either
    beyond a few hundred bytes."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _HEADER_EXTENSIONS and self.size > MAX_TAR_HEADER:
            raise _RefusedHeader("header", self.size)
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise _RefusedHeader("sparse")
        member: tarfile.TarInfo = tarfile.TarInfo._proc_member(self, tarfile_)  # type: ignore[attr-defined]
        return member

    def _proc_gnusparse_10(self, next_: tarfile.TarInfo, pax_headers: dict[str, str],
                           tarfile_: tarfile.TarFile) -> None:
        raise _RefusedHeader("sparse")


def tar_members(data: bytes, path: Path, wanted: Callable[[str], bool], *, kind: str) -> dict[str, bytes]:
    """The members ``wanted`` picks (by normalised name) of a tar or gzip'd tar, read as a stream."""
    raw = io.BytesIO(data)
    read = gzip.GzipFile(fileobj=raw, mode="rb").read if data[:2] == b"\x1f\x8b" else raw.read
    scan_limit = min(MAX_TAR_SCAN, max(RATIO_FLOOR * 50, MAX_RATIO * len(data)))

    def exceeded() -> InputError:
        return input_error("input.bomb", path=path, member=path.name, detail=more_than(scan_limit))

    budget = _Budget(read, scan_limit, exceeded)
    found: dict[str, bytes] = {}
    try:
        # A large buffer: members skipped are read through in 1 MB steps, not tarfile's 10 kB records.
        with tarfile.open(fileobj=io.BufferedReader(budget, _TAR_BUFFER), mode="r|", bufsize=_TAR_BUFFER,
                          tarinfo=_BoundedTarInfo) as archive:
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
    except _RefusedHeader as exc:
        if exc.kind == "sparse":
            raise input_error("input.tar_sparse", path=path) from None
        raise input_error("input.tar_header", path=path, size=size_text(exc.size),
                          limit=size_text(MAX_TAR_HEADER)) from None
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, OverflowError, UnicodeError,
            RecursionError) as exc:  # RecursionError: a chain of thousands of PAX headers
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
    "MAX_TAR_HEADER",
    "MAX_TEXT_FILE",
    "ZipArchive",
    "check_file",
    "child",
    "children",
    "input_error",
    "is_safe_member_name",
    "local_name",
    "open_regular",
    "parse_xml",
    "read_file",
    "read_head",
    "tar_members",
    "text_of",
    "zip_member_bound",
]
