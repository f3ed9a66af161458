"""One sandbox site's data and the operations on it, thread-safe behind one lock.

The web-service functions (``lmsbridge.sandbox.functions``) and the test/demo API share these
operations, so a completion set through ``complete_activity`` re-aggregates the course exactly as an
override through the web service does (INDEX.md: course completion is re-aggregated at once when an
activity completion changes; a self-completion only counts after cron).

Every public method takes the lock and, when a ``StateStore`` is attached, saves after a change.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lmsbridge.sandbox.hooks import Fault, Hook, HookCall, HookSet
from lmsbridge.sandbox.models import (
    COMPLETE,
    STUDENT_ROLE,
    TRACKING_AUTOMATIC,
    TRACKING_MANUAL,
    TRACKING_NONE,
    ActivityCompletion,
    Category,
    Course,
    CourseCompletion,
    CourseCopy,
    CustomField,
    DraftFile,
    Enrolment,
    Group,
    Message,
    Module,
    Report,
    Section,
    Tag,
    Token,
    User,
)

if TYPE_CHECKING:
    from lmsbridge.sandbox.store import StateStore

__all__ = ["LoggedCall", "SiteSettings", "SiteState"]

Clock = Callable[[], float]
#: served calls kept in ``SiteState.call_log`` (the oldest go first)
CALL_LOG_SIZE = 10_000


@dataclass(frozen=True)
class LoggedCall:
    """A served call: the function, the caller, the parameters as the function received them."""

    function: str
    userid: int
    params: Mapping[str, Any]


@dataclass
class SiteSettings:
    sitename: str = "Moodle sandbox"
    shortname: str = "SB"
    siteurl: str = "http://127.0.0.1"
    timezone: str = "Europe/Oslo"
    service: str = "lmsbridge"
    #: $CFG->debug = DEVELOPER: error bodies carry ``debuginfo`` (the ``*_debug`` fixtures)
    debug: bool = False
    #: site setting ``messaging`` (Enable messaging system)
    messaging: bool = True
    #: role lmsbridgews has moodle/site:messageanyuser (granted on the lab sites after
    #: ``warn_cannot_message_no_shared_course`` was recorded)
    ws_can_message_any_user: bool = True
    enablewebservices: bool = True
    #: functions of the token service; None = every function the sandbox serves
    service_functions: list[str] | None = None


def _timestamp(when: datetime | float | int | None, default: int) -> int:
    if when is None:
        return default
    if isinstance(when, datetime):
        return int(when.timestamp())
    return int(when)


class SiteState:
    """The data of one site. Read attributes freely in tests; change it through the methods."""

    def __init__(self, name: str, *, clock: Clock | None = None) -> None:
        self.name = name
        self.lock = threading.RLock()
        self._clock: Clock = clock or time.time
        self.store: StateStore | None = None
        self.settings = SiteSettings()
        self.users: dict[int, User] = {}
        self.categories: dict[int, Category] = {}
        self.custom_fields: list[CustomField] = []
        self.courses: dict[int, Course] = {}
        self.modules: dict[int, Module] = {}
        self.enrolments: dict[int, dict[int, Enrolment]] = {}
        self.activity_completions: dict[tuple[int, int], ActivityCompletion] = {}
        self.course_completions: dict[tuple[int, int], CourseCompletion] = {}
        self.groups: dict[int, Group] = {}
        self.messages: list[Message] = []
        self.conversations: dict[tuple[int, int], int] = {}
        self.tokens: dict[str, Token] = {}
        self.tags: dict[int, Tag] = {}
        self.copies: list[CourseCopy] = []
        self.drafts: list[DraftFile] = []
        self.reports: dict[int, Report] = {}
        #: (userid, reportid) -> filter values set by core_reportbuilder_set_filters
        self.report_filters: dict[tuple[int, int], dict[str, Any]] = {}
        self.next_ids: dict[str, int] = {}
        self.cron_runs = 0
        # served-call counters (not persisted)
        self._count_lock = threading.Lock()
        self._call_count = 0
        self._calls_by_function: dict[str, int] = {}
        self._fault_count = 0
        self._faults_by_function: dict[str, int] = {}
        self._call_log: deque[LoggedCall] = deque(maxlen=CALL_LOG_SIZE)
        self.fault_rate = 0.0
        self.latency = 0.0
        #: test hooks (faults, delays, rewritten answers): ``fail``, ``delay``, ``rewrite``
        self.hooks = HookSet()

    # -- clock, counters, faults ---------------------------------------------------------------

    def now(self) -> int:
        return int(self._clock())

    def set_clock(self, clock: Clock) -> None:
        """Use another time source (tests pin it to the recorded capture times)."""
        with self.lock:
            self._clock = clock

    def pin_clock(self, when: datetime | float | int) -> None:
        """Stop the site's clock at ``when`` (move it with another ``pin_clock``)."""
        ts = float(when.timestamp()) if isinstance(when, datetime) else float(when)
        self.set_clock(lambda: ts)

    @property
    def call_count(self) -> int:
        """Web-service calls served (server.php requests answered, errors included; faults not)."""
        with self._count_lock:
            return self._call_count

    @property
    def calls_by_function(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self._calls_by_function)

    @property
    def fault_count(self) -> int:
        """Requests answered with a fault (HTTP status or dropped connection) instead of an answer."""
        with self._count_lock:
            return self._fault_count

    @property
    def faults_by_function(self) -> dict[str, int]:
        """Faults per function, where the request named one (rate-drawn faults over HTTP come before
        the request is read, so they count in ``fault_count`` only)."""
        with self._count_lock:
            return dict(self._faults_by_function)

    @property
    def call_log(self) -> list[LoggedCall]:
        """The last ``CALL_LOG_SIZE`` calls that reached a function, oldest first."""
        with self._count_lock:
            return list(self._call_log)

    def calls_to(self, wsfunction: str) -> list[Mapping[str, Any]]:
        """The parameters of each logged call to ``wsfunction``, oldest first."""
        return [c.params for c in self.call_log if c.function == wsfunction]

    def record_call(self, wsfunction: str) -> None:
        with self._count_lock:
            self._call_count += 1
            self._calls_by_function[wsfunction] = self._calls_by_function.get(wsfunction, 0) + 1

    def log_call(self, wsfunction: str, userid: int, params: Mapping[str, Any]) -> None:
        with self._count_lock:
            self._call_log.append(LoggedCall(wsfunction, userid, params))

    def record_fault(self, wsfunction: str = "") -> None:
        with self._count_lock:
            self._fault_count += 1
            if wsfunction:
                self._faults_by_function[wsfunction] = self._faults_by_function.get(wsfunction, 0) + 1

    def reset_counters(self) -> None:
        """Zero the call and fault counters and empty the call log (hooks keep their own counts)."""
        with self._count_lock:
            self._call_count = 0
            self._calls_by_function = {}
            self._fault_count = 0
            self._faults_by_function = {}
            self._call_log.clear()

    # -- test hooks (lmsbridge.sandbox.hooks) ------------------------------------------------------------

    def fail(self, function: str | None, fault: Fault, *, when: Callable[[HookCall], bool] | None = None,
             after: int = 0, times: int | None = None, nth: int | None = None) -> Hook:
        """Answer calls of ``function`` (None: every request to the site) with ``fault``."""
        return self.hooks.add(Hook("fail", function, fault=fault, when=when, after=after, times=times), nth=nth)

    def delay(self, function: str | None, seconds: float, *, when: Callable[[HookCall], bool] | None = None,
              after: int = 0, times: int | None = None, nth: int | None = None) -> Hook:
        """Make calls of ``function`` (None: every request) wait ``seconds`` before they are handled."""
        if seconds < 0:
            raise ValueError("a delay must not be negative")
        return self.hooks.add(Hook("delay", function, seconds=seconds, when=when, after=after, times=times), nth=nth)

    def rewrite(self, function: str | None, change: Callable[[Any], Any], *,
                when: Callable[[HookCall], bool] | None = None, after: int = 0, times: int | None = None,
                nth: int | None = None) -> Hook:
        """Pass the answer of ``function`` (None: every function) through ``change`` before it is encoded;
        ``change`` may return ``hooks.Raw(bytes)`` to send a body as it is."""
        return self.hooks.add(Hook("rewrite", function, change=change, when=when, after=after, times=times), nth=nth)

    def clear_hooks(self) -> None:
        self.hooks.clear()

    def set_fault_rate(self, rate: float) -> None:
        """Share (0..1) of requests answered with a fault instead of a response."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.fault_rate = rate

    def set_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self.latency = seconds

    # -- persistence ---------------------------------------------------------------------------------

    def commit(self) -> None:
        """Save to the attached store (no-op without one)."""
        if self.store is None:
            return
        with self.lock:
            self.store.save(self.name, self.snapshot())

    @contextmanager
    def changing(self) -> Iterator[None]:
        with self.lock:
            yield
            self.commit()

    def next_id(self, table: str) -> int:
        value = self.next_ids.get(table, 1)
        self.next_ids[table] = value + 1
        return value

    # -- settings (for tests and the demo) ---------------------------------------------------------

    def set_debug(self, on: bool) -> None:
        with self.changing():
            self.settings.debug = on

    def set_messaging(self, on: bool) -> None:
        with self.changing():
            self.settings.messaging = on

    def set_ws_can_message_any_user(self, on: bool) -> None:
        with self.changing():
            self.settings.ws_can_message_any_user = on

    def set_service_functions(self, functions: Iterable[str] | None) -> None:
        """Restrict the token service to ``functions`` (None: everything served)."""
        with self.changing():
            self.settings.service_functions = sorted(functions) if functions is not None else None

    def set_report_condition(self, reportid: int, conditions: Mapping[str, Any] | None) -> None:
        """Add report conditions (e.g. completion:timecompleted last 7 days), or restore the default."""
        with self.changing():
            report = self.reports[reportid]
            base: dict[str, Any] = {"enrolment:status_operator": 1, "enrolment:status_value": 0}
            report.conditions = {**base, **dict(conditions)} if conditions else base
            report.timemodified = self.now()

    # -- lookups -------------------------------------------------------------------------------------

    def user(self, userid: int) -> User | None:
        return self.users.get(userid)

    def user_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def user_for_token(self, token: str) -> User | None:
        found = self.tokens.get(token)
        return self.users.get(found.userid) if found else None

    def token_of(self, userid: int, service: str | None = None) -> str | None:
        wanted = service or self.settings.service
        return next((t.token for t in self.tokens.values() if t.userid == userid and t.service == wanted), None)

    def course(self, courseid: int) -> Course | None:
        return self.courses.get(courseid)

    def course_by_shortname(self, shortname: str) -> Course | None:
        return next((c for c in self.courses.values() if c.shortname == shortname), None)

    def field(self, shortname: str) -> CustomField | None:
        return next((f for f in self.custom_fields if f.shortname == shortname), None)

    def site_course(self) -> Course:
        return next(c for c in self.courses.values() if c.is_site)

    def course_modules(self, course: Course) -> list[Module]:
        """Modules in course order (section by section, in each section's sequence)."""
        out: list[Module] = []
        for section in course.sections:
            out.extend(self.modules[cmid] for cmid in section.sequence if cmid in self.modules)
        return out

    def tracked_modules(self, course: Course) -> list[Module]:
        return [m for m in self.course_modules(course) if m.completion != TRACKING_NONE]

    def enrolment(self, courseid: int, userid: int) -> Enrolment | None:
        return self.enrolments.get(courseid, {}).get(userid)

    def is_enrolled(self, courseid: int, userid: int, *, active: bool = True) -> bool:
        found = self.enrolment(courseid, userid)
        return found is not None and (not active or found.status == 0)

    def courses_of(self, userid: int) -> list[Course]:
        """Courses a user is actively enrolled in, in course sort order."""
        out = [c for cid, users in self.enrolments.items() if userid in users and users[userid].status == 0
               for c in [self.courses[cid]]]
        return sorted(out, key=lambda c: c.sortorder)

    def user_groups(self, courseid: int, userid: int) -> list[Group]:
        return [g for g in self.groups.values() if g.courseid == courseid and userid in g.members]

    def activity_state(self, cmid: int, userid: int) -> ActivityCompletion | None:
        return self.activity_completions.get((cmid, userid))

    def has_criteria(self, course: Course) -> bool:
        return (course.criteria_activities and bool(self.tracked_modules(course))) or course.criteria_self

    def progress(self, course: Course, userid: int) -> float | None:
        """Percentage of activities with completion that the user has completed (None: no such activities)."""
        tracked = self.tracked_modules(course)
        if not tracked:
            return None
        done = sum(1 for m in tracked if self._is_complete(m.id, userid))
        return done * 100.0 / len(tracked)

    def _is_complete(self, cmid: int, userid: int) -> bool:
        found = self.activity_completions.get((cmid, userid))
        return found is not None and found.state >= COMPLETE

    # -- courses ----------------------------------------------------------------------------------------

    def add_category(self, name: str, *, parent: int = 0, idnumber: str | None = None, description: str = "",
                     descriptionformat: int = 1) -> Category:
        with self.changing():
            cid = self.next_id("category")
            top = max((c.sortorder for c in self.categories.values()), default=0)
            category = Category(cid, name, idnumber or None, description, descriptionformat, parent,
                                top + 10000, 1, self.now())
            self.categories[cid] = category
            return category

    def category_path(self, category: Category) -> list[int]:
        path = [category.id]
        seen = {category.id}
        parent = self.categories.get(category.parent)
        while parent is not None and parent.id not in seen:
            path.insert(0, parent.id)
            seen.add(parent.id)
            parent = self.categories.get(parent.parent)
        return path

    def add_course(
        self,
        shortname: str,
        fullname: str,
        categoryid: int | None = None,
        *,
        idnumber: str = "",
        summary: str = "",
        activities: int | Iterable[str] = 2,
        customfields: Mapping[str, Any] | None = None,
        self_completion: bool = False,
        completion_criteria: bool = True,
        enablecompletion: bool = True,
        visible: bool = True,
        startdate: int = 0,
        numsections: int = 1,
        tags: Iterable[str] = (),
    ) -> Course:
        """A course with ``activities`` manual-completion pages (a count or their names) and, by
        default, the seeded courses' criteria: all activities, aggregation ALL."""
        with self.changing():
            if categoryid is None:
                categoryid = max((c for c in self.categories.values()), key=lambda c: c.id).id
            course = self.create_course_record(
                shortname=shortname, fullname=fullname, categoryid=categoryid, idnumber=idnumber, summary=summary,
                enablecompletion=int(enablecompletion), visible=int(visible), startdate=startdate,
                numsections=numsections,
            )
            course.customfields.update(customfields or {})
            course.criteria_activities = completion_criteria
            course.criteria_self = self_completion
            course.tags = list(tags)
            names = [f"Aktivitet {n}" for n in range(1, activities + 1)] if isinstance(activities, int) else list(activities)
            for n, name in enumerate(names, start=1):
                self.add_module(course, "page", name, section=1, completion=TRACKING_MANUAL,
                                idnumber=f"{shortname}-A{n}")
            return course

    def create_course_record(self, *, shortname: str, fullname: str, categoryid: int, idnumber: str = "",
                             summary: str = "", summaryformat: int = 1, format: str = "topics",
                             showgrades: int = 1, newsitems: int = 5, startdate: int = 0, enddate: int = 0,
                             visible: int = 1, enablecompletion: int = 1, numsections: int = 4,
                             lang: str = "", completionnotify: int = 0, hiddensections: int = 1) -> Course:
        """Insert a course (Moodle's create_course): sections 0..numsections and the news forum."""
        now = self.now()
        category = self.categories[categoryid]
        for other in self.courses.values():
            if other.categoryid == categoryid:
                other.sortorder += 1
        course = Course(
            id=self.next_id("course"), shortname=shortname, fullname=fullname, categoryid=categoryid,
            idnumber=idnumber, summary=summary, summaryformat=summaryformat, format=format, showgrades=showgrades,
            newsitems=newsitems, startdate=startdate, enddate=enddate, visible=visible, timecreated=now,
            timemodified=now, enablecompletion=enablecompletion, completionnotify=completionnotify,
            sortorder=category.sortorder + 1, contextid=self.next_id("context"), cacherev=now, lang=lang,
            hiddensections=hiddensections, gradeitemid=self.next_id("gradeitem"),
        )
        self.courses[course.id] = course
        self.enrolments[course.id] = {}
        for number in range(numsections + 1):
            course.sections.append(Section(self.next_id("section"), number))
        self.add_module(course, "forum", "Announcements", section=0)
        return course

    def add_module(self, course: Course, modname: str, name: str, *, section: int = 1,
                   completion: int = TRACKING_NONE, completionview: int = 0, idnumber: str = "") -> Module:
        while len(course.sections) <= section:
            course.sections.append(Section(self.next_id("section"), len(course.sections)))
        target = course.sections[section]
        now = self.now()
        module = Module(
            id=self.next_id("module"), courseid=course.id, sectionid=target.id, modname=modname,
            instance=self.next_id(f"instance_{modname}"), name=name, idnumber=idnumber, completion=completion,
            completionview=completionview, added=now, contextid=self.next_id("context"), timemodified=now,
        )
        self.modules[module.id] = module
        target.sequence.append(module.id)
        return module

    def delete_course(self, courseid: int) -> None:
        with self.changing():
            course = self.courses.pop(courseid)
            for module in self.course_modules(course):
                self.modules.pop(module.id, None)
            self.enrolments.pop(courseid, None)
            self.activity_completions = {k: v for k, v in self.activity_completions.items() if k[0] in self.modules}
            self.course_completions = {k: v for k, v in self.course_completions.items() if k[0] != courseid}
            self.groups = {k: g for k, g in self.groups.items() if g.courseid != courseid}

    def import_activities(self, source: Course, target: Course, *, delete_existing: bool = False) -> None:
        """core_course_import_course: copy the source's modules into the target, section by number."""
        with self.changing():
            if delete_existing:
                for module in self.course_modules(target):
                    self.modules.pop(module.id, None)
                for section in target.sections:
                    section.sequence = []
            for section in source.sections:
                for cmid in section.sequence:
                    original = self.modules[cmid]
                    copy = self.add_module(target, original.modname, original.name, section=section.section,
                                           completion=original.completion, completionview=original.completionview,
                                           idnumber="")
                    copy.timemodified = original.timemodified  # a restore keeps the content's times
            target.timemodified = self.now()

    # -- users and enrolments ---------------------------------------------------------------------------

    def add_user(self, username: str, firstname: str, lastname: str, email: str, *, idnumber: str = "",
                 password: str = "Sykepleier#2024",  # noqa: S107 - sandbox seed
                 department: str = "", institution: str = "",
                 city: str = "", country: str = "", lang: str = "en", auth: str = "manual") -> User:
        with self.changing():
            user = User(
                id=self.next_id("user"), username=username, firstname=firstname, lastname=lastname, email=email,
                idnumber=idnumber, password=password, department=department, institution=institution, city=city,
                country=country, lang=lang, auth=auth, timecreated=self.now(), contextid=self.next_id("context"),
            )
            self.users[user.id] = user
            return user

    def enrol(self, userid: int, courseid: int, roleid: int = STUDENT_ROLE, *, timestart: int = 0,
              timeend: int = 0, suspend: bool = False) -> Enrolment:
        """Manual enrolment; an existing one is updated (enrol_manual_enrol_users)."""
        with self.changing():
            if userid not in self.users:
                raise KeyError(f"no user {userid}")
            if courseid not in self.courses:
                raise KeyError(f"no course {courseid}")
            users = self.enrolments.setdefault(courseid, {})
            found = users.get(userid)
            now = self.now()
            if found is None:
                found = Enrolment(courseid, userid, roleid, 1 if suspend else 0, timestart, timeend, now)
                users[userid] = found
            else:
                found.roleid, found.status = roleid, 1 if suspend else 0
                found.timestart, found.timeend = timestart, timeend
            self.course_completions.setdefault((courseid, userid), CourseCompletion(courseid, userid, now))
            return found

    def unenrol(self, userid: int, courseid: int) -> None:
        with self.changing():
            self.enrolments.get(courseid, {}).pop(userid, None)
            for group in self.groups.values():
                if group.courseid == courseid and userid in group.members:
                    group.members.remove(userid)

    def set_last_access(self, userid: int, courseid: int, when: datetime | float | int | None = None) -> None:
        """Record a visit of the user to the course (user_lastaccess; user.lastaccess follows)."""
        with self.changing():
            found = self.enrolment(courseid, userid)
            if found is None:
                raise KeyError(f"user {userid} is not enrolled in course {courseid}")
            ts = _timestamp(when, self.now())
            found.lastaccess = ts
            user = self.users[userid]
            user.lastaccess = max(user.lastaccess, ts)
            if not user.firstaccess:
                user.firstaccess = ts

    # -- completion -------------------------------------------------------------------------------------

    def complete_activity(self, userid: int, cmid: int, when: datetime | float | int | None = None, *,
                          state: int = COMPLETE, overrideby: int | None = None) -> ActivityCompletion:
        """Set a user's completion of an activity and re-aggregate the course at once."""
        with self.changing():
            module = self.modules.get(cmid)
            if module is None:
                raise KeyError(f"no course module {cmid}")
            if module.completion == TRACKING_NONE:
                raise ValueError(f"course module {cmid} has no completion tracking")
            ts = _timestamp(when, self.now())
            record = self.activity_completions.get((cmid, userid))
            if record is None:
                record = ActivityCompletion(cmid, userid, state, ts, overrideby)
                self.activity_completions[(cmid, userid)] = record
            else:
                record.state, record.timemodified, record.overrideby = state, ts, overrideby
            if module.completion == TRACKING_AUTOMATIC and state >= COMPLETE:
                record.viewed = True
            self.aggregate(self.courses[module.courseid], userid, ts)
            return record

    def reset_activity(self, userid: int, cmid: int) -> bool:
        """A completion undone by hand on the site (a teacher or an admin): the record is gone, the course's
        completion too when it rested on it. Returns whether there was one."""
        with self.changing():
            record = self.activity_completions.pop((cmid, userid), None)
            module = self.modules.get(cmid)
            if record is not None and module is not None:
                course = self.course_completions.get((module.courseid, userid))
                if course is not None and course.timecompleted and self.courses[module.courseid].criteria_activities:
                    course.timecompleted = None
            return record is not None

    def mark_self_completed(self, courseid: int, userid: int, when: datetime | float | int | None = None) -> None:
        """The self-completion criterion only: the course completes at the next ``run_cron``."""
        with self.changing():
            record = self.course_completions.setdefault((courseid, userid), CourseCompletion(courseid, userid))
            record.selfcompleted = _timestamp(when, self.now())

    def aggregate(self, course: Course, userid: int, when: int | None = None) -> bool:
        """Aggregation ALL over the course's criteria; returns whether the course is complete."""
        if not self.has_criteria(course) or not self.is_enrolled(course.id, userid):
            return False
        record = self.course_completions.setdefault((course.id, userid), CourseCompletion(course.id, userid))
        if record.timecompleted:
            return True
        if course.criteria_activities and not all(self._is_complete(m.id, userid) for m in self.tracked_modules(course)):
            return False
        if course.criteria_self and record.selfcompleted is None:
            return False
        record.timecompleted = when if when is not None else self.now()
        return True

    def run_cron(self) -> None:
        """``\\core\\task\\completion_regular_task`` and queued ad-hoc tasks (course copies)."""
        with self.changing():
            now = self.now()
            for course in list(self.courses.values()):
                for userid in list(self.enrolments.get(course.id, {})):
                    self.aggregate(course, userid, now)
            for copy in self.copies:
                if not copy.finished:
                    source, target = self.courses.get(copy.source_courseid), self.courses.get(copy.target_courseid)
                    if source is not None and target is not None:
                        self.import_activities(source, target, delete_existing=True)
                    copy.finished = True
            self.cron_runs += 1

    # -- groups and messages ------------------------------------------------------------------------------

    def add_group(self, courseid: int, name: str, *, description: str = "", idnumber: str = "",
                  descriptionformat: int = 1, enrolmentkey: str | None = None, visibility: int = 0,
                  participation: bool = True) -> Group:
        with self.changing():
            group = Group(self.next_id("group"), courseid, name, description, descriptionformat, idnumber,
                          enrolmentkey, visibility, participation, self.now())
            self.groups[group.id] = group
            return group

    def send_message(self, useridfrom: int, useridto: int, text: str, clientmsgid: str | None = None) -> Message:
        with self.changing():
            pair = (min(useridfrom, useridto), max(useridfrom, useridto))
            if pair not in self.conversations:
                self.conversations[pair] = self.next_id("conversation")
            message = Message(self.next_id("message"), useridfrom, useridto, text, self.now(),
                              self.conversations[pair], clientmsgid)
            self.messages.append(message)
            return message

    def messages_to(self, userid: int) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.useridto == userid]

    def add_draft_file(self, user: User, itemid: int, filepath: str, filename: str, content: str) -> DraftFile:
        with self.changing():
            draft = DraftFile(user.contextid, itemid, filepath, filename, content, user.id)
            self.drafts.append(draft)
            return draft

    # -- bulk data for benchmarks -----------------------------------------------------------------------

    def bulk_seed(self, n_courses: int, n_enrolments: int, *, activities: int = 2, categoryid: int | None = None,
                  prefix: str | None = None, seed: int = 0) -> list[Course]:
        """Add ``n_courses`` courses with ``n_enrolments`` enrolled learners each, with mixed
        completion: about a third complete, a third part-way, a third not started. Deterministic."""
        import random

        rng = random.Random(seed)
        tag = prefix or f"BULK-{self.name.upper()}"
        with self.lock:
            store, self.store = self.store, None  # one save at the end, not one per record
            try:
                now = self.now()
                learners: list[User] = []
                for n in range(1, n_enrolments + 1):
                    username = f"{tag.lower()}-{n:05d}"
                    existing = self.user_by_username(username) if n == 1 else None
                    if existing is not None:  # a second bulk_seed with the same prefix reuses its learners
                        learners = [u for u in self.users.values() if u.username.startswith(f"{tag.lower()}-")]
                        break
                    learners.append(self.add_user(
                        username, f"Deltaker{n}", tag.title().replace("-", ""),
                        f"{username}@example.test", idnumber=f"{tag}-{n:05d}", institution="Sandbox",
                    ))
                learners = learners[:n_enrolments]
                created = []
                start = sum(1 for c in self.courses.values() if c.shortname.startswith(f"{tag}-"))
                for k in range(start + 1, start + n_courses + 1):
                    course = self.add_course(f"{tag}-{k:04d}", f"Syntetisk kurs {k}", categoryid,
                                             idnumber=f"{tag}-{k:04d}", activities=activities)
                    tracked = self.tracked_modules(course)
                    for user in learners:
                        self.enrol(user.id, course.id)
                        roll = rng.random()
                        done = len(tracked) if roll < 1 / 3 else (rng.randrange(1, len(tracked)) if roll < 2 / 3 and len(tracked) > 1 else 0)
                        when = now - rng.randrange(60, 30 * 86400)
                        for module in tracked[:done]:
                            self.activity_completions[(module.id, user.id)] = ActivityCompletion(
                                module.id, user.id, COMPLETE, when)
                        if done:
                            self.aggregate(course, user.id, when)
                    created.append(course)
                return created
            finally:
                self.store = store
                self.commit()

    # -- snapshot (persistence) ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "settings": asdict(self.settings),
                "users": [dict(vars(u)) for u in self.users.values()],
                "categories": [dict(vars(c)) for c in self.categories.values()],
                "custom_fields": [asdict(f) for f in self.custom_fields],
                "courses": [asdict(c) for c in self.courses.values()],
                "modules": [dict(vars(m)) for m in self.modules.values()],
                "enrolments": [dict(vars(e)) for users in self.enrolments.values() for e in users.values()],
                "activity_completions": [dict(vars(a)) for a in self.activity_completions.values()],
                "course_completions": [dict(vars(c)) for c in self.course_completions.values()],
                "groups": [asdict(g) for g in self.groups.values()],
                "messages": [dict(vars(m)) for m in self.messages],
                "conversations": [[a, b, cid] for (a, b), cid in self.conversations.items()],
                "tokens": [dict(vars(t)) for t in self.tokens.values()],
                "tags": [dict(vars(t)) for t in self.tags.values()],
                "copies": [dict(vars(c)) for c in self.copies],
                "drafts": [dict(vars(d)) for d in self.drafts],
                "reports": [asdict(r) for r in self.reports.values()],
                "report_filters": [[u, r, v] for (u, r), v in self.report_filters.items()],
                "next_ids": dict(self.next_ids),
                "cron_runs": self.cron_runs,
            }

    def restore(self, data: Mapping[str, Any]) -> None:
        with self.lock:
            self.settings = SiteSettings(**data["settings"])
            self.users = {u["id"]: User(**u) for u in data["users"]}
            self.categories = {c["id"]: Category(**c) for c in data["categories"]}
            self.custom_fields = [CustomField(**f) for f in data["custom_fields"]]
            self.courses = {}
            for raw in data["courses"]:
                course = Course(**{**raw, "sections": [Section(**s) for s in raw["sections"]]})
                self.courses[course.id] = course
            self.modules = {m["id"]: Module(**m) for m in data["modules"]}
            self.enrolments = {cid: {} for cid in self.courses}
            for raw in data["enrolments"]:
                self.enrolments.setdefault(raw["courseid"], {})[raw["userid"]] = Enrolment(**raw)
            self.activity_completions = {(a["cmid"], a["userid"]): ActivityCompletion(**a)
                                         for a in data["activity_completions"]}
            self.course_completions = {(c["courseid"], c["userid"]): CourseCompletion(**c)
                                       for c in data["course_completions"]}
            self.groups = {g["id"]: Group(**g) for g in data["groups"]}
            self.messages = [Message(**m) for m in data["messages"]]
            self.conversations = {(a, b): cid for a, b, cid in data["conversations"]}
            self.tokens = {t["token"]: Token(**t) for t in data["tokens"]}
            self.tags = {t["id"]: Tag(**t) for t in data["tags"]}
            self.copies = [CourseCopy(**c) for c in data["copies"]]
            self.drafts = [DraftFile(**d) for d in data["drafts"]]
            self.reports = {r["id"]: Report(**r) for r in data["reports"]}
            self.report_filters = {(u, r): v for u, r, v in data["report_filters"]}
            self.next_ids = dict(data["next_ids"])
            self.cron_runs = int(data.get("cron_runs", 0))

