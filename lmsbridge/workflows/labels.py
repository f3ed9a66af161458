"""``labels audit``: every course whose label disagrees with the ledger, and ``--fix`` to repair it.

One listing call per platform (``core_course_get_courses_by_field`` without a field); the expected
label of each course comes from the ledger's published shares (borrower courses, and the owner's own
course in the flows into KS Læring). ``--fix`` writes with the acting person's own key to each platform, for
the courses that platform says they may update (one ``core_course_get_user_administration_options`` call per
platform); the others are listed as refused, with the platform's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmsbridge.adapters import MoodleClient
from lmsbridge.config import Config
from lmsbridge.domain import Label, ShareFlow
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger
from lmsbridge.sharing import rights
from lmsbridge.sharing.labels import LabelProblem, audit_label, label_from_field, labels_in
from lmsbridge.workflows.acting import Keys
from lmsbridge.workflows.courses import set_label


@dataclass(frozen=True)
class CourseAudit:
    platform: str
    course_id: int
    shortname: str
    expected: Label | None
    problems: list[LabelProblem]
    fixed: bool = False
    #: Why it was not fixed: what the platform answered about the acting person and this course.
    refused: Message | None = None


def expected_labels(ledger: Ledger) -> dict[tuple[str, int], Label]:
    expected: dict[tuple[str, int], Label] = {}
    for share in ledger.list_shares(state="published"):
        label = Label(share.label)
        if share.borrower_course_id:
            expected[(share.borrower_platform, share.borrower_course_id)] = label
        if ShareFlow(share.flow) is not ShareFlow.HOSPITAL_SHARES_KS_COURSE and share.owner_course_id:
            expected[(share.owner_platform, share.owner_course_id)] = label
    return expected


def audit_labels(
    config: Config,
    ledger: Ledger,
    client_for: Callable[[str], MoodleClient],
    *,
    platforms: list[str] | None = None,
    fix: bool = False,
    keys: Keys | None = None,
) -> list[CourseAudit]:
    """Every course whose label disagrees with the ledger; with ``fix`` (and the acting person's ``keys``),
    each one the platform says they may update is repaired with their key."""
    expected = expected_labels(ledger)
    audits: list[CourseAudit] = []
    for name in platforms or list(config.platforms):
        profile = config.platform(name)
        client = client_for(name)
        short = profile.shortname("label")
        options = profile.options("label") or []
        found = []
        for course in client.all_courses():
            custom = course.field(short) if short else None
            field_label = label_from_field(custom.raw_int, options) if custom is not None else None
            want = expected.get((name, course.id))
            problems = audit_label(want, field_label, labels_in(course.summary))
            if problems:
                found.append((course, want, problems))
        if not fix or not found:
            audits.extend(CourseAudit(name, c.id, c.shortname, want, problems) for c, want, problems in found)
            continue
        if keys is None:
            raise ValueError("labels audit --fix needs the acting person's keys")
        actor, person = keys.actor(name)
        answers = keys.answers(person, actor, [(c.id, c.shortname) for c, _, _ in found])
        acting = client.writing_with(person)
        for course, want, problems in found:
            allowed = rights.fix_label(answers[course.id])
            if allowed.allowed:
                set_label(acting, profile, course, want)
            audits.append(CourseAudit(name, course.id, course.shortname, want, problems, fixed=allowed.allowed,
                                      refused=None if allowed.allowed else allowed.message))
    return audits
