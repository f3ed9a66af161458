"""The share workflows of the agreement: request, approve, reject, withdraw, publish, revoke.

Each act is made with the acting person's own key (``lmsbridge login``): the platform says who holds it and
what they may do on the course (``workflows.acting``), and the rules of ``lmsbridge.sharing.rights`` read that
answer. The act checks the agreement's rules (pure functions in ``lmsbridge.sharing``), does its platform steps
(idempotent: see ``workflows.courses``; on the acting person's platform with their key, on the other with the
lmsbridge service's), and records the outcome in the ledger in ONE transaction with a hash-chained event that
carries the platform's answers. Platform steps come before the ledger commit, so an interrupted run leaves the
previous ledger state and a re-run completes the share. Then the act's receipt goes onto the share's courses on
both platforms and into an e-mail to the contact point (``workflows.witnesses``); a re-run of an act already
done writes a receipt that could not be written before.

One share per course and pair: a request for a course whose share was revoked or rejected asks again on that
share (a new ``request`` event on its line), never a new share.
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
from lmsbridge.errors import (
    AccessDeniedError,
    ConfigError,
    ExitCode,
    InputError,
    LmsbridgeError,
    RuleViolation,
)
from lmsbridge.i18n import Message
from lmsbridge.ledger import Event, Ledger, LockedError, Share
from lmsbridge.mail import Mailer
from lmsbridge.readers.live import course_info_from_course
from lmsbridge.sharing import rights
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.labels import label_from_field
from lmsbridge.sharing.notices import share_request_message
from lmsbridge.sharing.ownership import (
    OWNER_ROLE,
    check_transition,
    contact_point_for,
    label_for,
    share_parties,
    support_routing,
)
from lmsbridge.sharing.receipts import LEARNERS_REVOKE_PARTLY, LEARNERS_REVOKE_UNSYNCED, act_notice, receipt_block
from lmsbridge.sharing.requirements import Finding
from lmsbridge.sharing.term import may_publish, may_request
from lmsbridge.sharing.verdict import Verdict
from lmsbridge.workflows.acting import Actor, Keys, right_data, who_holds
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
from lmsbridge.workflows.notices import deliver_notice
from lmsbridge.workflows.witnesses import Delivered, Witnesses


@dataclass(frozen=True)
class RequestResult:
    share: Share
    created: bool
    findings: list[Finding]
    email_path: str | None
    planned: list[PlannedCall] = field(default_factory=list)
    #: A revoked or rejected share asked for again (on its own line).
    reopened: bool = False
    witnessed: Delivered | None = None


@dataclass(frozen=True)
class ActResult:
    """An act done (``event``), or found done already (``event`` None: its receipt was written again)."""

    share: Share
    actor: Actor
    event: Event | None = None
    witnessed: Delivered | None = None
    email_path: str | None = None
    planned: list[PlannedCall] = field(default_factory=list)


@dataclass(frozen=True)
class PublishResult:
    share: Share
    borrower_course_id: int | None
    created_course: bool
    manual_steps: list[Message]
    planned: list[PlannedCall] = field(default_factory=list)
    act: ActResult | None = None


@dataclass(frozen=True)
class LastSync:
    """The last sync of a share before its revoke: its exit code and what it brought back."""

    exit_code: int
    written: int = 0
    failed: int = 0

    def as_data(self) -> dict[str, int]:
        return {"exit_code": self.exit_code, "written": self.written, "failed": self.failed}


class LastSyncFailed(LmsbridgeError):
    """The last sync before a revoke did not go through: nothing was revoked (the sync's exit code)."""

    code = "revoke_sync"

    def __init__(self, message: Message, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class RevokeResult:
    share: Share
    planned: list[PlannedCall] = field(default_factory=list)
    act: ActResult | None = None
    #: The last sync run before the revoke (None: not run, --no-sync or not published).
    last_sync: LastSync | None = None


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
    #: The acting person's keys (``lmsbridge login``); every act but a request needs one.
    keys: Keys | None = None

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def witnesses(self) -> Witnesses:
        return Witnesses(self.config, self.ledger, lambda name: self.client_for(name, False))

    def _keys(self) -> Keys:
        if self.keys is None:
            raise ConfigError(Message("keys.none"))
        return self.keys

    def _acting(self, person: MoodleClient, platform: str, dry_run: bool) -> MoodleClient:
        """Reads with the service's key, writes with the person's: the platform checks each write against them."""
        return self.client_for(platform, dry_run).writing_with(person)

    def _signature(self) -> str:
        op = self.config.operator
        return ", ".join(part for part in (op.name, op.organisation, op.email) if part)

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
            raise InputError(Message("share.not_found", share_id=share_id))
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
        """Validate the owner's course and send the share request to the contact point (idempotent).

        The request is the requesting side's (the owner's in hospital-to-ks, the borrower's otherwise): made with
        the key of the person logged in there when there is one (they may withdraw it), else recorded as the
        lmsbridge service's on that platform."""
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
            # each error as ``validate`` words it, under the one error line
            raise RuleViolation(Message("share.refused_findings", count=len(errors)),
                                details=tuple(f.message for f in errors))
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
        asking = owner if flow is ShareFlow.HOSPITAL_TO_KS else borrower
        actor, personal = self._requester(asking.name)
        who = initiator or actor.label
        existing = (self.ledger.find_share_for_course(owner.name, source.id, borrower.name)
                    or self.ledger.find_share_by_request_key(request_key))
        if existing is not None and existing.state in ("revoked", "rejected"):
            self.witnesses.check(existing)
        now = self.now()
        details = {"flow": flow.value, "course": source.shortname, "reason": reason,
                   "findings": [f.code for f in findings], "by": actor.as_data(),
                   "notify": self._address_of(actor, self.client_for(asking.name, False), personal=personal)}
        with self.ledger.transaction():
            current = (self.ledger.find_share_for_course(owner.name, source.id, borrower.name)
                       or self.ledger.find_share_by_request_key(request_key))
            created = current is None
            reopened = current is not None and current.state in ("revoked", "rejected")
            if current is None:
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
                    initiator=who,
                    licence_at_share=info.licence or "",
                    label=label.value,
                    owner_support=routing.owner_support,
                    borrower_support=routing.borrower_support,
                    contact_point=to,
                    request_key=request_key,
                    now=now,
                )
            elif reopened:
                share = self.ledger.update_share_state(current.id, "requested", now=now, flow=flow.value, initiator=who,
                                                       contact_point=to, licence_at_share=info.licence or "")
                details["reopened_from"] = current.state
            else:
                share = current
            if created or reopened:
                self.ledger.append_event(share_id=share.id, actor=actor.label, action="request", at=now,
                                         details=details)
        witnessed = self.witnesses.write([share.id])
        notice = share_request_message(share=share, fullname=source.fullname, findings=findings, reason=reason,
                                       sender=self._signature(), lang=i18n.language(),
                                       titles={name: self.config.platform(name).title
                                               for name in (share.owner_platform, share.borrower_platform)
                                               if name in self.config.platforms})
        body = notice.body
        receipt = witnessed.receipts.get(share.id)
        if receipt is not None:
            body += "\n" + receipt_block(receipt.text) + "\n"
        asked = self._requests(share)
        key = f"{share.id}-request" if len(asked) <= 1 else f"{share.id}-request-{asked[-1].seq}"
        delivery = self.mailer.deliver(to=to, cc=cc, subject=notice.subject, body=body, key=key, when=now)
        self._record_sent(delivery, key, "share-request", to, notice.subject, now)
        return RequestResult(share=share, created=created, findings=findings, email_path=str(delivery.path),
                             reopened=reopened, witnessed=witnessed)

    def _requester(self, platform: str) -> tuple[Actor, bool]:
        """Who asks: the person logged in on ``platform`` (True), else the lmsbridge service there (False), as the
        platform says."""
        keys = self.keys
        if keys is not None and keys.store.get(self.config.platform(platform).url) is not None:
            return keys.actor(platform)[0], True  # keys.actor refuses the service's own key
        return who_holds(self.client_for(platform, False), platform), False

    def _requests(self, share: Share) -> list[Event]:
        """The share's ``request`` events, oldest first."""
        return [e for e in self.ledger.events(share.id) if e.action == "request"]

    def _record_sent(self, delivery: Any, key: str, kind: str, to: str, subject: str, now: datetime) -> None:
        if delivery.sent:
            with self.ledger.transaction():
                if self.ledger.find_message(key) is None:
                    self.ledger.record_message(key=key, kind=kind, to=to, subject=subject,
                                               message_id=delivery.message_id, path=str(delivery.path), now=now)

    def _after(self, share: Share, actor: Actor, act: str, reason: str, event: Event | None,
               planned: list[PlannedCall] | None = None, learners: str = "") -> ActResult:
        """The act's receipt onto the courses and, for a new event, the other party told: an e-mail to the
        contact point with the requesting coordinator in copy, saying what the act means for the learners,
        logged as a ``notice`` event (``lmsbridge report`` counts them)."""
        witnessed = self.witnesses.write([share.id])
        receipt = witnessed.receipts.get(share.id)
        path = None
        if event is not None and receipt is not None and share.contact_point:
            notice = act_notice(
                to=share.contact_point, share_id=share.id, act=act, course=share.owner_course_shortname,
                owner_org=share.owner_org, borrower_org=share.borrower_org, who=actor.label,
                platform=self.config.platform(actor.platform).title, reason=reason, receipt=receipt.text,
                signature=self._signature(), learners=learners, lang=i18n.language())
            key = f"{share.id}-{act}-{event.seq}"
            cc = tuple(a for a in self._requester_addresses(share) if a.lower() != notice.to.lower())
            written = deliver_notice(ledger=self.ledger, mailer=self.mailer, notice=notice, kind=f"share-{act}",
                                     key=key, actor=actor.label, when=event.at, cc=cc,
                                     details={"share": share.id, "act": act, "seq": event.seq})
            path = written.path
        return ActResult(share, actor, event, witnessed, path, planned or [])

    def _requester_addresses(self, share: Share) -> list[str]:
        """The requesting coordinator's e-mail address, as the share's last request recorded it."""
        asked = self._requests(share)
        address = asked[-1].details.get("notify") if asked else None
        return [address] if isinstance(address, str) and "@" in address else []

    def _address_of(self, actor: Actor, client: MoodleClient, *, personal: bool) -> str:
        """Where the requesting coordinator is told of the acts that follow: their e-mail address on the platform
        when they asked with their own key (``personal``), else the operator's ([operator] email)."""
        if personal:
            found = client.users_by_field("id", [actor.userid])
            if found and found[0].email:
                return found[0].email
        return self.config.operator.email

    def _owner_check(self, share: Share, act: str) -> tuple[Actor, MoodleClient, dict[str, Any]]:
        """The owner platform's answer for ``act``: who holds the key, and ``update`` on the owner's course."""
        actor, person = self._keys().actor(share.owner_platform)
        course_id = share.owner_course_id or find_course(self.client_for(share.owner_platform, False),
                                                         share.owner_course_shortname).id
        answer = self._keys().answers(person, actor, [(course_id, share.owner_course_shortname)])[course_id]
        rights.owner_act(act, share_id=share.id, owner_platform=share.owner_platform, actor_platform=actor.platform,
                         answer=answer).require()
        return actor, person, {"by": actor.as_data(), "right": right_data(answer)}

    def _record(self, share: Share, state: str, actor: Actor, act: str, details: dict[str, Any],
                **changes: Any) -> tuple[Share, Event]:
        now = self.now()
        with self.ledger.transaction():
            updated = self.ledger.update_share_state(share.id, state, now=now, **changes)
            event = self.ledger.append_event(share_id=share.id, actor=actor.label, action=act, at=now, details=details)
        return updated, event

    # -- approve, reject, withdraw -------------------------------------------------------------------

    def approve(self, share_id: str, *, reason: str = "") -> ActResult:
        """The owner's act: the owner platform must say the key holder may update the owner's course."""
        return self._decide(share_id, "approve", "approved", reason)

    def reject(self, share_id: str, *, reason: str) -> ActResult:
        """The owner's act: refuse a requested share (it may be asked for again, on the same line)."""
        return self._decide(share_id, "reject", "rejected", reason)

    def _decide(self, share_id: str, act: str, state: str, reason: str) -> ActResult:
        share = self.get(share_id)
        actor, _person, details = self._owner_check(share, act)
        if share.state == state:
            return self._after(share, actor, act, reason, None)
        if act == "reject" and share.state == "approved":  # approved: taken back with withdraw, before publishing
            raise RuleViolation(Message("share.reject_approved", share=share.id))
        _refuse(check_transition(share.state, state))
        self.witnesses.check(share)
        updated, event = self._record(share, state, actor, act, {"reason": reason, **details})
        return self._after(updated, actor, act, reason, event)

    def withdraw(self, share_id: str, *, reason: str) -> ActResult:
        """Take back a request, or an approved share not yet published: the person who asked (on the platform
        they asked on), one who may update the borrower course (borrower platform's key), or, once approved, the
        owner (owner platform's key, ``update`` on the owner's course). The platforms tried are those the person
        is logged in to, the asker's first."""
        share = self.get(share_id)
        keys = self._keys()
        events = self.ledger.events(share.id)
        asked = [e for e in events if e.action == "request"]
        asked_by = asked[-1].details.get("by") if asked else None
        withdrawn = bool(events) and events[-1].action == "withdraw"
        tried = [asked_by.get("platform") if isinstance(asked_by, dict) else None, share.borrower_platform,
                 share.owner_platform]
        platforms = [name for name in dict.fromkeys(tried) if isinstance(name, str) and name in self.config.platforms]
        logged_in = [name for name in platforms if keys.store.get(self.config.platform(name).url) is not None]
        refused: Verdict | None = None
        for platform in logged_in or [share.borrower_platform]:
            actor, person = keys.actor(platform)
            asked_by_them = actor.same_person(asked_by)
            if share.state == "rejected" and asked_by_them and withdrawn:
                return self._after(share, actor, "withdraw", reason, None)
            if platform == share.borrower_platform:
                course_id, shortname = share.borrower_course_id, share.borrower_course_shortname or ""
            else:
                course_id, shortname = share.owner_course_id, share.owner_course_shortname
            answer = keys.answers(person, actor, [(course_id, shortname)])[course_id] if course_id else None
            verdict = rights.withdraw(share_id=share.id, state=share.state, borrower_platform=share.borrower_platform,
                                      owner_platform=share.owner_platform, actor_platform=actor.platform,
                                      who=actor.label, asked_by_them=asked_by_them, answer=answer)
            if not verdict.allowed:
                refused = refused or verdict
                continue
            self.witnesses.check(share)
            details = {"reason": reason, "by": actor.as_data(), "from_state": share.state,
                       "right": right_data(answer) if answer and not asked_by_them
                       else {"right": "asked", "request_seq": asked[-1].seq}}
            updated, event = self._record(share, "rejected", actor, "withdraw", details)
            return self._after(updated, actor, "withdraw", reason, event)
        assert refused is not None
        raise RuleViolation(refused.reason)

    # -- publish ---------------------------------------------------------------------------------------

    def publish(self, share_id: str, *, borrower_course: str | None = None, dry_run: bool = False) -> PublishResult:
        """Make an approved share real on the platforms, then record it. Safe to re-run after an interruption.

        The borrower's act, with the borrower platform's key: the borrower course is created or labelled with it
        (the platform refuses what the person may not do); the owner's course is labelled with the service's."""
        share = self.get(share_id)
        _refuse(may_publish(self._today(), **self._term()))
        actor, person = self._keys().actor(share.borrower_platform)
        flow = ShareFlow(share.flow)
        owner = self.config.platform(share.owner_platform)
        borrower = self.config.platform(share.borrower_platform)
        owner_client = self.client_for(owner.name, dry_run)
        borrower_client = self._acting(person, borrower.name, dry_run)
        target = None
        if borrower_course or share.borrower_course_id:
            target = find_course(borrower_client, borrower_course or share.borrower_course_id or "")
        answer = self._keys().answers(person, actor, [(target.id, target.shortname)])[target.id] if target else None
        rights.publish(share_id=share.id, state=share.state, borrower_platform=borrower.name,
                       actor_platform=actor.platform, answer=answer).require()
        if share.state != "published":
            _refuse(check_transition(share.state, "published"))
        if not dry_run:
            self.witnesses.check(share)
        source = find_course(owner_client, share.owner_course_id or share.owner_course_shortname)
        label = label_for(flow)
        manual: list[Message] = []
        created = False
        # Publishing shows the borrower course (a linked course may be one a revoke hid); a re-run of a
        # published share leaves its visibility to the borrower platform's administrators.
        show = True if share.state != "published" else None

        if target is not None:
            set_label(borrower_client, borrower, target, label, owner=share.owner_org, visible=show)
            course_id: int | None = target.id
            shortname = target.shortname
            right = right_data(answer)
        else:
            shell = self._shell(share, flow, owner, borrower, source)
            try:
                course_id, created = ensure_course(borrower_client, shell)
            except AccessDeniedError as exc:
                raise RuleViolation(Message("rights.create_refused", platform=borrower.title, who=actor.label,
                                            category=shell.categoryid, moodle=exc.moodle_message)) from exc
            shortname = shell.shortname
            if course_id is not None and not created:
                # Found from an interrupted run: make sure its label and owner are right.
                set_label(borrower_client, borrower, find_course(borrower_client, course_id), label,
                          owner=share.owner_org, visible=show)
            right = {"right": "moodle/course:create", "function": "core_course_create_courses", "platform": borrower.name,
                     "category": shell.categoryid, "course_id": course_id, "created": created}
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
        if share.state == "published":
            return PublishResult(share, course_id, created, manual, [], self._after(share, actor, "publish", "", None))
        details = {"borrower_course_id": course_id, "borrower_course": shortname, "created": created,
                   "label": label.value, "manual_steps": [step.as_data() for step in manual],
                   "by": actor.as_data(), "right": right}
        updated, event = self._record(share, "published", actor, "publish", details, borrower_course_id=course_id,
                                      borrower_course_shortname=shortname)
        return PublishResult(updated, course_id, created, manual, [], self._after(updated, actor, "publish", "", event))

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

    def revoke(self, share_id: str, *, reason: str, dry_run: bool = False,
               last_sync: Callable[[Share], LastSync] | None = None) -> RevokeResult:
        """Only the owner ends a share; the borrower course is hidden and unlabelled, history kept.

        Allowed whatever the agreement's term (a revoke is always allowed). A published share first gets a last
        sync (``last_sync``, unless the caller leaves it out: ``--no-sync``), so that completions made until now
        reach the owner; when it cannot run, nothing is revoked (``LastSyncFailed``); items it could not bring back
        are told in the result and the notice. The owner's
        course is unlabelled with the owner's key; the borrower course is withdrawn with the service's (the
        agreement has the borrower do it)."""
        share = self.get(share_id)
        actor, person, details = self._owner_check(share, "revoke")
        if share.state == "revoked":
            return RevokeResult(share, act=None if dry_run else self._after(share, actor, "revoke", reason, None))
        _refuse(check_transition(share.state, "revoked"))
        if not dry_run:
            self.witnesses.check(share)
        synced: LastSync | None = None
        if last_sync is not None and share.state == "published" and not dry_run:
            try:
                synced = last_sync(share)
            except LockedError as exc:  # another sync run holds the lock: this revoke waits for it too
                raise LastSyncFailed(Message("share.revoke.sync_failed", share=share.id, code=int(ExitCode.LOCKED),
                                             failed=0), ExitCode.LOCKED) from exc
            # Items that failed (exit 4) are told, not a reason to keep a share the owner ends; a sync that could
            # not run (a platform unreachable, the configuration, another run holding the lock) revokes nothing.
            if synced.exit_code not in (ExitCode.OK, ExitCode.PARTIAL):
                raise LastSyncFailed(Message("share.revoke.sync_failed", share=share.id, code=synced.exit_code,
                                             failed=synced.failed), synced.exit_code)
        flow = ShareFlow(share.flow)
        owner = self.config.platform(share.owner_platform)
        borrower = self.config.platform(share.borrower_platform)
        owner_client = self._acting(person, owner.name, dry_run)
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
        details["last_sync"] = synced.as_data() if synced is not None else None
        updated, event = self._record(share, "revoked", actor, "revoke", {"reason": reason, **details})
        unsynced = synced is None and share.state == "published"
        partly = synced is not None and synced.failed > 0
        act = self._after(updated, actor, "revoke", reason, event,
                          learners=LEARNERS_REVOKE_UNSYNCED if unsynced else LEARNERS_REVOKE_PARTLY if partly else "")
        return RevokeResult(updated, act=act, last_sync=synced)


def field_label(profile: PlatformProfile, course: Course) -> str | None:
    """The label the course's select field shows (None when unset)."""
    short = profile.shortname("label")
    custom = course.field(short) if short else None
    if custom is None:
        return None
    found = label_from_field(custom.raw_int, profile.options("label") or [])
    return found.value if found else None
