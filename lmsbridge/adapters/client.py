"""Typed calls over the transport: every method returns wire models, never raw dicts.

Write methods honour ``dry_run``: the call is recorded in ``planned`` (function and parameters,
never the token) and not sent. ``warnings`` arrays from update/delete are raised as
``MoodleWarningsError`` (per-item problems Moodle does not raise itself) unless ``allow`` lists
their codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from lmsbridge.adapters.bounds import OutOfRange, bad_value, ref_value
from lmsbridge.adapters.models import (
    ActivityStatus,
    AdministrationOptions,
    Category,
    CategoryRef,
    Course,
    CourseCompletion,
    CourseModule,
    CourseRef,
    CoursesResult,
    EnrolledUser,
    Group,
    GroupMembers,
    MessageResult,
    OverrideResult,
    ReportData,
    ReportInfo,
    Section,
    SiteInfo,
    User,
    UserCourse,
    UserRef,
)
from lmsbridge.adapters.reports import (
    REPORT_PAGE_SIZE,
    CompletionReport,
    completed_since_filter,
    parse_rows,
    probe_visits_filter,
    visited_since_filter,
)
from lmsbridge.adapters.transport import MoodleTransport
from lmsbridge.adapters.wire import iter_warnings, where_of
from lmsbridge.errors import BadValueError, MoodleWarning, MoodleWarningsError, ProtocolError
from lmsbridge.i18n import Message

M = TypeVar("M", bound=BaseModel)

# ``where`` names the site and the call: "ks: core_course_get_contents: ".

#: Every web-service function lmsbridge may call; ``doctor`` checks the token's service for them.
REQUIRED_FUNCTIONS: frozenset[str] = frozenset(
    {
        "core_webservice_get_site_info",
        "core_course_get_courses_by_field",
        "core_course_create_courses",
        "core_course_update_courses",
        "core_course_get_categories",
        "core_course_get_contents",
        "core_course_get_course_module",
        "core_enrol_get_enrolled_users",
        "enrol_manual_enrol_users",
        "core_user_get_users_by_field",
        "core_user_create_users",
        "core_completion_get_course_completion_status",
        "core_completion_get_activities_completion_status",
        "core_completion_override_activity_completion_status",
        "core_group_create_groups",
        "core_group_get_course_groups",
        "core_group_add_group_members",
        "core_group_get_group_members",
    }
)
#: Needed by one feature each; ``doctor`` names what is missing without failing.
FEATURE_FUNCTIONS: dict[str, frozenset[str]] = {
    # certificates group: taking a learner out of a group she no longer belongs in (without it the adds are
    # made and each removal is reported as a manual step, exit 4)
    "certificates group": frozenset({"core_group_delete_group_members"}),
    # certificates notify: the «what you miss» messages
    "certificates notify": frozenset({"core_message_send_instant_messages"}),
    # approve, reject, withdraw, publish, revoke and labels audit --fix ask the platform what the person holding
    # the key may do on the course (not in the lab's lmsbridge service: the site admin adds it)
    "owner-acts": frozenset({"core_course_get_user_administration_options"}),
}
#: Used only when a profile names a completion report.
REPORT_FUNCTIONS: frozenset[str] = frozenset(
    {"core_reportbuilder_retrieve_report", "core_reportbuilder_set_filters", "core_reportbuilder_filters_reset"}
)

# PHP max_input_vars (1000 by default) silently truncates big posts (REFERENCE.md §1): batch writes.
MAX_ITEMS_PER_WRITE = 50


@dataclass(frozen=True)
class PlannedCall:
    wsfunction: str
    params: Mapping[str, Any]


def _invalid(exc: ValidationError, site: str, wsfunction: str) -> ProtocolError | BadValueError:
    """A value out of range is a ``BadValueError`` naming its field (this record is unusable); any other
    validation failure means the answer is not what the function returns (``ProtocolError``)."""
    for error in exc.errors(include_url=False):
        found = (error.get("ctx") or {}).get("error")
        if isinstance(found, OutOfRange):
            return bad_value(found, site=site, wsfunction=wsfunction, field=field_path(error.get("loc", ())))
    return ProtocolError(Message("client.bad_shape", where=where_of(site, wsfunction), count=exc.error_count()))


def field_path(loc: Sequence[int | str]) -> str:
    """pydantic's location ``("courses", 0, "startdate")`` as people write it: ``courses[0].startdate``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse(model: type[M], data: Any, site: str, wsfunction: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, site, wsfunction) from exc


