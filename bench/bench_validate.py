"""Validating a 10,000-course listing, excluding the network (issue 3: under 2 seconds on this machine).

The listing is built from the recorded shape of ``core_course_get_courses_by_field`` for a category
(tests/fixtures/moodle/lp__core_course_get_courses_by_field__ok_category.json: HBHF-SMITTE-01,
HBHF-LEGEMID-02, HBHF-BRANN-03, repeated with new ids and shortnames) and goes through the same code path
as ``lmsbridge validate --platform lp --category 3``: the client's one listing call (form encoding,
``decode_response``, the wire model), the profile mapping (``course_info_from_course``) and the checks
(``check_course_info``). Only the HTTP round trip is replaced, by a session that answers with the body.

Run: ``python bench/bench_validate.py [N]``
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from lmsbridge.adapters import MoodleClient, MoodleTransport, PlatformProfile, RetryPolicy
from lmsbridge.readers import course_info_from_course, study_categories
from lmsbridge.sharing.requirements import check_course_info, passes

FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "moodle" / "lp__core_course_get_courses_by_field__ok_category.json"
TARGET_SECONDS = 2.0


def build_listing(n: int) -> bytes:
    """A ``{"courses": [...], "warnings": []}`` body of ``n`` courses in the recorded shape."""
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))["response"]["courses"]
    courses = []
    for i in range(n):
        course = copy.deepcopy(recorded[i % len(recorded)])
        course["id"] = 1000 + i
        course["shortname"] = f"{course['shortname']}-{i:05d}"
        course["fullname"] = f"{course['fullname']} ({i})"
        courses.append(course)
    return json.dumps({"courses": courses, "warnings": []}, ensure_ascii=False).encode()


class RecordedSession(requests.Session):
    """Answers every POST with the same body: the network is not part of the measurement."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.headers["Content-Type"] = "application/json"
        response.url = str(url)
        return response


def run(n: int = 10_000) -> dict[str, Any]:
    body = build_listing(n)
    profile = PlatformProfile(name="lp", title="Læringsportal", url="http://lp.test", role="hospital",
                              organisation="Helse Bergen HF")
    transport = MoodleTransport(profile.url, "token", retry=RetryPolicy.none(), session=RecordedSession(body))
    client = MoodleClient(transport)
    categories = study_categories(profile)

    started = time.perf_counter()
    courses = client.courses_in_category(3)
    listed = time.perf_counter()
    infos = [course_info_from_course(course, profile) for course in courses]
    mapped = time.perf_counter()
    findings = [check_course_info(info, categories=categories) for info in infos]
    checked = time.perf_counter()
    return {
        "courses": len(courses),
        "body_mb": len(body) / 1e6,
        "decode_parse_s": listed - started,
        "map_s": mapped - listed,
        "check_s": checked - mapped,
        "total_s": checked - started,
        "failing": sum(not passes(f) for f in findings),
        "calls": transport.call_count,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    run(min(n, 300))  # warm up imports and regex caches
    results = sorted((run(n) for _ in range(rounds)), key=lambda figures: float(figures["total_s"]))
    figures = results[len(results) // 2]  # the median round
    total = figures["total_s"]
    print(f"courses: {figures['courses']}  listing body: {figures['body_mb']:.1f} MB  web-service calls: {figures['calls']}")
    print(f"median of {rounds} rounds — decode + wire model: {figures['decode_parse_s']:.2f} s   "
          f"profile mapping: {figures['map_s']:.2f} s   checks: {figures['check_s']:.2f} s")
    print(f"total: {total:.2f} s  ({figures['courses'] / total:,.0f} courses/s; best {results[0]['total_s']:.2f} s, "
          f"worst {results[-1]['total_s']:.2f} s)   failing courses: {figures['failing']}")
    print(f"target: < {TARGET_SECONDS:.1f} s  -> {'OK' if total < TARGET_SECONDS else 'MISSED'}")


if __name__ == "__main__":
    main()
