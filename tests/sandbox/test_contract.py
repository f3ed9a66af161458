"""Contract: the sandbox answers every recorded request like the real Moodle 4.5 sites did.

Every fixture in tests/fixtures/moodle (seed_data.json aside) is replayed on ONE freshly seeded sandbox,
per site in ``captured_at`` order, because later recordings depend on earlier calls (ks course 5,
category 3 and user 24, LP1's groups 1-3 were created by captured calls). Within one second the
recorded order is not in the files; ``ORDER`` gives it where it matters. The sandbox clock is pinned
to each fixture's ``captured_at`` so that times line up (the report filter "from 18:00 UTC" and the
"last 7 days" condition).

A response matches when it has the same keys, value types (null, bool, number, string, list, object)
and list lengths as the recorded one, and errors the same exception class and errorcode (ids, times and
text may differ). ``.xml`` fixtures are compared by element structure.

Site settings the recordings were made under, set through the state API around that one call:

* ``*_debug``: debugging on (``$CFG->debug = 32767``), so ``debuginfo`` is present;
* ``lp__core_message_send_instant_messages__err_messaging_disabled``: site setting ``messaging`` = 0;
* ``*__warn_cannot_message_no_shared_course``: before role lmsbridgews had moodle/site:messageanyuser;
* ``*__ok_condition_timecompleted_last7days``: report condition completion:timecompleted = last 7 days;
* ``ks__core_backup_get_copy_progress__ok_finished`` and ``…__ok_lp3_after_cron``: cron ran first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from lmsbridge.sandbox import Sandbox, SiteState

FIXTURES = Path(__file__).parents[1] / "fixtures" / "moodle"

#: the recorded order of calls made within the same second (captured_at has second precision)
ORDER = [
    # ks 18:01:11 — category and course created, read, updated, read again
    "ks__core_course_create_categories__ok",
    "ks__core_course_create_courses__ok",
    "ks__core_course_get_courses_by_field__ok_after_create",
    "ks__core_course_get_courses__ok_after_create",
    "ks__core_course_update_courses__ok",
    "ks__core_course_get_courses_by_field__ok_after_update",
    "ks__core_course_update_courses__ok_clear_select",
    "ks__core_course_get_courses_by_field__ok_after_clear_select",
    "ks__core_course_update_courses__warn_nonexistent",
    "ks__core_course_update_courses__warn_shortname_taken",
    "ks__core_course_create_courses__ok_minimal",  # the course deleted at 18:01:12 (sortorder of course 5 shows it came later)
    # ks 18:01:12 — import, the lp nurse created on ks, enrolments, deletion
    "ks__core_backup_get_copy_progress__ok_waiting",
    "ks__core_course_import_course__ok",
    "ks__core_course_get_contents__ok_after_import",
    "ks__core_user_create_users__ok",
    "ks__core_user_create_users__err_username_exists",
    "ks__enrol_manual_enrol_users__err_nonexistent_course",
    "ks__enrol_manual_enrol_users__err_role_not_assignable",
    "ks__enrol_manual_enrol_users__ok",
    "ks__core_enrol_get_enrolled_users__ok_after_enrol",
    "ks__core_course_delete_courses__ok",
    "ks__core_course_delete_courses__warn_nonexistent",
    # 18:30:07/08 — messages in clientmsgid order, then report filters
    "ks__core_message_send_instant_messages__warn_cannot_message_no_shared_course",
    "ks__core_message_send_instant_messages__ok",
    "ks__core_message_send_instant_messages__warn_nonexistent_user",
    "ks__core_message_send_instant_messages__ok_self",
    "ks__core_reportbuilder_set_filters__ok_timecompleted_from",
    "ks__core_reportbuilder_retrieve_report__ok_filter_timecompleted_from",
    "ks__core_reportbuilder_filters_reset__ok",
    "ks__core_reportbuilder_retrieve_report__ok_after_filters_reset",
    # lp 18:01:08 — completion reads, self completion, override
    "lp__core_completion_get_course_completion_status__ok_lp3_before_selfcomplete",
    "lp__core_completion_mark_course_self_completed__ok",
    "lp__core_completion_get_course_completion_status__ok_lp3_after_selfcomplete",
    "lp__core_completion_override_activity_completion_status__ok",
    "lp__core_completion_get_activities_completion_status__ok_after_override",
    "lp__core_completion_get_course_completion_status__ok_after_override",
    # lp 18:01:10/11 — groups
    "lp__core_group_create_groups__ok",
    "lp__core_group_get_course_groups__ok",
    "lp__core_course_edit_module__ok_hide",
    "lp__core_course_edit_module__ok_show",
    "lp__core_group_add_group_members__ok",
    "lp__core_group_add_group_members__err_not_enrolled",
    "lp__core_group_create_groups__err_duplicate_name",
    "lp__core_group_get_group_members__ok",
    # lp 18:30:06/07
    "lp__core_reportbuilder_set_filters__ok_timecompleted_from",
    "lp__core_reportbuilder_retrieve_report__ok_filter_timecompleted_from",
    "lp__core_reportbuilder_filters_reset__ok",
    "lp__core_reportbuilder_retrieve_report__ok_after_filters_reset",
    "lp__core_message_send_instant_messages__err_messaging_disabled",
    "lp__core_message_send_instant_messages__warn_cannot_message_no_shared_course",
    "lp__core_message_send_instant_messages__ok",
    "lp__core_message_send_instant_messages__warn_nonexistent_user",
    "lp__core_message_send_instant_messages__ok_self",
]

LAST_7_DAYS = {"completion:timecompleted_operator": 4, "completion:timecompleted_value": 7,
               "completion:timecompleted_unit": 1}


def site_setting(name: str) -> Callable[[SiteState], Callable[[], None]] | None:
    """What to set on the site before replaying ``name``; returns the undo."""
    if name.endswith("_debug"):
        return lambda s: (s.set_debug(True), lambda: s.set_debug(False))[1]
    if name.endswith("__err_messaging_disabled"):
        return lambda s: (s.set_messaging(False), lambda: s.set_messaging(True))[1]
    if name.endswith("__warn_cannot_message_no_shared_course"):
        return lambda s: (s.set_ws_can_message_any_user(False), lambda: s.set_ws_can_message_any_user(True))[1]
    if name.endswith("__ok_condition_timecompleted_last7days"):
        return lambda s: (s.set_report_condition(1, LAST_7_DAYS), lambda: s.set_report_condition(1, None))[1]
    if name in ("ks__core_backup_get_copy_progress__ok_finished",
                "lp__core_completion_get_course_completion_status__ok_lp3_after_cron"):
        return lambda s: (s.run_cron(), lambda: None)[1]
    return None


@dataclass(frozen=True)
class Recorded:
    name: str
    site: str
    captured_at: float
    data: dict[str, Any]

    @property
    def has_xml(self) -> bool:
        return (FIXTURES / f"{self.name}.xml").exists()


def recorded() -> list[Recorded]:
    found = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name == "seed_data.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        moment = datetime.fromisoformat(data["captured_at"]).timestamp()
        found.append(Recorded(path.stem, data["site"], moment, data))
    rank = {name: n for n, name in enumerate(ORDER)}
    return sorted(found, key=lambda r: (r.site, r.captured_at, rank.get(r.name, -1), r.name))


RECORDED = recorded()


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class PinnedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _send(session: requests.Session, base: str, rec: Recorded, fmt: str | None = None) -> Answer:
    data = rec.data
    path = urlsplit(data["url"]).path
    if data.get("encoded_params") is not None:
        pairs = [(k, v) for k, v in data["encoded_params"] if not (fmt and k == "moodlewsrestformat")]
        if fmt:
            pairs.append(("moodlewsrestformat", fmt))
    else:
        pairs = list(data["params"].items())
    if data.get("http_method", "POST") == "GET":
        response = session.get(base + path, params=pairs, timeout=10)
    else:
        response = session.post(base + path, data=pairs, timeout=10)
    return Answer(response.status_code, response.headers.get("Content-Type", ""), response.content)


@pytest.fixture(scope="module")
def replayed() -> Iterator[dict[str, Answer]]:
    """Every recorded request replayed once, in order; answers by fixture name (``.xml`` for XML)."""
    clock = PinnedClock(min(r.captured_at for r in RECORDED))
    answers: dict[str, Answer] = {}
    with Sandbox.start(clock=clock) as sandbox, requests.Session() as session:
        for site in ("ks", "lp"):
            handle = sandbox.sites[site]
            for rec in (r for r in RECORDED if r.site == site):
                clock.now = rec.captured_at
                setting = site_setting(rec.name)
                undo = setting(handle.state) if setting else None
                try:
                    answers[rec.name] = _send(session, handle.url, rec)
                    if rec.has_xml:
                        answers[rec.name + ".xml"] = _send(session, handle.url, rec, fmt="xml")
                finally:
                    if undo:
                        undo()
        yield answers


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs from ``expected`` in keys, types or list lengths."""
    if kind(expected) != kind(actual):
        return [f"{path}: {kind(expected)} recorded, {kind(actual)} served ({str(actual)[:60]!r})"]
    if isinstance(expected, dict):
        out = []
        missing, extra = set(expected) - set(actual), set(actual) - set(expected)
        if missing:
            out.append(f"{path}: keys missing {sorted(missing)}")
        if extra:
            out.append(f"{path}: extra keys {sorted(extra)}")
        for key in sorted(set(expected) & set(actual)):
            out.extend(differences(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items recorded, {len(actual)} served"]
        out = []
        for n, (a, b) in enumerate(zip(expected, actual, strict=True)):
            out.extend(differences(a, b, f"{path}[{n}]"))
        return out
    return []


def shape_differences(expected: Any, actual: Any) -> list[str]:
    # the length of site info's ``functions`` depends on what the site's service holds, not on the call
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in ("functions",):
            if key in expected and key in actual and expected[key] and actual[key]:
                expected = {**expected, key: expected[key][:1]}
                actual = {**actual, key: actual[key][:1]}
    return differences(expected, actual)


@pytest.mark.parametrize("rec", RECORDED, ids=[r.name for r in RECORDED])
def test_json_matches_recording(rec: Recorded, replayed: dict[str, Answer]) -> None:
    answer = replayed[rec.name]
    assert answer.status == rec.data["status"]
    assert answer.content_type == rec.data["content_type"]
    expected, actual = rec.data["response"], answer.json()
    if isinstance(expected, dict) and "exception" in expected:
        assert isinstance(actual, dict) and "exception" in actual, f"expected an exception, got {str(actual)[:200]}"
        assert (actual["exception"], actual["errorcode"]) == (expected["exception"], expected["errorcode"])
        assert set(actual) == set(expected), actual
        return
    problems = shape_differences(expected, actual)
    assert not problems, "\n".join(problems[:20])


def xml_tree(body: bytes) -> Any:
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))

    def walk(node: Any) -> Any:
        if node.tag == "SINGLE":
            return {key.get("name"): (walk(key[0]) if len(key) else None) for key in node}
        if node.tag == "MULTIPLE":
            return [walk(child) for child in node]
        if node.tag == "VALUE":
            return None if node.get("null") == "null" else (node.text or "")
        raise AssertionError(f"unexpected element {node.tag}")

    if root.tag == "EXCEPTION":
        return {"EXCEPTION": root.get("class"), **{child.tag: child.text for child in root}}
    assert root.tag == "RESPONSE"
    return walk(root[0]) if len(root) else None


