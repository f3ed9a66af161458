"""Hostile files are refused within 512 MB and 10 s: exit 2 and one line, measured on the real command.

Each file once exhausted memory or hung ``validate``: a 23 MB .mbz with a PAX/GNU long-name header (3.9-5.8
GB), a YAML list of 5 MB (1.5 GB, 60 s), a zip with 2M entries (1.2 GB: the limit was checked after
``infolist()``), a FIFO named ``x.toml`` (forever). ``lmsbridge validate`` runs in a child process; its peak
memory (``ru_maxrss``) and CPU time come from ``os.wait4``, a watchdog kills it if it hangs. The files are
small on disk: a gzip of many members of zeros decompresses to gigabytes from a few MB.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmsbridge.readers import backup_info
from lmsbridge.readers.coursefile import MAX_COURSE_FILE
from tests.readers.builders import COURSE_XML, MOODLE_BACKUP_XML

MiB = 1024 * 1024
MEMORY_LIMIT = 512 * MiB
TIME_LIMIT = 10.0
#: The watchdog: a command still running after this is killed (the test then fails on its exit code).
HANG_LIMIT = 60.0

ZEROS = gzip.compress(b"\0" * 8 * MiB, compresslevel=9)  # 8 MB of zeros in ~8 kB: a gzip member


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    peak: int  # bytes
    cpu: float  # seconds, user + system
    wall: float


#: Runs a command and writes its exit code, peak memory and CPU time to a file. A small process of its own:
#: Linux counts into a child's ``ru_maxrss`` the memory of the process it was forked from (until its exec),
#: so the command is started from this wrapper, not from the test process and the files it holds.
MEASURE = """
import json, os, subprocess, sys, threading, time
report, limit, *command = sys.argv[1:]
started = time.monotonic()
child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
watchdog = threading.Timer(float(limit), child.kill)
watchdog.start()
_, status, usage = os.wait4(child.pid, 0)
watchdog.cancel()
child.returncode = os.waitstatus_to_exitcode(status)
with open(report, "w") as out:
    json.dump({"code": child.returncode, "peak": usage.ru_maxrss * 1024, "cpu": usage.ru_utime + usage.ru_stime,
               "wall": time.monotonic() - started}, out)
"""


def validate_in_child(path: Path, cwd: Path) -> Outcome:
    """``lmsbridge validate PATH`` in a child process, with its peak memory and CPU time."""
    report = cwd / "measured.json"
    done = subprocess.run([sys.executable, "-c", MEASURE, str(report), str(HANG_LIMIT), sys.executable, "-m",
                           "lmsbridge", "validate", str(path)], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=HANG_LIMIT + 30, check=False)
    measured = json.loads(report.read_text(encoding="utf-8"))
    return Outcome(measured["code"], done.stdout.decode("utf-8", "replace"), measured["peak"], measured["cpu"],
                   measured["wall"])


# --- the files -----------------------------------------------------------------------------------------------


def tar_header(name: str, size: int, kind: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def zeros_after(head: bytes, zero_mib: int, noise_mib: int) -> bytes:
    """gzip: ``head``, then ``zero_mib`` MB of zeros (a few kB on disk), then incompressible noise that makes
    the file big enough for a generous scan budget (``MAX_RATIO`` times its size)."""
    members = [gzip.compress(head, compresslevel=1)] + [ZEROS] * (zero_mib // 8)
    members.append(gzip.compress(random.Random(1).randbytes(noise_mib * MiB), compresslevel=0))
    return b"".join(members)


def with_checksum(header: bytearray) -> bytes:
    """A tar header block with its checksum recomputed (after a byte of it was changed)."""
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def gnu_sparse_member() -> bytes:
    """A GNU sparse member: its map of extents goes on for as long as the stream says «more follows»."""
    header = bytearray(tar_header("course/course.xml", 0, tarfile.GNUTYPE_SPARSE))
    header[482] = 1  # isextended
    extension = b"\0" * 504 + b"\1" + b"\0" * 7  # each extension block: no extents, and another follows
    return gzip.compress(with_checksum(header) + extension * 20_000)


#: A zip's first local header (for a member «a»): what makes a file a zip at first sight.
LOCAL = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"


def zip64_end_declaring(entries: int, central: bytes = b"") -> bytes:
    """A zip of the one local header, ``central`` and end records (zip64 and classic) for ``entries`` entries."""
    offset = len(LOCAL)
    record_at = offset + len(central)
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, len(central), offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return LOCAL + central + zip64 + locator + end


def central_entry(name: bytes) -> bytes:
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0) + name


def yaml_laughs() -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


def written(name: str, content: Callable[[], bytes]) -> Callable[[Path], Path]:
    """A builder of the file ``name`` in the test's folder."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content())
        return path

    return build


