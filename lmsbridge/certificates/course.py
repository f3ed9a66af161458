"""A certificate course as it stands on its owner platform: required activities, participants, their state.

Required activities are the course's activities with completion tracking (``core_course_get_contents``
``completion`` 1 or 2). Each participant's state is one ``core_completion_get_activities_completion_status``
read, done only when it can matter (after the due date, or for the issuance list and the notices).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from lmsbridge.adapters import MoodleClient, PlatformProfile, WorkerClients
from lmsbridge.adapters.models import EnrolledUser
from lmsbridge.certificates.rules import CertificateGroup, Placement, Points, activity_points_for, place, points
from lmsbridge.config import CertificateCourse, Config
from lmsbridge.errors import ConfigError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.outcome import CourseWrites

T = TypeVar("T")
R = TypeVar("R")


PARTICIPANT_FIELDS: tuple[str, ...] = ("id", "username", "idnumber", "email", "firstname", "lastname", "roles")


@dataclass(frozen=True)
class RequiredActivity:
    cmid: int
    name: str
    idnumber: str = ""

    def keys(self) -> tuple[str, ...]:
        """The names an activity may go by in ``activity_points``: idnumber, name, cmid."""
        return (self.idnumber, self.name, str(self.cmid))


@dataclass(frozen=True)
class Participant:
    userid: int
    fullname: str
    username: str
    email: str
    idnumber: str
    done: tuple[int, ...]  # cmids of required activities completed
    missing: tuple[RequiredActivity, ...]
    placement: Placement
    points: Points
    known: bool = True  # False when the completion was not read (before the due date, grouping only)
    error: Message | None = None

    @property
    def complete(self) -> bool:
        return self.known and not self.missing and not self.error


@dataclass
class CourseState:
    key: str
    platform: str
    course_id: int
    fullname: str
    settings: CertificateCourse
    today: date
    required: list[RequiredActivity]
    participants: list[Participant] = field(default_factory=list)

    @property
    def due(self) -> date:
        return self.settings.due


def platform_for(config: Config, key: str, shares: Sequence[Share] = ()) -> str:
    """Where the certificate course lives: ``platform`` in its section, else the owner platform of a share of
    that course, else the only platform configured."""
    settings = config.certificates[key]
    if settings.platform:
        config.platform(settings.platform)
        return settings.platform
    owners = {s.owner_platform for s in shares if s.owner_course_shortname == key}
    if len(owners) == 1:
        return owners.pop()
    if len(config.platforms) == 1:
        return next(iter(config.platforms))
    raise ConfigError(Message("certificates.which_platform"), key=f"certificates.{key}.platform")


def map_concurrently(client: MoodleClient, workers: int, fn: Callable[[MoodleClient, T], R], items: Iterable[T]) -> list[R]:
    """``fn(client, item)`` for every item, ``workers`` at a time, one client clone (HTTP session) per worker."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(client, item) for item in items]
    clients = WorkerClients(client)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lmsbridge-cert") as executor:
            return list(executor.map(lambda item: fn(clients.get(), item), items))
    finally:
        clients.close()


def is_participant(user: EnrolledUser, student_role: int) -> bool:
    return user.takes_part_as(student_role)


def read_course(
    client: MoodleClient,
    profile: PlatformProfile,
    key: str,
    settings: CertificateCourse,
    *,
    today: date,
    need_states: bool = True,
    page_size: int = 500,
    concurrency: int | None = None,
    known: CourseWrites | None = None,
) -> CourseState:
    """Read the course, its required activities, its participants and (when needed) their completion.

    ``known``: what a sync run just read of the course and wrote to it. Its id and activities are not read
    again, nor the completion of a participant the run has just completed every required activity for; the
    participants are (the run does not know them all, nor who joined since it read them).
    """
    state = _known_course(profile, key, settings, today, known) if known else _read_course(
        client, profile, key, settings, today)
    users = [
        u
        for u in client.enrolled_users(state.course_id, page_size=page_size, userfields=PARTICIPANT_FIELDS)
        if is_participant(u, profile.student_role_id)
    ]
    if not need_states:
        state.participants = [_participant(state, u, None, None) for u in users]
        return state
    required = {a.cmid for a in state.required}
    written = known.completions if known else {}

    def read(worker: MoodleClient, user: EnrolledUser) -> tuple[EnrolledUser, set[int] | None, Message | None]:
        if required and required <= written.get(user.id, frozenset()):
            return user, set(required), None  # the sync run has just written every one of them
        try:
            statuses = worker.activities_completion(state.course_id, user.id)
        except RecordError as exc:
            return user, None, exc.message
        return user, {s.cmid for s in statuses if s.complete}, None

    results = map_concurrently(client, concurrency or profile.concurrency, read, users)
    state.participants = [_participant(state, user, done, error) for user, done, error in results]
    return state


