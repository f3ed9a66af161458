"""Fuzzing the file parsers: any bytes give a CourseInfo or an InputError, never anything else."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmsbridge.errors import InputError
from lmsbridge.validation.files import load_any

EXAMPLE = (Path(__file__).parent.parent.parent / "examples" / "course.toml").read_bytes()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        load_any(path)


@FUZZ
@given(data=st.binary(max_size=2048), name=st.sampled_from(["c.toml", "c.json", "c.yaml", "c.zip", "c.mbz", "c.txt"]))
def test_random_bytes(tmp_path: Path, data: bytes, name: str) -> None:
    outcome(tmp_path, name, data)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(EXAMPLE)), junk=st.binary(max_size=16))
def test_mutated_course_file(tmp_path: Path, cut: int, junk: bytes) -> None:
    outcome(tmp_path, "c.toml", EXAMPLE[:cut] + junk + EXAMPLE[cut:])


@FUZZ
@given(manifest=st.binary(max_size=1024), flip=st.integers(min_value=0, max_value=400))
def test_mutated_scorm_zip(tmp_path: Path, manifest: bytes, flip: int) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("imsmanifest.xml", b"<manifest>" + manifest + b"</manifest>")
    data = bytearray(raw.getvalue())
    if flip < len(data):
        data[flip] ^= 0xFF
    outcome(tmp_path, "p.zip", bytes(data))
