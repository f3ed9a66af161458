"""Reconciling against the platforms, not the ledger (issue 11 item 2), and the cursor on the platform's clock
(item 3), over the sandbox's two sites in process.

The seeded share (tests/sync/test_engine.py's docstring): lp owns HBHF-SMITTE-01 (course 5, cmids 12/13), ks
borrows it as KSL-HBHF-SMITTE-01 (course 3, cmids 5/6, mapped 5→12, 6→13). On ks, u01 (4) and u07 (10) completed
both activities, u09 (12) the first; the same people have the same ids on lp. The first run brings 5 back.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lmsbridge.config import Config
from lmsbridge.ledger import Ledger
from lmsbridge.report.figures import collect
from lmsbridge.report.period import Period
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from lmsbridge.sync.check import CHECK_ACTION, CheckResult, check_completions
from tests.sync.helpers import Clock, make_clients, make_config, urls

OVERRIDE = "core_completion_override_activity_completion_status"
#: The five completions of the first run, as (lp user, lp cmid).
BROUGHT_BACK = ((4, 12), (4, 13), (10, 12), (10, 13), (12, 12))


def only_brought_back(lp: SiteState) -> None:
    """lp's own completions of the course (made on lp; one of those learners is in the ks course too, so the
    owner holds what the borrower lacks) are taken away: then both sides can agree."""
    for cmid, userid in list(lp.activity_completions):
        if cmid in (12, 13) and userid not in (4, 10, 12):
            lp.reset_activity(userid, cmid)


def clients(sb: Sandbox, *, dry_run: bool = False) -> dict:  # type: ignore[type-arg]
    return make_clients(urls(sb), tokens={n: s.token for n, s in sb.sites.items()}, dry_run=dry_run)


def sync(config: Config, ledger: Ledger, sb: Sandbox, clock: object, **options: object) -> SyncSummary:
    return run_sync(config=config, clients=clients(sb), ledger=ledger, options=SyncOptions(**options),  # type: ignore[arg-type]
                    clock=clock)  # type: ignore[arg-type]


def check(config: Config, ledger: Ledger, sb: Sandbox, clock: Clock, **kw: object) -> CheckResult:
    return check_completions(config=config, clients=clients(sb, dry_run=True), ledger=ledger, clock=clock,
                             **kw)  # type: ignore[arg-type]


def done(state: SiteState, userid: int) -> set[int]:
    return {cmid for (cmid, uid), record in state.activity_completions.items() if uid == userid and record.state >= 1}


@pytest.mark.parametrize("report", [False, True], ids=["no-report", "report"])
def test_full_writes_again_what_was_reset_on_the_owner_whatever_the_ledger_remembers(
    tmp_path: Path, sandbox: Sandbox, lp: SiteState, ledger: Ledger, clock: Clock, report: bool
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1 if report else None})
    only_brought_back(lp)
    first = sync(config, ledger, sandbox, clock)
    # two of the five were the learners' own on lp already («fra før», issue 15 item 5): no ledger row for those
    assert (first.written, first.counts()["already_there"], len(ledger.completions())) == (3, 2, 3)
    assert check(config, ledger, sandbox, clock).equal
    for userid, cmid in BROUGHT_BACK:  # an administrator resets them on the owner site by hand
        assert lp.reset_activity(userid, cmid)
    clock.tick(minutes=15)
    # incremental: nothing new on the borrower. On the report path the two the ledger never held (they were the
    # learners' own) show as unrecorded progress and are written again; the listing path sees no visit and writes
    # none. The ones the ledger holds are trusted until --full.
    again = 2 if report else 0
    assert sync(config, ledger, sandbox, clock).written == again
    found = check(config, ledger, sandbox, clock)
    share = found.shares[0]
    lacking = 5 - again
    assert (found.drift, found.exit_code, len(share.owner_lacks), len(share.borrower_lacks)) == (lacking, 1, lacking, 0)
    assert {(g.borrower_cmid, g.owner_cmid) for g in share.owner_lacks} == {(5, 12), (6, 13)}
    # k15 and k16 have no lp account: counted apart (the sync keeps them as failed items), not drift
    assert (share.without_owner_account, share.unmatched_completions) == (2, 3)

    clock.tick(minutes=15)
    repaired = sync(config, ledger, sandbox, clock, full=True, use_report=report)
    assert repaired.exit_code == 0 and repaired.written == lacking
    assert all(cmid in done(lp, userid) for userid, cmid in BROUGHT_BACK)
    assert len(ledger.completions()) == 5  # the three written again recorded once, the two own ones now ours
    after = check(config, ledger, sandbox, clock)
    assert (after.drift, after.exit_code, after.equal) == (0, 0, True)
    # a second --full finds the owner complete: it reads both sides and writes nothing
    lp.reset_counters()
    assert sync(config, ledger, sandbox, clock, full=True, use_report=report).written == 0
    assert OVERRIDE not in lp.calls_by_function


def test_full_on_the_report_path_catches_one_activity_unset_and_another_set_without_a_visit(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1})
    only_brought_back(lp)
    sync(config, ledger, sandbox, clock)
    assert done(lp, 12) == {12}
    clock.tick(minutes=5)
    ks.reset_activity(12, 5)  # a teacher unsets activity 1 and sets activity 2: the percentage stays 50 %
    ks.complete_activity(12, 6)
    clock.tick(minutes=15)
    summary = sync(config, ledger, sandbox, clock, full=True)
    assert summary.shares[0].path == "report"
    assert summary.written == 1 and done(lp, 12) == {12, 13}
    # the owner keeps activity 1 (the sync never takes a completion away): the check shows it the other way round
    found = check(config, ledger, sandbox, clock)
    assert [(g.borrower_cmid, g.owner_cmid) for g in found.shares[0].borrower_lacks] == [(5, 12)]
    assert not found.shares[0].owner_lacks and found.exit_code == 1


def test_check_reads_only_and_records_one_event_for_the_quarterly_report(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1})
    before = check(config, ledger, sandbox, clock, record=False)
    # nothing synced yet: u07 and u09 have 3 completions the owner lacks (u01 did the course on lp too); one ks
    # learner did it on lp only (2 the borrower lacks); k15 and k16 (3 more) have no lp account
    share = before.shares[0]
    assert (len(share.owner_lacks), len(share.borrower_lacks), before.drift) == (3, 2, 5)
    assert (share.without_owner_account, share.unmatched_completions, before.recorded) == (2, 3, False)
    events = len(ledger.events())
    ks.reset_counters()
    lp.reset_counters()
    result = check(config, ledger, sandbox, clock)
    calls = set(ks.calls_by_function) | set(lp.calls_by_function)
    assert not {c for c in calls if "reportbuilder" in c or c in (OVERRIDE, "enrol_manual_enrol_users")}
    assert ledger.completions() == [] and ledger.get_cursor(share.share_id) is None and not ledger.list_failures()
    (event,) = ledger.events()[events:]
    assert event.action == CHECK_ACTION and event.details["checked"] == result.checked == share.learners
    assert event.details["drift"] == 5
    figures = collect(ledger, config, Period.quarter("2026Q4"), now=clock.now + timedelta(days=1), lang="en")
    assert figures.sync.drift is not None and figures.sync.drift["drift"] == 5
    assert figures.sync.drift_source == "ledger"


def test_check_of_a_share_on_an_unknown_platform_is_that_share_failing(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock
) -> None:
    config = make_config({"lp": sandbox.sites["lp"].url}, tmp=tmp_path)
    result = check(config, ledger, sandbox, clock, record=False)
    assert result.shares[0].error is not None and result.exit_code == 4 and not result.equal


# -- the cursor on the platform's clock (item 3) -------------------------------------------------------------


@pytest.mark.parametrize("report", [False, True], ids=["no-report", "report"])
def test_a_host_clock_ahead_of_the_platform_does_not_put_the_cursor_in_its_future(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock, report: bool
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1 if report else None})
    host = Clock(clock.now + timedelta(hours=1))  # the host's clock runs an hour ahead of the platforms'
    summary = sync(config, ledger, sandbox, host)
    cursor = ledger.get_cursor(summary.shares[0].share_id)
    assert cursor is not None and clock.now - timedelta(seconds=5) <= cursor <= clock.now
    # a completion made ten minutes later (platform time) is brought back by the next incremental run
    clock.tick(minutes=10)
    host.tick(minutes=10)
    ks.set_last_access(12, 3)
    ks.complete_activity(12, 6)
    ks.mark_self_completed(3, 12)
    ks.run_cron()
    assert sync(config, ledger, sandbox, host).written == 1 and 13 in done(lp, 12)


@pytest.mark.parametrize("report", [False, True], ids=["no-report", "report"])
def test_a_cursor_ahead_of_the_platform_is_reported_read_past_and_corrected(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock, report: bool
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path, report={"ks": 1 if report else None})
    sync(config, ledger, sandbox, clock)
    share_id = ledger.list_shares()[0].id
    future = clock.now + timedelta(days=30)
    ledger.set_cursor(share_id, future, future)  # a host clock a month ahead once, or a hand edit
    clock.tick(minutes=10)
    ks.set_last_access(12, 3)
    ks.complete_activity(12, 6)  # waits on the borrower; the cursor would hide it for a month
    ks.mark_self_completed(3, 12)
    ks.run_cron()
    clock.tick(minutes=5)
    summary = sync(config, ledger, sandbox, clock)
    assert summary.written == 1 and 13 in done(lp, 12)
    notes = [n.code for n in summary.shares[0].notes]
    assert "sync.note.cursor_ahead" in notes
    corrected = ledger.get_cursor(share_id)
    assert corrected is not None and corrected <= clock.now
    (event,) = ledger.events(actions=["sync.cursor_corrected"])
    assert event.details["cursor"] == future.isoformat()
    # the next run finds the cursor where it belongs: no note, nothing more to write
    clock.tick(minutes=15)
    again = sync(config, ledger, sandbox, clock)
    assert again.written == 0 and "sync.note.cursor_ahead" not in [n.code for n in again.shares[0].notes]


def test_check_leaves_an_unreadable_learner_out_and_says_the_share_was_not_checked_in_full(
    tmp_path: Path, sandbox: Sandbox, ks: SiteState, lp: SiteState, ledger: Ledger, clock: Clock
) -> None:
    config = make_config(urls(sandbox), tmp=tmp_path)
    only_brought_back(lp)
    sync(config, ledger, sandbox, clock)
    ks.complete_activity(12, 6, 10**13)  # a poisoned record: year 318857
    result = check(config, ledger, sandbox, clock, record=False)
    share = result.shares[0]
    assert (share.unreadable, share.error, result.drift, result.exit_code) == (1, None, 0, 4)
    assert share.learners == result.checked and not result.equal
