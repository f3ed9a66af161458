"""The HTTP choke point: retries (bounded, only for transient failures), timeouts, token secrecy."""

from __future__ import annotations

import json
import logging
import random
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from lmsbridge import errors
from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from tests.conftest import fixture

URL = "http://moodle.test"
REST = URL + "/webservice/rest/server.php"
TOKEN = "0e003bccd18dbb819ae30974e1ea0652"


class FakeTime:
    """Clock and sleep for retry tests: nothing waits, waits are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def policy(fake: FakeTime, **kw: float) -> RetryPolicy:
    return RetryPolicy(sleep=fake.sleep, clock=fake.clock, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def site_info_body() -> str:
    return json.dumps(fixture("lp__core_webservice_get_site_info__ok")["response"])


@responses.activate
def test_503_503_200_succeeds_after_two_waits() -> None:
    fake = FakeTime()
    responses.post(REST, status=503)
    responses.post(REST, status=503)
    responses.post(REST, body=site_info_body(), content_type="application/json")
    client = MoodleClient(MoodleTransport(URL, TOKEN, retry=policy(fake)))
    info = client.site_info()
    assert info.sitename == "Læringsportal Helse Bergen (lab)"
    assert len(responses.calls) == 3
    assert len(fake.waits) == 2
    assert fake.waits[1] > fake.waits[0] * 1.2 or fake.waits[1] >= 1.0  # backs off


@responses.activate
def test_moodle_exception_is_never_retried() -> None:
    fake = FakeTime()
    body = json.dumps(fixture("lp__core_webservice_get_site_info__err_invalid_token")["response"])
    responses.post(REST, body=body, content_type="application/json")
    client = MoodleClient(MoodleTransport(URL, TOKEN, retry=policy(fake)))
    with pytest.raises(errors.InvalidTokenError):
        client.site_info()
    assert len(responses.calls) == 1
    assert fake.waits == []


@responses.activate
def test_attempt_bound_holds() -> None:
    fake = FakeTime()
    responses.post(REST, status=503)
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake, attempts=4, max_time=1000))
    with pytest.raises(errors.TransportError) as caught:
        transport.call("core_webservice_get_site_info")
    assert caught.value.status == 503
    assert len(responses.calls) == 4


@responses.activate
def test_time_bound_holds() -> None:
    fake = FakeTime()
    responses.post(REST, status=502)
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake, attempts=100, max_time=10, max_wait=4))
    with pytest.raises(errors.TransportError):
        transport.call("core_webservice_get_site_info")
    assert fake.now <= 10
    assert 2 <= len(responses.calls) < 100


@responses.activate
def test_429_honours_retry_after_capped_by_max_wait() -> None:
    fake = FakeTime()
    responses.post(REST, status=429, headers={"Retry-After": "3"})
    responses.post(REST, status=429, headers={"Retry-After": "3600"})
    responses.post(REST, body=site_info_body(), content_type="application/json")
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake, max_wait=7, max_time=100))
    transport.call("core_webservice_get_site_info")
    assert fake.waits == [3.0, 7.0]


@responses.activate
def test_connection_error_is_retried_then_reported_readably() -> None:
    fake = FakeTime()
    responses.post(REST, body=requests.ConnectionError("refused"))
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake, attempts=3, max_time=100), name="lp")
    with pytest.raises(errors.TransportError) as caught:
        transport.call("core_webservice_get_site_info")
    assert len(responses.calls) == 3
    message = str(caught.value)
    assert message.startswith("lp: core_webservice_get_site_info: kan ikke nå http://")
    assert "sjekk adressen (url)" in message and TOKEN not in message


@responses.activate
def test_timeout_is_passed_on_every_request() -> None:
    responses.post(REST, body=site_info_body(), content_type="application/json")
    transport = MoodleTransport(URL, TOKEN, timeout=(3.0, 42.0), retry=RetryPolicy.none())
    seen: list[object] = []
    original = transport.session.post

    def spy(*args: object, **kwargs: object) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    transport.session.post = spy  # type: ignore[method-assign]
    transport.call("core_webservice_get_site_info")
    assert seen == [(3.0, 42.0)]


@responses.activate
def test_request_is_a_form_post_with_reserved_fields_and_settings() -> None:
    responses.post(REST, body="null", content_type="application/json")
    transport = MoodleTransport(URL, TOKEN, settings={"timezone": "UTC"}, retry=RetryPolicy.none())
    transport.call("enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": 8, "courseid": 5}])
    body = responses.calls[0].request.body
    assert isinstance(body, str)
    pairs = parse_qsl(body)
    assert pairs[:3] == [("wstoken", TOKEN), ("wsfunction", "enrol_manual_enrol_users"), ("moodlewsrestformat", "json")]
    assert ("enrolments[0][userid]", "8") in pairs
    assert ("moodlewssettingtimezone", "UTC") in pairs
    assert TOKEN not in (responses.calls[0].request.url or "")


@responses.activate
def test_token_never_in_repr_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    responses.post(REST, status=503)
    responses.post(REST, body=requests.ConnectionError("boom"))
    responses.post(
        REST, body=json.dumps(fixture("lp__core_user_delete_users__err_function_not_in_service_debug")["response"])
    )
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake, attempts=5, max_time=100))
    client = MoodleClient(transport)
    with pytest.raises(errors.AccessDeniedError) as caught:
        client.call("core_user_delete_users", userids=[1])
    texts = [
        repr(transport),
        str(transport.__dict__.get("_token")),
        repr(client),
        str(caught.value),
        repr(caught.value),
        caplog.text,
    ]
    for text in texts:
        assert TOKEN not in text


def test_login_returns_secret_token_and_maps_errors() -> None:
    with responses.RequestsMock() as mock:
        mock.post(URL + "/login/token.php", json=fixture("lp__login_token_php__ok")["response"])
        token = MoodleTransport.login(URL, "lmsbridge", "pw", "lmsbridge")
        assert token.get_secret_value() == fixture("lp__login_token_php__ok")["response"]["token"]
        assert token.get_secret_value() not in repr(token)
    with responses.RequestsMock() as mock:
        mock.post(URL + "/login/token.php", json=fixture("lp__login_token_php__err_invalid_login")["response"])
        with pytest.raises(errors.LoginError) as caught:
            MoodleTransport.login(URL, "lmsbridge", "wrong", "lmsbridge")
        assert caught.value.errorcode == "invalidlogin"
        assert "wrong" not in str(caught.value)


@responses.activate
def test_xml_format_gives_the_same_models() -> None:
    from tests.conftest import FIXTURES

    responses.post(
        REST, body=(FIXTURES / "lp__core_webservice_get_site_info__ok.xml").read_bytes(), content_type="application/xml"
    )
    client = MoodleClient(MoodleTransport(URL, TOKEN, fmt="xml", retry=RetryPolicy.none()))
    info = client.site_info()
    assert info.userid == 3
    assert "core_course_get_courses_by_field" in info.function_names
    assert parse_qsl(str(responses.calls[0].request.body))[2] == ("moodlewsrestformat", "xml")


@responses.activate
def test_call_counter_counts_every_attempt_per_function() -> None:
    fake = FakeTime()
    responses.post(REST, status=503)
    responses.post(REST, body=site_info_body(), content_type="application/json")
    transport = MoodleTransport(URL, TOKEN, retry=policy(fake))
    transport.call("core_webservice_get_site_info")
    assert transport.calls["core_webservice_get_site_info"] == 2
    assert transport.clone().call_count == 2
