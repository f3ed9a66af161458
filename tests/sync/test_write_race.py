"""No write races, and a course completion that did not follow caught and repaired (issue 15 item 2).

The sandbox models real Moodle's aggregation race when its latency is above 0 (lmsbridge/sandbox/functions/
completion.py): two overrides for one learner and course in flight at once → one ``dmlwriteexception`` and no
course completion. lp's seed: Marit Pedersen (user 10 on both sites) has both activities of KSL-HBHF-SMITTE-01
complete on ks and nothing in HBHF-SMITTE-01 (course 5, cm 12 and 13) on lp.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.hooks import HookCall
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync
from tests.sync.helpers import borrower_key, make_clients, make_config, publish_seeded

MARIT, LP1, CMS = 10, 5, (12, 13)
OVERRIDE = "core_completion_override_activity_completion_status"


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    """Each request waits 50 ms before it is handled: two in flight for one learner and course race."""
    with Sandbox.in_process(latency=0.05) as sb:
        yield sb


def sync(sb: Sandbox, tmp: Path, *, concurrency: int = 4) -> SyncSummary:
    urls = {n: s.url for n, s in sb.sites.items()}
    config = make_config(urls, tmp=tmp)
    clients = make_clients(urls, tokens={n: s.token for n, s in sb.sites.items()})
    with Ledger.open(tmp / "ledger.db") as ledger:
        if not ledger.list_shares():
            publish_seeded(ledger)
        return run_sync(config=config, clients=clients, ledger=ledger, options=SyncOptions(concurrency=concurrency))


def course_complete(sb: Sandbox, userid: int) -> bool:
    record = sb.sites["lp"].state.course_completions.get((LP1, userid))
    return bool(record and record.timecompleted)


def test_a_learners_writes_never_overlap_so_her_course_completes(slow: Sandbox, tmp_path: Path) -> None:
    """Marit's two completions are written one after the other (the sandbox answers a second one in flight
    with dmlwriteexception), so her course completion follows; lmsbridge reads it back."""
    lp = slow.sites["lp"].state
    in_flight: dict[int, int] = {}
    overlapped: list[int] = []
    guard = threading.Lock()

    def enter(call: HookCall) -> bool:  # a `when` predicate sees each override as it arrives
        with guard:
            user = int(call.params["userid"])
            in_flight[user] = in_flight.get(user, 0) + 1
            if in_flight[user] > 1:
                overlapped.append(user)
        threading.Timer(0.04, leave, args=(user,)).start()  # the request is in flight for the latency
        return False

    def leave(user: int) -> None:
        with guard:
            in_flight[user] -= 1

    lp.rewrite(OVERRIDE, lambda answer: answer, when=enter)
    summary = sync(slow, tmp_path, concurrency=8)
    time.sleep(0.1)
    assert summary.exit_code == 0, [f.reason.render() for s in summary.shares for f in s.failures]
    assert overlapped == []
    assert lp.calls_by_function[OVERRIDE] >= 2
    assert course_complete(slow, MARIT)
    share = summary.shares[0]
    assert share.courses_checked >= 1 and {f.kind for f in share.failures} == {"unmatched"}  # u09, u10: no account


def lose_the_aggregation(sb: Sandbox, userid: int, cmid: int) -> Any:
    """From now on, the override of ``cmid`` for ``userid`` stores the activity completion but its course
    completion does not follow (as when another request for her raced it on a real site)."""
    lp = sb.sites["lp"].state

    def lose(answer: Any) -> Any:
        record = lp.course_completions.get((LP1, userid))
        if record is not None:
            record.timecompleted = None
        return answer

    return lp.rewrite(OVERRIDE, lose, when=lambda call: call.params["userid"] == userid and call.params["cmid"] == cmid)


def test_a_course_completion_that_did_not_follow_is_a_failed_item_and_the_next_run_repairs_it(
        sandbox: Sandbox, tmp_path: Path) -> None:
    hook = lose_the_aggregation(sandbox, MARIT, CMS[1])
    first = sync(sandbox, tmp_path)
    assert not course_complete(sandbox, MARIT)
    assert first.exit_code == 4
    (failure,) = [f for s in first.shares for f in s.failures if f.kind != "unmatched"]
    assert failure.key == borrower_key(MARIT) and failure.reason.code == "sync.failure.course_completion_missing"
    assert "kursfullføring ikke beregnet" in failure.reason.render("nb")
    assert len(first.shares[0].written) == 5 - 2  # Kari's two were there already («fra før»)
    hook.remove()

    lp = sandbox.sites["lp"].state
    lp.reset_counters()
    second = sync(sandbox, tmp_path)
    assert second.exit_code == 0, [f.reason.render() for s in second.shares for f in s.failures]
    assert course_complete(sandbox, MARIT)
    assert second.shares[0].repaired == 1
    # u09 and u10 (no lp account) were looked up a moment ago: not again (unmatched_retry_hours), no new failure
    assert not second.shares[0].failures and second.shares[0].unmatched == 2
    # repaired through the web services: her last completion taken back and given again, then read back
    assert lp.calls_by_function[OVERRIDE] == 2
    assert {a.cmid: a.state for a in lp.activity_completions.values() if a.userid == MARIT} == {12: 1, 13: 1}
    third = sync(sandbox, tmp_path)
    assert third.exit_code == 0 and third.shares[0].repaired == 0
