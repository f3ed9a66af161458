"""Incremental runs without a participant listing, on real Moodle (issue 15 item 7): once report 1 on KS Læring
has the filter «Last access to course» (README «Faster runs»), a run reads the report's course completions and
visits since the last run and lists no course's participants; a visit with one activity done is still brought
back, read back on lp.

The seeded share (HBHF-SMITTE-01 on lp, borrowed as KSL-HBHF-SMITTE-01 on KS Læring) is published with
lmsbridge's commands and synced once without the filter. A visit is what a page view records
(``user_lastaccess``: tests/real/visit.php); a teacher marks the activity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.real.completions import CoursePair, seeded_pair, tracked_activities
from tests.real.lab import Bridge, Lab

pytestmark = pytest.mark.real

BORROWER, OWNER = "KSL-HBHF-SMITTE-01", "HBHF-SMITTE-01"
LISTING = "core_enrol_get_enrolled_users"
RUN = ("sync", "run", "--concurrency", "1")


@pytest.fixture(scope="module")
def bridge(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    bridge = Bridge(fresh_lab, tmp_path_factory.mktemp("visits-filter"))
    bridge.publish_hospital_share(OWNER, BORROWER)
    first = bridge.json(*RUN)
    assert first["shares"][0]["path"] == "report", first["shares"]
    bridge.json(*RUN)  # the seed's course completions fall in the first incremental window
    yield bridge


@pytest.fixture(scope="module")
def pair(bridge: Bridge) -> CoursePair:
    return seeded_pair(bridge.lab.moodle("ks"), bridge.lab.moodle("lp"), BORROWER, OWNER)


def ks_calls(summary: dict[str, Any]) -> dict[str, int]:
    return dict(summary["calls"].get("ks", {}))


def test_without_the_filter_a_run_lists_the_participants(bridge: Bridge) -> None:
    summary = bridge.json(*RUN)
    assert summary["shares"][0]["path"] == "listing+report"
    assert ks_calls(summary).get(LISTING, 0) >= 1
    assert "«Last access to course»" in bridge.run("doctor", "--platform", "ks").stdout


def test_with_the_filter_a_run_with_nothing_new_lists_no_one(bridge: Bridge) -> None:
    bridge.lab.add_visits_filter("ks")
    doctor = bridge.json("doctor", "--platform", "ks")
    assert doctor["platforms"][0]["report_visits_filter"] is True
    summary = bridge.json(*RUN)
    share = summary["shares"][0]
    assert share["path"] == "report" and share["written"] == 0, share
    calls = ks_calls(summary)
    assert LISTING not in calls, calls
    assert calls.get("core_reportbuilder_retrieve_report") == 3, calls  # completions, the probe, visits
    assert "core_completion_get_activities_completion_status" not in calls, calls


def test_a_visit_with_an_activity_done_comes_back_without_a_listing(bridge: Bridge, pair: CoursePair) -> None:
    """Åse Bjørnstad visits the borrowed course and a teacher marks «Håndhygiene» (one activity of two: no
    course completion, so the completions filter alone would not show her)."""
    ks, lp = bridge.lab.moodle("ks"), bridge.lab.moodle("lp")
    (ase,) = ks.users_by("username", ["ase.bjornstad@helse-bergen.no"])
    (ase_lp,) = lp.users_by("username", ["hb10008"])
    cmid = next(cm for cm, name in tracked_activities(ks, pair.borrower_id).items() if name == "Håndhygiene")
    bridge.lab.visit("ks", int(ase["id"]), pair.borrower_id)
    ks.set_activity(int(ase["id"]), cmid)
    summary = bridge.json(*RUN)
    share = summary["shares"][0]
    assert share["path"] == "report" and share["written"] == 1, share
    assert LISTING not in ks_calls(summary)
    owner_cmid = pair.activities[cmid]
    assert owner_cmid in lp.completed_activities(pair.owner_id, int(ase_lp["id"]))