def fifo(folder: Path) -> Path:
    path = folder / "x.toml"
    os.mkfifo(path)
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    # a PAX header / GNU long name declaring 1 GB, then 1 GB of zeros: tarfile read it whole into memory
    "PAX header of 1 GB": (written("pax.mbz", lambda: zeros_after(
        tar_header("././@PaxHeader", 1024 * MiB, tarfile.XHDTYPE), 1024, 8)), "tar-header"),
    "GNU long name of 1 GB": (written("gnu.mbz", lambda: zeros_after(
        tar_header("././@LongLink", 1024 * MiB, tarfile.GNUTYPE_LONGNAME), 1024, 8)), "tar-header"),
    "GNU sparse member": (written("sparse.mbz", gnu_sparse_member), "sparse"),
    "zip declaring 2M entries": (written("declared.zip", lambda: zip64_end_declaring(2_000_000)), "over 20000 filer"),
    # 1.2 million entries (zipfile built an object for each: > 600 MB) while the end records say 1
    "zip of 1.2M entries saying 1": (written("many.zip", lambda: zip64_end_declaring(
        1, central_entry(b"a") * 1_200_000)), "over 20000 filer"),
    "FIFO named x.toml": (fifo, "ikke en vanlig fil"),
    "a device": (lambda folder: Path(os.devnull), "ikke en vanlig fil"),
    # just under the 5 MiB of any text file: a minute and 1.5 GB of the pure-Python parser
    "YAML list of 5 MB": (written("list.yaml", lambda: b"fullname:\n" + b"- 1\n" * 1_240_000), "for stor"),
    # within the size limit, but 60,000 values: a course file has a few dozen
    "YAML of 60,000 nodes": (written("nodes.yaml", lambda: b"fullname: [" + b"1," * 60_000 + b"1]\n"), "verdier"),
    "YAML billion laughs": (written("laughs.yaml", yaml_laughs), "alias"),
    "TOML list of 5 MB": (written("list.toml", lambda: b"fullname = [" + b"1," * 2_400_000 + b"]\n"), "for stor"),
    # the largest course file allowed, all of it one list: the slowest thing the TOML parser may be given
    "TOML list within the limit": (written("long.toml", lambda: b"fullname = [" + b"1," * ((MAX_COURSE_FILE - 20) // 2)
                                           + b"]\n"), "fullname: skal være tekst"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_file_is_refused_within_bounds(tmp_path: Path, case: str) -> None:
    build, expected = CASES[case]
    path = build(tmp_path)
    outcome = validate_in_child(path, tmp_path)
    lines = outcome.output.strip().splitlines()
    assert outcome.code == 2, outcome.output
    assert len(lines) == 1 and lines[0].startswith("Feil: ") and expected in lines[0], outcome.output
    assert outcome.peak < MEMORY_LIMIT, f"peak {outcome.peak / MiB:.0f} MB"
    assert outcome.cpu < TIME_LIMIT, f"{outcome.cpu:.1f} s of CPU"
    assert outcome.wall < HANG_LIMIT


def test_a_good_backup_still_reads_with_the_bounded_tar_reader(tmp_path: Path) -> None:
    """Long names the ordinary way (a PAX header of a few hundred bytes) are fine."""
    raw = tmp_path / "long.tar"
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in (("moodle_backup.xml", MOODLE_BACKUP_XML), ("course/course.xml", COURSE_XML),
                           ("files/" + "x" * 300 + ".bin", b"data")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = {"comment": "é" * 200}
            archive.addfile(info, io.BytesIO(data))
    info = backup_info(gzip.compress(raw.read_bytes()), tmp_path / "long.mbz")
    assert info.shortname
