"""The run lock: a second sync fails at once while the first runs; a dead holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger, LockedError
from tests.ledger.support import NOW, Raw, child, new_share, wait_for
from tests.postgres import with_schema


def hold_lock(ledger_url: str, name: str = "sync") -> subprocess.Popen[str]:
    holder = child(f"""
        import sys
        from lmsbridge.ledger import Ledger
        with Ledger.open({ledger_url!r}) as ledger, ledger.acquire_lock({name!r}):
            print("locked", flush=True)
            sys.stdin.readline()
        print("released", flush=True)
    """)
    wait_for(holder, "locked")
    return holder


def test_a_lock_held_by_another_process_fails_at_once_and_frees_when_it_ends(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    holder = hold_lock(ledger_url)
    try:
        with Ledger.open(ledger_url) as ledger:
            with pytest.raises(LockedError) as caught, ledger.acquire_lock("sync"):
                pytest.fail("got a lock another process holds")
            assert str(holder.pid) in str(caught.value)
            assert "kjører allerede" in str(caught.value)
            with ledger.acquire_lock("certificates"):  # another name is another lock
                pass
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        wait_for(holder, "released")
        with Ledger.open(ledger_url) as ledger, ledger.acquire_lock("sync") as lock:
            assert (lock.name, lock.holder.pid) == ("sync", os.getpid())
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_holder_is_taken_over(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    holder = hold_lock(ledger_url)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with Ledger.open(ledger_url) as ledger, ledger.acquire_lock("sync") as lock:
        lock.heartbeat()


def test_the_same_process_cannot_take_a_lock_twice(ledger_url: str) -> None:
    with (
        Ledger.open(ledger_url) as ledger,
        ledger.acquire_lock("sync"),
        Ledger.open(ledger_url) as second,
        pytest.raises(LockedError),
        second.acquire_lock("sync"),
    ):
        pass


def test_a_memory_ledger_locks_within_its_process() -> None:
    with Ledger.open(":memory:") as ledger:
        with ledger.acquire_lock("sync"), pytest.raises(LockedError), ledger.acquire_lock("sync"):
            pass
        with ledger.acquire_lock("sync"):
            pass


def test_a_lock_is_not_taken_inside_a_transaction_and_names_are_plain(ledger: Ledger) -> None:
    with ledger.transaction(), pytest.raises(LedgerError), ledger.acquire_lock("sync"):
        pass
    with pytest.raises(LedgerError, match="lock name"), ledger.acquire_lock("../etc/passwd"):
        pass


def test_sqlite_locks_beside_the_resolved_database_in_files_only_its_owner_reads(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as ledger, ledger.acquire_lock("sync") as lock:
        lock_file = tmp_path / "ledger.db.sync.lock"
        assert lock_file.exists()
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {
            "ledger.db": 0o600, "ledger.db-wal": 0o600, "ledger.db-shm": 0o600, "ledger.db.sync.lock": 0o600}
        # the lock is in the ledger itself too: who holds it, for whoever reaches the file by another name
        raw = Raw(str(path))
        assert raw.execute("SELECT name, pid, host FROM run_locks") == [("sync", os.getpid(), socket.gethostname())]
        raw.close()
        lock.heartbeat()
    raw = Raw(str(path))
    assert raw.execute("SELECT COUNT(*) FROM run_locks") == [(0,)]
    raw.close()


def test_a_lock_file_an_older_version_left_readable_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    (tmp_path / "ledger.db.sync.lock").write_text("", encoding="utf-8")
    os.chmod(tmp_path / "ledger.db.sync.lock", 0o644)
    with Ledger.open(path) as ledger, ledger.acquire_lock("sync"):
        assert stat.S_IMODE((tmp_path / "ledger.db.sync.lock").stat().st_mode) == 0o600


@pytest.mark.parametrize("link", ["symlink", "other spelling", "lock file removed"])
def test_the_same_sqlite_ledger_by_another_path_is_one_lock(tmp_path: Path, link: str) -> None:
    """Issue 11: through a symlink the same ledger ran twice. A symlink or another spelling of the path meets the
    same lock file; should the lock file be gone (removed by hand while held), the lock row in the database
    itself still refuses."""
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "ledger.db"
    Ledger.open(path).close()
    other = {"symlink": tmp_path / "via-link.db", "other spelling": tmp_path / "data" / ".." / "data" / "ledger.db",
             "lock file removed": path}[link]
    if link == "symlink":
        other.symlink_to(path)
    holder = hold_lock(str(path))
    if link == "lock file removed":
        (tmp_path / "data" / "ledger.db.sync.lock").unlink()
    try:
        with Ledger.open(other) as second, pytest.raises(LockedError) as caught, second.acquire_lock("sync"):
            pytest.fail("the same ledger locked twice")
        assert str(holder.pid) in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
    with Ledger.open(other) as second, second.acquire_lock("sync"):  # the holder is gone: free again
        pass


def test_a_lock_row_of_a_dead_or_reused_pid_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(path).close()
    raw = Raw(str(path))
    beat = NOW.isoformat()
    for pid, process in ((2 ** 22 + 7, ""), (os.getpid(), "another-boot/1")):  # gone; this pid, another process
        raw.execute("DELETE FROM run_locks")
        raw.execute("INSERT INTO run_locks (name, pid, host, acquired_at, heartbeat_at, process) VALUES "
                    "('sync', ?, ?, ?, ?, ?)", (pid, socket.gethostname(), beat, beat, process))
        with Ledger.open(path) as ledger, ledger.acquire_lock("sync") as lock:
            assert lock.holder.pid == os.getpid()
    raw.close()


# PostgreSQL: the server's advisory lock decides; the row only names the holder.
def test_postgres_a_leftover_row_does_not_block_but_a_live_session_does(pg_url: str) -> None:
    with Ledger.open(pg_url, clock=lambda: NOW) as ledger:
        raw = Raw(pg_url)
        beat = NOW.isoformat()
        raw.execute("INSERT INTO run_locks (name, pid, host, acquired_at, heartbeat_at) VALUES "
                    "('sync', 4242, 'another-host', ?, ?)", (beat, beat))
        raw.close()
        with ledger.acquire_lock("sync") as lock:  # nobody's session holds it: the row is a dead holder's
            assert lock.holder.host == socket.gethostname()
            with Ledger.open(pg_url) as second, pytest.raises(LockedError) as caught, second.acquire_lock("sync"):
                pass
            assert str(os.getpid()) in str(caught.value) and socket.gethostname() in str(caught.value)


def test_postgres_shared_holders_exclude_an_exclusive_one(pg_url: str) -> None:
    with Ledger.open(pg_url) as one, Ledger.open(pg_url) as two, Ledger.open(pg_url) as three:
        with one.acquire_lock("sync", shared=True), two.acquire_lock("sync", shared=True):
            with pytest.raises(LockedError) as caught, three.acquire_lock("sync"):
                pass
            assert "en annen prosess" in str(caught.value)
        with three.acquire_lock("sync"), pytest.raises(LockedError), one.acquire_lock("sync", shared=True):
            pass


def test_postgres_ledgers_in_two_schemas_lock_apart(pg_url: str, pg_server: str) -> None:
    import psycopg

    schema = f"lmsbridge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        other = with_schema(pg_server, schema)
        with Ledger.open(pg_url) as one, Ledger.open(other) as two, one.acquire_lock("sync"), two.acquire_lock("sync"):
            pass
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_a_shared_lock_needs_postgres(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger, pytest.raises(LedgerError), ledger.acquire_lock(
            "sync", shared=True):
        pass


def test_postgres_heartbeat_notices_a_lost_lock(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger, ledger.acquire_lock("sync") as lock:
        lock.heartbeat()
        raw = Raw(pg_url)
        raw.execute("UPDATE run_locks SET pid = 4242, host = 'another-host' WHERE name = 'sync'")
        raw.close()
        with pytest.raises(LockedError, match="another-host"):
            lock.heartbeat()


# -- runs: a run killed without a word is marked interrupted by the next ---------------------------------------


def test_a_killed_runs_row_is_marked_interrupted_and_a_live_one_is_not(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    runner = child(f"""
        import sys
        from lmsbridge.ledger import Ledger
        ledger = Ledger.open({ledger_url!r})
        run = ledger.start_run()
        print("started", flush=True)
        sys.stdin.readline()
    """)
    try:
        wait_for(runner, "started")
        with Ledger.open(ledger_url) as ledger:
            (theirs,) = ledger.runs()
            assert theirs.status == "running" and theirs.pid == runner.pid and ledger.run_alive(theirs)
            assert ledger.mark_interrupted_runs() == []
            os.kill(runner.pid, signal.SIGKILL)
            runner.wait()
            mine = ledger.start_run()
            assert not ledger.run_alive(ledger.runs()[-1])
            assert ledger.mark_interrupted_runs(NOW) == [theirs.id]
            statuses = {run.id: run.status for run in ledger.runs()}
            assert statuses == {theirs.id: "interrupted", mine.id: "running"}
            assert ledger.run_alive(ledger.runs()[0]) and ledger.runs()[0].id == mine.id
            ledger.finish_run(mine.id, status="ok", counts={})
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


# -- share claims: several sync runs on one PostgreSQL ledger split the shares --------------------------------------


def test_postgres_a_share_is_claimed_by_one_run_at_a_time(pg_url: str) -> None:
    with Ledger.open(pg_url, clock=lambda: NOW) as one, Ledger.open(pg_url, clock=lambda: NOW) as two:
        assert one.supports_claims
        share = new_share(one).id
        first, second = one.start_run(NOW), two.start_run(NOW)
        assert one.claim_share(share, run_id=first.id, run_started=NOW) == "claimed"
        assert two.claim_share(share, run_id=second.id, run_started=NOW) == "busy"
        one.share_done(share, run_id=first.id, now=NOW + timedelta(minutes=1))
        one.release_claims()
        # finished after the second run started: nothing left for it
        assert two.claim_share(share, run_id=second.id, run_started=NOW) == "done"
        # a run that started after that finish does it again
        later = NOW + timedelta(minutes=5)
        assert two.claim_share(share, run_id=second.id, run_started=later) == "claimed"
        assert one.claim_share(share, run_id=first.id, run_started=later) == "busy"
        two.release_claims()


def test_postgres_a_killed_runs_claims_are_free_for_the_next(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger:
        share = new_share(ledger).id
    holder = child(f"""
        import sys
        from lmsbridge.ledger import Ledger
        ledger = Ledger.open({pg_url!r})
        run = ledger.start_run()
        print(ledger.claim_share({share!r}, run_id=run.id, run_started=run.started_at), flush=True)
        sys.stdin.readline()
    """)
    try:
        wait_for(holder, "claimed")
        with Ledger.open(pg_url) as ledger:
            mine = ledger.start_run()
            assert ledger.claim_share(share, run_id=mine.id, run_started=mine.started_at) == "busy"
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
            assert ledger.claim_share(share, run_id=mine.id, run_started=mine.started_at) == "claimed"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_sqlite_claims_are_always_granted_under_its_one_run_lock(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert not ledger.supports_claims
        share = new_share(ledger).id
        run = ledger.start_run(NOW)
        assert ledger.claim_share(share, run_id=run.id, run_started=NOW) == "claimed"
        assert ledger.claim_share(share, run_id=run.id + 1, run_started=NOW) == "claimed"
