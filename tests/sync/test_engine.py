"""The sync engine over two stateful stand-ins (``responses``): what comes back, what is skipped, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsbridge.config import Config
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, is_pseudonym
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from lmsbridge.sync.identity import learner_key
from tests.sync.fake_sites import FakeSite, recorded_sites, serve
from tests.sync.helpers import SECRET, Clock, make_clients, make_config, publish

URLS = {"ks": "http://ks.test", "lp": "http://lp.test"}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PSEUDONYM", SECRET)


@pytest.fixture
def sites() -> dict[str, FakeSite]:
    return recorded_sites()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = Ledger.open(tmp_path / "ledger.db")
    # lp owns HBHF-SMITTE-01 (course 5); ks borrows it as KSL-HBHF-SMITTE-01 (course 3): seed_data.json
    publish(led, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks", borrower_course=3,
            borrower_shortname="KSL-HBHF-SMITTE-01")
    return led


def sync(config: Config, ledger: Ledger, sites: dict[str, FakeSite], clock: Clock, **options: object) -> SyncSummary:
    for site in sites.values():
        site.now = int(clock.now.timestamp())
    with serve(sites):
        return run_sync(config=config, clients=make_clients(URLS, dry_run=bool(options.get("dry_run"))),
                        ledger=ledger, options=SyncOptions(**options), clock=clock)  # type: ignore[arg-type]


def key(uid: int) -> str:
    return learner_key(SECRET.encode(), "lp", uid)


def test_first_run_brings_back_every_completion_and_logs_it_pseudonymously(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    summary = sync(make_config(URLS, tmp=tmp_path), ledger, sites, clock)
    assert summary.exit_code == 0, summary.as_dict()
    lp = sites["lp"]
    # ks learners of KSL-HBHF-SMITTE-01 with completions: u01 C, u07 C, u09 P1 (HB10009; mixed-case email on ks),
    # k15 C and k16 P1 have no lp account (skip policy: counted, not created)
    assert {(cm, uid) for cm, uid in lp.done if uid == 10} == {(12, 10), (13, 10)}
    assert (12, 12) in lp.done and (13, 12) not in lp.done
    share = summary.shares[0]
    assert share.unmatched == 2 and len(share.written) == 5
    rows = ledger.completions()
    assert {(r.learner_key, r.owner_activity) for r in rows} == {
        (key(4), "12"), (key(4), "13"), (key(10), "12"), (key(10), "13"), (key(12), "12")}
    assert all(is_pseudonym(r.learner_key) and "@" not in r.learner_key for r in rows)
    assert {r.borrower_activity for r in rows} == {"5", "6"}
    assert ledger.get_cursor(share.share_id) == clock.now
    assert {(f.item_kind, f.item_key) for f in ledger.list_failures()} == {("unmatched", "user:18"),
                                                                          ("unmatched", "user:19")}
    run = ledger.last_run()
    assert run is not None and run.status == "ok" and run.counts["written"] == 5


def test_second_run_without_changes_only_lists_and_writes_nothing(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    sync(config, ledger, sites, clock)
    for site in sites.values():
        site.calls.clear()
    clock.tick(minutes=15)
    summary = sync(config, ledger, sites, clock)
    assert summary.exit_code == 0 and summary.written == 0
    reads_and_writes = {"core_completion_get_activities_completion_status",
                        "core_completion_override_activity_completion_status", "enrol_manual_enrol_users",
                        "core_user_create_users"}
    assert not reads_and_writes & (set(sites["ks"].calls) | set(sites["lp"].calls))
    # the listing, plus the owner's participants and one lookup to retry the two unmatched learners
    assert sites["ks"].calls == {"core_enrol_get_enrolled_users": 1}
    assert set(sites["lp"].calls) <= {"core_enrol_get_enrolled_users", "core_user_get_users_by_field"}
    assert len(ledger.completions()) == 5


def test_new_completion_after_a_visit_is_read_and_written_once(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    sync(config, ledger, sites, clock)
    clock.tick(minutes=15)
    sites["ks"].now = int(clock.now.timestamp())
    sites["ks"].complete(13, 5)  # u10 Hilde Berg: no idnumber on ks, matched by email
    sites["ks"].calls.clear()
    summary = sync(config, ledger, sites, clock)
    assert summary.written == 1 and (12, 13) in sites["lp"].done
    assert sites["ks"].calls["core_completion_get_activities_completion_status"] == 1
    clock.tick(minutes=15)
    again = sync(config, ledger, sites, clock)
    assert again.written == 0


def test_teacher_set_completion_without_visit_needs_full(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    sync(config, ledger, sites, clock)
    clock.tick(hours=1)
    sites["ks"].complete(11, 5, visit=False)  # u08, set by a teacher: no course visit
    assert sync(config, ledger, sites, clock).written == 0
    clock.tick(hours=1)
    full = sync(config, ledger, sites, clock, full=True)
    assert full.written == 1 and (12, 11) in sites["lp"].done


def test_unmatched_created_with_policy_create_and_enrolled(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    summary = sync(make_config(URLS, tmp=tmp_path, sync={"unmatched": "create"}), ledger, sites, clock)
    assert summary.exit_code == 0
    share = summary.shares[0]
    assert share.created == 2 and share.unmatched == 0 and len(share.written) == 8
    lp = sites["lp"]
    camilla = next(u for u in lp.users.values() if u["email"] == "eva.ronning@bergen.kommune.no")
    assert camilla["idnumber"] == "BK-5015" and camilla["id"] in lp.enrolled[5]


def test_one_failing_learner_does_not_stop_the_others_and_is_retried(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    from tests.sync.fake_sites import Fault, error

    def refuse_u07(params: dict[str, object]) -> None:
        if str(params["userid"]) == "10":
            raise Fault(error("nocriteriaset", "No completion criteria set for this course"))

    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    sites["ks"].hooks["core_completion_get_activities_completion_status"] = refuse_u07
    summary = sync(config, ledger, sites, clock)
    assert summary.exit_code == 4
    assert len(summary.shares[0].written) == 3  # u01 ×2, u09
    assert ("learner", "user:10") in {(f.item_kind, f.item_key) for f in ledger.list_failures()}
    assert ledger.get_cursor(summary.shares[0].share_id) == clock.now  # per-learner failures keep the cursor moving
    run = ledger.last_run()
    assert run is not None and run.status == "partial"
    # next run: u07's last access is old, but it failed, so it is read again
    del sites["ks"].hooks["core_completion_get_activities_completion_status"]
    clock.tick(minutes=15)
    again = sync(config, ledger, sites, clock)
    assert again.exit_code == 0 and again.written == 2
    assert ("learner", "user:10") not in {(f.item_kind, f.item_key) for f in ledger.list_failures()}


def test_unreachable_platform_exits_3_and_keeps_the_cursor(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    sites["ks"].status_code = 503
    summary = sync(config, ledger, sites, clock)
    assert summary.exit_code == 3 and "ks" in summary.unreachable
    assert ledger.get_cursor(summary.shares[0].share_id) is None
    assert sites["ks"].calls["core_enrol_get_enrolled_users"] == 3  # the transport's retries, then it gave up
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
    sites["ks"].status_code = None
    clock.tick(minutes=15)
    assert sync(config, ledger, sites, clock).written == 5  # delayed, not lost


def test_owner_down_mid_share_commits_what_was_written(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path)
    lp = sites["lp"]
    writes = {"n": 0}

    def fail_after_two(params: dict[str, object]) -> None:
        writes["n"] += 1
        if writes["n"] > 2:
            lp.connection_down = True
            raise Fault(error("x"))

    from tests.sync.fake_sites import Fault, error

    lp.hooks["core_completion_override_activity_completion_status"] = fail_after_two
    summary = sync(config, ledger, sites, clock, concurrency=1)
    assert summary.exit_code == 3
    assert len(ledger.completions()) == 2
    assert ledger.get_cursor(summary.shares[0].share_id) is None
    lp.connection_down = False
    del lp.hooks["core_completion_override_activity_completion_status"]
    clock.tick(minutes=15)
    again = sync(config, ledger, sites, clock)
    assert again.exit_code == 0 and len(ledger.completions()) == 5


def test_missing_secret_is_a_configuration_error(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PSEUDONYM")
    with pytest.raises(ConfigError) as caught:
        sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock())
    assert caught.value.exit_code == 2 and "TEST_PSEUDONYM" in str(caught.value)
    assert sum(s.calls.total() for s in sites.values()) == 0
    monkeypatch.setenv("TEST_PSEUDONYM", "short")
    with pytest.raises(ConfigError):
        sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock())


def test_dry_run_plans_writes_and_changes_nothing(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger) -> None:
    before = dict(sites["lp"].done)
    summary = sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock(), dry_run=True)
    assert sites["lp"].done == before
    assert summary.written == 0 and summary.shares[0].planned_writes == 5
    assert [c.wsfunction for _, c in summary.planned].count("core_completion_override_activity_completion_status") == 5
    assert ledger.completions() == [] and ledger.last_run() is None and ledger.get_cursor("S-0001") is None


def test_unmapped_activity_is_reported_not_guessed(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger) -> None:
    sites["ks"].courses[3]["modules"].append({"id": 40, "name": "Lokal refleksjon", "completion": 1, "idnumber": ""})
    summary = sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock())
    assert [u.activity.cmid for u in summary.shares[0].unmapped] == [40]
    assert ("activity", "cm:40") in {(f.item_kind, f.item_key) for f in ledger.list_failures()}
    assert summary.exit_code == 0


def test_mapping_is_read_once_per_share_per_run(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger) -> None:
    sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock())
    assert sites["ks"].calls["core_course_get_contents"] == 1
    assert sites["ks"].calls["core_course_get_course_module"] == 2
    assert sites["lp"].calls["core_course_get_contents"] == 1


def test_report_path_reads_only_learners_with_progress(tmp_path: Path, sites: dict[str, FakeSite],
                                                       ledger: Ledger) -> None:
    clock = Clock()
    config = make_config(URLS, tmp=tmp_path, report={"ks": 1})
    summary = sync(config, ledger, sites, clock)
    assert summary.exit_code == 0 and summary.shares[0].path == "report"
    assert len(ledger.completions()) == 5
    ks = sites["ks"]
    assert ks.calls["core_enrol_get_enrolled_users"] == 0
    assert ks.calls["core_reportbuilder_retrieve_report"] == 1
    # 5 learners of the course have something done (u01, u07, k15 C; u09, k16 P1): only they are read
    assert ks.calls["core_completion_get_activities_completion_status"] == 5
    # incremental: set_filters (time completed ≥ cursor − overlap), one read, filters_reset
    for site in sites.values():
        site.calls.clear()
    clock.tick(minutes=15)
    ks.now = int(clock.now.timestamp())
    ks.complete(11, 5)
    ks.complete(11, 6)  # u08 completes the course
    again = sync(config, ledger, sites, clock)
    assert again.written == 2
    assert ks.calls["core_reportbuilder_set_filters"] == 1 and ks.calls["core_reportbuilder_filters_reset"] == 1
    assert ks.calls["core_completion_get_activities_completion_status"] == 1
    assert ks.filter_from is None


def test_report_denied_falls_back_to_the_listing(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger) -> None:
    sites["ks"].report_denied = True
    summary = sync(make_config(URLS, tmp=tmp_path, report={"ks": 1}), ledger, sites, Clock())
    assert summary.exit_code == 0 and summary.shares[0].path == "per-learner"
    warnings = [w.render("nb") for w in summary.warnings]
    assert any(w.startswith("ks: fullføringsrapport 1 kan ikke brukes (") and w.endswith(
        "); leser deltaker for deltaker i stedet") and "(ks: " not in w for w in warnings), warnings
    assert len(ledger.completions()) == 5


def test_shares_of_a_link_are_skipped(tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger) -> None:
    publish(ledger, owner="ks", owner_course=2, owner_shortname="KSL-VELFERD-01", borrower="lp",
            borrower_course=None, borrower_shortname=None, key="k2")
    summary = sync(make_config(URLS, tmp=tmp_path), ledger, sites, Clock())
    assert [s.status for s in summary.shares] == ["ok", "skipped"]
    assert summary.exit_code == 0


def test_incremental_report_run_retries_a_failed_learner_and_leaves_out_staff(
    tmp_path: Path, sites: dict[str, FakeSite], ledger: Ledger
) -> None:
    from tests.sync.fake_sites import Fault, error

    ks = sites["ks"]
    read_for: list[int] = []

    def refuse_u07(params: dict[str, object]) -> None:
        read_for.append(int(str(params["userid"])))
        if str(params["userid"]) == "10":
            raise Fault(error("nocriteriaset", "No completion criteria set for this course"))

    clock = Clock()
    config = make_config(URLS, tmp=tmp_path, report={"ks": 1})
    ks.hooks["core_completion_get_activities_completion_status"] = refuse_u07
    first = sync(config, ledger, sites, clock)
    assert first.exit_code == 4 and first.shares[0].path == "report"
    assert ("learner", "user:10") in {(f.item_kind, f.item_key) for f in ledger.list_failures()}

    ks.hooks["core_completion_get_activities_completion_status"] = lambda p: read_for.append(int(str(p["userid"])))
    read_for.clear()
    clock.tick(minutes=15)
    ks.now = int(clock.now.timestamp())
    # a teacher of the borrower course completes it (in the report, but the listing says staff), and u08's
    # course is completed without a visit (only the filtered report shows it)
    ks.add_user(30, "laerer@ks.test", "laerer@ks.test", "KS-T30", "Lene Lærer")
    ks.enrol_user(3, 30, role=3)
    for cmid in (5, 6):
        ks.complete(30, cmid, visit=False)
        ks.complete(11, cmid, visit=False)
    again = sync(config, ledger, sites, clock)
    assert again.exit_code == 0 and again.shares[0].path == "listing+report", again.as_dict()
    assert sorted(read_for) == [10, 11]  # u07 failed last time (old visit), u08 completed; not the teacher
    assert {(w.learner_key, w.owner_cmid) for w in again.shares[0].written} == {
        (key(10), 12), (key(10), 13), (key(11), 12), (key(11), 13)}
    assert ("learner", "user:10") not in {(f.item_kind, f.item_key) for f in ledger.list_failures()}
    assert ks.calls["core_reportbuilder_set_filters"] == 1 and ks.filter_from is None
