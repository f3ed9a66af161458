"""The run lock: a second sync fails at once while the first runs; a dead holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger, LockedError
from tests.ledger.support import NOW, Raw, child, wait_for


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


def test_sqlite_locks_beside_the_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as ledger, ledger.acquire_lock("sync"):
        assert (tmp_path / "ledger.db.sync.lock").exists()


# PostgreSQL's lock row: another host's holder is trusted while its heartbeat is fresh.
@pytest.mark.parametrize(("heartbeat_age", "taken_over"), [(timedelta(minutes=1), False), (timedelta(hours=1), True)])
def test_postgres_lock_of_another_host_is_taken_over_only_when_its_heartbeat_is_stale(
    pg_url: str, heartbeat_age: timedelta, taken_over: bool
) -> None:
    with Ledger.open(pg_url, clock=lambda: NOW) as ledger:
        raw = Raw(pg_url)
        beat = (NOW - heartbeat_age).isoformat()
        raw.execute("INSERT INTO run_locks VALUES ('sync', 4242, 'another-host', ?, ?)", (beat, beat))
        raw.close()
        if taken_over:
            with ledger.acquire_lock("sync", stale_after=timedelta(minutes=10)) as lock:
                assert lock.holder.host == socket.gethostname()
        else:
            with pytest.raises(LockedError, match="another-host"), ledger.acquire_lock("sync"):
                pass


def test_postgres_heartbeat_notices_a_lost_lock(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger, ledger.acquire_lock("sync") as lock:
        lock.heartbeat()
        raw = Raw(pg_url)
        raw.execute("UPDATE run_locks SET pid = 4242, host = 'another-host' WHERE name = 'sync'")
        raw.close()
        with pytest.raises(LockedError, match="another-host"):
            lock.heartbeat()
