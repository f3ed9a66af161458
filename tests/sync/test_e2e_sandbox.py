"""End to end over real HTTP: the sync against the sandbox's two Moodle-compatible sites.

The share: lp owns HBHF-SMITTE-01 (course 5, cmids 12/13); ks borrows it as KSL-HBHF-SMITTE-01 (course 3,
cmids 5/6). The recorded edge cases ride along: the same nurse has different usernames on the two sites,
u09's email differs in case, u10 has no idnumber on ks (tests/fixtures/moodle/seed_data.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lmsbridge.adapters import MoodleClient
from lmsbridge.config import Config
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from lmsbridge.sync.identity import learner_key
from tests.sync.helpers import SECRET, Clock, borrower_key, kill_when, make_clients, make_config, publish_seeded, urls

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# ks user id → lp user id of the same person (seed_data.json: u01 4→4, u07 10→10, u09 12→12, u10 13→13)
EXPECTED_FIRST = {(4, 12), (4, 13), (10, 12), (10, 13), (12, 12)}  # (lp user, lp cmid)
#: u01's, on lp already (her own): «fra før», no ledger row (the ledger holds what exists because of lmsbridge)
ALREADY_THERE = {(4, 12), (4, 13)}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db") as led:
        publish_seeded(led)
        yield led


def clients(sb: Sandbox, **kw: object) -> dict[str, MoodleClient]:
    return make_clients(urls(sb), tokens={n: s.token for n, s in sb.sites.items()}, **kw)  # type: ignore[arg-type]


def run(sb: Sandbox, config: Config, ledger: Ledger, **options: object) -> SyncSummary:
    return run_sync(config=config, clients=clients(sb), ledger=ledger, options=SyncOptions(**options))  # type: ignore[arg-type]


def complete(state: SiteState, user: int, cmid: int, course: int) -> None:
    """The learner does the activity: completion and a course visit."""
    state.complete_activity(user, cmid)
    state.set_last_access(user, course)


def owner_done(state: SiteState, users: set[int]) -> set[tuple[int, int]]:
    return {(uid, cmid) for uid in users for cmid in (12, 13)
            if (record := state.activity_state(cmid, uid)) is not None and record.state >= 1}


def ledger_pairs(ledger: Ledger) -> list[tuple[str, str]]:
    return [(r.learner_key, r.owner_activity) for r in ledger.completions()]


def key(uid: int) -> str:
    return learner_key(SECRET.encode(), "lp", uid)


@pytest.mark.parametrize("report", [False, True], ids=["per-learner", "report"])
def test_recorded_edge_cases_come_back_and_a_rerun_writes_nothing(
    sandbox: Sandbox, ledger: Ledger, tmp_path: Path, report: bool
) -> None:
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    # u10 Hilde Berg (no idnumber on ks) does the first activity on ks: she is matched by email
    complete(ks, 13, 5, 3)
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1 if report else None})
    first = run(sandbox, config, ledger)
    assert first.exit_code == 0, first.as_dict()
    assert owner_done(lp, {4, 10, 12, 13}) >= EXPECTED_FIRST | {(13, 12)}
    assert sorted(ledger_pairs(ledger)) == sorted(
        (key(u), str(c)) for u, c in (EXPECTED_FIRST | {(13, 12)}) - ALREADY_THERE)
    assert first.shares[0].unmatched == 2  # k15, k16: municipal learners without an lp account

    lp.reset_counters()
    ks.reset_counters()
    again = run(sandbox, config, ledger)
    assert again.exit_code == 0 and again.written == 0
    assert not {"enrol_manual_enrol_users", "core_user_create_users"} & set(lp.calls_by_function)
    # an override sent again is one of u01's (in the report's window; hers already, so no ledger row): Moodle
    # changes nothing, and it is counted as already there
    sent = lp.calls_by_function.get("core_completion_override_activity_completion_status", 0)
    assert sent == again.shares[0].already_there <= 2
    assert "core_completion_get_activities_completion_status" not in lp.calls_by_function


def test_email_differing_only_in_case_matches_through_the_owner_course(
    sandbox: Sandbox, ledger: Ledger, tmp_path: Path
) -> None:
    # lp owns, ks borrows; with only the email key, u09 (Nils.Kristiansen@Helse-Bergen.no on ks,
    # lower case on lp) is found among the owner course's participants without case
    config = make_config(urls(sandbox), tmp=tmp_path, sync={"identity_keys": ["email"]})
    summary = run(sandbox, config, ledger)
    assert summary.exit_code == 0
    assert (key(12), "12") in ledger_pairs(ledger)


def test_different_usernames_do_not_match_by_username(sandbox: Sandbox, ledger: Ledger, tmp_path: Path) -> None:
    # usernames belong to each site: compared only between a pair configured to share them
    alone = run(sandbox, make_config(urls(sandbox), tmp=tmp_path, sync={"identity_keys": ["username"]}), ledger)
    assert alone.exit_code == 2 and alone.shares[0].error is not None
    assert alone.shares[0].error.code == "config.where" and alone.written == 0
    config = make_config(urls(sandbox), tmp=tmp_path, sync={"identity_keys": ["username"],
                                                              "username_pairs": [["ks", "lp"]]})
    summary = run(sandbox, config, ledger)
    assert summary.written == 0 and summary.shares[0].unmatched == 5  # ks usernames are emails, lp's hb1000x


def test_platform_answering_503_for_a_while_delays_but_loses_nothing(
    sandbox: Sandbox, ledger: Ledger, tmp_path: Path
) -> None:
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    config = make_config(urls(sandbox), tmp=tmp_path)
    lp.set_fault_rate(1.0)
    down = run(sandbox, config, ledger)
    assert down.exit_code == 3 and ledger.completions() == []
    lp.set_fault_rate(0.4)
    complete(ks, 11, 5, 3)  # u08 too, while lp is flaky
    outcomes = [run(sandbox, config, ledger).exit_code for _ in range(6)]
    lp.set_fault_rate(0.0)
    final = run(sandbox, config, ledger)
    assert final.exit_code == 0, (outcomes, final.as_dict())
    expected = EXPECTED_FIRST | {(11, 12)}
    assert owner_done(lp, {4, 10, 11, 12}) >= expected
    assert sorted(ledger_pairs(ledger)) == sorted((key(u), str(c)) for u, c in expected - ALREADY_THERE)
    assert lp.fault_count > 0


def write_config(path: Path, sb: Sandbox, ledger_path: Path) -> None:
    lines = [f'ledger = "{ledger_path}"', "", "[sync]", 'pseudonym_secret_env = "TEST_PSEUDONYM"', ""]
    for name, site in sb.sites.items():
        lines += [f"[platforms.{name}]", f'title = "{name}"', f'url = "{site.url}"',
                  f'role = "{"municipal" if name == "ks" else "hospital"}"',
                  f'organisation = "{"KS" if name == "ks" else "Helse Bergen HF"}"',
                  f'token_env = "TOKEN_{name.upper()}"', "retry_attempts = 2", "retry_max_seconds = 5",
                  "concurrency = 1", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def test_killed_mid_run_then_rerun_loses_nothing_and_duplicates_nothing(
    sandbox: Sandbox, ledger: Ledger, tmp_path: Path
) -> None:
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    complete(ks, 13, 5, 3)
    complete(ks, 11, 5, 3)
    complete(ks, 11, 6, 3)
    expected = EXPECTED_FIRST | {(13, 12), (11, 12), (11, 13)}
    config_path = tmp_path / "lmsbridge.toml"
    write_config(config_path, sandbox, tmp_path / "ledger.db")
    lp.set_latency(0.05)
    second_write = threading.Event()
    counted = lp.record_call

    def watch(wsfunction: str) -> None:
        counted(wsfunction)
        if lp.calls_by_function.get("core_completion_override_activity_completion_status", 0) >= 2:
            second_write.set()

    lp.record_call = watch  # type: ignore[method-assign]
    env = {**os.environ, "TEST_PSEUDONYM": SECRET, "PYTHONPATH": str(ROOT),
           "TOKEN_KS": sandbox.sites["ks"].token, "TOKEN_LP": sandbox.sites["lp"].token}
    env = {k: v for k, v in env.items() if not k.startswith("LMSBRIDGE_")}
    process = subprocess.Popen([sys.executable, "-m", "lmsbridge", "--config", str(config_path), "sync", "run",
                                "--quiet"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kill_when(process, second_write, timeout=60)
    lp.record_call = counted  # type: ignore[method-assign]
    lp.set_latency(0.0)
    written_before = len(ledger.completions())
    assert written_before < len(expected)  # the kill landed before the share's transaction
    # the killed run does not stay "running": status sees its process gone, the next run marks it
    status = subprocess.run([sys.executable, "-m", "lmsbridge", "--config", str(config_path), "sync", "status",
                             "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["last_run"]["status"] == "interrupted", status.stdout + status.stderr
    (killed,) = ledger.runs()
    assert killed.status == "running" and killed.pid == process.pid

    rerun = subprocess.run([sys.executable, "-m", "lmsbridge", "--config", str(config_path), "sync", "run", "--json"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    pairs = ledger_pairs(ledger)
    assert sorted(pairs) == sorted((key(u), str(c)) for u, c in expected - ALREADY_THERE)
    assert len(pairs) == len(set(pairs))
    assert owner_done(lp, {4, 10, 11, 12, 13}) >= expected
    third = run(sandbox, make_config(urls(sandbox), tmp=tmp_path), ledger)
    assert third.written == 0
    assert [r.status for r in ledger.runs()] == ["ok", "ok", "interrupted"]
    assert ledger.runs()[-1].finished_at is not None


def test_incremental_run_with_the_report_reads_the_listing_too(ledger: Ledger, tmp_path: Path) -> None:
    """An incremental run with a completion report reads who visited (listing) ∪ who completed (filtered report)."""
    # one clock for both sites and the sync, moved past the overlap between runs: each run sees only what
    # happened since the last one
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    with Sandbox.start(clock=lambda: clock.now.timestamp()) as sandbox:
        _report_supplements_the_listing(sandbox, ledger, tmp_path, clock)


def _report_supplements_the_listing(sandbox: Sandbox, ledger: Ledger, tmp_path: Path, clock: Clock) -> None:
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1})

    def run(sb: Sandbox, config: Config, ledger: Ledger) -> SyncSummary:
        clock.tick(minutes=15)  # more than sync.overlap_minutes (10)
        summary = run_sync(config=config, clients=clients(sb), ledger=ledger, clock=clock)
        clock.tick(minutes=1)  # what the learners do next happens after this run started
        return summary

    first = run(sandbox, config, ledger)
    assert first.exit_code == 0 and first.shares[0].path == "report", first.as_dict()
    assert sorted(ledger_pairs(ledger)) == sorted((key(u), str(c)) for u, c in EXPECTED_FIRST - ALREADY_THERE)

    def counted_run() -> tuple[SyncSummary, set[tuple[str, str]]]:
        ks.reset_counters()
        lp.reset_counters()
        before = set(ledger_pairs(ledger))
        summary = run(sandbox, config, ledger)
        assert summary.exit_code == 0, summary.as_dict()
        assert summary.shares[0].path == "listing+report"
        # the filter, the read, and the probe that finds the report without «Last access to course» (set, one row)
        assert ks.calls_by_function.get("core_reportbuilder_set_filters") == 2
        assert ks.calls_by_function.get("core_reportbuilder_retrieve_report") == 2
        assert ks.calls_by_function.get("core_reportbuilder_filters_reset") == 1
        assert ks.calls_by_function.get("core_enrol_get_enrolled_users") == 1  # the listing, one page
        return summary, set(ledger_pairs(ledger)) - before

    # u08 Åse Bjørnstad visits and completes one activity of two: the course is not complete, so the filtered
    # report does not show her; the listing does
    complete(ks, 11, 5, 3)
    _, new = counted_run()
    assert new == {(key(11), "12")}
    assert ks.calls_by_function.get("core_completion_get_activities_completion_status") == 1
    assert (11, 12) in owner_done(lp, {11}) and (11, 13) not in owner_done(lp, {11})

    # u09 Nils Kristiansen's second activity is set without a visit (a teacher, Moodle's cron): his course
    # completes, the listing cannot see it (no course access), the filtered report does
    enrolment = ks.enrolment(3, 12)
    assert enrolment is not None and enrolment.lastaccess == 0
    ks.complete_activity(12, 6)
    _, new = counted_run()
    assert new == {(key(12), "13")}
    assert ks.calls_by_function.get("core_completion_get_activities_completion_status") == 1
    assert (12, 13) in owner_done(lp, {12})

    # u10 Hilde Berg (no idnumber on ks: matched by e-mail) visits and completes the course: in the listing and
    # in the report, read once
    complete(ks, 13, 5, 3)
    complete(ks, 13, 6, 3)
    _, new = counted_run()
    assert new == {(key(13), "12"), (key(13), "13")}
    assert ks.calls_by_function.get("core_completion_get_activities_completion_status") == 1

    # nothing new: nothing read, nothing written; the unmatched municipal learners (k15 Eva Rønning, k16 Trond
    # Lunde, ks 18/19) were looked up within [sync] unmatched_retry_hours: not again, they stay in failed_items
    quiet, new = counted_run()
    assert quiet.written == 0 and new == set()
    assert "core_completion_get_activities_completion_status" not in ks.calls_by_function
    writes = {"core_completion_override_activity_completion_status", "enrol_manual_enrol_users",
              "core_user_create_users"}
    assert not writes & set(lp.calls_by_function)
    unmatched = {f.item_key for f in ledger.list_failures() if str(f.item_kind) == "unmatched"}
    assert unmatched == {borrower_key(18), borrower_key(19)}

    # k16 leaves the borrower course: the listing no longer shows him, so his failure is cleared
    ks.unenrol(19, 3)
    gone, _ = counted_run()
    assert f"deltakeren {borrower_key(19)[:12]} er ikke lenger med i lånekurset; feilen er fjernet" in [
        note.render("nb") for note in gone.shares[0].notes]
    assert {f.item_key for f in ledger.list_failures() if str(f.item_kind) == "unmatched"} == {borrower_key(18)}
