"""The completion report read from the recorded ``*reportbuilder*`` fixtures (parsing: no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.adapters.reports import (
    KNOWN_POSITIONS,
    UnreadableCell,
    completed_since_filter,
    course_id,
    locate_columns,
    parse_progress,
    parse_rows,
    parse_time,
    rows_for_course,
    user_id,
)
from tests.conftest import fixture


def report(name: str) -> tuple[list[str], list[list[str]]]:
    data = fixture(name)["response"]["data"]
    return data["headers"], [[str(c) for c in row["columns"]] for row in data["rows"]]


def test_headers_of_the_recorded_report_are_found_by_text() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en")
    assert locate_columns(headers, rows).positions == KNOWN_POSITIONS


def test_columns_found_when_reordered_and_renamed() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en")
    order = [9, 8, 7, 2, 1, 0, 6, 5, 4, 3]
    headers2 = [headers[i] for i in order]
    headers2[3] = "Navn med lenke"  # an unknown header: the user link is found by its cells
    rows2 = [[row[i] for i in order] for row in rows]
    parsed, problems = parse_rows(headers2, rows2)
    original, _ = parse_rows(headers, rows)
    assert problems == []
    assert [(r.userid, r.course_id) for r in parsed] == [(r.userid, r.course_id) for r in original]


def test_unknown_headers_fall_back_to_the_known_positions() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en")
    parsed, _ = parse_rows([f"kolonne {i}" for i in range(len(headers))], rows)
    kari = next(r for r in parsed if r.course_shortname == "HBHF-BRANN-03" and r.userid == 4)
    assert kari.time_completed == datetime(2026, 11, 22, 18, 1, tzinfo=UTC)


def test_rows_of_the_recorded_report() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en")
    parsed, problems = parse_rows(headers, rows)
    assert problems == [] and len(parsed) == 26
    lp1 = rows_for_course(parsed, 5, "HBHF-SMITTE-01")
    assert len(lp1) == 12
    lars = next(r for r in lp1 if r.userid == 9)
    assert (lars.username, lars.idnumber, lars.email) == ("hb10006", "HB10006", "lars.andersen@helse-bergen.no")
    assert lars.completed is True and lars.progress == 100.0
    assert lars.time_completed == datetime(2026, 11, 22, 18, 1, tzinfo=UTC)
    assert lars.last_access is None  # "Never"
    siri = next(r for r in lp1 if r.userid == 8)
    assert siri.completed is False and siri.time_completed is None and siri.progress == 50.0
    # by short name when the id link is missing
    assert len(rows_for_course(parsed, None, "HBHF-BRANN-03")) == 7


def test_ks_report_without_course_completion_rows() -> None:
    headers, rows = report("ks__core_reportbuilder_retrieve_report__ok_perpage5")
    parsed, _ = parse_rows(headers, rows)
    anne = parsed[0]
    assert anne.course_id == 5 and anne.userid == 24 and anne.completed is None and anne.progress == 0.0


def test_filtered_report_has_only_completions_since() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_filter_timecompleted_from")
    parsed, _ = parse_rows(headers, rows)
    # recorded without the UTC setting: Europe/Oslo, one hour ahead of UTC in November
    assert [(r.userid, r.course_id) for r in parsed] == [(4, 7), (9, 5)]
    assert all(r.completed for r in parsed)


def test_filter_values_match_the_recorded_call() -> None:
    recorded = fixture("lp__core_reportbuilder_set_filters__ok_timecompleted_from")["params"]
    since = datetime.fromtimestamp(1795370400, tz=UTC)
    assert json.loads(completed_since_filter(since)) == json.loads(recorded["values"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sunday, 22 November 2026, 6:01 PM", datetime(2026, 11, 22, 18, 1, tzinfo=UTC)),
        ("Monday, 1 March 2027, 12:05 AM", datetime(2027, 3, 1, 0, 5, tzinfo=UTC)),
        ("Never", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_parse_time_refuses_other_texts() -> None:
    with pytest.raises(ValueError):
        parse_time("22.11.2026 18:01")


def test_links_and_progress() -> None:
    assert user_id('<a href="http://127.0.0.1:8082/user/profile.php?id=4">Kari Nordmann</a>') == 4
    assert user_id('<a href="https://x/user/profile.php?course=2&amp;id=17">X</a>') == 17
    assert user_id('<a href="https://x/user/view.php?id=4">X</a>') is None
    assert user_id("Kari Nordmann") is None
    assert course_id('<a href="http://127.0.0.1:8082/course/view.php?id=7">HBHF-BRANN-03</a>') == 7
    assert parse_progress("66.7%") == 66.7 and parse_progress("") is None


@responses.activate
def test_page_past_the_end_is_empty_not_an_error() -> None:
    body = fixture("lp__core_reportbuilder_retrieve_report__ok_page_beyond_end")["response"]
    responses.post("http://lp.test/webservice/rest/server.php", json=body)
    client = MoodleClient(MoodleTransport("http://lp.test", "t", retry=RetryPolicy.none()))
    data = client.retrieve_report(1, page=5, perpage=1000)
    assert data.rows == [] and data.totalrowcount == 26 and len(data.headers) == 10


@responses.activate
def test_the_completion_report_is_read_page_by_page_into_rows() -> None:
    """Pages until one comes back short or empty (``totalrowcount`` 26, 5 a page: page 1 is past this recording)."""
    for name in ("lp__core_reportbuilder_retrieve_report__ok_perpage5_tz_utc_lang_en",
                 "lp__core_reportbuilder_retrieve_report__ok_page_beyond_end"):
        responses.post("http://lp.test/webservice/rest/server.php", json=fixture(name)["response"])
    client = MoodleClient(MoodleTransport("http://lp.test", "t", retry=RetryPolicy.none()))
    report = client.completion_report(1, page_size=5)
    assert client.call_counts() == {"core_reportbuilder_retrieve_report": 2}
    assert len(report.rows) == 5 and report.problems == []
    assert [r.userid for r in report.for_course(5, None)] == [r.userid for r in report.rows if r.course_id == 5]


def test_an_unreadable_completion_time_is_a_typed_problem_not_a_text() -> None:
    headers, rows = report("lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en")
    broken = [list(row) for row in rows]
    broken[3][KNOWN_POSITIONS["timecompleted"]] = "22.11.2026 18:01"
    parsed, problems = parse_rows(headers, broken)
    assert problems == [UnreadableCell(3, "timecompleted", "22.11.2026 18:01")]
    assert parsed[3].time_completed is None and len(parsed) == len(rows)
