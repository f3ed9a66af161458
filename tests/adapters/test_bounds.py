"""The sane ranges of values read from a platform, as pure functions (``lmsbridge.adapters.bounds``)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from lmsbridge.adapters import bounds
from lmsbridge.adapters.bounds import OutOfRange
from lmsbridge.adapters.wire import MAX_DEPTH, decode_body, nesting_exceeds
from lmsbridge.errors import BadValueError, ProtocolError, RecordError
from lmsbridge.i18n import Message

NINES = "9" * 5000


@pytest.mark.parametrize(("value", "expected"), [
    (1, 1), ("42", 42), (" 7 ", 7), (7.0, 7), ("7.0", 7), (2**63 - 1, 2**63 - 1), (str(2**63 - 1), 2**63 - 1),
])
def test_ids_in_range(value: object, expected: int) -> None:
    assert bounds.id_value(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0", 2**63, str(2**63), NINES, "-" + NINES, float("inf"), math.nan,
                                   1e300, 10**5000], ids=lambda value: bounds.shorten(value, 8))
def test_ids_out_of_range(value: object) -> None:
    with pytest.raises(OutOfRange):
        bounds.id_value(value)


@pytest.mark.parametrize("value", ["abc", "1.5", 1.5, [1], {"id": 1}, True])
def test_what_is_no_number_is_a_shape_problem_not_a_range_problem(value: object) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        bounds.id_value(value)
    assert not isinstance(caught.value, OutOfRange)


def test_references_may_be_unset_and_timestamps_stop_in_year_9999() -> None:
    assert bounds.ref_value(None) == bounds.ref_value("") == bounds.ref_value(0) == 0
    assert bounds.timestamp_value(None) == 0
    assert bounds.timestamp_value(bounds.MAX_TIMESTAMP) == bounds.MAX_TIMESTAMP
    for value in (bounds.MAX_TIMESTAMP + 1, 10**13, -1, "-5"):
        with pytest.raises(OutOfRange):
            bounds.timestamp_value(value)


def test_from_unix_never_raises() -> None:
    assert bounds.datetime_from_unix(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    for absurd in (10**13, -1, NINES, float("inf"), "soon", None, 0, [1]):
        assert bounds.datetime_from_unix(absurd) is None
    # the last representable second still converts in any time zone
    assert bounds.datetime_from_unix(bounds.MAX_TIMESTAMP).year == 9999  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "expected"), [
    ("66.7%", 66.7), ("66,7 %", 66.7), (" 100% ", 100.0), ("0%", 0.0), ("", None), ("-", None), ("n/a", None),
    ("66.7", None),
])
def test_report_cell_percentages(text: str, expected: float | None) -> None:
    assert bounds.percent_from_text(text) == expected


@pytest.mark.parametrize("text", ["9" * 400 + "%", "101%", "-5%", "9" * 40 + ".5%"],
                         ids=lambda text: bounds.shorten(text, 8))
def test_report_cell_percentages_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange):
        bounds.percent_from_text(text)


def test_report_cell_ids() -> None:
    assert bounds.id_from_text("4") == 4
    with pytest.raises(OutOfRange):
        bounds.id_from_text(NINES)
    with pytest.raises(OutOfRange):
        bounds.id_from_text("0")


def test_the_typed_error_names_site_function_field_and_a_shortened_value() -> None:
    try:
        bounds.id_from_text(NINES)
    except OutOfRange as exc:
        error = bounds.bad_value(exc, site="lp", wsfunction="core_reportbuilder_retrieve_report", field="user_link")
    assert isinstance(error, BadValueError) and isinstance(error, RecordError)
    text = error.message.render("en")
    assert text.startswith("lp: the answer of core_reportbuilder_retrieve_report has a value outside any sane range "
                           "in «user_link»: 999999999999999999999999…99999999 (5000 characters)")
    assert len(text) < 250
    assert error.message.unplaced().render("en").startswith("the answer of core_reportbuilder_retrieve_report")


def test_shown_values_stay_short() -> None:
    assert bounds.shown("12") == "12"
    assert isinstance(bounds.shown(NINES), Message)
    assert "bit integer" in bounds.shorten(10**5000)


# --- the decoder's bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "deep"), argvalues=[
    (b"[" * 100_000 + b"0" + b"]" * 100_000, True),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), True),
    (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, False),
    (b'{"a":' * 70 + b"1" + b"}" * 70, True),
    # brackets inside strings are text, escaped quotes and backslashes included
    (json.dumps({"summary": "[" * 500, "x": ["]" * 3, "\\\"[[[", "{" * 99]}).encode(), False),
    (json.dumps([{"s": "[" * 80, "t": "]" * 80} for _ in range(100)]).encode(), False),
    (json.dumps({"courses": [{"customfields": [{"v": "a"}] * 50}] * 50}).encode(), False),
])
def test_nesting_is_measured_without_parsing(body: bytes, deep: bool) -> None:
    assert nesting_exceeds(body) is deep


def test_deep_json_is_a_protocol_error_not_a_recursion_error() -> None:
    with pytest.raises(ProtocolError, match="dypere enn 64"):
        decode_body(b"[" * 100_000 + b"]" * 100_000, "json", where="ks: f: ")
    # nesting hidden from the scan (unbalanced quotes) still ends as a ProtocolError
    with pytest.raises(ProtocolError):
        decode_body(b'["' + b"[" * 100_000, "json")


def test_deep_xml_is_refused_by_the_parser() -> None:
    depth = 10_000
    body = b"<RESPONSE>" + b"<MULTIPLE>" * depth + b"</MULTIPLE>" * depth + b"</RESPONSE>"
    with pytest.raises(ProtocolError):
        decode_body(body, "xml")


def test_huge_numbers_stay_text_for_the_models_to_refuse() -> None:
    data = decode_body(b'{"id": ' + NINES.encode() + b', "n": 12, "big": 1' + b"0" * 40 + b"}", "json")
    assert data == {"id": NINES, "n": 12, "big": "1" + "0" * 40}
