"""Who may do what on a course: role archetypes, ``has_capability``, and
``core_course_get_user_administration_options``.

Moodle 4.5 (course/externallib.php ``get_user_administration_options``, course/lib.php
``course_get_user_administration_options``): each requested course id goes through
``util::validate_courses`` (lib/external/classes/util.php); a course the caller cannot enter (or that does
not exist) is left out of ``courses`` and becomes the warning ``{item: course, itemid, warningcode: '1',
message: 'No access rights in course context'}``. Each other course lists its options in the order the PHP
function sets them, ``update`` being ``has_capability('moodle/course:update', course context)``.

Capabilities come from the role archetypes of lib/db/access.php for the few roles the sandbox knows: the
course role of an enrolment (Moodle's default role ids: 1 manager, 2 coursecreator, 3 editingteacher,
4 teacher, 5 student) and the category roles of a user (``User.category_roles``: an e-læringsansvarlig is
``manager`` in the category of the organisation's courses), inherited by the category's subcategories and
courses. The site admin and the lmsbridge service role (``User.is_manager``) have every capability.
"""

from __future__ import annotations

from typing import Any

from lmsbridge.sandbox.models import Course, User
from lmsbridge.sandbox.params import Multiple, Single, Value
from lmsbridge.sandbox.registry import Call, ws
from lmsbridge.sandbox.state import SiteState

__all__ = ["ROLE_IDS", "can_enter", "has_capability"]

#: Moodle's default role ids (the ids enrol_manual_enrol_users takes).
ROLE_IDS: dict[int, str] = {1: "manager", 2: "coursecreator", 3: "editingteacher", 4: "teacher", 5: "student"}

#: capability → the archetypes allowed it (lib/db/access.php).
ARCHETYPES: dict[str, frozenset[str]] = {
    "moodle/course:update": frozenset({"manager", "editingteacher"}),
    "moodle/course:create": frozenset({"manager", "coursecreator"}),
    "moodle/course:view": frozenset({"manager"}),
    "moodle/course:viewhiddencourses": frozenset({"manager", "coursecreator", "editingteacher", "teacher"}),
    "moodle/course:changelockedcustomfields": frozenset({"manager"}),
    "moodle/filter:manage": frozenset({"manager", "editingteacher"}),
    "moodle/site:viewreports": frozenset({"manager", "editingteacher", "teacher"}),
    "moodle/backup:backupcourse": frozenset({"manager", "editingteacher"}),
    "moodle/restore:restorecourse": frozenset({"manager", "editingteacher"}),
    "moodle/restore:restoretargetimport": frozenset({"manager", "editingteacher"}),
    "moodle/course:reset": frozenset({"manager", "editingteacher"}),
    "moodle/role:switchroles": frozenset({"manager", "editingteacher"}),
    "moodle/grade:manage": frozenset({"manager", "editingteacher"}),
    "moodle/course:tag": frozenset({"manager", "editingteacher"}),
    "moodle/course:managefiles": frozenset({"manager", "editingteacher"}),
}


def _category_chain(state: SiteState, categoryid: int) -> set[int]:
    category = state.categories.get(categoryid)
    return set(state.category_path(category)) if category is not None else set()


def roles_of(state: SiteState, user: User, *, course: Course | None = None, categoryid: int | None = None) -> set[str]:
    """The roles ``user`` has in a course's context (its enrolment and its categories) or a category's."""
    roles: set[str] = set()
    if course is not None:
        enrolment = state.enrolment(course.id, user.id)
        if enrolment is not None and enrolment.status == 0:
            roles.add(ROLE_IDS.get(enrolment.roleid, "student"))
        categoryid = course.categoryid
    chain = _category_chain(state, categoryid) if categoryid else set()
    roles.update(str(role) for where, role in user.category_roles if int(where) in chain)
    return roles


def has_capability(state: SiteState, user: User, capability: str, *, course: Course | None = None,
                   categoryid: int | None = None) -> bool:
    if user.is_manager:
        return True
    return bool(roles_of(state, user, course=course, categoryid=categoryid) & ARCHETYPES.get(capability, frozenset()))


def can_enter(state: SiteState, user: User, course: Course) -> bool:
    """``validate_context(course)``: require_login passes for the enrolled, and for those who may view the
    course without being enrolled (moodle/course:view); a hidden course needs viewhiddencourses too."""
    if user.is_manager or course.is_site:
        return True
    if not course.visible and not has_capability(state, user, "moodle/course:viewhiddencourses", course=course):
        return False
    return state.is_enrolled(course.id, user.id) or has_capability(state, user, "moodle/course:view", course=course)


def administration_options(call: Call, course: Course) -> list[dict[str, Any]]:
    """course_get_user_administration_options(), in the order it sets the options."""
    state, user = call.state, call.caller

    def can(capability: str) -> bool:
        return has_capability(state, user, capability, course=course)

    update = can("moodle/course:update")
    options: list[tuple[str, bool]] = [
        ("update", update),
        # $CFG->enablecompletion is on (site_info advancedfeatures); other completion options need activities
        # the caller manages, which the sandbox leaves to update
        ("editcompletion", bool(course.enablecompletion) and update),
        ("filters", can("moodle/filter:manage")),  # the six filters of every course are available
        ("reports", can("moodle/site:viewreports")),
        ("backup", can("moodle/backup:backupcourse")),
        ("restore", can("moodle/restore:restorecourse")),
        ("copy", all(can(c) for c in ("moodle/backup:backupcourse", "moodle/restore:restorecourse",
                                       "moodle/course:create"))),
        ("files", False),  # legacyfiles is 0 on every course
    ]
    if course.is_site:
        options += [(name, False) for name in ("tags", "gradebook", "outcomes", "badges", "import", "publish",
                                               "reset", "roles", "grades")]
    else:
        options += [
            ("tags", can("moodle/course:tag")),
            ("gradebook", can("moodle/grade:manage")),
            ("outcomes", False),  # $CFG->enableoutcomes is off
            ("badges", True),  # $CFG->enablebadges is on: no capability asked
            ("import", can("moodle/restore:restoretargetimport")),
            ("reset", can("moodle/course:reset")),
            ("roles", can("moodle/role:switchroles")),
        ]
    return [{"name": name, "available": available} for name, available in options]


@ws("core_course_get_user_administration_options", Single({"courseids": Multiple(Value("int"))}))
def get_user_administration_options(call: Call) -> dict[str, Any]:
    state = call.state
    courses: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for courseid in dict.fromkeys(call.params["courseids"]):  # util::validate_courses drops duplicates
        course = state.course(courseid)
        if course is None or not can_enter(state, call.caller, course):
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "1",
                             "message": "No access rights in course context"})
            continue
        courses.append({"id": course.id, "options": administration_options(call, course)})
    return {"courses": courses, "warnings": warnings}
