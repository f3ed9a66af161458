"""A live Moodle course → CourseInfo, through the platform profile's field mapping."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lmsbridge.adapters import PlatformProfile
from lmsbridge.adapters.models import Course
from lmsbridge.sharing.courseinfo import CourseInfo

OSLO = ZoneInfo("Europe/Oslo")  # the sites run Europe/Oslo; dates are Unix seconds


def course_info_from_course(course: Course, profile: PlatformProfile) -> CourseInfo:
    values: dict[str, Any] = {"fullname": course.fullname or None, "shortname": course.shortname or None}
    for item, shortname in profile.fields.items():
        custom = course.field(shortname)
        if custom is None:
            continue
        if shortname in profile.select_options:
            values[item] = profile.option_text(item, custom.raw_int)
        elif custom.type == "date" or item == "study_start":
            stamp = custom.raw_int
            values[item] = datetime.fromtimestamp(stamp, tz=OSLO).date() if stamp else None
        else:
            values[item] = custom.raw_text or None
    # Every Moodle course has its own course page: «Opprett hjemmeside – JA» holds unless a field says otherwise.
    values.setdefault("create_home_page", True)
    return CourseInfo.model_validate(values)
