"""Helpers for the ledger tests: a share's fields, a raw connection for tampering, child processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lmsbridge.domain import Label, ShareFlow
from lmsbridge.ledger import Ledger, Share

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

#: A pseudonym as the sync makes them (HMAC-SHA256, hex).
LEARNER = "5f2b8c0e9a4d7f1e3b6c8a0d2e4f6a8b1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f"
OTHER_LEARNER = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"


def share_fields(request_key: str = "hospital-to-ks:lp:5:ks", **overrides: Any) -> dict[str, Any]:
    """A hospital course lent to KS Læring (seed_data: HBHF-SMITTE-01 on the Læringsportal)."""
    fields: dict[str, Any] = dict(
        flow=ShareFlow.HOSPITAL_TO_KS, owner_platform="lp", owner_course_id=5,
        owner_course_shortname="HBHF-SMITTE-01", owner_org="Helse Bergen HF", borrower_platform="ks",
        borrower_org="KS", initiator="Ola Nordmann", licence_at_share="CC BY", label=Label.SHARED_TO_KS,
        owner_support="support@helse-bergen.no", borrower_support="support@kslaring.no",
        contact_point="kslaring@ks.no", request_key=request_key,
    )
    fields.update(overrides)
    return fields


def new_share(ledger: Ledger, request_key: str = "hospital-to-ks:lp:5:ks", **overrides: Any) -> Share:
    return ledger.create_share(**share_fields(request_key, **overrides))


class Raw:
    """A second, plain connection to the ledger's database: what someone editing it by hand would use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql://")
        if self.postgres:
            import psycopg

            self._conn: Any = psycopg.connect(url, autocommit=True)
        else:
            self._conn = sqlite3.connect(url, isolation_level=None)

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self._conn.execute(sql, tuple(params))
        return list(cursor.fetchall()) if cursor.description else []

    def drop_append_only_triggers(self) -> None:
        for name in ("events_no_update", "events_no_delete"):
            self.execute(f"DROP TRIGGER {name} ON events" if self.postgres else f"DROP TRIGGER {name}")

    def close(self) -> None:
        self._conn.close()

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        if self.postgres:
            import psycopg

            return (psycopg.Error,)
        return (sqlite3.DatabaseError,)


def child(code: str) -> subprocess.Popen[str]:
    """A Python child process running ``code`` (dedented) with the project importable; talk on stdin/out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )


def wait_for(process: subprocess.Popen[str], line: str) -> None:
    """Block until the child prints ``line`` (no sleeps); fail with its stderr if it dies first."""
    assert process.stdout is not None
    got = process.stdout.readline().strip()
    if got != line:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"child said {got!r}, not {line!r}; stderr:\n{err}")


def kill_inside_transaction(ledger_url: str, writes: str) -> None:
    """Run ``writes`` (statements on ``ledger``, dedented) inside one transaction of a child process and
    SIGKILL it before COMMIT."""
    body = textwrap.indent(textwrap.dedent(writes).strip(), " " * 8)
    writer = child(
        "import sys\n"
        "from lmsbridge.ledger import Ledger\n"
        f"ledger = Ledger.open({ledger_url!r})\n"
        "if True:\n"
        "    with ledger.transaction():\n"
        f"{body}\n"
        "        print('inside', flush=True)\n"
        "        sys.stdin.readline()  # killed here, before COMMIT\n"
    )
    try:
        wait_for(writer, "inside")
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
