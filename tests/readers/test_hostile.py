"""Bad and hostile input: each ends in ONE clear message and exit code 2, never a traceback, nothing fetched."""

from __future__ import annotations

import io
import random
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from lmsbridge.errors import InputError
from lmsbridge.readers import load_path, untrusted
from tests.readers.builders import (
    COURSE_XML,
    MOODLE_BACKUP_XML,
    backup_members,
    make_mbz,
    make_zip,
    scorm_members,
    tar_bytes,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<manifest>&lol3;</manifest>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]><manifest>&x;</manifest>"""
EXTERNAL_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY x SYSTEM "file:///etc/passwd">]><manifest><metadata>&x;</metadata></manifest>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><manifest/>"""
UTF16_DOCTYPE = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE m [<!ENTITY x "y">]><manifest>&x;</manifest>'.encode(
    "utf-16"
)
NOISE = random.Random(3).randbytes(6_000_000)  # does not compress: only the size limit applies
DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE manifest SYSTEM "http://127.0.0.1:9/m.dtd"><manifest/>'


def zip_bomb(folder: Path) -> Path:
    """A manifest that inflates from ~30 kB to 30 MB (beyond the 5 MB limit for XML)."""
    return make_zip(folder / "bomb.zip", {"imsmanifest.xml": b"<manifest>" + b" " * 30_000_000 + b"</manifest>"})


def lying_zip(folder: Path) -> Path:
    """A zip whose headers claim a tiny manifest that actually inflates to 6 MB: never read past the claim,
    and the content does not match it."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", b"<manifest>" + b"a" * 6_000_000 + b"</manifest>")
    data = bytearray(raw.getvalue())
    # Patch the uncompressed size (local header offset 22, central directory entry offset 24) to 100 bytes.
    data[22:26] = (100).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    return write(folder / "liar.zip", bytes(data))


def ratio_bomb(folder: Path) -> Path:
    """Many members each declaring a big size: the declared total is far beyond the archive's size."""
    path = folder / "ratio.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", b"<manifest/>")
        for index in range(40):
            archive.writestr(f"video{index}.bin", b"\0" * 2_000_000)
    return path


