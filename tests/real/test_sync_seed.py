"""The completion sync of the seeded nurses: KSL-HBHF-SMITTE-01 on KS Læring back to HBHF-SMITTE-01 on lp.

The share is requested, approved and published with lmsbridge's commands; what people do in the borrowed
course is done in Moodle (a teacher marking an activity, ``core_completion_override_activity_completion_status``
on ks). Who must end up with what on lp is worked out from the two sites (tests/real/completions.py); the
seed shows every way of matching a nurse (tests/fixtures/moodle/seed_data.json):

* Marit Pedersen (u07): complete on ks, nothing on lp; same idnumber HB10007 on both sites;
* Nils Kristiansen (u09): one activity on ks; idnumber HB10009, e-mail differs in case between the sites;
* Hilde Berg (u10): no idnumber on ks, found by e-mail (she completes «Håndhygiene» during the test);
* Kari Nordmann (u01): complete on both sites already («fra før»);
* Eva Rønning and Trond Lunde: municipal employees with completions and no hospital account.

The runs here are at ``--concurrency 1``: at the default concurrency lmsbridge's writes for one learner race
inside Moodle (test_sync_race.py shows it on this same share).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.real.completions import (
    CoursePair,
    Learner,
    borrower_learners,
    check_owner,
    find_owner_accounts,
    fold,
    seeded_pair,
)
from tests.real.lab import Bridge, Lab, Moodle, parallel

pytestmark = pytest.mark.real

BORROWER, OWNER = "KSL-HBHF-SMITTE-01", "HBHF-SMITTE-01"
ONE_AT_A_TIME = ("--concurrency", "1")


@pytest.fixture(scope="module")
def bridge(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    bridge = Bridge(fresh_lab, tmp_path_factory.mktemp("sync-seed"))
    bridge.publish_hospital_share(OWNER, BORROWER)
    yield bridge


@pytest.fixture(scope="module")
def pair(bridge: Bridge) -> CoursePair:
    return seeded_pair(bridge.lab.moodle("ks"), bridge.lab.moodle("lp"), BORROWER, OWNER)


def user_id(moodle: Moodle, username: str) -> int:
    (user,) = moodle.users_by("username", [username])
    return int(user["id"])


def cm_named(moodle: Moodle, courseid: int, name: str) -> int:
    for section in moodle.call("core_course_get_contents", courseid=courseid):
        for module in section["modules"]:
            if module["name"] == name:
                return int(module["id"])
    raise AssertionError(f"no activity {name!r} in course {courseid}")


def owner_states(lp: Moodle, pair: CoursePair) -> dict[str, tuple[tuple[int, int, int], ...]]:
    """Every owner-course participant's (cmid, state, timecompleted): any write shows in it."""
    people = lp.enrolled(pair.owner_id)

    def states(person: dict[str, Any]) -> tuple[tuple[int, int, int], ...]:
        body = lp.call("core_completion_get_activities_completion_status", courseid=pair.owner_id,
                       userid=int(person["id"]))
        return tuple(sorted((int(s["cmid"]), int(s["state"]), int(s["timecompleted"])) for s in body["statuses"]))

    return {str(p["username"]): s for p, s in zip(people, parallel(states, people), strict=True)}


def expected_learners(bridge: Bridge, pair: CoursePair) -> list[Learner]:
    learners = borrower_learners(bridge.lab.moodle("ks"), pair)
    find_owner_accounts(bridge.lab.moodle("lp"), learners)
    return learners


def done_on_owner(lp: Moodle, pair: CoursePair, username: str) -> set[str]:
    names = {cmid: name for section in lp.call("core_course_get_contents", courseid=pair.owner_id)
             for cmid, name in ((int(m["id"]), str(m["name"])) for m in section["modules"])}
    return {names[cmid] for cmid in lp.completed_activities(pair.owner_id, user_id(lp, username))}


