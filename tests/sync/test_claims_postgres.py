"""Several ``sync run`` processes on one PostgreSQL ledger (issue 11 item 7): e.g. two hosts for availability.
They split the shares, each share claimed by exactly one run at a time; a killed worker's shares are taken by
the next run. Three processes, real HTTP (the sandbox), the CI's PostgreSQL server.

The sandbox gets ``SHARES`` more course pairs (lp owns ``PG-LP-k``, ks borrows ``KSL-PG-LP-k``, the same two
activity names) and ``LEARNERS`` learners with the same idnumber and email on both sites, enrolled everywhere;
on ks each has done the first activity of every course, every other one the second too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sync.engine import REPORT_TURN
from lmsbridge.sync.identity import learner_key
from tests.postgres import pg_server, pg_url  # noqa: F401 - the fixtures
from tests.sync.helpers import SECRET, kill_when, publish

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARES = 9
LEARNERS = 4
OVERRIDE = "core_completion_override_activity_completion_status"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


def seed(sandbox: Sandbox, ledger: Ledger) -> set[tuple[int, int]]:
    """The shares, published in ``ledger``; returns the (lp user, lp cmid) completions the sync must bring back."""
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    people = [(ks.add_user(f"pg{n}", f"Deltaker{n}", "Pg", f"pg{n}@example.test", idnumber=f"PG-{n}").id,
               lp.add_user(f"pg{n}", f"Deltaker{n}", "Pg", f"pg{n}@example.test", idnumber=f"PG-{n}").id)
              for n in range(1, LEARNERS + 1)]
    expected: set[tuple[int, int]] = set()
    for k in range(1, SHARES + 1):
        owner = lp.add_course(f"PG-LP-{k}", f"Delt kurs {k}", activities=["Aktivitet 1", "Aktivitet 2"])
        borrower = ks.add_course(f"KSL-PG-LP-{k}", f"Delt kurs {k} (KS)", activities=["Aktivitet 1", "Aktivitet 2"])
        owned, borrowed = lp.tracked_modules(owner), ks.tracked_modules(borrower)
        for n, (ks_id, lp_id) in enumerate(people):
            lp.enrol(lp_id, owner.id)
            ks.enrol(ks_id, borrower.id)
            ks.set_last_access(ks_id, borrower.id)
            for done in range(1 if n % 2 else 2):
                ks.complete_activity(ks_id, borrowed[done].id)
                expected.add((lp_id, owned[done].id))
        publish(ledger, owner="lp", owner_course=owner.id, owner_shortname=owner.shortname, borrower="ks",
                borrower_course=borrower.id, borrower_shortname=borrower.shortname, key=f"pg-{k}")
    return expected


def config(tmp_path: Path, sandbox: Sandbox, ledger_url: str) -> tuple[Path, dict[str, str]]:
    lines = [f"ledger = {json.dumps(ledger_url)}", "", "[sync]", 'pseudonym_secret_env = "TEST_PSEUDONYM"', ""]
    for name, site in sandbox.sites.items():
        lines += [f"[platforms.{name}]", f'title = "{name}"', f'url = "{site.url}"',
                  f'role = "{"municipal" if name == "ks" else "hospital"}"',
                  f'organisation = "{"KS" if name == "ks" else "Helse Bergen HF"}"',
                  f'token_env = "TOKEN_{name.upper()}"', "retry_attempts = 2", "retry_max_seconds = 5", ""]
    path = tmp_path / "lmsbridge.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSBRIDGE_")}
    env.update({"TEST_PSEUDONYM": SECRET, "PYTHONPATH": str(ROOT), "TOKEN_KS": sandbox.sites["ks"].token,
                "TOKEN_LP": sandbox.sites["lp"].token})
    return path, env


def sync_run(path: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    # --concurrency 1: one call at a time per platform, so one process cannot race through every share alone
    return subprocess.Popen([sys.executable, "-m", "lmsbridge", "--config", str(path), "sync", "run", "--json",
                             "--no-certificates", "--concurrency", "1"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outcome(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode in (0, 75), (process.returncode, out, err)
    data: dict[str, Any] = json.loads(out)
    return data


@contextmanager
def runs_started_together(ledger_url: str, runs: int) -> Iterator[None]:
    """Start ``runs`` sync runs in the block: each waits for the report turn (``engine.REPORT_TURN``) once its run
    has begun, before it claims a share; the turn is held here until all of them wait, so they claim at the same
    moment (whatever their start-up took) and none can begin after another has finished."""
    import psycopg

    with Ledger.open(ledger_url) as ledger:
        key = ledger.advisory_key(REPORT_TURN)
    with psycopg.connect(ledger_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s::bigint)", (key,))
        yield
        waiting = ("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1 "
                   "AND classid::bigint = %s AND objid::bigint = %s")
        ready = threading.Event()
        for _ in range(1200):  # up to two minutes for slow start-ups
            row = conn.execute(waiting, ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
            if row is not None and row[0] >= runs:
                ready.set()
                break
            ready.wait(0.1)
        conn.execute("SELECT pg_advisory_unlock(%s::bigint)", (key,))
        assert ready.is_set(), "the sync runs did not all start"


def owner_pairs(lp: SiteState) -> set[tuple[int, int]]:
    return {(uid, cmid) for (cmid, uid), record in lp.activity_completions.items() if record.state >= 1}


def test_three_runs_split_the_shares_each_synced_once(sandbox: Sandbox, pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    with Ledger.open(pg_url) as ledger:
        expected = seed(sandbox, ledger)
    lp = sandbox.sites["lp"].state
    before = owner_pairs(lp)
    for site in sandbox.sites.values():
        site.state.set_latency(0.02)
    path, env = config(tmp_path, sandbox, pg_url)
    with runs_started_together(pg_url, 3):
        processes = [sync_run(path, env, tmp_path) for _ in range(3)]
    runs = [outcome(p) for p in processes]

    synced = Counter(s["share"] for run in runs for s in run["shares"] if s["status"] == "ok")
    assert sorted(synced) == [f"S-{n:04d}" for n in range(1, SHARES + 1)]
    assert set(synced.values()) == {1}, synced  # every share synced by exactly one run
    for run in runs:  # the rest each run left to the others
        assert {s["status"] for s in run["shares"]} <= {"ok", "taken"}
    assert sum(1 for run in runs if any(s["status"] == "ok" for s in run["shares"])) >= 2, runs  # split
    assert sum(run["totals"]["written"] for run in runs) == len(expected)
    writes = Counter((call["userid"], call["cmid"]) for call in lp.calls_to(OVERRIDE))
    assert set(writes.values()) == {1} and set(writes) == expected  # no completion written twice
    assert owner_pairs(lp) - before == expected
    with Ledger.open(pg_url) as ledger:
        rows = [(c.share_id, c.learner_key, c.owner_activity) for c in ledger.completions()]
        assert len(rows) == len(set(rows)) == len(expected)
        assert {r.status for r in ledger.runs()} == {"ok"} and len(ledger.runs()) == 3
        assert ledger.verify().ok


def test_a_killed_workers_shares_are_taken_by_the_next_run(sandbox: Sandbox, pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    with Ledger.open(pg_url) as ledger:
        expected = seed(sandbox, ledger)
    lp = sandbox.sites["lp"].state
    for site in sandbox.sites.values():
        site.state.set_latency(0.05)
    path, env = config(tmp_path, sandbox, pg_url)
    first_write = threading.Event()
    counted = lp.record_call

    def watch(wsfunction: str) -> None:
        counted(wsfunction)
        if wsfunction == OVERRIDE:
            first_write.set()

    lp.record_call = watch  # type: ignore[method-assign]
    worker = sync_run(path, env, tmp_path)
    kill_when(worker, first_write)
    lp.record_call = counted  # type: ignore[method-assign]
    with Ledger.open(pg_url) as ledger:
        assert len(ledger.completions()) < len(expected)  # the kill landed before it was done
        (killed,) = ledger.runs()
        assert killed.status == "running" and killed.pid == worker.pid
        committed = {(c.learner_key, c.owner_activity) for c in ledger.completions()}
    for site in sandbox.sites.values():
        site.state.set_latency(0.0)
    written_before = len(lp.calls_to(OVERRIDE))

    with runs_started_together(pg_url, 2):
        processes = [sync_run(path, env, tmp_path) for _ in range(2)]
    runs = [outcome(p) for p in processes]
    synced = Counter(s["share"] for run in runs for s in run["shares"] if s["status"] == "ok")
    assert set(synced) == {f"S-{n:04d}" for n in range(1, SHARES + 1)} and set(synced.values()) == {1}
    assert owner_pairs(lp) >= expected
    # what the killed worker had committed is not written again; the rest is written once
    rewritten = Counter((call["userid"], call["cmid"]) for call in lp.calls_to(OVERRIDE)[written_before:])
    assert set(rewritten.values()) <= {1}
    assert not {(learner_key(SECRET.encode(), "lp", uid), str(cmid)) for uid, cmid in rewritten} & committed
    with Ledger.open(pg_url) as ledger:
        rows = [(c.share_id, c.learner_key, c.owner_activity) for c in ledger.completions()]
        assert len(rows) == len(set(rows)) == len(expected)  # nothing lost, nothing twice
        statuses = Counter(r.status for r in ledger.runs())
        assert statuses == {"ok": 2, "interrupted": 1}
