"""bench/bench_lab.py without a lab: its minimum adds up from the scale facts, and it refuses to run without a lab.

(The benchmark itself runs only against the Moodle lab; its figures are in the README.)
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.bench_lab import main, minimum_first


def pair(n: int, *, enrolled_on_lp: int, missing: int, missing_not_enrolled: int) -> dict[str, Any]:
    activities = [{"cmid": 3 * n + k, "idnumber": f"SKALA-{n:02d}-A{k}"} for k in (1, 2, 3)]
    return {"pair": f"{n:02d}", "ks": {"courseid": n, "shortname": f"SKALA-KS-{n:02d}", "activities": activities},
            "lp": {"courseid": n, "shortname": f"SKALA-LP-{n:02d}", "activities": activities},
            "lp_enrolments": enrolled_on_lp, "hospital_enrolments_missing_on_lp": 48,
            "activity_completions_missing_on_lp": missing,
            "activity_completions_missing_on_lp_learner_not_enrolled_on_lp": missing_not_enrolled}


def test_the_minimum_of_a_first_sync_adds_up() -> None:
    facts = {"pairs": [pair(1, enrolled_on_lp=177, missing=356, missing_not_enrolled=90),
                       pair(2, enrolled_on_lp=600, missing=331, missing_not_enrolled=0)],
             "totals": {"activity_completions_missing_on_lp": 687}}
    minimum = minimum_first(facts, report_rows=3020, busy=400)
    assert minimum.report_pages == 4  # 3020 rows, 1000 a page
    assert minimum.report_reset == 1
    assert minimum.participant_pages == 1 + 2  # 177 → one page of 500; 600 → two
    assert minimum.contents == 4
    assert minimum.idnumbers == 12  # 3 + 3 activities per pair
    assert minimum.lookups == 6  # three identity keys per share
    assert minimum.enrols == 1  # only the first pair has learners to enrol
    assert (minimum.reads, minimum.writes) == (400, 687)
    assert minimum.total == 4 + 1 + 3 + 4 + 12 + 6 + 1 + 400 + 687


def test_without_a_lab_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAB_CMD", "LAB_KS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="lab env"):
        main([])
