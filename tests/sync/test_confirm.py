"""The owner's course completions confirmed from its completion report after the writes (issue 15 item 7):
a few report pages per run in place of one ``core_completion_get_course_completion_status`` per learner,
and never a missing course completion taken for present.

lp's seed: Marit Pedersen (user 10 on both sites) has both activities of KSL-HBHF-SMITTE-01 complete on ks and
nothing in HBHF-SMITTE-01 (course 5) on lp; her course completion follows the two writes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from lmsbridge.sync.confirm import CourseCompletionsSince
from lmsbridge.sync.context import SESSION_SETTINGS
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.pools import Pools
from tests.sync.helpers import SECRET, make_clients, make_config, publish_seeded
from tests.sync.test_write_race import CMS, MARIT, course_complete, lose_the_aggregation

READ_BACK = "core_completion_get_course_completion_status"


def lp_key(userid: int) -> str:
    """The ledger's pseudonym of an lp learner."""
    return learner_key(SECRET.encode(), "lp", userid)
REPORT = "core_reportbuilder_retrieve_report"


def sync(sb: Sandbox, tmp: Path, *, owner_report: int | None = 1, use_report: bool = True) -> SyncSummary:
    urls = {n: s.url for n, s in sb.sites.items()}
    config = make_config(urls, tmp=tmp, report={"ks": 1, "lp": owner_report})
    clients = make_clients(urls, tokens={n: s.token for n, s in sb.sites.items()})
    with Ledger.open(tmp / "ledger.db") as ledger:
        if not ledger.list_shares():
            publish_seeded(ledger)
        return run_sync(config=config, clients=clients, ledger=ledger, options=SyncOptions(use_report=use_report))


def test_the_owner_report_confirms_the_course_completion_without_a_read_per_learner(sandbox: Sandbox,
                                                                                     tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    summary = sync(sandbox, tmp_path)
    assert summary.exit_code == 0  # u09, u10 (no lp account) are unmatched, which is no failure
    assert course_complete(sandbox, MARIT)
    share = summary.shares[0]
    assert share.courses_checked >= 1 and {f.kind for f in share.failures} == {"unmatched"}
    assert lp.calls_by_function.get(READ_BACK, 0) == 0
    assert lp.calls_by_function.get(REPORT, 0) >= 1
    assert not lp.report_filters, "the run leaves no filter set on the owner's report"


def test_a_course_completion_the_report_does_not_show_is_still_read_and_failed(sandbox: Sandbox,
                                                                               tmp_path: Path) -> None:
    lose_the_aggregation(sandbox, MARIT, CMS[1])
    summary = sync(sandbox, tmp_path)
    assert not course_complete(sandbox, MARIT)
    (failure,) = [f for s in summary.shares for f in s.failures if f.kind != "unmatched"]
    assert failure.reason.code == "sync.failure.course_completion_missing"
    assert sandbox.sites["lp"].state.calls_by_function.get(READ_BACK, 0) == 1  # Marit, whom the report did not show


def test_without_an_owner_report_each_learner_is_read_back(sandbox: Sandbox, tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    summary = sync(sandbox, tmp_path, owner_report=None)
    assert course_complete(sandbox, MARIT) and summary.shares[0].courses_checked >= 1
    assert lp.calls_by_function.get(READ_BACK, 0) >= 1 and lp.calls_by_function.get(REPORT, 0) == 0


def test_an_owner_report_the_service_may_not_read_falls_back_to_reads(sandbox: Sandbox, tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    lp.reports[1].audience = []  # the lmsbridgews role no longer in its audience: accessexception
    summary = sync(sandbox, tmp_path)
    assert course_complete(sandbox, MARIT)
    assert {f.kind for s in summary.shares for f in s.failures} == {"unmatched"}
    assert lp.calls_by_function.get(READ_BACK, 0) >= 1


# -- which read serves which share ------------------------------------------------------------------------------


def confirmations(sandbox: Sandbox, tmp: Path) -> tuple[CourseCompletionsSince, Pools]:
    urls = {n: s.url for n, s in sandbox.sites.items()}
    config = make_config(urls, tmp=tmp, report={"ks": 1, "lp": 1})
    clients = make_clients(urls, tokens={n: s.token for n, s in sandbox.sites.items()})
    pools = Pools(clients, {"ks": 1, "lp": 1}, settings=SESSION_SETTINGS)
    pools["lp"].call(lambda c: c.site_info())  # the platform's clock, from its answer, as a run's first calls give it
    return CourseCompletionsSince(pools, config.platforms, look_back=timedelta(minutes=10)), pools


def test_a_read_serves_the_shares_whose_writes_it_follows_and_looks_back_far_enough(sandbox: Sandbox,
                                                                                    tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    confirm, pools = confirmations(sandbox, tmp_path)
    try:
        now = datetime.now(UTC)
        lp.complete_activity(MARIT, CMS[0])
        lp.complete_activity(MARIT, CMS[1])  # her course completion follows (course 5)
        ended = time.monotonic()
        first = confirm.completed("lp", writes_began=now, after=ended)
        assert first is not None and (5, MARIT) in first
        assert lp.calls_by_function[REPORT] == 1 and lp.calls_by_function["core_reportbuilder_set_filters"] == 1
        # another share whose writes ended before that read began, and began no earlier: the same read
        assert confirm.completed("lp", writes_began=now + timedelta(seconds=1), after=ended) == first
        assert lp.calls_by_function[REPORT] == 1
        # writes that ended after it: a new read
        confirm.completed("lp", writes_began=now, after=time.monotonic())
        assert lp.calls_by_function[REPORT] == 2
        # writes that began before its filter's start: a new read that looks back from them
        confirm.completed("lp", writes_began=now - timedelta(hours=1), after=ended)
        assert lp.calls_by_function[REPORT] == 3
        confirm.reset()
        assert not lp.report_filters
    finally:
        pools.shutdown()


def test_no_report_or_a_broken_one_means_none(sandbox: Sandbox, tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    confirm, pools = confirmations(sandbox, tmp_path)
    try:
        assert confirm.completed("nowhere", writes_began=datetime.now(UTC), after=time.monotonic()) is None
        lp.reports[1].audience = []
        assert confirm.completed("lp", writes_began=datetime.now(UTC), after=time.monotonic()) is None
        lp.reports[1].audience = ["ws"]
        # not used again in this run: no second try
        assert confirm.completed("lp", writes_began=datetime.now(UTC), after=time.monotonic()) is None
        assert lp.calls_by_function.get(REPORT, 0) == 0
    finally:
        pools.shutdown()


def test_an_owner_that_stops_answering_at_the_confirming_read_loses_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """The writes went through, then lp answers 503 to the report: the share fails as unreachable (exit 3), the
    completions written are in the ledger, and the next run writes nothing again and finds the course complete."""
    lp = sandbox.sites["lp"].state
    down = lp.fail(REPORT, Fault.http(503))
    first = sync(sandbox, tmp_path)
    assert first.exit_code == 3, first.as_dict()
    assert course_complete(sandbox, MARIT)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        held = {(row.learner_key, row.owner_activity) for row in ledger.completions()}
    assert {(key, str(cmid)) for key, cmid in ((lp_key(MARIT), c) for c in CMS)} <= held
    down.remove()
    second = sync(sandbox, tmp_path)
    assert second.exit_code == 0, second.as_dict()
    assert second.written == 0  # Marit's are in the ledger; Kari's two are hers already («fra før»)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert {(row.learner_key, row.owner_activity) for row in ledger.completions()} == held
