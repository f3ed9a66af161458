"""The two courses of a share as the run needs them, each read once per run however many shares ask.

Takes the run context and a share. Gives the owner course's id (from the share, else looked up by its short
name), each course's activities (``core_course_get_contents``, with idnumbers from
``core_course_get_course_module``, the only call that has them), the activity mapping between the two
(:mod:`lmsbridge.sync.mapping`) with the owner course as read, and the owner course's participants as a
``Directory`` to match learners against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.context import RunContext, ShareProblem
from lmsbridge.sync.identity import Directory, person_of
from lmsbridge.sync.mapping import Activity, ActivityMapping, map_activities
from lmsbridge.sync.outcome import OwnerCourse

#: Fields asked of the owner course's participant listing (without ``userfields`` Moodle computes every
#: default field, which is costly: REFERENCE.md §2 core_enrol_get_enrolled_users).
OWNER_FIELDS: tuple[str, ...] = ("id", "username", "idnumber", "email")


@dataclass(frozen=True)
class Mapped:
    mapping: ActivityMapping
    borrower_tracked: int  # borrower activities with completion tracking
    owner: OwnerCourse


def owner_course_id(ctx: RunContext, share: Share) -> int:
    if share.owner_course_id is not None:
        return share.owner_course_id
    shortname = share.owner_course_shortname

    def find() -> int:
        course = ctx.pools[share.owner_platform].call(lambda c: c.course(shortname))
        if course is None:
            raise ShareProblem(Message("sync.share.owner_course_not_found", shortname=shortname,
                                       platform=share.owner_platform))
        return course.id

    return ctx.memo.get(("course", share.owner_platform, shortname), find)


def activities(ctx: RunContext, platform: str, courseid: int) -> list[Activity]:
    def read() -> list[Activity]:
        pool = ctx.pools[platform]
        sections = pool.call(lambda c: c.contents(courseid))
        modules = [m for section in sections for m in section.modules]
        tracked = [m for m in modules if m.completion > 0]
        futures = [pool.submit(partial(MoodleClient.course_module, cmid=m.id)) for m in tracked]
        idnumbers = {m.id: f.result().idnumber for m, f in zip(tracked, futures, strict=True)}
        return [Activity(m.id, m.name, idnumbers.get(m.id, ""), m.modname, m.completion > 0) for m in modules]

    return ctx.memo.get(("activities", platform, courseid), read)


def mapping(ctx: RunContext, share: Share, owner_course: int) -> Mapped:
    borrower_course = share.borrower_course_id
    assert borrower_course is not None

    def build() -> Mapped:
        borrower = activities(ctx, share.borrower_platform, borrower_course)
        owner = activities(ctx, share.owner_platform, owner_course)
        course = OwnerCourse(share.owner_platform, share.owner_course_shortname, owner_course, tuple(owner))
        return Mapped(map_activities(borrower, owner), sum(1 for a in borrower if a.tracked), course)

    return ctx.memo.get(("mapping", share.id), build)


def owner_directory(ctx: RunContext, platform: str, courseid: int) -> Directory:
    page_size = ctx.settings.page_size

    def read() -> Directory:
        users = ctx.pools[platform].call(
            lambda c: c.enrolled_users(courseid, page_size=page_size, userfields=OWNER_FIELDS)
        )
        return Directory.of(person_of(u) for u in users)

    return ctx.memo.get(("owner-participants", platform, courseid), read)


__all__ = ["OWNER_FIELDS", "Mapped", "activities", "mapping", "owner_course_id", "owner_directory"]
