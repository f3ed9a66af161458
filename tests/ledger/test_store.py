"""The ledger: migrations, one transaction per command, hash chain, cursors, dedupe, lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger, LockedError

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def share_fields(key: str = "k1") -> dict[str, object]:
    return dict(flow="hospital-to-ks", owner_platform="lp", owner_course_id=5, owner_course_shortname="HBHF-SMITTE-01",
                owner_org="Helse Bergen HF", borrower_platform="ks", borrower_course_id=None,
                borrower_course_shortname=None, borrower_org="KS", initiator="Ola", licence_at_share="CC BY",
                label="delt til KS Læring", owner_support="s1", borrower_support="s2", contact_point="kslaring@ks.no",
                request_key=key)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "ledger.db")


def test_migrations_applied_once_in_order(tmp_path: Path) -> None:
    first = Ledger.open(tmp_path / "l.db")
    assert first.applied_migrations() == ["0001_shares_and_events", "0002_sync"]
    first.close()
    again = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    assert again.migrate() == []
    assert again.applied_migrations() == ["0001_shares_and_events", "0002_sync"]


def test_transaction_is_all_or_nothing(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError), ledger.transaction():
        share = ledger.create_share(now=NOW, **share_fields())
        ledger.append_event(share_id=share.id, actor="Ola", action="request", at=NOW)
        raise RuntimeError("crash")
    assert ledger.list_shares() == [] and ledger.events() == []


def _chain(ledger: Ledger, n: int = 4) -> None:
    share = ledger.create_share(now=NOW, **share_fields())
    for i in range(n):
        ledger.append_event(share_id=share.id, actor="Ola", action=f"step{i}", at=NOW + timedelta(minutes=i),
                            details={"i": i})


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    [
        ("UPDATE events SET details = '{\"i\": 99}' WHERE seq = 2", 2),
        ("UPDATE events SET actor = 'Mallory' WHERE seq = 3", 3),
        ("DELETE FROM events WHERE seq = 2", 2),
        ("DELETE FROM events WHERE seq = 1", 1),
        ("UPDATE events SET seq = 10 WHERE seq = 4", 4),
    ],
)
def test_verify_catches_tampering_even_with_the_triggers_dropped(tmp_path: Path, tamper: str, bad_seq: int) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as ledger:
        _chain(ledger)
        assert ledger.verify().ok
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        raw.execute(tamper)  # the append-only triggers refuse it
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute(tamper)
    raw.commit()
    raw.close()
    with Ledger.open(path) as ledger:
        report = ledger.verify()
    assert not report.ok and report.first_bad_seq == bad_seq


def test_cursor_never_past_run_start_and_never_backwards(ledger: Ledger) -> None:
    share = ledger.create_share(now=NOW, **share_fields())
    run_start = NOW
    assert ledger.set_cursor(share.id, NOW + timedelta(hours=1), run_start) == run_start
    assert ledger.set_cursor(share.id, NOW - timedelta(days=1), run_start) == run_start
    assert ledger.get_cursor(share.id) == run_start


def test_completion_recorded_once(ledger: Ledger) -> None:
    share = ledger.create_share(now=NOW, **share_fields())
    kwargs = dict(share_id=share.id, learner_key="hmac:ab", owner_activity="12", borrower_activity="5",
                  time_completed=NOW, synced_at=NOW)
    assert ledger.record_completion(**kwargs) is True  # type: ignore[arg-type]
    assert ledger.record_completion(**kwargs) is False  # type: ignore[arg-type]
    assert ledger.recorded_activities(share.id, "hmac:ab") == {"12"}


def test_failures_upsert_and_clear(ledger: Ledger) -> None:
    share = ledger.create_share(now=NOW, **share_fields())
    for _ in range(3):
        ledger.record_failure(share_id=share.id, item_kind="learner", item_key="x", reason="503", now=NOW)
    (failure,) = ledger.list_failures()
    assert failure["attempts"] == 3
    ledger.clear_failure(share_id=share.id, item_kind="learner", item_key="x")
    assert ledger.list_failures() == []


def test_request_key_is_unique(ledger: Ledger) -> None:
    ledger.create_share(now=NOW, **share_fields("same"))
    with pytest.raises(LedgerError):
        ledger.create_share(now=NOW, **share_fields("same"))


def test_naive_times_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="timezone"):
        ledger.append_event(share_id=None, actor="a", action="b", at=datetime(2026, 1, 1))


def test_lock_held_by_another_process_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from lmsbridge.ledger import Ledger
            with Ledger.open({str(path)!r}).acquire_lock("sync"):
                print("locked", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with Ledger.open(path) as ledger, pytest.raises(LockedError, match="already running"), ledger.acquire_lock("sync"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with Ledger.open(path) as ledger, ledger.acquire_lock("sync"):
        pass  # a dead holder's lock is free again


def test_sigkill_mid_transaction_leaves_the_previous_state(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as ledger:
        ledger.create_share(now=NOW, **share_fields("before"))
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from datetime import datetime, UTC
            from lmsbridge.ledger import Ledger
            ledger = Ledger.open({str(path)!r})
            with ledger.transaction():
                ledger.update_share_state("S-0001", "approved", now=datetime.now(UTC))
                ledger.append_event(share_id="S-0001", actor="x", action="approve", at=datetime.now(UTC))
                print("inside", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "inside"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Ledger.open(path) as ledger:
        share = ledger.get_share("S-0001")
        assert share is not None and share.state == "requested"
        assert ledger.events() == [] and ledger.verify().ok


def test_postgres_url_is_a_clear_error_for_now() -> None:
    with pytest.raises(LedgerError, match="PostgreSQL"):
        Ledger.open("postgresql://localhost/lmsbridge")