def many_members(folder: Path) -> Path:
    path = folder / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(untrusted.MAX_MEMBERS + 1):
            archive.writestr(f"f{index}", b"")
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing file": (lambda d: d / "nope.toml", "finnes ikke"),
    "a folder": (lambda d: d, "er en mappe"),
    "empty zip name": (lambda d: write(d / "empty.zip", b""), "ikke et lesbart ZIP-arkiv"),
    "broken zip": (lambda d: write(d / "broken.zip", b"PK\x03\x04 this is not a zip"), "ikke et lesbart"),
    "truncated zip": (lambda d: write(d / "cut.zip", (make_zip(d / "x.zip", scorm_members())).read_bytes()[:300]),
                      "ikke et lesbart"),
    "zip without manifest": (lambda d: make_zip(d / "p.zip", {"index.html": b"<html/>"}), "ingen imsmanifest.xml"),
    "zip of neither kind": (lambda d: make_zip(d / "p.mbz.zip.bin", {"a.txt": b"x"}), "verken imsmanifest.xml"),
    "malformed manifest": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": b"<manifest><unclosed>"}),
                           "ugyldig XML"),
    "not a manifest": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": b"<html/>"}), "ikke et IMS-manifest"),
    "billion laughs": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": BILLION_LAUGHS}), "DOCTYPE"),
    "external entity (http)": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": EXTERNAL_ENTITY}), "DOCTYPE"),
    "external entity (file)": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": EXTERNAL_FILE}), "DOCTYPE"),
    "parameter entity": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": PARAMETER_ENTITY}), "DOCTYPE"),
    "external DTD": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": DTD_ONLY}), "DOCTYPE"),
    "UTF-16 doctype": (lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": UTF16_DOCTYPE}), "DOCTYPE"),
    "entities in course.xml": (lambda d: make_mbz(d / "b.mbz", {"moodle_backup.xml": MOODLE_BACKUP_XML,
                                                                "course/course.xml": BILLION_LAUGHS}), "DOCTYPE"),
    "zip bomb": (zip_bomb, "for mye"),
    "zip lying about sizes": (lying_zip, "ikke et lesbart"),
    "declared sizes far beyond the archive": (ratio_bomb, "zip-bombe"),
    "too many members": (many_members, "over 20000 filer"),
    "path traversal": (lambda d: make_zip(d / "p.zip", {"../../etc/imsmanifest.xml": b"<manifest/>"}),
                       "farlig filnavn"),
    "absolute member": (lambda d: make_zip(d / "p.zip", {"/etc/passwd": b"x", **scorm_members()}), "farlig filnavn"),
    "windows traversal": (lambda d: make_zip(d / "p.zip", {"..\\..\\evil.xml": b"x", **scorm_members()}),
                          "farlig filnavn"),
    "metadata location traversal": (
        lambda d: make_zip(d / "p.zip", {"imsmanifest.xml": b"<manifest><metadata><location>../../../etc/passwd"
                                         b"</location></metadata></manifest>"}), "farlig filnavn"),
    "traversal in a backup": (lambda d: make_mbz(d / "b.mbz", {"../x": b"x", **backup_members()}), "farlig filnavn"),
    "broken mbz": (lambda d: write(d / "broken.mbz", b"\x1f\x8b\x08 not gzip really"), "ikke et lesbart"),
    "truncated mbz": (lambda d: write(d / "cut.mbz", make_mbz(d / "x.mbz").read_bytes()[:200]), "ikke et lesbart"),
    "gzip bomb": (lambda d: write(d / "bomb.mbz", tar_bytes({"moodle_backup.xml": b"<a/>",
                                                             "pad.bin": b"\0" * 110_000_000})), "for mye"),
    "mbz with a huge course.xml": (lambda d: make_mbz(d / "b.mbz", {"moodle_backup.xml": MOODLE_BACKUP_XML,
                                                                    "course/course.xml": b" " * 6_000_000}),
                                   "for stor"),
    "mbz without course.xml": (lambda d: make_mbz(d / "b.mbz", {"moodle_backup.xml": MOODLE_BACKUP_XML}),
                               "ingen course/course.xml"),
    "mbz twice the same member": (lambda d: make_mbz(d / "b.mbz", {"moodle_backup.xml": MOODLE_BACKUP_XML,
                                                                   "course/course.xml": COURSE_XML,
                                                                   "./course/course.xml": COURSE_XML}),
                                  "flere ganger"),
    "bzip2 archive": (lambda d: write(d / "b.mbz", b"BZh91AY&SY" + b"\0" * 40), "arkivformatet støttes ikke"),
    "a zip named .mbz with text inside": (lambda d: write(d / "b.mbz", b"just text"), "ikke et lesbart MBZ-arkiv"),
    "malformed toml": (lambda d: write(d / "c.toml", b"fullname = \n"), "ikke gyldig TOML"),
    "wrong type": (lambda d: write(d / "c.json", b'{"fullname": {"a": 1}}'), "skal være tekst"),
    "binary course file": (lambda d: write(d / "c.yaml", b"\xff\xfe\x00\x01"), "ikke en tekstfil"),
    "over-large course file": (lambda d: write(d / "c.toml", b"#" * (untrusted.MAX_TEXT_FILE + 1)), "for stor"),
    "over-large course file inside a package": (
        lambda d: make_zip(d / "p.zip", scorm_members(**{"kursinfo.toml": NOISE[: untrusted.MAX_TEXT_FILE + 1]})),
        "for stor"),
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach the network (external entities, DTDs): any attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_message_and_exit_2(tmp_path: Path, case: str) -> None:
    build, message = CASES[case]
    path = build(tmp_path)
    with pytest.raises(InputError) as caught:
        load_path(path)
    assert message in str(caught.value), str(caught.value)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Feil: "), result.output


def test_an_archive_over_the_limit_is_refused_before_it_is_read(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    package = make_zip(tmp_path / "p.zip", scorm_members())
    monkeypatch.setattr(untrusted, "MAX_ARCHIVE", 100)
    from lmsbridge.readers import sources

    monkeypatch.setattr(sources, "MAX_ARCHIVE", 100)
    with pytest.raises(InputError, match="for stor"):
        load_path(package)


def test_nothing_is_ever_written_to_disk(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "p.zip", {"../escaped.xml": b"x", **scorm_members()})
    before = sorted(p.name for p in tmp_path.parent.rglob("*") if p.is_file())
    with pytest.raises(InputError):
        load_path(package)
    load_path(make_mbz(tmp_path / "ok.mbz"))
    after = sorted(p.name for p in tmp_path.parent.rglob("*") if p.is_file())
    assert sorted(set(after) - set(before)) == ["ok.mbz"]


@pytest.mark.parametrize("name", ["a.xml", "../a", "a/../../b", "/abs", "C:/x", "a\\..\\..\\b", "a\x00b", ""])
def test_member_names(name: str) -> None:
    assert untrusted.is_safe_member_name(name) is (name == "a.xml")
