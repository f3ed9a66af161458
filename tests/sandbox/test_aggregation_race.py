"""The aggregation race of real Moodle, in the sandbox: two overrides for one learner and course at once.

On the lab (real Moodle 4.5 on PostgreSQL) two ``core_completion_override_activity_completion_status`` calls for
the same learner and course in flight at once: one answers ``dml_write_exception`` / ``dmlwriteexception``
«Error writing to database»; both activity completions are stored; the course completion is not aggregated
until cron (issue #15; tests/real/test_sync_race.py shows it on the lab). lp's seed: Marit Pedersen (user 10)
has done nothing in HBHF-SMITTE-01 (course 5, tracked activities cm 12 and 13).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lmsbridge.sandbox import Sandbox, SiteHandle
from tests.sandbox.conftest import ws_json

MARIT, LP1, CMS = 10, 5, (12, 13)
LATENCY = 0.3


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    """Requests wait LATENCY before they are handled, as on a site that takes time to answer."""
    with Sandbox.start(latency=LATENCY) as sb:
        yield sb


def override(site: SiteHandle, userid: int, cmid: int) -> Any:
    return ws_json(site, "core_completion_override_activity_completion_status", userid=userid, cmid=cmid, newstate=1,
                   session=requests.Session())


def at_once(site: SiteHandle, calls: list[tuple[int, int]]) -> list[Any]:
    """(userid, cmid) overrides sent together, each on its own connection."""
    answers: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def send(n: int) -> None:
        start.wait()
        answers[n] = override(site, *calls[n])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def done(site: SiteHandle, userid: int) -> set[int]:
    statuses = ws_json(site, "core_completion_get_activities_completion_status", courseid=LP1, userid=userid)["statuses"]
    return {s["cmid"] for s in statuses if s["state"] == 1}


def course_complete(site: SiteHandle, userid: int) -> bool:
    body = ws_json(site, "core_completion_get_course_completion_status", courseid=LP1, userid=userid)
    return bool(body["completionstatus"]["completed"])


def test_two_overrides_for_one_learner_and_course_at_once_collide(slow_sandbox: Sandbox) -> None:
    lp = slow_sandbox.sites["lp"]
    answers = at_once(lp, [(MARIT, CMS[0]), (MARIT, CMS[1])])
    errors = [a for a in answers if isinstance(a, dict) and "exception" in a]
    assert errors == [{"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
                       "message": "Error writing to database"}]
    assert sum(1 for a in answers if isinstance(a, dict) and a.get("state") == 1) == 1
    # both activity completions are stored; the course completion is lost until cron aggregates it
    assert done(lp, MARIT) == set(CMS)
    assert not course_complete(lp, MARIT)
    lp.state.run_cron()
    assert course_complete(lp, MARIT)


def test_overrides_one_after_the_other_do_not_collide(slow_sandbox: Sandbox) -> None:
    lp = slow_sandbox.sites["lp"]
    for cmid in CMS:
        assert override(lp, MARIT, cmid)["state"] == 1
    assert course_complete(lp, MARIT)


def test_overrides_for_different_learners_at_once_do_not_collide(slow_sandbox: Sandbox) -> None:
    lp = slow_sandbox.sites["lp"]
    others = (11, 12)  # Åse Bjørnstad and Nils Kristiansen: nothing done in HBHF-SMITTE-01 either
    answers = at_once(lp, [(MARIT, CMS[0]), (others[0], CMS[0]), (others[1], CMS[1])])
    assert [a["state"] for a in answers] == [1, 1, 1]


def test_the_debuginfo_names_the_colliding_insert(slow_sandbox: Sandbox) -> None:
    lp = slow_sandbox.sites["lp"]
    lp.state.set_debug(True)
    answers = at_once(lp, [(MARIT, CMS[0]), (MARIT, CMS[1])])
    (error,) = [a for a in answers if "exception" in a]
    assert "course_completion_crit_compl" in error["debuginfo"]
    assert "duplicate key" in error["debuginfo"]
