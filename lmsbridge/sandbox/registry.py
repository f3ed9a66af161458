"""The table of web-service functions the sandbox serves, and what one call sees.

``RETURNS`` holds Moodle 4.5's return description of each served function (data/returns.json), which
lays out its XML answers.

Each function module registers its functions with ``@ws(name, params)``; the server looks them up
here. ``KNOWN_FUNCTIONS`` are real Moodle 4.5 functions the sandbox does not serve: calling one gives
``webservice_access_exception`` (exists, not in the token's service) rather than
``dml_missing_record_exception`` (no such function), as on the recorded sites.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lmsbridge.sandbox.models import Course, User
from lmsbridge.sandbox.params import Single
from lmsbridge.sandbox.present import resolve_timezone
from lmsbridge.sandbox.state import SiteState

__all__ = ["KNOWN_FUNCTIONS", "REGISTRY", "RETURNS", "Call", "WsFunction", "ws"]

MOODLE_VERSION = "2024090300"
MOODLE_RELEASE = "4.5dev+ (Build: 20240903)"


@dataclass
class Call:
    """One web-service call: the site, the token's user, the cleaned parameters, the caller's settings."""

    state: SiteState
    caller: User
    function: str
    params: dict[str, Any]
    forced_timezone: str | None = None
    lang: str = "en"

    @property
    def now(self) -> int:
        return self.state.now()

    @property
    def timezone(self) -> str:
        return resolve_timezone(self.caller.timezone, self.state.settings.timezone, self.forced_timezone)

    def url(self, path: str) -> str:
        return self.state.settings.siteurl + path

    def can_manage(self) -> bool:
        return self.caller.is_manager

    def can_enter(self, course: Course) -> bool:
        """validate_context(course) passes: managers everywhere, learners in their courses."""
        if self.caller.is_manager or course.is_site:
            return True
        return self.state.is_enrolled(course.id, self.caller.id) and bool(course.visible)


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class WsFunction:
    name: str
    params: Single
    handler: Handler
    writes: bool
    version: str


REGISTRY: dict[str, WsFunction] = {}

#: function name → its return description as Moodle 4.5 declares it (None: the function returns null)
RETURNS: dict[str, dict[str, Any] | None] = json.loads(
    resources.files("lmsbridge.sandbox").joinpath("data/returns.json").read_text(encoding="utf-8"))


def ws(name: str, params: Single | None = None, *, writes: bool = False,
       version: str = MOODLE_VERSION) -> Callable[[Handler], Handler]:
    """Register a web-service function."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = WsFunction(name, params or Single({}), handler, writes, version)
        return handler

    return register


#: Moodle 4.5 functions that exist but that the sandbox's service does not include.
KNOWN_FUNCTIONS: frozenset[str] = frozenset(
    {
        "core_user_delete_users",
        "core_user_update_users",
        "core_user_get_users",
        "core_course_duplicate_course",
        "core_course_delete_categories",
        "core_course_update_categories",
        "core_course_get_updates_since",
        "core_course_check_updates",
        "core_course_delete_modules",
        "core_enrol_get_course_enrolment_methods",
        "enrol_manual_unenrol_users",
        "enrol_self_enrol_user",
        "core_role_assign_roles",
        "core_role_unassign_roles",
        "core_cohort_create_cohorts",
        "core_cohort_add_cohort_members",
        "core_badges_get_user_badges",
        "core_tag_get_tags",
        "core_tag_get_tag_cloud",
        "core_tag_get_tagindex_per_area",
        "core_tag_update_tags",
        "core_group_get_groups",
        "core_group_delete_groups",
        "core_group_update_groups",
        "core_completion_update_activity_completion_status_manually",
        "core_grades_get_gradeitems",
        "core_reportbuilder_get_report",
        "core_reportbuilder_reports_delete",
        "core_message_get_messages",
        "core_notes_create_notes",
        "mod_page_get_pages_by_courses",
        "mod_forum_get_forums_by_courses",
        "tool_mobile_get_config",
    }
)
