"""The share workflows of the agreement: request, approve, publish, revoke.

Each act checks the agreement's rules (pure functions in ``lmsbridge.sharing``), does its platform
steps (idempotent: see ``workflows.courses``), and records the outcome in the ledger in ONE
transaction with a hash-chained event. Platform steps come before the ledger commit, so an interrupted
run leaves the previous ledger state and a re-run completes the share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, PlannedCall, PlatformProfile
from lmsbridge.adapters.models import Course
from lmsbridge.config import Config
from lmsbridge.domain import PlatformRole, ShareFlow
from lmsbridge.errors import ConfigError, RecordError, RuleViolation
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.mail import Mailer
from lmsbridge.readers.live import course_info_from_course
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.labels import label_from_field
from lmsbridge.sharing.notices import share_request_message
from lmsbridge.sharing.ownership import (
    OWNER_ROLE,
    check_transition,
    contact_point_for,
    label_for,
    may_approve,
    may_revoke,
    share_parties,
    support_routing,
)
from lmsbridge.sharing.requirements import Finding
from lmsbridge.sharing.term import may_publish, may_request
from lmsbridge.sharing.verdict import Verdict
from lmsbridge.workflows.coursechecks import request_findings, sharing_categories
from lmsbridge.workflows.courses import (
    CourseShell,
    borrower_idnumber,
    copied_fields,
    ensure_course,
    find_course,
    label_fields,
    link_paragraph,
    set_label,
)


@dataclass(frozen=True)
class RequestResult:
    share: Share
    created: bool
    findings: list[Finding]
    email_path: str | None
    planned: list[PlannedCall] = field(default_factory=list)


@dataclass(frozen=True)
class PublishResult:
    share: Share
    borrower_course_id: int | None
    created_course: bool
    manual_steps: list[Message]
    planned: list[PlannedCall] = field(default_factory=list)


@dataclass(frozen=True)
class RevokeResult:
    share: Share
    planned: list[PlannedCall] = field(default_factory=list)


def _refuse(verdict: Verdict) -> None:
    if not verdict.allowed:
        raise RuleViolation(verdict.reason)


def _other(role: PlatformRole) -> PlatformRole:
    return PlatformRole.MUNICIPAL if role is PlatformRole.HOSPITAL else PlatformRole.HOSPITAL


@dataclass
class ShareService:
    """One operator's share acts. ``client_for(name, dry_run)`` gives a client per platform."""

    config: Config
    ledger: Ledger
    client_for: Callable[[str, bool], MoodleClient]
    mailer: Mailer
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        op = self.config.operator
        who = op.name or op.email or "unknown"
        return f"{who} ({op.organisation})" if op.organisation else who

    def _operator_org(self) -> str:
        org = self.config.operator.organisation
        if not org:
            raise ConfigError(Message("share.operator_missing"), key="operator.organisation")
        return org

    def _today(self) -> date:
        return self.now().date()

    def _term(self) -> dict[str, Any]:
        agreement = self.config.agreement
        return {"start": agreement.start, "term_months": agreement.term_months, "renewals": agreement.renewals}

    def platform_for(self, role: PlatformRole, name: str | None, option: str) -> PlatformProfile:
        if name:
            profile = self.config.platform(name)
            if profile.role is not role:
                raise ConfigError(
                    Message("share.wrong_role", name=name, role=profile.role.value, expected=role.value)
                )
            return profile
        candidates = self.config.platforms_by_role(role)
        if not candidates:
            raise ConfigError(Message("share.no_platform", role=role.value))
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise ConfigError(Message("share.ambiguous_platform", role=role.value, names=names, option=option))
        return candidates[0]

    def get(self, share_id: str) -> Share:
        share = self.ledger.get_share(share_id)
        if share is None:
            raise RecordError(Message("share.not_found", share_id=share_id))
        return share

    def categories_for_checks(self) -> list[str]:
        """Required course information is «i KS Læring»: its study categories decide (rule 7)."""
        return sharing_categories(self.config)

    def course_info(self, profile: PlatformProfile, course: Course) -> CourseInfo:
        return course_info_from_course(course, profile)

    # -- request ------------------------------------------------------------------------------------

    def request(
        self,
        *,
        flow: ShareFlow,
        course: str,
        owner_platform: str | None = None,
        borrower_platform: str | None = None,
        reason: str = "",
        initiator: str | None = None,
    ) -> RequestResult:
        """Validate the owner's course and send the share request to the contact point (idempotent)."""
        _refuse(may_request(self._today(), **self._term()))
        owner_role = OWNER_ROLE[flow]
        owner = self.platform_for(owner_role, owner_platform, "owner")
        borrower = self.platform_for(_other(owner_role), borrower_platform, "borrower")
        client = self.client_for(owner.name, False)
        source = find_course(client, course)
        info = self.course_info(owner, source)
        findings = request_findings(info, config=self.config, owner=owner, today=self._today())
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise RuleViolation(
                Message("share.refused_findings", count=len(errors), codes=", ".join(f.code for f in errors))
            )
        hospital = owner if owner.role is PlatformRole.HOSPITAL else borrower
        municipal = borrower if owner.role is PlatformRole.HOSPITAL else owner
        parties = share_parties(flow, hospital_org=hospital.organisation, municipal_org=municipal.organisation)
        label = label_for(flow)
        request_key = f"{flow.value}:{owner.name}:{source.id}:{borrower.name}"
        contact = contact_point_for(flow, self.config.agreement.contact_point)
        to, cc = contact, tuple[str, ...]()
        if flow is ShareFlow.KS_ORDERS_FROM_HOSPITAL and owner.contact_point:
            # «Kommunen kontakter e-læringsansvarlig i aktuelt kurseier-foretak»; KS Læring stays in copy.
            to, cc = owner.contact_point, (contact,)
        routing = support_routing(owner_support=owner.support_contact, borrower_support=borrower.support_contact,
                                  owner_role=owner.role, borrower_role=borrower.role)
        now = self.now()
        with self.ledger.transaction():
            existing = self.ledger.find_share_by_request_key(request_key)
            created = existing is None or existing.state in ("revoked", "rejected")
            if created:
                share = self.ledger.create_share(
                    flow=flow,
                    owner_platform=owner.name,
                    owner_course_id=source.id,
                    owner_course_shortname=source.shortname,
                    owner_org=parties.owner_org,
                    borrower_platform=borrower.name,
                    borrower_course_id=None,
                    borrower_course_shortname=None,
                    borrower_org=parties.borrower_org,
                    initiator=initiator or self.actor,
                    licence_at_share=info.licence or "",
                    label=label.value,
                    owner_support=routing.owner_support,
                    borrower_support=routing.borrower_support,
                    contact_point=to,
                    request_key=request_key if existing is None else f"{request_key}:{now.isoformat()}",
                    now=now,
                )
                self.ledger.append_event(
                    share_id=share.id, actor=self.actor, action="request", at=now,
                    details={"flow": flow.value, "course": source.shortname, "reason": reason,
                             "findings": [f.code for f in findings]},
                )
            else:
                assert existing is not None
                share = existing
        notice = share_request_message(share=share, fullname=source.fullname, findings=findings, lang=i18n.language())
        delivery = self.mailer.deliver(
            to=to, cc=cc, subject=notice.subject, body=notice.body, key=f"{share.id}-request", when=now
        )
        if delivery.sent:
            with self.ledger.transaction():
                if self.ledger.find_message(f"{share.id}-request") is None:
                    self.ledger.record_message(
                        key=f"{share.id}-request", kind="share-request", to=to, subject=notice.subject,
                        message_id=delivery.message_id, path=str(delivery.path), now=now,
                    )
        return RequestResult(share=share, created=created, findings=findings, email_path=str(delivery.path))

    # -- approve -------------------------------------------------------------------------------------

    def approve(self, share_id: str, *, reason: str = "") -> Share:
        """The owner's act: the operator's organisation must own the course."""
        share = self.get(share_id)
        _refuse(may_approve(ShareFlow(share.flow), share.owner_org, self._operator_org()))
        if share.state == "approved":
            return share
        _refuse(check_transition(share.state, "approved"))
        now = self.now()
        with self.ledger.transaction():
            updated = self.ledger.update_share_state(share.id, "approved", now=now)
            self.ledger.append_event(share_id=share.id, actor=self.actor, action="approve", at=now,
                                     details={"reason": reason})
        return updated

    def reject(self, share_id: str, *, reason: str) -> Share:
        share = self.get(share_id)
        _refuse(may_approve(ShareFlow(share.flow), share.owner_org, self._operator_org()))
        _refuse(check_transition(share.state, "rejected"))
        now = self.now()
        with self.ledger.transaction():
            updated = self.ledger.update_share_state(share.id, "rejected", now=now)
            self.ledger.append_event(share_id=share.id, actor=self.actor, action="reject", at=now,
                                     details={"reason": reason})
        return updated

    # -- publish ---------------------------------------------------------------------------------------

    def publish(self, share_id: str, *, borrower_course: str | None = None, dry_run: bool = False) -> PublishResult:
        """Make the share real on the platforms, then record it. Safe to re-run after an interruption."""
        share = self.get(share_id)
        _refuse(may_publish(self._today(), **self._term()))
        if share.state != "published":
            _refuse(check_transition(share.state, "published"))
        flow = ShareFlow(share.flow)
        owner = self.config.platform(share.owner_platform)
        borrower = self.config.platform(share.borrower_platform)
        owner_client = self.client_for(owner.name, dry_run)
        borrower_client = self.client_for(borrower.name, dry_run)
        source = find_course(owner_client, share.owner_course_id or share.owner_course_shortname)
        label = label_for(flow)
        manual: list[Message] = []
        created = False
        # Publishing shows the borrower course (a linked course may be one a revoke hid); a re-run of a
        # published share leaves its visibility to the borrower platform's administrators.
        show = True if share.state != "published" else None

        if borrower_course or share.borrower_course_id:
            target = find_course(borrower_client, borrower_course or share.borrower_course_id or "")
            set_label(borrower_client, borrower, target, label, owner=share.owner_org, visible=show)
            course_id: int | None = target.id
            shortname = target.shortname
        else:
            shell = self._shell(share, flow, owner, borrower, source)
            course_id, created = ensure_course(borrower_client, shell)
            shortname = shell.shortname
            if course_id is not None and not created:
                # Found from an interrupted run: make sure its label and owner are right.
                set_label(borrower_client, borrower, find_course(borrower_client, course_id), label,
                          owner=share.owner_org, visible=show)
            if flow is not ShareFlow.HOSPITAL_SHARES_KS_COURSE:
                manual.append(Message("share.manual.upload", shortname=shortname, platform=borrower.title))
                manual.append(Message("share.manual.completion", shortname=shortname))
            manual.append(Message("share.manual.enrol", shortname=shortname, platform=borrower.title))
        if flow is not ShareFlow.HOSPITAL_SHARES_KS_COURSE:
            # The owner's course is marked «delt til KS Læring» too (seed_data: LP1 carries the label).
            set_label(owner_client, owner, source, label)

        planned = list(owner_client.planned) + [p for p in borrower_client.planned if p not in owner_client.planned]
        if dry_run:
            return PublishResult(share, course_id, created, manual, planned)
        now = self.now()
        with self.ledger.transaction():
            updated = self.ledger.update_share_state(
                share.id, "published", now=now, borrower_course_id=course_id, borrower_course_shortname=shortname
            ) if share.state != "published" else share
            if share.state != "published":
                self.ledger.append_event(
                    share_id=share.id, actor=self.actor, action="publish", at=now,
                    details={"borrower_course_id": course_id, "borrower_course": shortname, "created": created,
                             "label": label.value, "manual_steps": [step.as_data() for step in manual]},
                )
        return PublishResult(updated, course_id, created, manual, [])

    def _shell(self, share: Share, flow: ShareFlow, owner: PlatformProfile, borrower: PlatformProfile,
               source: Course) -> CourseShell:
        label = label_for(flow)
        category = borrower.share_category_id
        info = self.course_info(owner, source)
        if info.study_category and info.study_category in borrower.categories:
            category = borrower.categories[info.study_category]
        if category is None:
            raise ConfigError(Message("share.no_category", name=borrower.name),
                              key=f"platforms.{borrower.name}.share_category_id")
        from lmsbridge.sharing.labels import apply_label

        summary = apply_label(source.summary, label)
        if flow is ShareFlow.HOSPITAL_SHARES_KS_COURSE:
            summary += link_paragraph(f"{owner.url}/course/view.php?id={source.id}", i18n.t("share.link_text"))
            prefix = "KS-"
        else:
            prefix = "KSL-"
        fields = copied_fields(source, owner, borrower) + label_fields(borrower, label, owner=share.owner_org)
        fields = list({f["shortname"]: f for f in fields}.values())
        return CourseShell(
            fullname=source.fullname,
            shortname=f"{prefix}{source.shortname}",
            idnumber=borrower_idnumber(share.id),
            categoryid=category,
            summary=summary,
            customfields=fields,
        )

    # -- revoke ---------------------------------------------------------------------------------------------

    def revoke(self, share_id: str, *, reason: str, dry_run: bool = False) -> RevokeResult:
        """Only the owner ends a share; the borrower course is hidden and unlabelled, history kept.

        Allowed whatever the agreement's term (a revoke is always allowed)."""
        share = self.get(share_id)
        _refuse(may_revoke(share.owner_org, self._operator_org()))
        if share.state == "revoked":
            return RevokeResult(share)
        _refuse(check_transition(share.state, "revoked"))
        flow = ShareFlow(share.flow)
        owner = self.config.platform(share.owner_platform)
        borrower = self.config.platform(share.borrower_platform)
        owner_client = self.client_for(owner.name, dry_run)
        borrower_client = self.client_for(borrower.name, dry_run)
        if share.borrower_course_id:
            target = borrower_client.course(share.borrower_course_id)
            if target is not None:
                strip = ""
                if flow is ShareFlow.HOSPITAL_SHARES_KS_COURSE:
                    strip = link_paragraph(f"{owner.url}/course/view.php?id={share.owner_course_id}",
                                           i18n.t("share.link_text"))
                    for lang in i18n.LANGUAGES:  # the link may have been written in either language
                        candidate = link_paragraph(f"{owner.url}/course/view.php?id={share.owner_course_id}",
                                                   i18n.t("share.link_text", lang))
                        if candidate in target.summary:
                            strip = candidate
                set_label(borrower_client, borrower, target, None, visible=False, strip_summary=strip)
        if flow is not ShareFlow.HOSPITAL_SHARES_KS_COURSE:
            others = [
                s for s in self.ledger.list_shares(state="published")
                if s.id != share.id and s.owner_platform == share.owner_platform
                and s.owner_course_id == share.owner_course_id and s.label == share.label
            ]
            if not others:
                source = owner_client.course(share.owner_course_id or share.owner_course_shortname)
                if source is not None:
                    set_label(owner_client, owner, source, None)
        planned = list(owner_client.planned) + [p for p in borrower_client.planned if p not in owner_client.planned]
        if dry_run:
            return RevokeResult(share, planned)
        now = self.now()
        with self.ledger.transaction():
            updated = self.ledger.update_share_state(share.id, "revoked", now=now)
            self.ledger.append_event(share_id=share.id, actor=self.actor, action="revoke", at=now,
                                     details={"reason": reason})
        return RevokeResult(updated)


def field_label(profile: PlatformProfile, course: Course) -> str | None:
    """The label the course's select field shows (None when unset)."""
    short = profile.shortname("label")
    custom = course.field(short) if short else None
    if custom is None:
        return None
    found = label_from_field(custom.raw_int, profile.options("label") or [])
    return found.value if found else None
