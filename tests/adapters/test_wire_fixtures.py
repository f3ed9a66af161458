"""Every recorded fixture decodes; encoding reproduces every recorded request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmsbridge import errors
from lmsbridge.adapters.wire import decode_response, decode_token_response, encode_params
from tests.conftest import FIXTURES

JSON_FIXTURES = sorted(p for p in FIXTURES.glob("*.json") if p.name != "seed_data.json")
WS_FIXTURES = [p for p in JSON_FIXTURES if "login_token_php" not in p.name]
XML_FIXTURES = sorted(FIXTURES.glob("*.xml"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def body_of(record: dict[str, Any]) -> bytes:
    return json.dumps(record["response"]).encode()


@pytest.mark.parametrize("path", WS_FIXTURES, ids=lambda p: p.stem)
def test_encoding_reproduces_recorded_form(path: Path) -> None:
    record = load(path)
    recorded = [tuple(pair) for pair in record["encoded_params"]]
    reserved = [p for p in recorded if p[0] in ("wstoken", "wsfunction", "moodlewsrestformat")]
    settings = [p for p in recorded if p[0].startswith("moodlewssetting")]
    rest = [p for p in recorded if p not in reserved and p not in settings]
    assert encode_params(record["params"]) == rest


@pytest.mark.parametrize("path", WS_FIXTURES, ids=lambda p: p.stem)
def test_fixture_decodes_to_data_error_or_warnings(path: Path) -> None:
    record = load(path)
    case = path.stem.split("__")[-1]
    headers = {"Content-Type": record.get("content_type", "application/json")}
    if case.startswith("err"):
        with pytest.raises(errors.MoodleError) as caught:
            decode_response(200, headers, body_of(record), wsfunction=record["wsfunction"])
        expected = record["response"]
        assert caught.value.errorcode == expected.get("errorcode", "")
        assert caught.value.exception == expected["exception"]
        assert caught.value.moodle_message == expected["message"]
        assert caught.value.debuginfo == expected.get("debuginfo")
        # The token never ends up in an error message.
        assert record["wstoken"] not in str(caught.value)
    else:
        data = decode_response(200, headers, body_of(record), wsfunction=record["wsfunction"])
        assert data == record["response"]
        if case.startswith("warn") and isinstance(data, dict):
            assert data["warnings"], "a warn fixture carries warnings"


# Errors map to the class a caller acts on (errors.py, one table).
EXPECTED_CLASSES = {
    "lp__core_webservice_get_site_info__err_invalid_token": errors.InvalidTokenError,
    "lp__core_user_delete_users__err_function_not_in_service": errors.AccessDeniedError,
    "lp__core_course_create_courses__err_access_denied": errors.AccessDeniedError,
    "lp__core_nonexistent_function__err_unknown_function": errors.NotFoundError,
    "lp__core_course_get_contents__err_nonexistent_course": errors.NotFoundError,
    "lp__core_course_get_contents__err_missing_param": errors.InvalidParameterError,
    "lp__core_completion_get_course_completion_status__err_not_enrolled": errors.NotEnrolledError,
    "lp__core_completion_get_course_completion_status__err_access_denied_other_user": errors.AccessDeniedError,
    "ks__core_reportbuilder_retrieve_report__err_access_denied_learner": errors.AccessDeniedError,
    "ks__core_user_create_users__err_password_policy": errors.RemoteError,
    "lp__core_course_create_courses__err_shortname_taken": errors.RemoteError,
}


@pytest.mark.parametrize(("name", "cls"), sorted(EXPECTED_CLASSES.items()))
def test_error_classes(name: str, cls: type[errors.MoodleError]) -> None:
    record = load(FIXTURES / f"{name}.json")
    with pytest.raises(cls):
        decode_response(200, {}, body_of(record))


def test_access_denied_and_invalid_token_are_fatal_not_found_is_per_record() -> None:
    assert issubclass(errors.InvalidTokenError, errors.FatalError)
    assert issubclass(errors.AccessDeniedError, errors.FatalError)
    assert issubclass(errors.NotFoundError, errors.RecordError)
    assert issubclass(errors.TransportError, errors.RetriableError)


@pytest.mark.parametrize("path", XML_FIXTURES, ids=lambda p: p.stem)
def test_xml_decodes_like_json(path: Path) -> None:
    record = load(path.with_suffix(".json"))
    xml = path.read_bytes()
    if "__err" in path.stem:
        with pytest.raises(errors.MoodleError) as caught:
            decode_response(200, {}, xml, fmt="xml")
        assert caught.value.errorcode == record["response"]["errorcode"]
        assert caught.value.exception == record["response"]["exception"]
        return
    data = decode_response(200, {}, xml, fmt="xml")

    def same_shape(from_xml: Any, from_json: Any) -> None:
        # XML has no types: scalars arrive as strings, booleans as 1/0, null as None.
        if isinstance(from_json, dict):
            assert isinstance(from_xml, dict)
            for key, value in from_json.items():
                assert key in from_xml, key
                same_shape(from_xml[key], value)
        elif isinstance(from_json, list):
            assert isinstance(from_xml, list) and len(from_xml) == len(from_json)
            for a, b in zip(from_xml, from_json, strict=True):
                same_shape(a, b)
        elif from_json is None:
            assert from_xml in (None, "")
        elif isinstance(from_json, bool):
            assert from_xml == ("1" if from_json else "0")
        else:
            assert from_xml == str(from_json)

    same_shape(data, record["response"])


def test_xml_parses_into_typed_models_like_json() -> None:
    from lmsbridge.adapters.models import CoursesResult

    name = "lp__core_course_get_courses_by_field__ok_category"
    from_xml = CoursesResult.model_validate(
        decode_response(200, {}, (FIXTURES / f"{name}.xml").read_bytes(), fmt="xml")
    )
    from_json = CoursesResult.model_validate(load(FIXTURES / f"{name}.json")["response"])
    assert [c.id for c in from_xml.courses] == [c.id for c in from_json.courses]
    smitte_xml = from_xml.courses[0].field("studiekategori")
    smitte_json = from_json.courses[0].field("studiekategori")
    assert smitte_xml is not None and smitte_json is not None
    assert smitte_xml.raw_int == smitte_json.raw_int == 1
    assert from_xml.courses[0].visible is True and from_xml.courses[0].enablecompletion is True


@pytest.mark.parametrize("path", [p for p in JSON_FIXTURES if "login_token_php" in p.name], ids=lambda p: p.stem)
def test_token_php_fixtures(path: Path) -> None:
    record = load(path)
    body = body_of(record)
    if "__err" in path.stem:
        with pytest.raises(errors.LoginError) as caught:
            decode_token_response(200, {}, body)
        assert caught.value.errorcode == record["response"]["errorcode"]
    else:
        assert decode_token_response(200, {}, body) == record["response"]["token"]


HOSTILE_XML = [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    b"<RESPONSE><VALUE>&b;</VALUE></RESPONSE>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><RESPONSE><VALUE>&x;</VALUE></RESPONSE>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><RESPONSE/>',
    b"<RESPONSE><SINGLE><KEY name='a'><VALUE>1</VALUE></KEY>",  # truncated
    b"<html><body>Maintenance</body></html>",
]


@pytest.mark.parametrize("body", HOSTILE_XML)
def test_hostile_or_broken_xml_is_refused_cleanly(body: bytes) -> None:
    with pytest.raises(errors.ProtocolError):
        decode_response(200, {}, body, fmt="xml")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (500, errors.TransportError),
        (502, errors.TransportError),
        (503, errors.TransportError),
        (429, errors.TransportError),
        (403, errors.ProtocolError),
        (404, errors.ProtocolError),
    ],
)
def test_http_status_errors(status: int, cls: type[Exception]) -> None:
    with pytest.raises(cls):
        decode_response(status, {}, b"")


def test_html_instead_of_json_is_a_protocol_error() -> None:
    with pytest.raises(errors.ProtocolError, match="HTML"):
        decode_response(200, {}, b"<!DOCTYPE html><html>login</html>")


def test_malformed_json_is_a_protocol_error() -> None:
    with pytest.raises(errors.ProtocolError, match="JSON"):
        decode_response(200, {}, b'{"courses": [')


def test_null_body_is_none() -> None:
    assert decode_response(200, {}, b"null") is None
    assert decode_response(200, {}, b'<?xml version="1.0"?>\n<RESPONSE>\n</RESPONSE>\n', fmt="xml") is None