def _parse_list(model: type[M], data: Any, site: str, wsfunction: str) -> list[M]:
    if data is None:
        return []
    try:
        return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise _invalid(exc, site, wsfunction) from exc


def _batches(items: Sequence[Any], size: int = MAX_ITEMS_PER_WRITE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def warnings_of(data: Any, *, site: str | None = None, wsfunction: str | None = None) -> list[MoodleWarning]:
    out = []
    for index, w in enumerate(iter_warnings(data)):
        itemid = w.get("itemid")
        try:
            item = ref_value(itemid) if itemid not in (None, "") else None
        except OutOfRange as exc:
            raise bad_value(exc, site=site, wsfunction=wsfunction, field=f"warnings[{index}].itemid") from None
        except (TypeError, ValueError):
            item = None  # not a number at all: the warning still counts, without its item
        out.append(
            MoodleWarning(
                str(w.get("item") or ""),
                item,
                str(w.get("warningcode") or ""),
                str(w.get("message") or ""),
            )
        )
    return out


class MoodleClient:
    """Typed web-service calls for one platform."""

    def __init__(self, transport: MoodleTransport, *, dry_run: bool = False,
                 writer: MoodleTransport | None = None) -> None:
        """``writer``: another key for the write calls (a person's own), reads staying on ``transport``."""
        self.transport = transport
        self.writer = writer
        self.dry_run = dry_run
        self.planned: list[PlannedCall] = []

    def __repr__(self) -> str:
        writer = f", writer={self.writer!r}" if self.writer is not None else ""
        return f"MoodleClient({self.transport!r}, dry_run={self.dry_run}{writer})"

    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def settings(self) -> Mapping[str, str]:
        """The session settings sent with every call (``moodlewssetting*``: timezone, lang …), read-only."""
        return MappingProxyType(self.transport.settings)

    def call_counts(self) -> Counter[str]:
        """Calls made so far per web-service function, by this client and its clones (a copy)."""
        return self.transport.calls_so_far()

    def platform_time(self, host_time: datetime) -> datetime | None:
        """``host_time`` on the platform's clock, from the Date of its answers so far (None: none seen yet)."""
        return self.transport.clock.platform_time(host_time)

    def clone(self, *, settings: Mapping[str, str] | None = None) -> MoodleClient:
        """A client with its own HTTP session (one per worker), sharing the call counts and planned calls.

        ``settings`` are session settings the clone sends where this client has none of its own.
        """
        twin = MoodleClient(self.transport.clone(settings=settings), dry_run=self.dry_run,
                            writer=self.writer.clone(settings=settings) if self.writer is not None else None)
        twin.planned = self.planned
        return twin

    def writing_with(self, person: MoodleClient) -> MoodleClient:
        """This client's reads, with the writes made with ``person``'s key (a person's own token)."""
        return MoodleClient(self.transport, dry_run=self.dry_run, writer=person.transport)

    def close(self) -> None:
        """Close this client's HTTP sessions (a clone's, once its worker is done)."""
        self.transport.session.close()
        if self.writer is not None:
            self.writer.session.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def call(self, wsfunction: str, /, **params: Any) -> Any:
        return self.transport.call(wsfunction, **params)

    def _at(self, wsfunction: str) -> str:
        """The prefix of a message about a call: "ks: core_…: "."""
        return where_of(self.name, wsfunction)

    def _write(self, wsfunction: str, /, **params: Any) -> tuple[bool, Any]:
        """Send a write call, or only record it in dry-run mode. Returns (sent, data)."""
        if self.dry_run:
            self.planned.append(PlannedCall(wsfunction, params))
            return False, None
        if self.writer is not None:
            return True, self.writer.call(wsfunction, **params)
        return True, self.call(wsfunction, **params)

    def _raise_warnings(self, wsfunction: str, data: Any, allow: Iterable[str] = ()) -> None:
        allowed = set(allow)
        warnings = [w for w in warnings_of(data, site=self.name, wsfunction=wsfunction)
                    if w.warningcode not in allowed]
        if warnings:
            raise MoodleWarningsError(warnings, wsfunction=wsfunction, site=self.name)

    # -- site ---------------------------------------------------------------------------------------

    def site_info(self) -> SiteInfo:
        fn = "core_webservice_get_site_info"
        return _parse(SiteInfo, self.call(fn), self.name, fn)

    def administration_options(self, courseids: Sequence[int]) -> AdministrationOptions:
        """What the token's user may do on each course (``update`` = moodle/course:update there)."""
        fn = "core_course_get_user_administration_options"
        return _parse(AdministrationOptions, self.call(fn, courseids=list(courseids)), self.name, fn)

    # -- courses --------------------------------------------------------------------------------------

    def courses_by_field(self, field: str = "", value: str | int = "") -> list[Course]:
        """``field``: '', id, ids, shortname, idnumber, category. Unknown id → [] (not an error)."""
        fn = "core_course_get_courses_by_field"
        params: dict[str, Any] = {}
        if field:
            params = {"field": field, "value": value}
        return _parse(CoursesResult, self.call(fn, **params), self.name, fn).courses

    def course(self, key: int | str) -> Course | None:
        """One course by id (int or digits) or shortname."""
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            found = self.courses_by_field("id", int(key))
        else:
            found = self.courses_by_field("shortname", key)
        return found[0] if found else None

    def courses_in_category(self, categoryid: int) -> list[Course]:
        return self.courses_by_field("category", categoryid)

    def all_courses(self) -> list[Course]:
        """Every course the token can see, in one call; the front page (format 'site') left out."""
        return [c for c in self.courses_by_field() if c.format != "site" and c.id != 1]

    def create_courses(self, courses: Sequence[Mapping[str, Any]]) -> list[CourseRef]:
        fn = "core_course_create_courses"
        created: list[CourseRef] = []
        for batch in _batches(courses):
            sent, data = self._write(fn, courses=list(batch))
            if sent:
                created.extend(_parse_list(CourseRef, data, self.name, fn))
        return created

    def update_courses(self, courses: Sequence[Mapping[str, Any]]) -> list[MoodleWarning]:
        """Raises MoodleWarningsError when Moodle reports per-course failures (it does not throw)."""
        fn = "core_course_update_courses"
        for batch in _batches(courses):
            sent, data = self._write(fn, courses=list(batch))
            if sent:
                self._raise_warnings(fn, data)
        return []

    def categories(self, criteria: Mapping[str, str | int] | None = None) -> list[Category]:
        fn = "core_course_get_categories"
        params: dict[str, Any] = {}
        if criteria:
            params["criteria"] = [{"key": k, "value": v} for k, v in criteria.items()]
        return _parse_list(Category, self.call(fn, **params), self.name, fn)

    def create_categories(self, categories: Sequence[Mapping[str, Any]]) -> list[CategoryRef]:
        fn = "core_course_create_categories"
        sent, data = self._write(fn, categories=list(categories))
        return _parse_list(CategoryRef, data, self.name, fn) if sent else []

    def contents(self, courseid: int) -> list[Section]:
        fn = "core_course_get_contents"
        return _parse_list(Section, self.call(fn, courseid=courseid), self.name, fn)

    def course_module(self, cmid: int) -> CourseModule:
        fn = "core_course_get_course_module"
        data = self.call(fn, cmid=cmid)
        if not isinstance(data, Mapping) or "cm" not in data:
            raise ProtocolError(Message("client.lacks", where=self._at(fn), part="cm"))
        return _parse(CourseModule, data["cm"], self.name, fn)

    # -- users and enrolment ------------------------------------------------------------------------

    def enrolled_users(
        self,
        courseid: int,
        *,
        page_size: int = 0,
        userfields: Sequence[str] = (
            "id",
            "username",
            "idnumber",
            "email",
            "lastcourseaccess",
            "roles",
        ),
        onlyactive: bool = False,
    ) -> list[EnrolledUser]:
        """Enrolled users with ``lastcourseaccess``; paged by ``limitfrom``/``limitnumber`` when
        ``page_size`` > 0 (stable with ``sortby=id``; Moodle gives no total, so read until short)."""
        fn = "core_enrol_get_enrolled_users"
        base: list[dict[str, Any]] = [{"name": "userfields", "value": ",".join(userfields)}]
        if onlyactive:
            base.append({"name": "onlyactive", "value": 1})
        if page_size <= 0:
            return _parse_list(EnrolledUser, self.call(fn, courseid=courseid, options=base), self.name, fn)
        users: list[EnrolledUser] = []
        offset = 0
        while True:
            options = [
                *base,
                {"name": "sortby", "value": "id"},
                {"name": "limitfrom", "value": offset},
                {"name": "limitnumber", "value": page_size},
            ]
            page = _parse_list(EnrolledUser, self.call(fn, courseid=courseid, options=options), self.name, fn)
            users.extend(page)
            if len(page) < page_size:
                return users
            offset += page_size

    def users_by_field(self, field: str, values: Sequence[str | int]) -> list[User]:
        """``field``: id, idnumber, username, email. Email matching is case-sensitive on Moodle;
        unknown values are silently left out (INDEX.md)."""
        fn = "core_user_get_users_by_field"
        if not values:
            return []
        out: list[User] = []
        for batch in _batches(list(values), 100):
            out.extend(_parse_list(User, self.call(fn, field=field, values=list(batch)), self.name, fn))
        return out

    def create_users(self, users: Sequence[Mapping[str, Any]]) -> list[UserRef]:
        fn = "core_user_create_users"
        sent, data = self._write(fn, users=list(users))
        return _parse_list(UserRef, data, self.name, fn) if sent else []

    def enrol(self, enrolments: Sequence[Mapping[str, Any]]) -> None:
        """Manual enrolment (``{roleid, userid, courseid}``); Moodle returns null."""
        for batch in _batches(enrolments):
            self._write("enrol_manual_enrol_users", enrolments=list(batch))

    def users_courses(self, userid: int) -> list[UserCourse]:
        fn = "core_enrol_get_users_courses"
        return _parse_list(UserCourse, self.call(fn, userid=userid, returnusercount=0), self.name, fn)

    # -- completion -------------------------------------------------------------------------------------

    def course_completion(self, courseid: int, userid: int) -> CourseCompletion:
        fn = "core_completion_get_course_completion_status"
        data = self.call(fn, courseid=courseid, userid=userid)
        if not isinstance(data, Mapping):
            raise ProtocolError(Message("client.unexpected", where=self._at(fn)))
        return _parse(CourseCompletion, data.get("completionstatus"), self.name, fn)

    def activities_completion(self, courseid: int, userid: int) -> list[ActivityStatus]:
        fn = "core_completion_get_activities_completion_status"
        data = self.call(fn, courseid=courseid, userid=userid)
        if not isinstance(data, Mapping):
            raise ProtocolError(Message("client.unexpected", where=self._at(fn)))
        return _parse_list(ActivityStatus, data.get("statuses"), self.name, fn)

    def override_activity_completion(self, userid: int, cmid: int, complete: bool = True) -> OverrideResult | None:
        fn = "core_completion_override_activity_completion_status"
        sent, data = self._write(fn, userid=userid, cmid=cmid, newstate=1 if complete else 0)
        return _parse(OverrideResult, data, self.name, fn) if sent else None

    # -- groups -------------------------------------------------------------------------------------------

    def course_groups(self, courseid: int) -> list[Group]:
        fn = "core_group_get_course_groups"
        return _parse_list(Group, self.call(fn, courseid=courseid), self.name, fn)

    def create_groups(self, groups: Sequence[Mapping[str, Any]]) -> list[Group]:
        fn = "core_group_create_groups"
        sent, data = self._write(fn, groups=list(groups))
        return _parse_list(Group, data, self.name, fn) if sent else []

    def add_group_members(self, members: Sequence[tuple[int, int]]) -> None:
        """``members``: (groupid, userid) pairs; Moodle returns null."""
        for batch in _batches(list(members), 100):
            self._write(
                "core_group_add_group_members",
                members=[{"groupid": g, "userid": u} for g, u in batch],
            )

    def delete_group_members(self, members: Sequence[tuple[int, int]]) -> None:
        for batch in _batches(list(members), 100):
            self._write(
                "core_group_delete_group_members",
                members=[{"groupid": g, "userid": u} for g, u in batch],
            )

    def group_members(self, groupids: Sequence[int]) -> list[GroupMembers]:
        fn = "core_group_get_group_members"
        if not groupids:
            return []
        return _parse_list(GroupMembers, self.call(fn, groupids=list(groupids)), self.name, fn)

    # -- messages -----------------------------------------------------------------------------------------

    def send_messages(self, messages: Sequence[tuple[int, str]]) -> list[MessageResult]:
        """(touserid, text) pairs. Per-message failures are ``msgid == -1`` + ``errormessage``."""
        fn = "core_message_send_instant_messages"
        results: list[MessageResult] = []
        for batch in _batches(list(messages)):
            sent, data = self._write(
                fn,
                messages=[{"touserid": uid, "text": text, "textformat": 2} for uid, text in batch],
            )
            if sent:
                results.extend(_parse_list(MessageResult, data, self.name, fn))
        return results

    # -- report builder (bulk completion reads) -----------------------------------------------------------

    def list_reports(self) -> list[ReportInfo]:
        fn = "core_reportbuilder_list_reports"
        data = self.call(fn)
        return _parse_list(ReportInfo, data.get("reports") if isinstance(data, Mapping) else None, self.name, fn)

    def retrieve_report(self, reportid: int, page: int = 0, perpage: int = 1000) -> ReportData:
        fn = "core_reportbuilder_retrieve_report"
        data = self.call(fn, reportid=reportid, page=page, perpage=perpage)
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), Mapping):
            raise ProtocolError(Message("client.lacks", where=self._at(fn), part="data"))
        raw = data["data"]
        rows = [list(map(str, (r.get("columns") or []))) for r in raw.get("rows") or [] if isinstance(r, Mapping)]
        shaped = {"headers": list(raw.get("headers") or []), "rows": rows, "totalrowcount": raw.get("totalrowcount")}
        return _parse(ReportData, shaped, self.name, fn)

    def completion_report(self, reportid: int, *, page_size: int = REPORT_PAGE_SIZE) -> CompletionReport:
        """Every page of a completion report (``reports.py``), until the rows run out or ``totalrowcount`` is
        reached; its dates are read as UTC, so the client's session settings should say ``timezone=UTC``."""
        headers: list[str] = []
        rows: list[list[str]] = []
        page = 0
        while True:
            data = self.retrieve_report(reportid, page=page, perpage=page_size)
            headers = headers or list(data.headers)
            rows.extend(data.rows)
            if not data.rows or len(data.rows) < page_size or len(rows) >= data.totalrowcount:
                break
            page += 1
        parsed, problems = parse_rows(headers, rows)
        return CompletionReport(parsed, problems)

    def set_report_filters(self, reportid: int, values: str) -> None:
        # Filters are per calling user and change what later reads return: a read, in effect.
        self.call("core_reportbuilder_set_filters", reportid=reportid, values=values)

    def filter_report_completed_since(self, reportid: int, since: datetime) -> None:
        """Later reads of the report hold only course completions at ``since`` or after (to the second)."""
        self.set_report_filters(reportid, completed_since_filter(since))

    def reset_report_filters(self, reportid: int) -> None:
        self.call("core_reportbuilder_filters_reset", reportid=reportid)

    def filter_report_visited_since(self, reportid: int, since: datetime) -> None:
        """Later reads of the report hold only learners who visited the course at ``since`` or after, when the
        report has the «Last access to course» filter (``has_visits_filter``); else every row."""
        self.set_report_filters(reportid, visited_since_filter(since))

    def has_visits_filter(self, reportid: int) -> bool:
        """Does the report have the «Last access to course» filter? Set to a time nobody has visited at, a report
        with it holds no row (one without it: all of them; an empty report passes, and then costs nothing).
        Leaves that filter set: the caller sets or resets the filters after."""
        self.set_report_filters(reportid, probe_visits_filter())
        return self.retrieve_report(reportid, page=0, perpage=1).totalrowcount == 0


__all__ = [
    "FEATURE_FUNCTIONS",
    "MAX_ITEMS_PER_WRITE",
    "REPORT_FUNCTIONS",
    "REQUIRED_FUNCTIONS",
    "MoodleClient",
    "PlannedCall",
]
