"""Failed items' reasons are messages: stored in the ledger's text column, rendered in the reader's language."""

from __future__ import annotations

import json

import pytest

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.errors import MoodleError, NotFoundError, RetriableError, TransportError, moodle_error_from
from lmsbridge.i18n import Message
from lmsbridge.sync.context import ShareProblem
from lmsbridge.sync.pools import PlatformUnreachable
from lmsbridge.sync.reason import MAX_TEXT, cause

INVALID_USER = {"exception": "dml_missing_record_exception", "errorcode": "invaliduser", "message": "Invalid user"}


def test_a_reason_is_stored_as_a_code_and_read_back_in_either_language() -> None:
    reason = Message("sync.failure.reading", cause=Message("sync.match.none", keys="email"))
    stored = reason.stored()
    assert json.loads(stored) == {"code": "sync.failure.reading",
                                  "values": {"cause": {"code": "sync.match.none", "values": {"keys": "email"}}}}
    again = Message.from_stored(stored)
    assert again == reason
    assert again.render("nb") == "lesing av fullføring: ingen konto hos eier med samme email"
    assert again.render("en") == "reading completion: no owner account with the same email"


def test_the_current_language_is_used_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = Message("sync.failure.owner_suspended")
    assert str(reason) == "kontoen hos eier er suspendert"
    monkeypatch.setenv("LMSBRIDGE_LANG", "en")
    assert str(reason) == "the owner account is suspended"


@pytest.mark.parametrize("text", [
    "no owner account with the same idnumber/email/username",  # a row from before coded reasons
    '{"code": "sync.match.none"}',  # JSON, but not a reason
    '{"code": "sync.match.none", "values": {"keys": [{"a": 1}]}}',
    '{"code": 1, "values": {}}',
    "{not json",
])
def test_other_text_is_kept_as_it_is(text: str) -> None:
    reason = Message.from_stored(text)
    assert reason.plain and reason.render("nb") == text and reason.render("en") == text
    assert reason.stored() == text


def test_an_errors_own_text_is_kept_short() -> None:
    reason = cause(ValueError("x" * 1000))
    assert len(reason.render()) == MAX_TEXT and reason.render().endswith("...")


def test_a_moodle_error_keeps_its_frame_so_the_frame_follows_the_reader() -> None:
    exc = moodle_error_from(INVALID_USER, wsfunction="core_completion_get_activities_completion_status", site="ks")
    assert isinstance(exc, NotFoundError)
    reason = cause(exc)
    assert reason.code == "moodle.error"
    where = "ks: core_completion_get_activities_completion_status: "
    assert reason.render("nb") == where + "plattformen svarte med en feil: «Invalid user» [invaliduser]"
    assert reason.render("en") == where + "the platform answered with an error: «Invalid user» [invaliduser]"
    assert Message.from_stored(reason.stored()) == reason


def test_a_moodle_error_with_a_message_of_its_own_keeps_it() -> None:
    exc = MoodleError("", errorcode="x", text=Message("course.not_found", key="K", platform="ks"))
    assert cause(exc) == Message("course.not_found", key="K", platform="ks")


def test_the_syncs_own_errors_keep_their_code() -> None:
    problem = ShareProblem(Message("sync.share.owner_course_not_found", shortname="K", platform="lp"))
    assert str(problem) == "fant ikke eierkurset K på lp"
    assert cause(problem).render("en") == "owner course K not found on lp"


def client(name: str = "ks", url: str = "http://127.0.0.1:9") -> MoodleClient:
    no_wait = RetryPolicy(attempts=1, max_time=1.0, sleep=lambda _s: None)
    return MoodleClient(MoodleTransport(url, "token-x", name=name, timeout=(4.0, 30.0), retry=no_wait))


def test_a_real_unreachable_platform_is_kept_as_a_code_and_shown_in_either_language() -> None:
    with pytest.raises(TransportError) as caught:
        client().site_info()  # nothing listens on port 9 of loopback
    reason = cause(caught.value)
    assert reason.code == "transport.unreachable"
    assert reason.render("en").startswith("ks: core_webservice_get_site_info: could not reach http://127.0.0.1:9")
    assert reason.render("nb") != reason.render("en") and "http://127.0.0.1:9" in reason.render("nb")
    assert Message.from_stored(reason.stored()) == reason


@pytest.mark.parametrize(("code", "values", "en"), [
    ("wire.http_unavailable", {"status": 503},
     "ks: core_enrol_get_enrolled_users: the platform answered HTTP 503 (a fault or maintenance on the platform): "
     "try again later"),
    ("transport.timeout", {"seconds": 30.0},
     "ks: core_enrol_get_enrolled_users: the platform did not answer within 30 s: try again later, or raise the "
     "platform's timeout_seconds"),
])
def test_the_transports_messages_are_recognised(code: str, values: dict[str, object], en: str) -> None:
    where = "ks: core_enrol_get_enrolled_users: "
    exc = TransportError(Message(code, where=where, **values))
    assert str(exc) == i18n.t(code, where=where, **values)
    reason = cause(exc)
    assert reason.code == code and reason.render("en") == en
    assert reason.render("nb") == i18n.t(code, "nb", where=where, **values)


def test_unreachable_names_the_platform_once_in_both_languages() -> None:
    where = "ks: core_enrol_get_enrolled_users: "
    exc = TransportError(Message("transport.unreachable", where=where, url="http://127.0.0.1:9",
                                 reason=Message("transport.reason.connect_timeout", seconds=4.0)))
    down = PlatformUnreachable("ks", cause(exc))
    for lang in ("nb", "en"):
        rendered = down.reason.render(lang)
        assert rendered.startswith(where) and rendered.count("ks:") == 1
    assert down.reason.render("en") == (
        "ks: core_enrol_get_enrolled_users: could not reach http://127.0.0.1:9 (no connection within 4 s): check the "
        "address (url) in the configuration, the network, and that the platform is up; the share is tried again on "
        "the next run")
    assert Message.from_stored(down.reason.stored()) == down.reason


def test_an_unknown_transport_text_is_kept_and_the_platform_named() -> None:
    reason = cause(RetriableError("connection reset"))
    assert reason == Message.text("connection reset")
    assert PlatformUnreachable("ks", reason).reason.render("en") == (
        "ks: connection reset; the share is tried again on the next run")
