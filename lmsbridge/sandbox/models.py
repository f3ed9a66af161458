"""The records one sandbox site keeps: a small, Moodle-shaped slice of its database.

Plain mutable dataclasses, owned by ``SiteState`` and only touched under its lock. Field names follow
Moodle's tables (``course``, ``course_modules``, ``user_enrolments``, ``course_modules_completion``,
``course_completions``, ``groups``) so the web-service code reads like the PHP it imitates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActivityCompletion",
    "Category",
    "Course",
    "CourseCompletion",
    "CourseCopy",
    "CustomField",
    "DraftFile",
    "Enrolment",
    "Group",
    "Message",
    "Module",
    "Report",
    "Section",
    "Tag",
    "Token",
    "User",
]

#: Completion tracking of a module (course_modules.completion): 0 none, 1 manual, 2 automatic.
TRACKING_NONE, TRACKING_MANUAL, TRACKING_AUTOMATIC = 0, 1, 2
#: Activity completion states (course_modules_completion.completionstate).
INCOMPLETE, COMPLETE = 0, 1
STUDENT_ROLE = 5


@dataclass
class User:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    idnumber: str = ""
    password: str = ""
    department: str = ""
    institution: str = ""
    city: str = ""
    country: str = ""
    lang: str = "en"
    timezone: str = "99"
    auth: str = "manual"
    suspended: bool = False
    confirmed: bool = True
    firstaccess: int = 0
    lastaccess: int = 0
    timecreated: int = 0
    contextid: int = 0
    #: guest | admin (site admin) | ws (the lmsbridge service user, role lmsbridgews) | user
    role: str = "user"
    #: has moodle/webservice:createtoken (the recorded learner u01 does; plain students do not)
    can_create_token: bool = False
    key: str = ""
    #: role assignments in category contexts: [categoryid, role shortname] pairs (an e-læringsansvarlig is
    #: ``manager`` in the category of the organisation's courses); course roles come from the enrolment
    category_roles: list[list[Any]] = field(default_factory=list)

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        """Site-wide management capabilities: the site admin and the lmsbridge WS role."""
        return self.role in ("admin", "ws")


@dataclass
class Category:
    id: int
    name: str
    idnumber: str | None = None
    description: str = ""
    descriptionformat: int = 1
    parent: int = 0
    sortorder: int = 0
    visible: int = 1
    timemodified: int = 0
    theme: str = ""


@dataclass
class CustomField:
    id: int
    shortname: str
    name: str
    type: str
    options: list[str] = field(default_factory=list)


@dataclass
class Section:
    id: int
    section: int
    name: str = ""
    summary: str = ""
    visible: int = 1
    sequence: list[int] = field(default_factory=list)


@dataclass
class Module:
    id: int
    courseid: int
    sectionid: int
    modname: str
    instance: int
    name: str
    idnumber: str = ""
    visible: int = 1
    visibleoncoursepage: int = 1
    visibleold: int = 1
    completion: int = TRACKING_NONE
    completionview: int = 0
    added: int = 0
    contextid: int = 0
    timemodified: int = 0


@dataclass
class Course:
    id: int
    shortname: str
    fullname: str
    categoryid: int
    idnumber: str = ""
    summary: str = ""
    summaryformat: int = 1
    format: str = "topics"
    showgrades: int = 1
    newsitems: int = 5
    startdate: int = 0
    enddate: int = 0
    visible: int = 1
    timecreated: int = 0
    timemodified: int = 0
    enablecompletion: int = 1
    completionnotify: int = 0
    sortorder: int = 0
    contextid: int = 0
    cacherev: int = 0
    lang: str = ""
    hiddensections: int = 1
    coursedisplay: int = 0
    #: shortname -> stored value (textarea/text: str; select: 1-based option index; date: Unix time)
    customfields: dict[str, Any] = field(default_factory=dict)
    #: completion criteria: every activity with completion (aggregation ALL) — true for the seeded courses
    criteria_activities: bool = False
    #: plus the self-completion criterion (LP3)
    criteria_self: bool = False
    tags: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    gradeitemid: int = 0
    key: str = ""

    @property
    def is_site(self) -> bool:
        return self.format == "site"


@dataclass
class Enrolment:
    courseid: int
    userid: int
    roleid: int = STUDENT_ROLE
    status: int = 0
    timestart: int = 0
    timeend: int = 0
    timecreated: int = 0
    #: user_lastaccess.timeaccess for this course (0 = never)
    lastaccess: int = 0


@dataclass
class ActivityCompletion:
    cmid: int
    userid: int
    state: int
    timemodified: int
    overrideby: int | None = None
    viewed: bool = False


@dataclass
class CourseCompletion:
    courseid: int
    userid: int
    timeenrolled: int = 0
    timecompleted: int | None = None
    #: when the self-completion criterion was met (course_completion_crit_compl)
    selfcompleted: int | None = None


@dataclass
class Group:
    id: int
    courseid: int
    name: str
    description: str = ""
    descriptionformat: int = 1
    idnumber: str = ""
    enrolmentkey: str | None = None
    visibility: int = 0
    participation: bool = True
    timecreated: int = 0
    members: list[int] = field(default_factory=list)


@dataclass
class Message:
    id: int
    useridfrom: int
    useridto: int
    text: str
    timecreated: int
    conversationid: int
    clientmsgid: str | None = None


@dataclass
class Token:
    token: str
    userid: int
    service: str = "lmsbridge"


@dataclass
class Tag:
    id: int
    name: str


@dataclass
class CourseCopy:
    backupid: str
    restoreid: str
    source_courseid: int
    target_courseid: int
    finished: bool = False


@dataclass
class DraftFile:
    contextid: int
    itemid: int
    filepath: str
    filename: str
    content: str
    userid: int


@dataclass
class Report:
    id: int
    name: str = "lmsbridge course completions"
    source: str = "core_course\\reportbuilder\\datasource\\participants"
    sourcename: str = "Course participants"
    #: report conditions (conditiondata); the default keeps only active enrolments
    conditions: dict[str, Any] = field(
        default_factory=lambda: {"enrolment:status_operator": 1, "enrolment:status_value": 0}
    )
    #: filters present on the report (only these take effect in set_filters)
    filters: list[str] = field(default_factory=lambda: ["completion:timecompleted"])
    timecreated: int = 0
    timemodified: int = 0
    usercreated: int = 2
    usermodified: int = 2
    #: audience: roles that may view it (the lmsbridgews system role; admins always may)
    audience: list[str] = field(default_factory=lambda: ["ws"])
