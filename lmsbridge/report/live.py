"""The figures the ledger does not hold, read from the platforms at report time (``report --live``).

* learners on the borrower platform per published share: the borrower course's participants (the
  platform's student role), one ``core_enrol_get_enrolled_users`` listing per course;
* certificate groups per configured certificate course, with points: the same reading as ``certificates
  list`` (``certificates.read_course``), counted: no participant leaves this module, only numbers.

A platform that cannot be read leaves its figures empty and says why; the rest of the report stands.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates import GROUP_NAMES, read_course
from lmsbridge.certificates.course import is_participant, platform_for
from lmsbridge.config import Config
from lmsbridge.errors import ExitCode, LmsbridgeError, combined_exit_code
from lmsbridge.ledger import Share
from lmsbridge.report.figures import CertificateFigures, Figures

ClientFor = Callable[[str], MoodleClient]


def _borrower_learners(config: Config, client_for: ClientFor, share: Share) -> int | None:
    if share.borrower_course_id is None:
        return None
    profile = config.platform(share.borrower_platform)
    users = client_for(share.borrower_platform).enrolled_users(share.borrower_course_id,
                                                               page_size=config.sync.page_size,
                                                               userfields=("id", "roles"))
    return sum(1 for user in users if is_participant(user, profile.student_role_id))


def _certificates(config: Config, client_for: ClientFor, key: str, shares: list[Share],
                  today: date) -> CertificateFigures:
    settings = config.certificates[key]
    platform = platform_for(config, key, shares)
    state = read_course(client_for(platform), config.platform(platform), key, settings, today=today,
                        page_size=config.sync.page_size)
    groups = Counter(p.placement.group.value for p in state.participants if p.placement.group is not None)
    return CertificateFigures(
        course=key, platform=platform, due=settings.due, participants=len(state.participants),
        groups={name: groups.get(name, 0) for name in GROUP_NAMES},
        not_grouped=sum(1 for p in state.participants if p.placement.group is None),
        points_earned=round(sum(p.points.earned for p in state.participants), 2),
        points_possible=round(sum(p.points.total for p in state.participants), 2),
        manual=sum(1 for p in state.participants if p.points.manual),
    )


def add_live_figures(figures: Figures, config: Config, client_for: ClientFor, shares: list[Share], *,
                     today: date, now: datetime) -> Figures:
    """``figures`` with the borrower platforms' learners and the certificate groups read now."""
    errors: list[str] = []
    codes: list[int] = []
    by_id = {share.id: share for share in shares}
    rows = []
    for row in figures.shares:
        learners = None
        share = by_id.get(row.share_id)
        if share is not None and row.state == "published":
            try:
                learners = _borrower_learners(config, client_for, share)
            except LmsbridgeError as exc:
                errors.append(f"{row.share_id}: {exc}")
                codes.append(_code(exc))
        rows.append(dataclasses.replace(row, borrower_learners=learners))
    certificates = []
    for key in sorted(config.certificates):
        try:
            certificates.append(_certificates(config, client_for, key, shares, today))
        except LmsbridgeError as exc:
            errors.append(f"{key}: {exc}")
            codes.append(_code(exc))
    return dataclasses.replace(figures, shares=rows, certificates=certificates, live=True, live_at=now,
                               live_errors=errors, live_exit_code=combined_exit_code(*codes))


def _code(exc: LmsbridgeError) -> int:
    """What a figure that could not be read makes the report end with: a platform not reached (3), a token it
    rejects (2), else some figures missing (4); the report is written all the same."""
    return exc.exit_code if exc.exit_code in (ExitCode.CONFIG, ExitCode.UNREACHABLE) else ExitCode.PARTIAL


__all__ = ["add_live_figures"]
