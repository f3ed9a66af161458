"""``labels audit``: every course whose label disagrees with the ledger, and ``--fix`` to repair it.

One listing call per platform (``core_course_get_courses_by_field`` without a field); the expected
label of each course comes from the ledger's published shares (borrower courses, and the owner's own
course in the flows into KS Læring).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmsbridge.adapters import MoodleClient
from lmsbridge.config import Config
from lmsbridge.domain import Label, ShareFlow
from lmsbridge.ledger import Ledger
from lmsbridge.sharing.labels import LabelProblem, audit_label, label_from_field, labels_in
from lmsbridge.workflows.courses import set_label


@dataclass(frozen=True)
class CourseAudit:
    platform: str
    course_id: int
    shortname: str
    expected: Label | None
    problems: list[LabelProblem]
    fixed: bool = False


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
) -> list[CourseAudit]:
    expected = expected_labels(ledger)
    audits: list[CourseAudit] = []
    for name in platforms or list(config.platforms):
        profile = config.platform(name)
        client = client_for(name)
        short = profile.shortname("label")
        options = profile.options("label") or []
        for course in client.all_courses():
            custom = course.field(short) if short else None
            field_label = label_from_field(custom.raw_int, options) if custom is not None else None
            want = expected.get((name, course.id))
            problems = audit_label(want, field_label, labels_in(course.summary))
            if not problems:
                continue
            fixed = False
            if fix:
                set_label(client, profile, course, want)
                fixed = True
            audits.append(CourseAudit(name, course.id, course.shortname, want, problems, fixed))
    return audits
