"""The sandbox without sockets: the same answers as over HTTP, reached by lmsbridge's own client unchanged."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.errors import InvalidTokenError, TransportError
from lmsbridge.sandbox import Sandbox, SiteHandle
from lmsbridge.sandbox.inprocess import InProcessAdapter, routed

from .conftest import ws_call

#: calls whose bodies are compared byte for byte between the two front doors (JSON and XML)
SAME_ANSWERS = [
    ("lp", "core_webservice_get_site_info", {}),
    ("lp", "core_course_get_courses_by_field", {"field": "id", "value": 5}),
    ("ks", "core_enrol_get_enrolled_users", {"courseid": 3}),
    ("ks", "core_completion_get_activities_completion_status", {"courseid": 3, "userid": 10}),
    ("ks", "core_reportbuilder_retrieve_report", {"reportid": 1, "perpage": 50}),
    ("lp", "core_user_get_users_by_field", {"field": "username", "values": ["Upper"]}),
    ("lp", "core_no_such_function", {}),
]


def _body(site: SiteHandle, fmt: str, function: str, params: dict[str, object]) -> bytes:
    response = ws_call(site, function, fmt=fmt, **params)
    assert response.status_code == 200
    return response.content.replace(site.url.encode(), b"SITE").replace(site.url.replace("/", "\\/").encode(), b"SITE")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_answers_are_the_servers_byte_for_byte(fmt: str) -> None:
    clock = lambda: 1795435200.0  # noqa: E731 - both sandboxes at the same instant
    with Sandbox.start(clock=clock) as served, Sandbox.in_process(clock=clock) as local:
        for name, function, params in SAME_ANSWERS:
            over_http = _body(served.sites[name], fmt, function, params)
            in_process = _body(local.sites[name], fmt, function, params)
            assert in_process == over_http, function


def test_the_lmsbridge_client_runs_unchanged_clones_and_threads_included() -> None:
    with Sandbox.in_process() as sb:
        site = sb.sites["lp"]
        client = MoodleClient(MoodleTransport(site.url, site.token, retry=RetryPolicy.none(), name="lp"))
        assert client.site_info().username == "lmsbridge"

        def per_thread(_: int) -> str:  # the sync's pools: one clone (its own session) per worker
            return client.clone().site_info().siteurl

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(per_thread, range(16))) == {site.url}
        assert site.state.calls_by_function == {"core_webservice_get_site_info": 17}
        with pytest.raises(InvalidTokenError):
            MoodleClient(MoodleTransport(site.url, "nope", retry=RetryPolicy.none())).site_info()


def test_token_php_answers_in_process() -> None:
    with Sandbox.in_process() as sb:
        site = sb.sites["ks"]
        user = site.state.user_by_username("lmsbridge")
        assert user is not None
        token = MoodleTransport.login(site.url, "lmsbridge", user.password, "lmsbridge")
        assert token.get_secret_value() == site.token


def test_seeded_faults_are_the_servers_draws() -> None:
    def statuses(sb: Sandbox) -> list[int]:
        site = sb.sites["lp"]
        return [ws_call(site, "core_webservice_get_site_info").status_code for _ in range(40)]

    with Sandbox.start(fault_rate=0.5, fault_seed=7, seed="empty") as served:
        expected = statuses(served)
    with Sandbox.in_process(fault_rate=0.5, fault_seed=7, seed="empty") as local:
        assert statuses(local) == expected
        assert local.sites["lp"].state.fault_count == expected.count(503)
    with Sandbox.in_process(fault_rate=1.0, fault_mode="drop", seed="empty") as local:
        client = MoodleClient(MoodleTransport(local.sites["ks"].url, local.sites["ks"].token,
                                              retry=RetryPolicy(attempts=2, sleep=lambda _: None)))
        with pytest.raises(TransportError):
            client.site_info()
        assert local.sites["ks"].state.fault_count == 2  # the transport's retry went through the adapter too


def test_without_routing_a_mounted_session_reaches_the_sites() -> None:
    original = requests.Session.get_adapter
    with Sandbox.in_process(route=False) as sb:
        assert requests.Session.get_adapter is original
        site = sb.sites["ks"]
        with sb.session() as session:
            assert isinstance(session.get_adapter(site.rest_url), InProcessAdapter)
            client = MoodleClient(MoodleTransport(site.url, site.token, session=session, retry=RetryPolicy.none()))
            assert client.site_info().sitename == site.state.settings.sitename
    with Sandbox.start(seed="empty") as served, pytest.raises(ValueError):
        served.session()


def test_routing_ends_with_the_sandbox_and_nests() -> None:
    original = requests.Session.get_adapter
    with Sandbox.in_process() as outer:
        adapter = outer.sites["ks"].adapter
        assert adapter is not None
        with pytest.raises(ValueError), routed({outer.sites["ks"].url + "/": adapter}):  # the same site twice
            pass
        with routed({"http://other.sandbox.invalid/": adapter}):
            assert requests.Session().get_adapter("http://other.sandbox.invalid/x") is adapter
        assert requests.Session().get_adapter(outer.sites["lp"].rest_url) is outer.sites["lp"].adapter
    assert requests.Session.get_adapter is original
    assert not isinstance(requests.Session().get_adapter("http://ks.sandbox.invalid/"), InProcessAdapter)


def test_other_hosts_still_go_over_the_network() -> None:
    with Sandbox.start(seed="empty") as served, Sandbox.in_process(seed="empty") as local:
        assert ws_call(served.sites["lp"], "core_webservice_get_site_info").json()["siteurl"] == served.sites["lp"].url
        assert ws_call(local.sites["lp"], "core_webservice_get_site_info").json()["siteurl"] == local.sites["lp"].url


def test_concurrent_writes_in_process_keep_the_state_consistent() -> None:
    with Sandbox.in_process() as sb:
        site = sb.sites["ks"]
        lock = threading.Lock()
        ids: list[int] = []

        def create(n: int) -> None:
            body = ws_call(site, "core_course_create_courses",
                           courses=[{"fullname": f"Kurs {n}", "shortname": f"KSL-INP-{n:03d}", "categoryid": 2}]).json()
            with lock:
                ids.append(body[0]["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, range(40)))
        assert len(set(ids)) == 40
