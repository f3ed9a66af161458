"""Opening a ledger: where it may be, named migrations applied once and in order, an old ledger upgraded."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import MIGRATIONS, Ledger, LedgerConstraintError, Migration
from lmsbridge.ledger import migrations as migration_module
from lmsbridge.ledger.chain import GENESIS, event_hash
from lmsbridge.ledger.database import Database, connect, parse_location
from lmsbridge.ledger.errors import LedgerUnusableError
from tests.ledger.support import NOW, Raw, new_share, share_fields

NAMES = [m.name for m in MIGRATIONS]


def test_a_new_ledger_gets_every_migration_in_order_and_a_reopened_one_none(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as first:
        assert first.applied_migrations() == NAMES
        new_share(first)
    with Ledger.open(ledger_url) as again:
        assert again.migrate() == []
        assert again.applied_migrations() == NAMES
        assert again.get_share("S-0001") is not None  # the data survived the reopen
    raw = Raw(ledger_url)
    assert raw.execute("SELECT COUNT(*) FROM migrations") == [(len(NAMES),)]
    raw.close()


def test_each_migration_is_its_own_transaction(ledger_url: str) -> None:
    def good(db: Database) -> None:
        db.execute("CREATE TABLE first_table (x INTEGER)")

    def half_done(db: Database) -> None:
        db.execute("CREATE TABLE second_table (x INTEGER)")
        db.execute("THIS IS NOT SQL")

    def fixed(db: Database) -> None:
        db.execute("CREATE TABLE second_table (x INTEGER)")

    db = connect(parse_location(ledger_url))
    try:
        with pytest.raises(LedgerError):
            migration_module.migrate(db, "t1", [Migration("a", good), Migration("b", half_done)])
        # "a" stays applied; "b" left nothing behind, not even its first table.
        assert migration_module.applied(db) == ["a"]
        db.execute("SELECT x FROM first_table")
        with pytest.raises(LedgerError):
            db.execute("SELECT x FROM second_table")
        assert migration_module.migrate(db, "t2", [Migration("a", good), Migration("b", fixed)]) == ["b"]
        assert migration_module.applied(db) == ["a", "b"]
    finally:
        db.close()


def test_a_ledger_from_a_newer_lmsbridge_is_refused(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    raw = Raw(ledger_url)
    raw.execute("INSERT INTO migrations (name, applied_at) VALUES ('9999_from_the_future', 'x')")
    raw.close()
    with pytest.raises(LedgerError, match="9999_from_the_future"):
        Ledger.open(ledger_url)


def test_a_ledger_written_before_the_chain_head_is_upgraded_and_still_verifies(tmp_path: Path) -> None:
    # A ledger of the first release (migrations 0001-0002): a share and its events, but no chain_head yet.
    path = str(tmp_path / "old.db")
    db = connect(parse_location(path))
    migration_module.migrate(db, "2026-01-01T00:00:00+00:00", MIGRATIONS[:2])
    row = {**share_fields(), "flow": "hospital-to-ks", "label": "delt til KS Læring", "id": "S-0001",
           "state": "approved", "created_at": NOW.isoformat(), "updated_at": NOW.isoformat()}
    db.execute(f"INSERT INTO shares ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    prev = GENESIS
    for seq, action in enumerate(("request", "approve"), start=1):
        at = NOW.isoformat()
        digest = event_hash(seq, "S-0001", at, "Ola", action, "{}", prev)
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (seq, "S-0001", at, "Ola", action, "{}", prev, digest))
        prev = digest
    db.close()

    with Ledger.open(path) as upgraded:
        assert upgraded.applied_migrations() == NAMES
        report = upgraded.verify()
        # The two old events as written, then 0006's baseline that stamps the share as it was.
        assert report.ok and report.events == 3 and report.rows == 1, report
        old, baseline = upgraded.events()[1], upgraded.events()[2]
        assert old.hash == prev and baseline.prev_hash == prev and baseline.action == "ledger.baseline"
        assert [r.row for r in baseline.rows] == ["S-0001"]
        upgraded.append_event(share_id="S-0001", actor="Kari", action="publish")
        assert upgraded.verify().ok


@pytest.mark.parametrize(
    ("given", "dialect", "target"),
    [
        (":memory:", "sqlite", ":memory:"),
        ("sqlite://", "sqlite", ":memory:"),
        ("sqlite:///:memory:", "sqlite", ":memory:"),
        ("sqlite:///var/ledger.db", "sqlite", "var/ledger.db"),
        ("sqlite:////var/lib/lmsbridge/ledger.db", "sqlite", "/var/lib/lmsbridge/ledger.db"),
        ("/var/lib/lmsbridge/ledger.db", "sqlite", "/var/lib/lmsbridge/ledger.db"),
        ("ledger.db", "sqlite", "ledger.db"),
        ("postgresql://lmsbridge@db/lmsbridge", "postgresql", "postgresql://lmsbridge@db/lmsbridge"),
        ("postgres://lmsbridge@db/lmsbridge", "postgresql", "postgresql://lmsbridge@db/lmsbridge"),
        ("postgresql+psycopg://lmsbridge@db/x", "postgresql", "postgresql://lmsbridge@db/x"),
    ],
)
def test_ledger_locations(given: str, dialect: str, target: str) -> None:
    location = parse_location(given)
    assert (location.dialect, location.target) == (dialect, target)


@pytest.mark.parametrize("given", ["mysql://x/y", "", "sqlite://relative", "sqlite:///"])
def test_unknown_locations_are_refused(given: str) -> None:
    with pytest.raises(LedgerError):
        parse_location(given)


def test_a_sqlite_ledger_is_created_with_its_folders_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "lmsbridge" / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert ledger.path == path and ledger.dialect == "sqlite"
        with pytest.raises(LedgerConstraintError):  # foreign_keys=ON: no cursor for a share that is not there
            ledger.set_cursor("S-0404", NOW, NOW)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_memory_ledger_works_and_has_no_path() -> None:
    with Ledger.open(":memory:") as ledger:
        assert ledger.path is None
        assert new_share(ledger).id == "S-0001"


def test_opening_without_create_does_not_make_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnusableError, match=r"typo\.db"):
        Ledger.open(tmp_path / "typo.db", create=False)
    assert not (tmp_path / "typo.db").exists()


def test_a_postgres_url_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(LedgerError, match=r"lmsbridge\[postgres\]"):
        Ledger.open("postgresql://lmsbridge@localhost/lmsbridge")


def test_a_postgres_password_never_appears_in_a_message() -> None:
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed")
    with pytest.raises(LedgerError) as caught:
        Ledger.open("postgresql://lmsbridge:hemmelig-passord@127.0.0.1:1/lmsbridge", busy_timeout=1)
    assert "hemmelig-passord" not in str(caught.value)
    assert "***" in str(caught.value)
