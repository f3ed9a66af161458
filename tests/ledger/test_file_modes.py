"""The ledger's files are its owner's alone: the SQLite file, its -wal and -shm, and the run-lock files are
created 0600 whatever the umask (they hold pseudonyms, course histories and who did what)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmsbridge.ledger import Ledger


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files (0022, the usual default; 0000 here to be sure)."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_the_ledger_and_its_journal_files_are_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "ledger.db"
    with Ledger.open(path) as ledger, ledger.acquire_lock("sync"):
        files = sorted(tmp_path.rglob("ledger.db*"))
        assert {p.name for p in files} >= {"ledger.db", "ledger.db-wal", "ledger.db-shm", "ledger.db.sync.lock"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_ledger_keeps_the_mode_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(path):
        pass
    path.chmod(0o640)  # an administrator's choice (a backup group) is left alone
    with Ledger.open(path):
        pass
    assert mode(path) == 0o640
