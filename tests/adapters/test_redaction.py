"""Nothing leaks: no secret the configuration names is shown, logged or stored, whatever a platform echoes.

A server or proxy that echoes the request body (``wstoken=…&wsfunction=…``) in an error is played by a
sandbox hook answering with that echo; the CLI's output of ``doctor``, ``validate`` and ``sync`` must not
hold the token, nor the other secrets (another platform's token, the SMTP password, a URL's password).
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.adapters.redact import REDACTED, Redactor, split_credentials
from lmsbridge.adapters.transport import read_body
from lmsbridge.config import known_secrets, load_config
from lmsbridge.errors import MoodleWarningsError, TransportError
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sandbox.hooks import replace_key
from tests.sandbox_cli import run, write_config
from tests.sync.helpers import publish

SMTP_PASSWORD = "smtp-passord-Æ&<1>+2"
PROXY_PASSWORD = "proxy-p@ss:w/rd"


def echo(token: str, function: str) -> Fault:
    """What a server that echoes the request body answers: the form, token first, in its error."""
    body = f"wstoken={token}&wsfunction={function}&moodlewsrestformat=json"
    return Fault.moodle("invalidparameter", f"Invalid parameter value detected ({body})",
                        debuginfo=f"request: {body}")


@pytest.fixture
def config(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    return write_config(sandbox, tmp_path, monkeypatch,
                        extra='[smtp]\nhost = "127.0.0.1"\nusername = "lmsbridge"\npassword_env = "SMTP_PASSWORD"')


def secrets_of(sandbox: Sandbox) -> list[str]:
    return [sandbox.sites["ks"].token, sandbox.sites["lp"].token, SMTP_PASSWORD]


def assert_clean(text: str, sandbox: Sandbox) -> None:
    for secret in secrets_of(sandbox):
        assert secret not in text


def test_doctor_never_prints_an_echoed_token(sandbox: Sandbox, config: Path) -> None:
    ks = sandbox.sites["ks"]
    ks.state.fail("core_webservice_get_site_info", echo(ks.token, "core_webservice_get_site_info"))
    result = run(config, "doctor", "--platform", "ks")
    assert "invalidparameter" in result.output and f"wstoken={REDACTED}" in result.output
    assert_clean(result.output, sandbox)
    as_json = run(config, "doctor", "--platform", "ks", "--json")
    assert_clean(as_json.output, sandbox)


def test_validate_never_prints_any_configured_secret(sandbox: Sandbox, config: Path) -> None:
    ks, lp = sandbox.sites["ks"], sandbox.sites["lp"]
    # a proxy that echoes more than this request: the other platform's token and the SMTP password too
    echoed = f"{ks.token} {lp.token} {SMTP_PASSWORD} {json.dumps(SMTP_PASSWORD)}"
    ks.state.fail("core_course_get_courses_by_field", Fault.moodle("generalexceptionmessage", echoed))
    result = run(config, "validate", "--platform", "ks", "--course", "KSL-VELFERD-01")
    assert result.exit_code == 1 and "Feil: ks: core_course_get_courses_by_field" in result.output
    assert result.output.count(REDACTED) >= 4
    assert_clean(result.output, sandbox)


def test_the_xml_format_and_the_logs_are_redacted_too(sandbox: Sandbox, config: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace("retry_attempts = 1", 'retry_attempts = 1\n'
                                                                  'format = "xml"'), encoding="utf-8")
    ks = sandbox.sites["ks"]
    ks.state.fail("core_webservice_get_site_info", echo(ks.token, "core_webservice_get_site_info"))
    with caplog.at_level(logging.DEBUG):
        result = run(config, "-vv", "doctor", "--platform", "ks")
    assert "invalidparameter" in result.output
    assert_clean(result.output + caplog.text, sandbox)


def test_warnings_and_per_item_errors_in_a_successful_answer(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    leak = f"could not update: wstoken={ks.token}"
    ks.state.rewrite("core_course_update_courses",
                     lambda answer: {"warnings": [{"item": "course", "itemid": 2, "warningcode": "x", "message": leak}]})
    client = MoodleClient(MoodleTransport(ks.url, ks.token, name="ks", retry=RetryPolicy.none()))
    with pytest.raises(MoodleWarningsError) as caught:
        client.update_courses([{"id": 2, "fullname": "X"}])
    assert ks.token not in str(caught.value) and ks.token not in caught.value.warnings[0].message
    assert ks.token not in caught.value.moodle_message
    ks.state.rewrite("core_course_get_courses_by_field", replace_key("fullname", leak))
    assert all(ks.token not in course.fullname for course in client.all_courses())


def test_a_failed_items_reason_is_stored_without_the_token(sandbox: Sandbox, config: Path) -> None:
    """The reason of a failed item is the error's message, kept in the ledger and shown by ``sync status``."""
    with Ledger.open(config.parent / "ledger.db") as ledger:
        publish(ledger, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks",
                borrower_course=3, borrower_shortname="KSL-HBHF-SMITTE-01")
    ks = sandbox.sites["ks"]
    function = "core_completion_get_activities_completion_status"
    ks.state.fail(function, echo(ks.token, function))
    result = run(config, "sync", "run", "--no-certificates", "--json")
    assert result.exit_code == 4, result.output
    assert f"wstoken={REDACTED}" in result.output
    status = run(config, "sync", "status", "--json")
    assert json.loads(status.output)["failures"], status.output
    assert_clean(result.output + status.output, sandbox)
    with sqlite3.connect(config.parent / "ledger.db") as db:
        reasons = " ".join(str(row) for row in db.execute("SELECT * FROM failed_items"))
    assert f"wstoken={REDACTED}" in reasons and ks.token not in reasons
    stored = b"".join(path.read_bytes() for path in config.parent.glob("ledger.db*"))
    assert ks.token.encode() not in stored


