"""The first sync of the lab's whole scale set: 10 course pairs, 3000 ks enrolments, 1500 hospital learners.

lp owns SKALA-LP-01..10 and KS Læring borrows them as SKALA-KS-01..10 (activities paired by idnumber). The
shares are published in a fresh ledger; then one ``lmsbridge sync run --concurrency 4``, as the issue ran it.
Before it, this module reads from the two sites what a correct sync must bring to lp (tests/real/completions.py:
the owner accounts by idnumber/e-mail/username, then what each matched learner has done on KS Læring and had
on lp: the completion reports tell 0 % and 100 % apart, everyone in between is read activity by activity);
after it, every activity completion of every matched learner and every course completion that implies are
read back on lp the same way, and the totals are held against the lab's own facts (``$LAB_SCALE_JSON``
totals, read from the databases when the lab was built). «Student progress» is the share of the course's
tracked activities complete (INDEX.md), so with three activities 100 % names all three.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.real.completions import (
    OwnerCheck,
    ScaleExpectation,
    check_owner,
    completed_in,
    expect_scale,
    fold,
    progress_in,
    publish_scale_shares,
    report,
)
from tests.real.lab import Bridge, Lab, Ran

pytestmark = pytest.mark.real

RACE = "issue #15 item 2: write race, fixed by the sync change"


@dataclass
class FirstSync:
    facts: dict[str, Any]
    expected: ScaleExpectation
    ran: Ran
    checks: dict[int, OwnerCheck]  # owner course id → check
    progress_after: dict[str, dict[str, float]]  # owner shortname → username → progress


@pytest.fixture(scope="module")
def first_sync(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> FirstSync:
    facts = fresh_lab.scale()
    bridge = Bridge(fresh_lab, tmp_path_factory.mktemp("scale"))
    publish_scale_shares(bridge.ledger, facts["pairs"])
    ks, lp = fresh_lab.moodle("ks"), fresh_lab.moodle("lp")
    started = time.monotonic()
    expected = expect_scale(ks, lp, facts["pairs"])
    print(f"\nscale: expectation read from both sites in {time.monotonic() - started:.0f} s")

    ran = bridge.run("sync", "run", "--concurrency", "4", timeout=1500)
    print(f"scale: first sync exit {ran.code} in {ran.seconds:.0f} s; {ran.stdout.strip().splitlines()[-1]}")

    started = time.monotonic()
    rows = report(lp)
    progress_after = {pair.owner_shortname: progress_in(rows, pair.owner_shortname) for pair in expected.pairs}
    checks = {pair.owner_id: check_owner(lp, pair, expected.learners[pair.owner_id], before=expected.before[pair.owner_id],
                                         completed_courses=completed_in(rows, pair.owner_shortname),
                                         progress=progress_after[pair.owner_shortname])
              for pair in expected.pairs}
    print(f"scale: lp read back in {time.monotonic() - started:.0f} s")
    return FirstSync(facts, expected, ran, checks, progress_after)


def total(sync: FirstSync, attribute: str) -> int:
    return sum(len(v) if isinstance(v := getattr(check, attribute), list) else int(v) for check in sync.checks.values())


def test_the_expectation_agrees_with_the_labs_facts(first_sync: FirstSync) -> None:
    """The suite's own reading of the two sites matches what the lab recorded when it was built."""
    totals = first_sync.facts["totals"]
    assert total(first_sync, "activities_expected") == totals["activity_completions_missing_on_lp"]
    assert total(first_sync, "courses_expected") == totals["course_completions_implied"]
    matched_by = Counter(lr.matched_by for group in first_sync.expected.learners.values() for lr in group)
    assert set(matched_by) == {"idnumber", None}, matched_by  # hospital learners by idnumber; municipal: nobody


def test_every_municipal_learner_stays_off_the_owner_site(first_sync: FirstSync) -> None:
    assert total(first_sync, "unmatched") > 0
    assert total(first_sync, "unmatched_on_owner") == 0


def test_nobody_else_on_the_owner_courses_changed(first_sync: FirstSync) -> None:
    for pair in first_sync.expected.pairs:
        concerned = {fold(lr.owner_user["username"]) for lr in first_sync.expected.learners[pair.owner_id]
                     if lr.owner_user}
        before = first_sync.expected.owner_progress_before[pair.owner_shortname]
        after = first_sync.progress_after[pair.owner_shortname]
        unchanged = {u: p for u, p in before.items() if u not in concerned}
        assert {u: after.get(u) for u in unchanged} == unchanged, pair.owner_shortname


@pytest.mark.xfail(strict=False, reason=RACE)
def test_every_activity_completion_is_on_the_owner(first_sync: FirstSync) -> None:
    problems = {pair.owner_shortname: first_sync.checks[pair.owner_id].problems for pair in first_sync.expected.pairs}
    assert total(first_sync, "activities_missing") == 0, problems
    assert total(first_sync, "activities_extra") == 0, problems
    assert total(first_sync, "not_enrolled") == 0, problems


@pytest.mark.xfail(strict=False, reason=RACE)
def test_every_course_completion_is_on_the_owner(first_sync: FirstSync) -> None:
    missing = total(first_sync, "courses_missing")
    implied = total(first_sync, "courses_expected")
    assert missing == 0, f"{implied - missing} of {implied} course completions on lp"


@pytest.mark.xfail(strict=False, reason=RACE)
def test_the_first_sync_ends_cleanly(first_sync: FirstSync) -> None:
    first_sync.ran.expect(0)
