"""The sync engine over the sandbox's two sites, in process: what comes back, what is skipped, exit codes.

The sites are the recorded lab sites (lmsbridge/sandbox/data/sites.json, from tests/fixtures/moodle/
seed_data.json): lp owns HBHF-SMITTE-01 (course 5, cmids 12/13), ks borrows it as KSL-HBHF-SMITTE-01
(course 3, cmids 5/6). ks user ids are the lp ids of the same person (u01 4, u07 10, u08 11, u09 12,
u10 13); k15 (18) and k16 (19) are municipal learners without an lp account. Both sites' clocks are
the test's ``Clock``, so the seeded completions are minutes old at T0 and every write is dated by it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lmsbridge.config import Config
from lmsbridge.errors import ConfigError, LedgerError
from lmsbridge.i18n import Message
from lmsbridge.ledger import MIGRATIONS, Ledger, is_pseudonym
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sandbox.models import TRACKING_MANUAL
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.status import reveal, sync_status
from tests.sync.helpers import SECRET, Clock, borrower_key, make_clients, make_config, publish, urls

STATUSES = "core_completion_get_activities_completion_status"
OVERRIDE = "core_completion_override_activity_completion_status"


def config_for(sb: Sandbox, tmp: Path, **kw: object) -> Config:
    return make_config(urls(sb), tmp=tmp, **kw)  # type: ignore[arg-type]


def sync(config: Config, ledger: Ledger, sb: Sandbox, clock: Clock, **options: object) -> SyncSummary:
    clients = make_clients(urls(sb), tokens={n: s.token for n, s in sb.sites.items()},
                           dry_run=bool(options.get("dry_run")))
    return run_sync(config=config, clients=clients, ledger=ledger, options=SyncOptions(**options),  # type: ignore[arg-type]
                    clock=clock)


def key(uid: int) -> str:
    return learner_key(SECRET.encode(), "lp", uid)


def done(state: SiteState, userid: int) -> set[int]:
    """The cmids the user has completed on a site."""
    return {cmid for (cmid, uid), record in state.activity_completions.items() if uid == userid and record.state >= 1}


def visit_and_complete(state: SiteState, userid: int, cmid: int, courseid: int) -> None:
    """The learner does the activity: a course visit and the completion."""
    state.set_last_access(userid, courseid)
    state.complete_activity(userid, cmid)


def failed_items(ledger: Ledger) -> set[tuple[str, str]]:
    return {(str(f.item_kind), f.item_key) for f in ledger.list_failures()}


def test_first_run_brings_back_every_completion_and_logs_it_pseudonymously(
    tmp_path: Path, sandbox: Sandbox, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    summary = sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert summary.exit_code == 0, summary.as_dict()
    # ks learners of KSL-HBHF-SMITTE-01 with completions: u01 C, u07 C, u09 P1 (HB10009; mixed-case email on ks),
    # k15 C and k16 P1 have no lp account (skip policy: counted, not created)
    assert done(lp, 10) == {12, 13}
    assert 12 in done(lp, 12) and 13 not in done(lp, 12)
    share = summary.shares[0]
    # u01's two are on lp already (her own: «fra før»): counted, not written, no ledger row
    assert share.unmatched == 2 and len(share.written) == 3 and share.already_there == 2
    rows = ledger.completions()
    assert {(r.learner_key, r.owner_activity) for r in rows} == {
        (key(10), "12"), (key(10), "13"), (key(12), "12")}
    assert all(is_pseudonym(r.learner_key) and "@" not in r.learner_key for r in rows)
    assert {r.borrower_activity for r in rows} == {"5", "6"}
    assert ledger.get_cursor(share.share_id) == clock.now
    assert failed_items(ledger) == {("unmatched", borrower_key(18)), ("unmatched", borrower_key(19))}
    assert all("user:" not in f.item_key for f in ledger.list_failures())  # pseudonyms, never borrower ids
    run = ledger.last_run()
    assert run is not None and run.status == "ok" and run.counts["written"] == 3
    assert run.counts["already_there"] == 2


def test_second_run_without_changes_only_lists_and_writes_nothing(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    sync(config, ledger, sandbox, clock)
    ks.reset_counters()
    lp.reset_counters()
    clock.tick(minutes=15)
    summary = sync(config, ledger, sandbox, clock)
    assert summary.exit_code == 0 and summary.written == 0
    reads_and_writes = {STATUSES, OVERRIDE, "enrol_manual_enrol_users", "core_user_create_users"}
    assert not reads_and_writes & (set(ks.calls_by_function) | set(lp.calls_by_function))
    # the listing, plus the owner's participants and one lookup to retry the two unmatched learners
    assert ks.calls_by_function == {"core_enrol_get_enrolled_users": 1}
    assert set(lp.calls_by_function) <= {"core_enrol_get_enrolled_users", "core_user_get_users_by_field"}
    assert len(ledger.completions()) == 3


def test_new_completion_after_a_visit_is_read_and_written_once(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    sync(config, ledger, sandbox, clock)
    clock.tick(minutes=15)
    visit_and_complete(ks, 13, 5, 3)  # u10 Hilde Berg: no idnumber on ks, matched by email
    ks.reset_counters()
    summary = sync(config, ledger, sandbox, clock)
    assert summary.written == 1 and 12 in done(lp, 13)
    assert ks.calls_by_function[STATUSES] == 1, ks.calls_to(STATUSES)
    clock.tick(minutes=15)
    again = sync(config, ledger, sandbox, clock)
    assert again.written == 0


def test_teacher_set_completion_without_visit_needs_full(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    sync(config, ledger, sandbox, clock)
    clock.tick(hours=1)
    ks.complete_activity(11, 5)  # u08, set by a teacher: no course visit
    assert sync(config, ledger, sandbox, clock).written == 0
    clock.tick(hours=1)
    full = sync(config, ledger, sandbox, clock, full=True)
    assert full.written == 1 and 12 in done(lp, 11)


def test_unmatched_created_with_policy_create_and_enrolled(
    tmp_path: Path, sandbox: Sandbox, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    summary = sync(config_for(sandbox, tmp_path, sync={"unmatched": "create"}), ledger, sandbox, clock)
    assert summary.exit_code == 0
    share = summary.shares[0]
    assert share.created == 2 and share.unmatched == 0 and len(share.written) == 6 and share.already_there == 2
    camilla = next(u for u in lp.users.values() if u.email == "eva.ronning@bergen.kommune.no")
    assert camilla.idnumber == "BK-5015" and lp.is_enrolled(5, camilla.id)


def test_one_failing_learner_does_not_stop_the_others_and_is_retried(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    refuse_u07 = ks.fail(STATUSES, Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
                         when=lambda call: call.params["userid"] == 10)
    summary = sync(config, ledger, sandbox, clock)
    assert summary.exit_code == 4
    assert len(summary.shares[0].written) == 1 and summary.shares[0].already_there == 2  # u09; u01 ×2 there
    assert ("learner", borrower_key(10)) in failed_items(ledger)
    assert ledger.get_cursor(summary.shares[0].share_id) == clock.now  # per-learner failures keep the cursor moving
    run = ledger.last_run()
    assert run is not None and run.status == "partial"
    # next run: u07 has not visited since, but failed, so is read again
    refuse_u07.remove()
    clock.tick(minutes=15)
    again = sync(config, ledger, sandbox, clock)
    assert again.exit_code == 0 and again.written == 2
    assert ("learner", borrower_key(10)) not in failed_items(ledger)


def test_unreachable_platform_exits_3_and_keeps_the_cursor(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    down = ks.fail(None, Fault.http(503))
    summary = sync(config, ledger, sandbox, clock)
    assert summary.exit_code == 3 and "ks" in summary.unreachable
    assert ledger.get_cursor(summary.shares[0].share_id) is None
    # the transport's retries, then it gave up
    assert ks.faults_by_function == {"core_enrol_get_enrolled_users": 3} and ks.call_count == 0
    # the share's failed item keeps the transport's message as a code: shown later in either language
    (failure,) = [f for f in ledger.list_failures() if str(f.item_kind) == "share"]
    reason = Message.from_stored(failure.reason)
    assert reason.code == "sync.platform_down"
    assert reason.render("nb") == ("ks: core_enrol_get_enrolled_users: plattformen svarte HTTP 503 (feil eller "
                                   "vedlikehold hos plattformen): prøv igjen senere; delingen prøves igjen ved neste "
                                   "kjøring")
    assert reason.render("en") == ("ks: core_enrol_get_enrolled_users: the platform answered HTTP 503 (a fault or "
                                   "maintenance on the platform): try again later; the share is tried again on the "
                                   "next run")
    down.remove()
    clock.tick(minutes=15)
    assert sync(config, ledger, sandbox, clock).written == 3  # delayed, not lost (u01's two were there)


def test_owner_down_mid_share_commits_what_was_written(
    tmp_path: Path, sandbox: Sandbox, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path)
    # once two completions were written, the owner's site drops every connection
    # (u01's two go first and are hers already; then u07's two)
    down = lp.fail(None, Fault.dropped(), when=lambda _call: lp.calls_by_function.get(OVERRIDE, 0) >= 4)
    summary = sync(config, ledger, sandbox, clock, concurrency=1)
    assert summary.exit_code == 3 and "lp" in summary.unreachable
    assert len(ledger.completions()) == 2
    assert ledger.get_cursor(summary.shares[0].share_id) is None
    assert down.hits >= 3  # the third write and its retries
    down.remove()
    clock.tick(minutes=15)
    again = sync(config, ledger, sandbox, clock)
    assert again.exit_code == 0 and len(ledger.completions()) == 3


def test_missing_secret_is_a_configuration_error(tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PSEUDONYM")
    with pytest.raises(ConfigError) as caught:
        sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert caught.value.exit_code == 2 and "TEST_PSEUDONYM" in str(caught.value)
    assert sum(site.state.call_count + site.state.fault_count for site in sandbox.sites.values()) == 0
    monkeypatch.setenv("TEST_PSEUDONYM", "short")
    with pytest.raises(ConfigError):
        sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)


def test_dry_run_plans_writes_and_changes_nothing(tmp_path: Path, sandbox: Sandbox, lp: SiteState, ledger: Ledger,
                                                  clock: Clock) -> None:
    before = lp.snapshot()
    summary = sync(config_for(sandbox, tmp_path), ledger, sandbox, clock, dry_run=True)
    assert lp.snapshot() == before
    assert summary.written == 0 and summary.shares[0].planned_writes == 5
    assert [c.wsfunction for _, c in summary.planned].count(OVERRIDE) == 5
    assert OVERRIDE not in lp.calls_by_function
    assert ledger.completions() == [] and ledger.last_run() is None and ledger.get_cursor("S-0001") is None


def dump(ledger: Ledger) -> list[str]:
    assert ledger.path is not None
    with sqlite3.connect(ledger.path) as raw:
        return list(raw.iterdump())


def test_dry_run_sets_no_report_filter_and_writes_nothing_to_the_ledger(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    """Issue 11 item 9: ``--dry-run`` called core_reportbuilder_filters_reset, which is state on the site."""
    config = config_for(sandbox, tmp_path, report={"ks": 1})
    sync(config, ledger, sandbox, clock)
    clock.tick(minutes=15)
    visit_and_complete(ks, 11, 5, 3)
    ks.reset_counters()
    before, sites_before = dump(ledger), {name: s.state.snapshot() for name, s in sandbox.sites.items()}
    read_only = Ledger.open(ledger.path or "", read_only=True)
    try:
        summary = sync(config, read_only, sandbox, clock, dry_run=True)
    finally:
        read_only.close()
    assert summary.exit_code == 0 and summary.shares[0].planned_writes == 1
    assert not {"core_reportbuilder_set_filters", "core_reportbuilder_filters_reset",
                "core_reportbuilder_retrieve_report"} & set(ks.calls_by_function)
    assert [w.code for w in summary.warnings] == ["sync.warning.dry_run_no_report"]
    assert dump(ledger) == before
    assert {name: s.state.snapshot() for name, s in sandbox.sites.items()} == sites_before


def test_a_read_only_ledger_refuses_every_write_and_an_old_one(tmp_path: Path, ledger: Ledger) -> None:
    with Ledger.open(tmp_path / "ledger.db", read_only=True) as read_only:
        assert [s.id for s in read_only.list_shares()] == ["S-0001"]
        with pytest.raises(LedgerError, match="bare for lesing"):
            read_only.start_run()
        with pytest.raises(LedgerError, match="bare for lesing"), read_only.acquire_lock("sync"):
            pass
    with pytest.raises(LedgerError, match="Fant ingen hovedbok"):
        Ledger.open(tmp_path / "nowhere.db", read_only=True)
    assert not (tmp_path / "nowhere.db").exists()
    with sqlite3.connect(tmp_path / "ledger.db") as raw:
        raw.execute("DELETE FROM migrations WHERE name = ?", (MIGRATIONS[-1].name,))
    with pytest.raises(LedgerError, match=MIGRATIONS[-1].name):
        Ledger.open(tmp_path / "ledger.db", read_only=True)


def test_unmapped_activity_is_reported_not_guessed(tmp_path: Path, sandbox: Sandbox, ks: SiteState, ledger: Ledger,
                                                   clock: Clock) -> None:
    with ks.changing():
        local = ks.add_module(ks.courses[3], "page", "Lokal refleksjon", completion=TRACKING_MANUAL)
    summary = sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert [u.activity.cmid for u in summary.shares[0].unmapped] == [local.id]
    assert ("activity", f"cm:{local.id}") in failed_items(ledger)
    assert summary.exit_code == 0


def test_mapping_is_read_once_per_share_per_run(tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState,
                                                ledger: Ledger, clock: Clock) -> None:
    sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert ks.calls_by_function["core_course_get_contents"] == 1
    assert ks.calls_by_function["core_course_get_course_module"] == 2
    assert lp.calls_by_function["core_course_get_contents"] == 1


def test_report_path_reads_only_learners_with_progress(tmp_path: Path, sandbox: Sandbox, ks: SiteState,
                                                       ledger: Ledger, clock: Clock) -> None:
    config = config_for(sandbox, tmp_path, report={"ks": 1})
    summary = sync(config, ledger, sandbox, clock)
    assert summary.exit_code == 0 and summary.shares[0].path == "report"
    assert len(ledger.completions()) == 3  # u01's two are hers already (on lp: «fra før»)
    assert "core_enrol_get_enrolled_users" not in ks.calls_by_function
    assert ks.calls_by_function["core_reportbuilder_retrieve_report"] == 1
    # 5 learners of the course have something done (u01, u07, k15 C; u09, k16 P1); k15 and k16 have no lp
    # account (looked up first, skip policy): only the other three are read
    assert ks.calls_by_function[STATUSES] == 3
    # incremental: set_filters (time completed ≥ cursor − overlap), one read, filters_reset
    ks.reset_counters()
    clock.tick(minutes=15)
    visit_and_complete(ks, 11, 5, 3)
    visit_and_complete(ks, 11, 6, 3)  # u08 completes the course
    again = sync(config, ledger, sandbox, clock)
    assert again.written == 2
    assert ks.calls_by_function["core_reportbuilder_set_filters"] == 2  # and the visits-filter probe
    assert ks.calls_by_function["core_reportbuilder_filters_reset"] == 1
    # u08; and u01, whose course completion on ks is in the window and whose completions were on lp already
    assert sorted(p["userid"] for p in ks.calls_to(STATUSES)) == [4, 11]
    assert ks.report_filters == {}  # no filter left behind for the next reader


def test_report_denied_falls_back_to_the_listing(tmp_path: Path, sandbox: Sandbox, ks: SiteState, ledger: Ledger,
                                                 clock: Clock) -> None:
    with ks.changing():  # the report is no longer shared with the lmsbridgews role: errorreportview
        ks.reports[1].audience = []
    summary = sync(config_for(sandbox, tmp_path, report={"ks": 1}), ledger, sandbox, clock)
    assert summary.exit_code == 0 and summary.shares[0].path == "per-learner"
    warnings = [w.render("nb") for w in summary.warnings]
    assert any(w.startswith("ks: fullføringsrapport 1 kan ikke brukes (") and w.endswith(
        "); leser deltaker for deltaker i stedet") and "(ks: " not in w for w in warnings), warnings
    assert len(ledger.completions()) == 3  # u01's two are hers already (on lp: «fra før»)


def test_shares_of_a_link_are_skipped(tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock) -> None:
    publish(ledger, owner="ks", owner_course=2, owner_shortname="KSL-VELFERD-01", borrower="lp",
            borrower_course=None, borrower_shortname=None, key="k2")
    summary = sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert [s.status for s in summary.shares] == ["ok", "skipped"]
    assert summary.exit_code == 0


def test_incremental_report_run_retries_a_failed_learner_and_leaves_out_staff(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = config_for(sandbox, tmp_path, report={"ks": 1})
    refuse_u07 = ks.fail(STATUSES, Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
                         when=lambda call: call.params["userid"] == 10)
    first = sync(config, ledger, sandbox, clock)
    assert first.exit_code == 4 and first.shares[0].path == "report"
    assert ("learner", borrower_key(10)) in failed_items(ledger)

    refuse_u07.remove()
    ks.reset_counters()
    clock.tick(minutes=15)
    # a teacher of the borrower course completes it (in the report, but the listing says staff), and u08's
    # course is completed without a visit (only the filtered report shows it)
    teacher = ks.add_user("laerer@ks.test", "Lene", "Lærer", "laerer@ks.test", idnumber="KS-T30")
    ks.enrol(teacher.id, 3, roleid=3)  # editingteacher
    for cmid in (5, 6):
        ks.complete_activity(teacher.id, cmid)
        ks.complete_activity(11, cmid)
    again = sync(config, ledger, sandbox, clock)
    assert again.exit_code == 0 and again.shares[0].path == "listing+report", again.as_dict()
    # u07 failed last time (no visit since), u08 completed; not the teacher. u01's course completion is in the
    # report's window too, and the ledger holds none of hers (on lp already): read again, nothing written
    assert sorted(p["userid"] for p in ks.calls_to(STATUSES)) == [4, 10, 11]
    assert {(w.learner_key, w.owner_cmid) for w in again.shares[0].written} == {
        (key(10), 12), (key(10), 13), (key(11), 12), (key(11), 13)}
    assert ("learner", borrower_key(10)) not in failed_items(ledger)
    assert ks.calls_by_function["core_reportbuilder_set_filters"] == 2 and ks.report_filters == {}


def test_an_identity_conflict_is_never_written_and_waits_for_a_person(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    """Issue 11: a borrower learner with idnumber KS-555 and username «ola» was matched by username to owner
    HB-20002; the completion went to the wrong person."""
    learner = ks.add_user("ola", "Ola", "Kommune", "", idnumber="KS-555")
    ks.enrol(learner.id, 3)
    visit_and_complete(ks, learner.id, 5, 3)
    someone_else = lp.add_user("ola", "Ola", "Sykehus", "ola@helse-bergen.no", idnumber="HB-20002")
    lp.enrol(someone_else.id, 5)
    # username is not compared between ks and lp unless configured: Ola is simply not found
    plain = sync(config_for(sandbox, tmp_path), ledger, sandbox, clock)
    assert done(lp, someone_else.id) == set()
    assert ("unmatched", borrower_key(learner.id)) in failed_items(ledger) and plain.exit_code == 0
    # with usernames shared by the pair, username finds HB-20002, whose idnumber disagrees: a conflict
    clock.tick(minutes=15)
    shared = config_for(sandbox, tmp_path, sync={"username_pairs": [["lp", "ks"]]})
    summary = sync(shared, ledger, sandbox, clock)
    assert summary.exit_code == 4 and done(lp, someone_else.id) == set()
    (conflict,) = [f for f in ledger.list_failures() if str(f.item_kind) == "conflict"]
    reason = Message.from_stored(conflict.reason)
    assert reason.code == "sync.match.conflict" and reason.values == {"by": "username", "keys": "idnumber"}
    assert ("unmatched", borrower_key(learner.id)) not in failed_items(ledger)
    # the person who resolves it sees who it is and which owner account the username names
    status = sync_status(ledger)
    clients = make_clients(urls(sandbox), tokens={n: s.token for n, s in sandbox.sites.items()})
    reveal(status, ledger, clients.__getitem__, SECRET.encode())
    (conflicting,) = [f for f in status.failures if str(f.item_kind) == "conflict"]
    who = status.who(conflicting)
    assert who is not None and (who.learner.id, who.learner.idnumber) == (learner.id, "KS-555")
    assert [(p.id, p.idnumber) for p in who.owner_accounts] == [(someone_else.id, "HB-20002")]
    # it stays until a person resolves it (here: the borrower's idnumber is corrected)
    clock.tick(minutes=15)
    assert sync(shared, ledger, sandbox, clock).exit_code == 4
    with ks.changing():
        ks.users[learner.id].idnumber = "HB-20002"
    clock.tick(minutes=15)
    fixed = sync(shared, ledger, sandbox, clock)
    assert fixed.exit_code == 0 and done(lp, someone_else.id) == {12}
    assert not [f for f in ledger.list_failures() if str(f.item_kind) == "conflict"]


def test_username_pairs_name_two_configured_platforms(tmp_path: Path, sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError, match="ks & nowhere"):
        config_for(sandbox, tmp_path, sync={"username_pairs": [["ks", "nowhere"]]})
    with pytest.raises(ConfigError, match="ks & ks"):
        config_for(sandbox, tmp_path, sync={"username_pairs": [["ks", "ks"]]})


def test_failed_learners_from_before_pseudonyms_are_retried_and_rekeyed(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    """failed_items from an earlier version keep borrower ids (``user:10``): a dry run still retries them and
    writes nothing; the next run retries them and keeps them under the pseudonym from then on."""
    config = config_for(sandbox, tmp_path)
    refuse_u07 = ks.fail(STATUSES, Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
                         when=lambda call: call.params["userid"] == 10)
    sync(config, ledger, sandbox, clock)
    refuse_u07.remove()
    assert ledger.path is not None
    with sqlite3.connect(ledger.path) as raw:  # as an earlier version kept them
        for uid in (10, 18, 19):
            raw.execute("UPDATE failed_items SET item_key = ? WHERE item_key = ?", (f"user:{uid}", borrower_key(uid)))
    clock.tick(minutes=15)
    dry = sync(config, ledger, sandbox, clock, dry_run=True)
    assert dry.shares[0].planned_writes == 2  # u07 is read again (no visit since): he failed last time
    assert {f.item_key for f in ledger.list_failures()} == {"user:10", "user:18", "user:19"}
    again = sync(config, ledger, sandbox, clock)
    assert again.exit_code == 0 and again.written == 2 and done(lp, 10) == {12, 13}
    assert failed_items(ledger) == {("unmatched", borrower_key(18)), ("unmatched", borrower_key(19))}
    with sqlite3.connect(ledger.path) as raw:
        keys = [row[0] for row in raw.execute("SELECT item_key FROM failed_items")]
    assert all("user:" not in key for key in keys)
