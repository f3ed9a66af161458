"""A live Moodle course → CourseInfo, through the platform profile's field mapping.

* Custom fields are read from ``valueraw`` (``value`` is filtered HTML: INDEX.md); select indexes are
  turned back into option text with the profile's option lists; dates are Unix seconds → the day in
  Europe/Oslo.
* An item the profile does not map to a custom field (or that the course does not carry) comes from
  the course itself: the summary from the course summary (without lmsbridge's label paragraph), the
  study start from the course start date, the study category from the profile's ``categories``
  (study category → course category id), the label from the label paragraph in the summary.
* «Opprett hjemmeside – JA»: in Moodle every course has its own course page, so a live course has it
  unless the profile maps a field for it.
* Many courses are listed with ONE call (``courses_in_category`` / ``all_courses``), never one per course.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lmsbridge.adapters import MoodleClient
from lmsbridge.adapters.models import Course
from lmsbridge.i18n import Message
from lmsbridge.readers.mapping import FieldMapping, category_for_id, custom_value, oslo_date
from lmsbridge.readers.untrusted import input_error
from lmsbridge.sharing.courseinfo import ITEMS, CourseInfo
from lmsbridge.sharing.labels import labels_in, remove_labels

_FROM_COURSE_ITSELF = ("fullname", "shortname")


def yes_no(value: Any) -> Any:
    """A site's own yes/no value: anything that is not clearly yes or no counts as no."""
    if isinstance(value, str):
        lowered = value.strip().casefold()
        if lowered in ("ja", "yes", "true", "1", "j", "y"):
            return True
        return None if not lowered else False
    return value


def course_info_from_course(course: Course, profile: FieldMapping) -> CourseInfo:
    """A course as ``core_course_get_courses_by_field`` returns it → its course information."""
    values: dict[str, Any] = {"fullname": course.fullname or None, "shortname": course.shortname or None}
    present: set[str] = set()
    by_shortname = {custom.shortname: custom for custom in course.customfields}
    for item, shortname in profile.fields.items():
        if item not in ITEMS or item in _FROM_COURSE_ITSELF:
            continue
        custom = by_shortname.get(shortname)
        if custom is None:
            continue
        values[item] = custom_value(profile, item, shortname, custom.type, custom.valueraw, custom.value)
        present.add(item)
    if "summary" not in present:
        values["summary"] = remove_labels(course.summary) if course.summary else None
    if "study_start" not in present:
        values["study_start"] = oslo_date(course.startdate)
    if "study_category" not in present:
        values["study_category"] = category_for_id(profile, course.categoryid)
    if "label" not in present and course.summary:
        found = labels_in(course.summary)
        values["label"] = next(iter(found)).value if len(found) == 1 else None
    # Every Moodle course has its own course page: «Opprett hjemmeside – JA» holds unless a field says.
    values["create_home_page"] = yes_no(values["create_home_page"]) if "create_home_page" in present else True
    return CourseInfo.from_items(values)


def fetch_courses(
    client: MoodleClient,
    *,
    keys: Sequence[str] = (),
    category: int | None = None,
    everything: bool = False,
) -> list[Course]:
    """Courses by id or shortname (one call each), of a category or of the whole site (ONE call)."""
    found: dict[int, Course] = {}
    for key in keys:
        course = client.course(key)
        if course is None:
            raise input_error("validate.not_found", key=key, platform=client.name)
        found.setdefault(course.id, course)
    listed: list[Course] = []
    if category is not None:
        listed.extend(client.courses_in_category(category))
        if not listed:
            where = Message("validate.in_category", category=category)
            raise input_error("validate.empty_listing", where=where, platform=client.name)
    if everything:
        listed.extend(client.all_courses())
    for course in listed:
        found.setdefault(course.id, course)
    return list(found.values())


__all__ = ["course_info_from_course", "fetch_courses", "yes_no"]
