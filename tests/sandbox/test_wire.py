"""The wire format as the server reads and writes it (pure functions)."""

from __future__ import annotations

import json
from pathlib import Path

from lmsbridge.sandbox.wire import ABSENT, ABSENT_LIST, decode_form, render_exception_xml, render_json, render_xml

FIXTURES = Path(__file__).parents[1] / "fixtures" / "moodle"


def test_php_style_nested_parameters_become_dicts_and_lists() -> None:
    form = decode_form([
        ("courses[0][fullname]", "Kurs"),
        ("courses[0][customfields][0][shortname]", "maal"),
        ("courses[0][customfields][0][value]", "<p>x</p>"),
        ("courses[0][customfields][3][shortname]", "studiekategori"),
        ("courses[0][customfields][3][value]", "1"),
        ("options[ids][0]", "5"),
        ("options[ids][1]", "7"),
        ("groupids[]", "1"),
        ("groupids[]", "2"),
        ("wsfunction", "f"),
    ])
    assert form == {
        "courses": [{"fullname": "Kurs", "customfields": [{"shortname": "maal", "value": "<p>x</p>"},
                                                            {"shortname": "studiekategori", "value": "1"}]}],
        "options": {"ids": ["5", "7"]},
        "groupids": ["1", "2"],
        "wsfunction": "f",
    }


def test_list_order_is_the_order_sent_not_the_index() -> None:
    # PHP keeps insertion order; Moodle takes the values in that order (REFERENCE.md §1)
    assert decode_form([("values[5]", "b"), ("values[1]", "a")]) == {"values": ["b", "a"]}


def test_json_is_php_json_encode() -> None:
    body = render_json({"url": "http://x/y", "name": "Læring", "gone": ABSENT, "none": None, "ok": True})
    assert body == b'{"url":"http:\\/\\/x\\/y","name":"L\\u00e6ring","none":null,"ok":true}'
    assert json.loads(body) == {"url": "http://x/y", "name": "Læring", "none": None, "ok": True}


def test_xml_layout_null_bool_and_described_but_absent_keys() -> None:
    body = render_xml({"a": None, "b": True, "c": [1, "x&y"], "d": ABSENT, "e": ABSENT_LIST, "f": {"g": 0.5}})
    assert body.decode() == (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<SINGLE>\n'
        '<KEY name="a"><VALUE null="null"/>\n</KEY>\n'
        '<KEY name="b"><VALUE>1</VALUE>\n</KEY>\n'
        '<KEY name="c"><MULTIPLE>\n<VALUE>1</VALUE>\n<VALUE>x&amp;y</VALUE>\n</MULTIPLE>\n</KEY>\n'
        '<KEY name="d"><VALUE null="null"/>\n</KEY>\n'
        '<KEY name="e"><MULTIPLE>\n</MULTIPLE>\n</KEY>\n'
        '<KEY name="f"><SINGLE>\n<KEY name="g"><VALUE>0.5</VALUE>\n</KEY>\n</SINGLE>\n</KEY>\n'
        "</SINGLE>\n</RESPONSE>\n"
    )


def test_a_null_result_is_an_empty_response() -> None:
    assert render_xml(None) == b'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n'


def test_xml_bodies_are_byte_identical_to_the_recorded_ones() -> None:
    assert render_xml({"courses": [], "warnings": []}) == (
        FIXTURES / "lp__core_course_get_courses_by_field__ok_nonexistent_id.xml").read_bytes()
    assert render_exception_xml(
        "dml_missing_record_exception", "invalidrecord", "Can't find data record in database table course.", None
    ) == (FIXTURES / "lp__core_course_get_contents__err_nonexistent_course.xml").read_bytes()
    assert render_exception_xml(
        "core\\exception\\moodle_exception", "invalidtoken", "Invalid token - token not found", None
    ) == (FIXTURES / "lp__core_webservice_get_site_info__err_invalid_token.xml").read_bytes()
