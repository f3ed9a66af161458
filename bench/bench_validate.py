"""Validating a 10,000-course listing (the recorded get_courses_by_field shape), excluding the network.

Target (issue 3): under 2 seconds on this machine. Run: python bench/bench_validate.py [N]
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

from lmsbridge.adapters.models import CoursesResult
from lmsbridge.adapters.profile import PlatformProfile
from lmsbridge.adapters.wire import decode_response
from lmsbridge.sharing.requirements import check_course_info
from lmsbridge.validation.live import course_info_from_course

FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "moodle" / "lp__core_course_get_courses_by_field__ok_category.json"


def build_listing(n: int) -> bytes:
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))["response"]
    courses = []
    for i in range(n):
        course = copy.deepcopy(recorded["courses"][i % len(recorded["courses"])])
        course["id"] = 1000 + i
        course["shortname"] = f"{course['shortname']}-{i}"
        courses.append(course)
    return json.dumps({"courses": courses, "warnings": []}).encode()


def main(n: int = 10_000) -> None:
    body = build_listing(n)
    profile = PlatformProfile(title="LP", url="http://lp.test", role="hospital", organisation="Helse Bergen HF")
    categories = ["Helse og velferd", "Skolesektor", "Annet"]
    started = time.perf_counter()
    data = decode_response(200, {}, body)
    listing = CoursesResult.model_validate(data)
    parsed = time.perf_counter()
    failing = 0
    for course in listing.courses:
        findings = check_course_info(course_info_from_course(course, profile), categories=categories)
        failing += any(f.severity == "error" for f in findings)
    done = time.perf_counter()
    print(f"courses: {n}  body: {len(body) / 1e6:.1f} MB")
    print(f"decode+parse: {parsed - started:.2f} s  map+check: {done - parsed:.2f} s  total: {done - started:.2f} s")
    print(f"failing courses: {failing}  target: < 2.0 s  -> {'OK' if done - started < 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