def _read_course(client: MoodleClient, profile: PlatformProfile, key: str, settings: CertificateCourse,
                 today: date) -> CourseState:
    course = client.course(key)
    if course is None:
        raise ConfigError(Message("certificates.no_course", key=key, platform=profile.name), key=f"certificates.{key}")
    modules = [m for section in client.contents(course.id) for m in section.modules if m.completion > 0]
    required = [RequiredActivity(m.id, m.name) for m in modules]
    if _needs_idnumbers(settings.activity_points, required):
        required = [RequiredActivity(a.cmid, a.name, client.course_module(a.cmid).idnumber) for a in required]
    return CourseState(key, profile.name, course.id, course.fullname, settings, today, required)


def _known_course(profile: PlatformProfile, key: str, settings: CertificateCourse, today: date,
                  known: CourseWrites) -> CourseState:
    """The course as the sync run read it (its full name is not among what it read: notices alone show it)."""
    required = [RequiredActivity(a.cmid, a.name, a.idnumber) for a in known.course.activities if a.tracked]
    return CourseState(key, profile.name, known.course.id, "", settings, today, required)


def _needs_idnumbers(activity_points: Mapping[str, float], required: Sequence[RequiredActivity]) -> bool:
    known = {k.strip().casefold() for a in required for k in (a.name, str(a.cmid))}
    return any(key.strip().casefold() not in known for key in activity_points)


def _participant(state: CourseState, user: EnrolledUser, done: set[int] | None,
                 error: Message | None) -> Participant:
    settings = state.settings
    required_ids = [a.cmid for a in state.required]
    if done is None:
        placement = Placement(None, error or Message("placement.not_read"))
        return Participant(user.id, user.fullname, user.username, user.email, user.idnumber, (), tuple(state.required),
                           placement, Points(0.0, 0.0, False), known=False, error=error)
    finished = tuple(c for c in required_ids if c in done)
    missing = tuple(a for a in state.required if a.cmid not in done)
    placement = place(required=len(required_ids), done=len(finished), due=settings.due, grace_days=settings.grace_days,
                      today=state.today)
    earned = [activity_points_for(settings.activity_points, a.keys()) for a in state.required if a.cmid in done]
    every = [activity_points_for(settings.activity_points, a.keys()) for a in state.required]
    score = points(placement.group, course_points=settings.points, done_activity_points=earned,
                   all_activity_points=every)
    return Participant(user.id, user.fullname, user.username, user.email, user.idnumber, finished, missing, placement,
                       score)


def issuance_rows(state: CourseState) -> list[dict[str, Any]]:
    """The certificate issuance list: one row per participant (names and emails are output, never stored)."""
    rows = []
    for p in sorted(state.participants, key=lambda p: (p.fullname.casefold(), p.userid)):
        group = p.placement.group
        rows.append(
            {
                "course": state.key,
                "platform": state.platform,
                "due": state.due.isoformat(),
                "userid": p.userid,
                "name": p.fullname,
                "email": p.email,
                "idnumber": p.idnumber,
                "group": group.value if group else "",
                "done": len(p.done),
                "required": len(state.required),
                "points": p.points.earned,
                "points_total": p.points.total,
                "manual_issue": p.points.manual,
                "missing": "; ".join(a.name for a in p.missing) if p.known else "",
                "note": p.placement.reason.render() if group is None or group is CertificateGroup.INACTIVE else "",
            }
        )
    return rows


__all__ = [
    "PARTICIPANT_FIELDS",
    "CourseState",
    "Participant",
    "RequiredActivity",
    "is_participant",
    "issuance_rows",
    "map_concurrently",
    "platform_for",
    "read_course",
]
