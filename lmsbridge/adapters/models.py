"""Wire models: what Moodle 4.5 sends, parsed tolerantly.

Moodle is inconsistent (tests/fixtures/moodle/INDEX.md): ``enablecompletion`` is int 1 in one function
and bool in another, XML renders every scalar as a string and booleans as 1/0, optional keys come and
go, nulls appear where a value is expected. So every model ignores extra keys, coerces 0/1/"1"/true,
and defaults what may be missing. Domain models elsewhere are strict; these are not.

Tolerant of shape, strict on range: every id, time, count and percentage goes through
``lmsbridge.adapters.bounds`` (``Id``, ``Ref``, ``Time``, ``Int0``, ``Percent``), so a value no Moodle can
hold fails validation here, naming its field, instead of crashing whatever computes with it later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator

from lmsbridge.adapters.bounds import (
    OutOfRange,
    datetime_from_unix,
    id_value,
    int64_value,
    percent_value,
    ref_value,
    timestamp_value,
)


def _within(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A before-validator: the checked value, ``OutOfRange`` for a number out of range, and anything that is
    not a number at all left as it is for pydantic to report as a shape problem."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except OutOfRange:
            raise
        except (TypeError, ValueError):
            return value

    return validate


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    within = _within(check)

    def validate(value: Any) -> Any:
        return None if value is None or value == "" else within(value)

    return validate


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _bool(value: Any) -> Any:
    if value is None or value == "":
        return False
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("no", "false", "0"):
        return False
    return value


#: A whole number (count, state, sort order): signed 64-bit; null and "" are 0.
Int0 = Annotated[int, BeforeValidator(_within(int64_value))]
#: A record's own id: 1 … 2**63-1.
Id = Annotated[int, BeforeValidator(_within(id_value))]
#: An id that may be unset (categoryid, courseid …): 0 … 2**63-1; null and "" are 0.
Ref = Annotated[int, BeforeValidator(_within(ref_value))]
#: An id that may be null (``overrideby``, a warning's ``itemid``).
OptRef = Annotated[int | None, BeforeValidator(_optional(ref_value))]
#: Unix seconds, 0 meaning never: up to the end of year 9999.
Time = Annotated[int, BeforeValidator(_within(timestamp_value))]
#: A percentage, 0 … 100, or null.
Percent = Annotated[float | None, BeforeValidator(_optional(percent_value))]
Str = Annotated[str, BeforeValidator(_none_to_empty)]
Bool = Annotated[bool, BeforeValidator(_bool)]


def from_unix(ts: object) -> datetime | None:
    """Moodle sends Unix seconds; 0 or null means 'never'. Never raises: out of range is None too."""
    return datetime_from_unix(ts)


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class FunctionInfo(Wire):
    name: str
    version: Str = ""


class SiteInfo(Wire):
    sitename: Str = ""
    username: Str = ""
    fullname: Str = ""
    userid: Ref = 0
    siteurl: Str = ""
    userissiteadmin: Bool = False
    lang: Str = ""
    release: Str = ""
    version: Str = ""
    functions: list[FunctionInfo] = Field(default_factory=list)

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.functions)


class CustomField:
    """``{name, shortname, type, valueraw, value}``; use ``valueraw`` (``value`` is filtered HTML).

    A plain slotted class rather than a model: a listing holds 13 per course and thousands of courses
    (bench/bench_validate.py), and the shape is simple enough to check by hand.
    """

    __slots__ = ("name", "shortname", "type", "value", "valueraw")

    def __init__(
        self,
        shortname: str,
        name: str = "",
        type: str = "",
        valueraw: str | int | float | None = None,
        value: str | None = None,
    ) -> None:
        self.shortname = shortname
        self.name = name
        self.type = type
        self.valueraw = valueraw
        self.value = value

    def __repr__(self) -> str:
        return f"CustomField({self.shortname!r}, valueraw={self.valueraw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CustomField) and all(getattr(self, a) == getattr(other, a) for a in self.__slots__)

    def __hash__(self) -> int:
        return hash((self.shortname, self.valueraw))

    @classmethod
    def parse(cls, entry: Any) -> CustomField:
        if isinstance(entry, CustomField):
            return entry
        if not isinstance(entry, dict) or not isinstance(entry.get("shortname"), str):
            raise ValueError("a custom field needs a shortname")
        raw = entry.get("valueraw")
        shown = entry.get("value")
        return cls(
            entry["shortname"],
            str(entry.get("name") or ""),
            str(entry.get("type") or ""),
            raw if raw is None or isinstance(raw, str | int | float) else str(raw),
            shown if shown is None or isinstance(shown, str) else str(shown),
        )

    @property
    def raw_text(self) -> str:
        return "" if self.valueraw is None else str(self.valueraw)

    @property
    def raw_int(self) -> int:
        """Select fields: the 1-based option index (0 = unset); date fields: Unix seconds."""
        try:
            return int(float(self.valueraw)) if self.valueraw not in (None, "") else 0
        except (TypeError, ValueError, OverflowError):
            return 0


def _custom_fields(value: Any) -> list[CustomField]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("customfields must be a list")
    return [CustomField.parse(entry) for entry in value]


class Course(Wire):
    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)

    id: Id
    shortname: Str = ""
    fullname: Str = ""
    displayname: Str = ""
    categoryid: Ref = 0
    categoryname: Str = ""
    summary: Str = ""
    summaryformat: Int0 = 1
    idnumber: Str = ""
    format: Str = ""
    visible: Bool = True
    startdate: Time = 0
    enddate: Time = 0
    enablecompletion: Bool = False
    customfields: Annotated[list[CustomField], PlainValidator(_custom_fields)] = Field(default_factory=list)

    def field(self, shortname: str) -> CustomField | None:
        for custom in self.customfields:
            if custom.shortname == shortname:
                return custom
        return None


class Warning_(Wire):
    item: Str = ""
    itemid: OptRef = None
    warningcode: Str = ""
    message: Str = ""


class AdminOption(Wire):
    """One administration option of a course and whether the caller has it (``update`` is
    ``moodle/course:update`` in the course's context: course/lib.php ``course_get_user_administration_options``)."""

    name: Str = ""
    available: Bool = False


class CourseAdminOptions(Wire):
    id: int
    options: list[AdminOption] = Field(default_factory=list)

    def has(self, name: str) -> bool:
        return any(option.name == name and option.available for option in self.options)


class AdministrationOptions(Wire):
    """``core_course_get_user_administration_options``: ``{courses[{id, options[{name, available}]}], warnings}``.

    A course the caller cannot enter is not in ``courses``; it is a warning instead
    (``{item: course, itemid, warningcode: '1', message: 'No access rights in course context'}``,
    lib/external/classes/util.php ``validate_courses``)."""

    courses: list[CourseAdminOptions] = Field(default_factory=list)
    warnings: list[Warning_] = Field(default_factory=list)

    def course(self, courseid: int) -> CourseAdminOptions | None:
        return next((c for c in self.courses if c.id == courseid), None)

    def warning(self, courseid: int) -> Warning_ | None:
        return next((w for w in self.warnings if w.itemid == courseid), None)


class CoursesResult(Wire):
    courses: list[Course] = Field(default_factory=list)
    warnings: list[Warning_] = Field(default_factory=list)


class CourseRef(Wire):
    id: Id
    shortname: Str = ""


class Category(Wire):
    id: Id
    name: Str = ""
    idnumber: Str = ""
    description: Str = ""
    parent: Ref = 0
    coursecount: Int0 = 0
    depth: Int0 = 0
    path: Str = ""
    visible: Bool = True


class CategoryRef(Wire):
    id: Id
    name: Str = ""


class Role(Wire):
    roleid: Ref = 0
    shortname: Str = ""
    name: Str = ""


class GroupRef(Wire):
    id: Id
    name: Str = ""


class EnrolledUser(Wire):
    id: Id
    fullname: Str = ""
    username: Str = ""
    firstname: Str = ""
    lastname: Str = ""
    email: Str = ""
    idnumber: Str = ""
    lastaccess: Time = 0
    lastcourseaccess: Time = 0
    roles: list[Role] = Field(default_factory=list)
    groups: list[GroupRef] = Field(default_factory=list)

    def takes_part_as(self, roleid: int) -> bool:
        """Is the user a participant in that role? A listing without roles (not asked for) counts everyone."""
        return not self.roles or any(role.roleid == roleid for role in self.roles)


class User(Wire):
    id: Id
    fullname: Str = ""
    username: Str = ""
    firstname: Str = ""
    lastname: Str = ""
    email: Str = ""
    idnumber: Str = ""
    suspended: Bool = False


class UserRef(Wire):
    id: Id
    username: Str = ""


class CriterionDetails(Wire):
    type: Str = ""
    criteria: Str = ""
    requirement: Str = ""
    status: Str = ""


class Criterion(Wire):
    type: Int0 = 0
    title: Str = ""
    status: Str = ""
    complete: Bool = False
    timecompleted: Time = 0
    details: CriterionDetails | None = None


class CourseCompletion(Wire):
    """``completionstatus``: note there is NO course completion time (INDEX.md)."""

    completed: Bool = False
    aggregation: Int0 = 1
    completions: list[Criterion] = Field(default_factory=list)


class ActivityStatus(Wire):
    cmid: Id
    modname: Str = ""
    instance: Ref = 0
    state: Int0 = 0
    timecompleted: Time = 0
    tracking: Int0 = 0
    overrideby: OptRef = None
    hascompletion: Bool = True
    isautomatic: Bool = False

    @property
    def complete(self) -> bool:
        # COMPLETION_COMPLETE = 1, COMPLETION_COMPLETE_PASS = 2; COMPLETE_FAIL = 3 is not done.
        return self.state in (1, 2)


class OverrideResult(Wire):
    cmid: Id
    userid: Id
    state: Int0 = 0
    timecompleted: Time = 0
    overrideby: OptRef = None
    tracking: Int0 = 0


class Group(Wire):
    id: Id
    courseid: Ref = 0
    name: Str = ""
    description: Str = ""
    idnumber: Str = ""


class GroupMembers(Wire):
    groupid: Id
    userids: list[Id] = Field(default_factory=list)


class ModuleCompletionData(Wire):
    state: Int0 = 0
    timecompleted: Time = 0


class Module(Wire):
    id: Id
    name: Str = ""
    modname: Str = ""
    instance: Ref = 0
    url: Str = ""
    visible: Bool = True
    completion: Int0 = 0  # 0 none, 1 manual, 2 automatic


class Section(Wire):
    id: Id
    name: Str = ""
    section: Int0 = 0
    visible: Bool = True
    summary: Str = ""
    modules: list[Module] = Field(default_factory=list)


class CourseModule(Wire):
    """``core_course_get_course_module``'s ``cm``: the only place activity ``idnumber`` is given."""

    id: Id
    course: Ref = 0
    name: Str = ""
    modname: Str = ""
    instance: Ref = 0
    idnumber: Str = ""
    completion: Int0 = 0
    visible: Bool = True


class MessageResult(Wire):
    msgid: Int0
    clientmsgid: Str = ""
    errormessage: Str = ""

    @property
    def sent(self) -> bool:
        return self.msgid > 0


class UserCourse(Wire):
    id: Id
    shortname: Str = ""
    fullname: Str = ""
    progress: Percent = None
    completed: bool | None = None
    lastaccess: Time = 0


class ReportData(Wire):
    headers: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    totalrowcount: Int0 = 0


class ReportInfo(Wire):
    id: Id
    name: Str = ""
    source: Str = ""
