"""Incremental runs without a participant listing per share, when the borrower's completion report has the
«Last access to course» filter (issue 15 item 7): the report's course completions and visits since the window
show every learner worth a look. Without the filter, or with a failed learner to try again, the listing stays.

Seed: ks course 3 (KSL-HBHF-SMITTE-01, cmids 5 and 6) borrows lp course 5 (cmids 12 and 13); u08 Åse Bjørnstad is
ks user 11 and lp user 11; u07 is ks user 10.
"""

from __future__ import annotations

from pathlib import Path

from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sandbox.state import SiteState
from tests.sync.helpers import Clock, borrower_key
from tests.sync.test_engine import STATUSES, config_for, failed_items, key, sync, visit_and_complete

LISTING = "core_enrol_get_enrolled_users"


def with_visits_filter(ks: SiteState) -> None:
    """What an administrator does (README): the filter «Last access to course» added to report 1."""
    with ks.changing():
        ks.reports[1].filters.append("access:timeaccess")


def first_runs(sandbox: Sandbox, ks: SiteState, ledger: Ledger, clock: Clock, tmp_path: Path) -> None:
    """The first run, and an incremental one (the seed's course completions fall in its window: u01's)."""
    for _ in range(2):
        summary = sync(config_for(sandbox, tmp_path, report={"ks": 1}), ledger, sandbox, clock)
        assert summary.exit_code == 0
        clock.tick(minutes=15)
    ks.reset_counters()


def test_a_no_change_run_reads_the_report_twice_and_lists_no_one(tmp_path: Path, sandbox: Sandbox, ks: SiteState,
                                                                  ledger: Ledger, clock: Clock) -> None:
    with_visits_filter(ks)
    first_runs(sandbox, ks, ledger, clock, tmp_path)
    again = sync(config_for(sandbox, tmp_path, report={"ks": 1}), ledger, sandbox, clock)
    assert again.exit_code == 0 and again.shares[0].path == "report" and again.written == 0
    assert LISTING not in ks.calls_by_function
    # completions since the window; the probe (one row); visits since the window; then the filters reset
    assert ks.calls_by_function["core_reportbuilder_set_filters"] == 3
    assert ks.calls_by_function["core_reportbuilder_retrieve_report"] == 3
    assert ks.calls_by_function["core_reportbuilder_filters_reset"] == 1
    assert STATUSES not in ks.calls_by_function
    assert ks.report_filters == {}


def test_a_visit_with_an_activity_done_is_found_without_the_listing(tmp_path: Path, sandbox: Sandbox, ks: SiteState,
                                                                    lp: SiteState, ledger: Ledger,
                                                                    clock: Clock) -> None:
    with_visits_filter(ks)
    first_runs(sandbox, ks, ledger, clock, tmp_path)
    visit_and_complete(ks, 11, 5, 3)  # one activity of two: no course completion, so only her visit shows it
    again = sync(config_for(sandbox, tmp_path, report={"ks": 1}), ledger, sandbox, clock)
    assert again.exit_code == 0 and again.shares[0].path == "report"
    assert {(w.learner_key, w.owner_cmid) for w in again.shares[0].written} == {(key(11), 12)}
    assert lp.activity_completions[(12, 11)].state == 1
    assert LISTING not in ks.calls_by_function
    assert [p["userid"] for p in ks.calls_to(STATUSES)] == [11]


def test_without_the_filter_the_listing_finds_the_visit(tmp_path: Path, sandbox: Sandbox, ks: SiteState,
                                                        lp: SiteState, ledger: Ledger, clock: Clock) -> None:
    first_runs(sandbox, ks, ledger, clock, tmp_path)
    visit_and_complete(ks, 11, 5, 3)
    again = sync(config_for(sandbox, tmp_path, report={"ks": 1}), ledger, sandbox, clock)
    assert again.exit_code == 0 and again.shares[0].path == "listing+report"
    assert lp.activity_completions[(12, 11)].state == 1
    assert ks.calls_by_function[LISTING] == 1


def test_a_failed_learner_to_try_again_brings_the_listing_back(tmp_path: Path, sandbox: Sandbox, ks: SiteState,
                                                               ledger: Ledger, clock: Clock) -> None:
    """Failed learners are kept under a pseudonym: only the listing names them again."""
    with_visits_filter(ks)
    config = config_for(sandbox, tmp_path, report={"ks": 1})
    refuse_u07 = ks.fail(STATUSES, Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
                         when=lambda call: call.params["userid"] == 10)
    first = sync(config, ledger, sandbox, clock)
    assert first.exit_code == 4 and ("learner", borrower_key(10)) in failed_items(ledger)
    refuse_u07.remove()
    ks.reset_counters()
    clock.tick(minutes=15)
    again = sync(config, ledger, sandbox, clock)
    assert again.exit_code == 0 and again.shares[0].path == "listing+report"
    assert ks.calls_by_function[LISTING] == 1
    assert ("learner", borrower_key(10)) not in failed_items(ledger)
    assert {w.learner_key for w in again.shares[0].written} == {key(10)}
