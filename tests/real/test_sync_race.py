"""The completion write race, at its smallest: the seeded share synced at lmsbridge's default concurrency.

Marit Pedersen (u07) has both activities of KSL-HBHF-SMITTE-01 complete on KS Læring and nothing on lp.
Two ``core_completion_override_activity_completion_status`` calls for her and HBHF-SMITTE-01 in flight at
once race inside Moodle (each marks one completion criterion in ``course_completion_crit_compl``; the
second insert fails: ``dml_write_exception`` «Error writing to database»), and her course completion on lp
is not aggregated — for good, as a re-run finds her activities already complete and writes nothing.
"""

from __future__ import annotations

import pytest

from tests.real.completions import borrower_learners, check_owner, find_owner_accounts, fold, seeded_pair
from tests.real.lab import Bridge, Lab

pytestmark = pytest.mark.real


def test_default_concurrency_completes_every_course_on_the_owner(fresh_lab: Lab,
                                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    bridge = Bridge(fresh_lab, tmp_path_factory.mktemp("sync-race"))
    bridge.publish_hospital_share("HBHF-SMITTE-01", "KSL-HBHF-SMITTE-01")
    ks, lp = fresh_lab.moodle("ks"), fresh_lab.moodle("lp")
    pair = seeded_pair(ks, lp, "KSL-HBHF-SMITTE-01", "HBHF-SMITTE-01")
    learners = borrower_learners(ks, pair)
    find_owner_accounts(lp, learners)
    before = {fold(lr.owner_user["username"]): lp.completed_activities(pair.owner_id, int(lr.owner_user["id"]))
              for lr in learners if lr.owner_user}

    ran = bridge.run("sync", "run")  # the profile's default concurrency (4)

    check = check_owner(lp, pair, learners, before=before)
    assert not check.problems, check.problems
    assert check.courses_expected == 2  # Kari (already) and Marit
    ran.expect(0)
