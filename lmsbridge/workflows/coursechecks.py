"""One course check for ``validate --platform`` and ``share request``, so the two never disagree.

The base check is «Krav til kursinfo i KS Læring» (``sharing.requirements``); the configuration adds:

* the study categories are KS Læring's — the municipal platform's configured ``categories``, else its
  «studiekategori» options — whichever platform the course is read from: the requirements are «i KS
  Læring», and a course shared either way is listed there (so HBHF-BRANN-03 in «Annet» fails both
  ``validate --platform lp`` and ``share request`` when KS Læring offers only «Helse og velferd»);
* the course platform's profile: ``max_minutes`` (a warning past it), ``coordinators`` (the course
  coordinator must be one of them), and its role: a KS Læring course offered for sharing must carry its
  Creative Commons marking (``sharing.courserules``);
* at a request, the agreement's term: a warning from ``[agreement] warn_days`` before it ends.
"""

from __future__ import annotations

from datetime import date

from lmsbridge.adapters import PlatformProfile
from lmsbridge.config import Config
from lmsbridge.domain import PlatformRole
from lmsbridge.readers import study_categories
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.courserules import check_cc_marking, check_coordinator, check_length, without_superseded
from lmsbridge.sharing.requirements import FINDING_CODES, Finding, check_course_info
from lmsbridge.workflows.agreement import agreement_status


def sharing_categories(config: Config) -> list[str]:
    """The study categories a course may use: KS Læring's (empty, unchecked, when none is configured)."""
    municipal = config.platforms_by_role(PlatformRole.MUNICIPAL)
    return study_categories(municipal[0]) if municipal else []


def course_findings(info: CourseInfo, *, config: Config, profile: PlatformProfile, offered_for_sharing: bool,
                    today: date | None = None) -> list[Finding]:
    """Every finding for a course on ``profile``'s platform under the configured agreement."""
    findings = check_course_info(info, categories=sharing_categories(config), today=today)
    findings += check_length(info.time_needed, profile.max_minutes)
    findings += check_coordinator(info.course_coordinator, profile.coordinators, organisation=profile.organisation)
    findings += check_cc_marking(info, owner_role=profile.role, offered_for_sharing=offered_for_sharing)
    return without_superseded(findings)


def request_findings(info: CourseInfo, *, config: Config, owner: PlatformProfile, today: date) -> list[Finding]:
    """The findings of a share request: the owner's course (offered for sharing by the request) and, near
    the end of the term, the warning that the agreement must be renewed."""
    findings = course_findings(info, config=config, profile=owner, offered_for_sharing=True, today=today)
    status = agreement_status(config, today)
    if status.expiring:
        findings.append(Finding(status.code, FINDING_CODES[status.code], "agreement", status.message))
    return findings


def offered_for_sharing(info: CourseInfo) -> bool:
    """Outside a request, a course is offered for sharing when it carries a sharing label."""
    return bool(info.label and info.label.strip())


__all__ = ["course_findings", "offered_for_sharing", "request_findings", "sharing_categories"]