def test_first_sync_brings_back_each_nurse_matched_by_idnumber_or_email(bridge: Bridge, pair: CoursePair) -> None:
    ks, lp = bridge.lab.moodle("ks"), bridge.lab.moodle("lp")
    # Hilde Berg completes «Håndhygiene» in KS Læring (she has no idnumber there)
    ks.set_activity(user_id(ks, "hilde.berg@helse-bergen.no"), cm_named(ks, pair.borrower_id, "Håndhygiene"))
    learners = expected_learners(bridge, pair)
    matched = {fold(lr.user["username"]): (lr.owner_user or {}).get("username") for lr in learners}
    assert matched == {
        "kari.nordmann@helse-bergen.no": "hb10001", "marit.pedersen@helse-bergen.no": "hb10007",
        "nils.kristiansen@helse-bergen.no": "hb10009", "hilde.berg@helse-bergen.no": "hb10010",
        "eva.ronning@bergen.kommune.no": None, "trond.lunde@bjornafjorden.kommune.no": None,
    }, "the seed's learners with something done in the borrowed course"
    assert {fold(lr.user["username"]): lr.matched_by for lr in learners if lr.owner_user} == {
        "kari.nordmann@helse-bergen.no": "idnumber", "marit.pedersen@helse-bergen.no": "idnumber",
        "nils.kristiansen@helse-bergen.no": "idnumber", "hilde.berg@helse-bergen.no": "email"}
    before_states = owner_states(lp, pair)
    before = {fold(lr.owner_user["username"]): lp.completed_activities(pair.owner_id, int(lr.owner_user["id"]))
              for lr in learners if lr.owner_user}

    bridge.run("sync", "run", *ONE_AT_A_TIME).expect(0)

    check = check_owner(lp, pair, learners, before=before)
    assert not check.problems, check.problems
    assert check.activities_expected == 4  # Marit 2, Nils 1, Hilde 1; Kari has hers already
    assert check.unmatched == 2
    assert done_on_owner(lp, pair, "hb10007") == {"Håndhygiene", "Smittemåter og barrierer"}
    assert done_on_owner(lp, pair, "hb10009") == {"Håndhygiene"}
    assert done_on_owner(lp, pair, "hb10010") == {"Håndhygiene"}
    assert lp.course_completed(pair.owner_id, user_id(lp, "hb10007"))
    # nobody else on the owner course was touched
    after_states = owner_states(lp, pair)
    concerned = {"hb10007", "hb10009", "hb10010"}
    assert {u: s for u, s in after_states.items() if u not in concerned} == {
        u: s for u, s in before_states.items() if u not in concerned}


def test_a_run_with_nothing_new_writes_nothing(bridge: Bridge, pair: CoursePair) -> None:
    lp = bridge.lab.moodle("lp")
    before = owner_states(lp, pair)
    bridge.run("sync", "run", *ONE_AT_A_TIME).expect(0)
    assert owner_states(lp, pair) == before


def test_a_course_completed_since_the_last_run_is_brought_back(bridge: Bridge, pair: CoursePair) -> None:
    """Nils finishes the course in KS Læring (a teacher marks his last activity, no visit of his): the
    incremental run finds the new course completion in the report and brings the activity back."""
    ks, lp = bridge.lab.moodle("ks"), bridge.lab.moodle("lp")
    nils = user_id(ks, "nils.kristiansen@helse-bergen.no")
    ks.set_activity(nils, cm_named(ks, pair.borrower_id, "Smittemåter og barrierer"))
    assert ks.course_completed(pair.borrower_id, nils)
    bridge.run("sync", "run", *ONE_AT_A_TIME).expect(0)
    assert done_on_owner(lp, pair, "hb10009") == {"Håndhygiene", "Smittemåter og barrierer"}
    assert lp.course_completed(pair.owner_id, user_id(lp, "hb10009"))


def test_an_activity_marked_without_a_visit_waits_for_the_full_run(bridge: Bridge, pair: CoursePair) -> None:
    """Åse Bjørnstad gets «Håndhygiene» marked by a teacher (course still incomplete, no visit): an
    incremental run cannot see it (README: keep a nightly --full); the full run brings it back."""
    ks, lp = bridge.lab.moodle("ks"), bridge.lab.moodle("lp")
    ase = user_id(ks, "ase.bjornstad@helse-bergen.no")
    ks.set_activity(ase, cm_named(ks, pair.borrower_id, "Håndhygiene"))
    bridge.run("sync", "run", *ONE_AT_A_TIME).expect(0)
    assert done_on_owner(lp, pair, "hb10008") == set()
    bridge.run("sync", "run", *ONE_AT_A_TIME, "--full").expect(0)
    assert done_on_owner(lp, pair, "hb10008") == {"Håndhygiene"}
    learners = expected_learners(bridge, pair)
    before = {fold(lr.owner_user["username"]): lp.completed_activities(pair.owner_id, int(lr.owner_user["id"]))
              for lr in learners if lr.owner_user}
    check = check_owner(lp, pair, learners, before=before)
    assert not check.problems, check.problems
