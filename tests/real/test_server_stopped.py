"""The owner's Moodle stops in the middle of a sync: the run gives up cleanly, and the next run, with the
server back, loses nothing.

One scale pair (SKALA-LP-01 borrowed as SKALA-KS-01) is synced at ``--concurrency 1`` (so that the write race
of test_sync_race.py is not what this test sees) and ``--no-report`` (for one course, reading each learner is
quicker on the lab than KS Læring's completion report of every course). As soon as lp shows the run's first writes
(a sample of learners who must get something is watched over the web services), lp's PHP server is
stopped. lmsbridge's retries are short here (2 tries, 2 s), so the run ends with exit 3 («a platform could
not be reached»). With lp started again (same data), lp holds part of the completions; a second run
brings the rest, and everything is read back on lp.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.real.completions import (
    ScaleExpectation,
    check_owner,
    expect_scale,
    fold,
    publish_scale_shares,
)
from tests.real.lab import Bridge, Lab, Moodle, parallel

pytestmark = pytest.mark.real

PAIRS = ("01",)
WAIT_FOR_WRITES = 300.0  # seconds
RUN = ("--concurrency", "1", "--no-report", "--no-certificates")


@pytest.fixture(scope="module")
def lab_restarted(fresh_lab: Lab) -> Iterator[Lab]:
    yield fresh_lab
    if not fresh_lab.answers("lp"):  # whatever happened, leave the lab running for the next module
        fresh_lab.start_sites()


def missing_total(lp: Moodle, expected: ScaleExpectation) -> tuple[int, int, list[str]]:
    """(activity completions missing, course completions missing, problems) on lp, read now."""
    activities = courses = 0
    problems: list[str] = []
    for pair in expected.pairs:
        check = check_owner(lp, pair, expected.learners[pair.owner_id], before=expected.before[pair.owner_id])
        activities += len(check.activities_missing)
        courses += len(check.courses_missing)
        problems += [f"{pair.owner_shortname}: {p}" for p in check.problems]
    return activities, courses, problems


def wait_for_first_writes(lp: Moodle, expected: ScaleExpectation, process: subprocess.Popen[str]) -> None:
    """Until lp shows a new completion for one of a sample of learners who must get one."""
    pair = expected.pairs[0]
    before = expected.before[pair.owner_id]
    due = [lr for lr in expected.learners[pair.owner_id] if lr.owner_user
           and {pair.activities[c] for c in lr.done} - before.get(fold(lr.owner_user["username"]), frozenset())]
    sample = random.Random(15).sample(due, min(12, len(due)))
    deadline = time.monotonic() + WAIT_FOR_WRITES
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sync ended before lp showed any write: nothing to interrupt"
        states = parallel(lambda lr: lp.completed_activities(pair.owner_id, int(lr.owner_user["id"])),  # type: ignore[index]
                          sample, workers=4)
        if any(state - before.get(fold(lr.owner_user["username"]), frozenset())  # type: ignore[index]
               for lr, state in zip(sample, states, strict=True)):
            return
        time.sleep(0.5)
    raise AssertionError(f"no write on lp within {WAIT_FOR_WRITES:.0f} s")


def test_sync_with_the_owner_server_stopped_midway_loses_nothing(lab_restarted: Lab,
                                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    lab = lab_restarted
    facts = [p for p in lab.scale()["pairs"] if p["pair"] in PAIRS]
    bridge = Bridge(lab, tmp_path_factory.mktemp("server-stopped"),
                    platform_options={"retry_attempts": 2, "retry_max_seconds": 2.0, "timeout_seconds": 30.0})
    shares = publish_scale_shares(bridge.ledger, facts)
    ks, lp = lab.moodle("ks"), lab.moodle("lp")
    started = time.monotonic()
    expected = expect_scale(ks, lp, facts, use_report=False)
    print(f"\nexpectation read in {time.monotonic() - started:.0f} s")
    only = [arg for share in shares for arg in ("--share", share)]

    started = time.monotonic()
    process = bridge.start("sync", "run", *RUN, *only)
    try:
        wait_for_first_writes(lp, expected, process)
        print(f"first writes seen after {time.monotonic() - started:.0f} s: stopping lp")
        lab.stop_site("lp")
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 3, f"exit {process.returncode}: {stderr[-2000:]}"

    lab.start_sites()
    activities_missing, _, _ = missing_total(lp, expected)
    assert activities_missing > 0, "the server was stopped after the sync had written everything"
    print(f"lp back, {activities_missing} activity completions still to come")

    rerun = bridge.run("sync", "run", *RUN, *only).expect(0)
    print(f"second run in {rerun.seconds:.0f} s")
    activities_missing, courses_missing, problems = missing_total(lp, expected)
    assert (activities_missing, courses_missing) == (0, 0), problems
    assert not problems, problems
