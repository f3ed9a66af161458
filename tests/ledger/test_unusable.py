"""A ledger file that cannot be used (missing, not a ledger, damaged, not writable, in a folder that is a file) is a
configuration error, exit 2, in plain words: never SQLite's own text (issue 13)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import Ledger
from lmsbridge.ledger.database import unusable
from lmsbridge.ledger.errors import LedgerUnusableError

SQLITE_WORDS = ("unable to open database file", "file is not a database", "readonly database", "malformed")


def refused(path: Path) -> LedgerUnusableError:
    with pytest.raises(LedgerUnusableError) as caught:
        Ledger.open(path).close()
    message = caught.value.message.render("en")
    assert not any(words in message for words in SQLITE_WORDS), message
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value


def test_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    junk = tmp_path / "ledger.db"
    junk.write_bytes(b"this is a spreadsheet, not a ledger " * 64)
    assert "the file is not a ledger (not an SQLite database)" in refused(junk).message.render("en")


def test_a_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("", encoding="utf-8")
    error = refused(tmp_path / "var" / "ledger.db")
    assert f"{tmp_path / 'var'} is a file, not a folder" in error.message.render("en")


def test_a_folder_given_as_the_ledger(tmp_path: Path) -> None:
    assert "is a folder" in refused(tmp_path).message.render("en")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_a_ledger_this_user_may_not_write(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    Ledger.open(folder / "ledger.db").close()
    (folder / "ledger.db").chmod(0o400)
    folder.chmod(0o500)
    try:
        message = refused(folder / "ledger.db").message.render("en")
        assert "cannot be written" in message or "cannot be opened" in message
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(("words", "reason"), [
    ("attempt to write a readonly database", "it cannot be written"),
    ("database disk image is malformed", "the file is damaged"),
    ("unable to open database file", "the file cannot be opened or created"),
    ("file is not a database", "the file is not a ledger"),
])
def test_sqlites_words_become_a_reason(tmp_path: Path, words: str, reason: str) -> None:
    error = unusable(str(tmp_path / "ledger.db"), sqlite3.OperationalError(words))
    assert error is not None and reason in error.message.render("en")


def test_other_sqlite_errors_are_not_the_files_fault(tmp_path: Path) -> None:
    assert unusable(str(tmp_path / "ledger.db"), sqlite3.OperationalError("database is locked")) is None


def test_ledger_verify_on_a_missing_or_foreign_file_exits_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(cli, ["ledger", "verify", "--ledger", str(tmp_path / "typo.db")])
    assert missing.exit_code == 2 and "typo.db" in missing.output and not (tmp_path / "typo.db").exists()
    junk = tmp_path / "notes.txt"
    junk.write_text("notes " * 300, encoding="utf-8")
    foreign = CliRunner().invoke(cli, ["--lang", "en", "ledger", "verify", "--ledger", str(junk)])
    assert foreign.exit_code == 2 and "not a ledger" in foreign.output
    assert "file is not a database" not in foreign.output
    bad_url = CliRunner().invoke(cli, ["ledger", "verify", "--ledger", "mysql://x/y"])
    assert bad_url.exit_code == 2