# --- a password in a platform URL ---------------------------------------------------------------------------


def test_a_password_in_a_platform_url_is_never_printed(sandbox: Sandbox, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://proxyuser:{PROXY_PASSWORD.replace('@', '%40').replace('/', '%2F')}@ks.sandbox.invalid"
    config = write_config(sandbox, tmp_path, monkeypatch, urls={"ks": url})
    profile = load_config(config).platform("ks")
    assert profile.url == "http://ks.sandbox.invalid"
    assert profile.credentials is not None and profile.credentials[1].get_secret_value() == PROXY_PASSWORD
    assert PROXY_PASSWORD not in repr(profile) and PROXY_PASSWORD not in profile.model_dump_json()
    result = run(config, "doctor", "--platform", "ks", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["platforms"][0]["url"] == "http://ks.sandbox.invalid"
    assert "proxyuser" not in result.output and "p%40ss" not in result.output


def test_an_unreachable_url_is_named_without_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          sandbox: Sandbox) -> None:
    config = write_config(sandbox, tmp_path, monkeypatch, urls={"ks": "http://proxyuser:hemmelig-proxy@127.0.0.1:9"})
    result = run(config, "doctor", "--platform", "ks")
    assert result.exit_code == 3 and "http://127.0.0.1:9" in result.output, result.output
    assert "hemmelig-proxy" not in result.output and "proxyuser" not in result.output


@responses.activate
def test_url_credentials_go_only_into_basic_auth() -> None:
    responses.post("http://moodle.test/webservice/rest/server.php", json={"sitename": "x", "functions": []})
    transport = MoodleTransport("http://user:secret-pass@moodle.test/", "0e003bccd18dbb819ae30974e1ea0652",
                                retry=RetryPolicy.none())
    assert transport.base_url == "http://moodle.test" and "secret-pass" not in repr(transport)
    MoodleClient(transport.clone()).site_info()
    request = responses.calls[0].request
    assert request.url == "http://moodle.test/webservice/rest/server.php"
    assert request.headers["Authorization"].startswith("Basic ")


def test_a_connection_cut_while_reading_is_a_transport_error() -> None:
    class CutOff(requests.Response):
        def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[bytes]:
            yield b'{"sitename": '
            raise requests.exceptions.ChunkedEncodingError("connection reset")

    response = CutOff()
    response.raw = io.BytesIO(b"")
    with pytest.raises(TransportError, match="brutt"):
        read_body(response, "ks: core_webservice_get_site_info: ")


# --- the redactor itself -------------------------------------------------------------------------------------


def test_every_spelling_of_a_secret_is_redacted() -> None:
    redactor = Redactor([SMTP_PASSWORD])
    for spelling in (SMTP_PASSWORD, "smtp-passord-%C3%86%26%3C1%3E%2B2", "smtp-passord-%C3%86%26%3C1%3E%2B2",
                     json.dumps(SMTP_PASSWORD)[1:-1], "smtp-passord-Æ&amp;&lt;1&gt;+2"):
        assert redactor.text(f"before {spelling} after") == f"before {REDACTED} after"
        assert redactor.found_in(f"x{spelling}x".encode())


def test_short_values_and_answers_without_secrets_are_left_alone() -> None:
    redactor = Redactor(["t", "", "abc"])
    assert not redactor and redactor.text("a test at the start") == "a test at the start"
    data = {"courses": [{"fullname": "Smittevern"}]}
    assert Redactor(["0e003bccd18dbb819ae30974e1ea0652"]).answer(b'{"courses": []}', data) is data


def test_known_secrets_names_every_secret_the_configuration_can_read(config: Path, sandbox: Sandbox) -> None:
    found = {secret.get_secret_value() for secret in known_secrets(load_config(config))}
    assert set(secrets_of(sandbox)) <= found


def test_split_credentials() -> None:
    assert split_credentials("https://host/x") == ("https://host/x", None)
    url, credentials = split_credentials("https://u%40x:p%3Aw@host:8443/moodle")
    assert url == "https://host:8443/moodle" and credentials is not None
    assert credentials[0] == "u@x" and credentials[1].get_secret_value() == "p:w"