XML_RECORDED = [r for r in RECORDED if r.has_xml]


@pytest.mark.parametrize("rec", XML_RECORDED, ids=[f"{r.name}.xml" for r in XML_RECORDED])
def test_xml_matches_recording(rec: Recorded, replayed: dict[str, Answer]) -> None:
    answer = replayed[rec.name + ".xml"]
    assert answer.status == 200
    assert answer.content_type.startswith("application/xml")
    expected = xml_tree((FIXTURES / f"{rec.name}.xml").read_bytes())
    actual = xml_tree(answer.body)
    if isinstance(expected, dict) and "EXCEPTION" in expected:
        assert actual == {**actual, "EXCEPTION": expected["EXCEPTION"], "ERRORCODE": expected["ERRORCODE"]}
        assert set(actual) == set(expected)
        return
    problems = shape_differences(expected, actual)
    assert not problems, "\n".join(problems[:20])


def test_every_fixture_is_replayed(replayed: dict[str, Answer]) -> None:
    assert {r.name for r in RECORDED} <= set(replayed)
    assert len(RECORDED) > 150


#: values that legitimately differ: record times and cache revisions, context ids (and the URLs built
#: from them), per-user keys, the draft item id (random on Moodle too)
VOLATILE_KEYS = {
    "timecreated", "timemodified", "cacherev", "lastmodified", "contextid", "courseimage", "modicon", "fileurl",
    "userpictureurl", "profileimageurl", "profileimageurlsmall", "userprivateaccesskey", "itemid", "url",
}
#: responses whose values are not comparable: rendered HTML of a whole activity card; the service's
#: function list (the sandbox's service holds more functions); cm idnumbers the sandbox seed sets
VALUES_NOT_COMPARED = {
    "lp__core_course_edit_module__ok_hide", "lp__core_course_edit_module__ok_show",
}
_PORT = re.compile(r"127\.0\.0\.1:\d+")


def value_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in expected.keys() & actual.keys():
            if key in VOLATILE_KEYS or (path == "$" and key == "functions") or (path == "$.cm" and key == "idnumber"):
                continue
            out.extend(value_differences(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        return [d for n, (a, b) in enumerate(zip(expected, actual, strict=False))
                for d in value_differences(a, b, f"{path}[{n}]")]
    if isinstance(expected, str) and isinstance(actual, str):
        expected, actual = _PORT.sub("SITE", expected), _PORT.sub("SITE", actual)
    return [] if expected == actual else [f"{path}: {expected!r} recorded, {actual!r} served"]


VALUE_RECORDED = [r for r in RECORDED if r.name not in VALUES_NOT_COMPARED]


@pytest.mark.parametrize("rec", VALUE_RECORDED, ids=[r.name for r in VALUE_RECORDED])
def test_values_match_recording(rec: Recorded, replayed: dict[str, Answer]) -> None:
    """Beyond the shape: the seeded sites hold the recorded data (ids, names, custom fields, completion
    states, report cells, error messages), so the same calls give the same values."""
    problems = value_differences(rec.data["response"], replayed[rec.name].json())
    assert not problems, "\n".join(problems[:20])
