"""Concurrent clients, latency and injected faults."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.sandbox import Sandbox, SiteHandle

from .conftest import ws_call, ws_json


@pytest.fixture
def sandbox(served_sandbox: Sandbox) -> Sandbox:
    """Over real HTTP: these tests are about the server."""
    return served_sandbox


def _site_info(site: SiteHandle, session: requests.Session) -> str:
    response = ws_call(site, "core_webservice_get_site_info", session=session)
    assert response.status_code == 200
    username: str = response.json()["username"]
    return username


def test_concurrent_clients_are_all_served(sandbox: Sandbox) -> None:
    site = sandbox.sites["lp"]
    site.state.reset_counters()

    def client(_: int) -> list[str]:
        with requests.Session() as session:
            return [_site_info(site, session) for _ in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [name for batch in pool.map(client, range(8)) for name in batch]
    assert results == ["lmsbridge"] * 200
    assert site.state.call_count == 200
    assert site.state.calls_by_function == {"core_webservice_get_site_info": 200}


def test_concurrent_writes_keep_the_state_consistent(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]

    def create(n: int) -> int:
        body = ws_json(site, "core_course_create_courses",
                       courses=[{"fullname": f"Kurs {n}", "shortname": f"KSL-PAR-{n:03d}", "categoryid": 2}])
        courseid: int = body[0]["id"]
        return courseid

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    shortnames = {c.shortname for c in site.state.courses.values()}
    assert {f"KSL-PAR-{n:03d}" for n in range(40)} <= shortnames


def test_latency_is_added_per_request_without_blocking_other_requests() -> None:
    latency = 0.2
    with Sandbox.start(latency=latency, seed="empty") as sb:
        site = sb.sites["lp"]
        durations: list[float] = []
        lock = threading.Lock()

        def timed(_: int) -> None:
            begin = time.perf_counter()
            with requests.Session() as session:
                _site_info(site, session)
            with lock:
                durations.append(time.perf_counter() - begin)

        begin = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(timed, range(8)))
        total = time.perf_counter() - begin
    assert min(durations) >= latency
    assert total < 4 * latency, f"8 concurrent calls of {latency}s took {total:.2f}s: requests were serialised"


def test_fault_rate_answers_503_for_a_seeded_share_of_calls() -> None:
    def statuses(seed: int) -> list[int]:
        with Sandbox.start(fault_rate=0.5, fault_seed=seed, seed="empty") as sb, requests.Session() as session:
            site = sb.sites["lp"]
            codes = [ws_call(site, "core_webservice_get_site_info", session=session).status_code for _ in range(60)]
            assert site.state.fault_count == codes.count(503)
            assert site.state.call_count == codes.count(200)
            return codes

    first = statuses(7)
    assert set(first) == {200, 503}
    assert 15 <= first.count(503) <= 45
    assert statuses(7) == first  # the same seed gives the same faults


def test_fault_rate_can_change_while_running(sandbox: Sandbox) -> None:
    site = sandbox.sites["ks"]
    site.state.set_fault_rate(1.0)
    assert ws_call(site, "core_webservice_get_site_info").status_code == 503
    site.state.set_fault_rate(0.0)
    assert ws_call(site, "core_webservice_get_site_info").status_code == 200
    with pytest.raises(ValueError):
        site.state.set_fault_rate(1.5)


def test_dropped_connections_before_and_after_the_call_runs() -> None:
    with Sandbox.start(fault_rate=1.0, fault_mode="drop", seed="empty") as sb, pytest.raises(requests.ConnectionError):
        ws_call(sb.sites["ks"], "core_webservice_get_site_info")
    with Sandbox.start(fault_rate=1.0, fault_mode="drop_after") as sb:
        site = sb.sites["ks"]
        with pytest.raises(requests.ConnectionError):
            ws_call(site, "core_course_create_courses",
                    courses=[{"fullname": "Tapt svar", "shortname": "KSL-LOST", "categoryid": 2}])
        # the call ran: the course exists although the client never heard back
        assert site.state.course_by_shortname("KSL-LOST") is not None


def test_the_lmsbridge_transport_retries_through_faults() -> None:
    with Sandbox.start(fault_rate=0.3, fault_mode="mixed", fault_seed=3) as sb:
        site = sb.sites["lp"]
        policy = RetryPolicy(attempts=10, max_time=60.0, sleep=lambda _: None)
        client = MoodleClient(MoodleTransport(site.url, site.token, retry=policy))
        for _ in range(20):
            assert client.site_info().username == "lmsbridge"
        assert site.state.fault_count > 0
