"""Ownership, the three share flows, support and the contact point (who may act: ``sharing.rights``).

Source: the agreement (seed 002, «Eierskap til kurs og samarbeidsløsninger», «Brukerstøtte»,
«Bestiller-rutiner/kontaktpunkter»):

* «Kurs som er delt anses som lånt fra den andre parten. Kurs som er delt fra helseforetak i HSØ eies
  fremdeles av helseforetaket. Kurs som er delt fra KS læring eies tilsvarende av kurseier på kommunal
  side» — every share has exactly one owner and one borrower.
* «Eier av kurset kan velge å avslutte delingen av et kurs» — only the owner ends a share.
* «Foretaket ordner delingstillatelser i tråd med etablerte interne rutiner» — approval is the owner's act.
* «All kontakt mot KS Læring skjer via kslaring@ks.no» — one contact point, whatever the flow.
* «kommuneansatte … KS Læring-brukerstøtte … HSØ sine ansatte … Sykehuspartner-brukerstøtte. Dette
  gjelder også for kurs som er delt fra annen part» — support stays where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from lmsbridge.domain import Label, PlatformRole, ShareFlow
from lmsbridge.errors import RuleViolation
from lmsbridge.i18n import N_, Message
from lmsbridge.sharing.verdict import Verdict, organisation_key, verdict

#: «All kontakt mot KS Læring skjer via kslaring@ks.no» (seed 002).
DEFAULT_CONTACT_POINT = "kslaring@ks.no"

#: Who each platform's own users turn to when nobody configured a support address (seed 002, «Brukerstøtte»).
DEFAULT_SUPPORT: dict[PlatformRole, str] = {
    PlatformRole.MUNICIPAL: "KS Læring-brukerstøtte",
    PlatformRole.HOSPITAL: "Sykehuspartner-brukerstøtte",
}


class ShareState(StrEnum):
    """A share's life: requested → approved → published → revoked, or requested → rejected."""

    REQUESTED = "requested"
    APPROVED = "approved"
    PUBLISHED = "published"
    REVOKED = "revoked"
    REJECTED = "rejected"


#: The allowed next states. A revoked or rejected share may be requested again: on the same share (one per
#: course and pair), its history kept.
TRANSITIONS: dict[ShareState, tuple[ShareState, ...]] = {
    ShareState.REQUESTED: (ShareState.APPROVED, ShareState.REJECTED),
    ShareState.APPROVED: (ShareState.PUBLISHED, ShareState.REJECTED),  # withdrawn before it is published
    ShareState.PUBLISHED: (ShareState.REVOKED,),
    ShareState.REVOKED: (ShareState.REQUESTED,),
    ShareState.REJECTED: (ShareState.REQUESTED,),
}

_STATE_VALUES = frozenset(s.value for s in ShareState)

#: Doing these again is a no-op, not an error: a publish interrupted half-way is completed by re-running it.
IDEMPOTENT: frozenset[ShareState] = frozenset({ShareState.PUBLISHED})

#: Which side owns the course in each flow (seed 002: the HF keeps its courses; a KS course stays municipal).
OWNER_ROLE: dict[ShareFlow, PlatformRole] = {
    ShareFlow.HOSPITAL_TO_KS: PlatformRole.HOSPITAL,
    ShareFlow.KS_ORDERS_FROM_HOSPITAL: PlatformRole.HOSPITAL,
    ShareFlow.HOSPITAL_SHARES_KS_COURSE: PlatformRole.MUNICIPAL,
}

#: The label each flow prescribes (seed 002: «Kurset merkes «delt til KS Læring»» / «merkes med «delt fra KS»»).
LABELS: dict[ShareFlow, Label] = {
    ShareFlow.HOSPITAL_TO_KS: Label.SHARED_TO_KS,
    ShareFlow.KS_ORDERS_FROM_HOSPITAL: Label.SHARED_TO_KS,
    ShareFlow.HOSPITAL_SHARES_KS_COURSE: Label.SHARED_FROM_KS,
}


class ShareParties(NamedTuple):
    """Exactly one owner and one borrower, on different platforms."""

    owner_org: str
    owner_role: PlatformRole
    borrower_org: str
    borrower_role: PlatformRole


def other_role(role: PlatformRole) -> PlatformRole:
    return PlatformRole.MUNICIPAL if role is PlatformRole.HOSPITAL else PlatformRole.HOSPITAL


def share_parties(flow: ShareFlow, *, hospital_org: str, municipal_org: str) -> ShareParties:
    """Owner and borrower of a share in ``flow``. Raises ``RuleViolation`` when a party is missing or
    both are the same organisation (a course is lent to *the other* party)."""
    hospital, municipal = " ".join(hospital_org.split()), " ".join(municipal_org.split())
    for role, org in ((PlatformRole.HOSPITAL, hospital), (PlatformRole.MUNICIPAL, municipal)):
        if not org:
            raise RuleViolation(Message("ownership.missing_party", role=role.value))
    if organisation_key(hospital) == organisation_key(municipal):
        raise RuleViolation(Message("ownership.same_party", org=hospital))
    owner_role = OWNER_ROLE[flow]
    if owner_role is PlatformRole.HOSPITAL:
        return ShareParties(hospital, PlatformRole.HOSPITAL, municipal, PlatformRole.MUNICIPAL)
    return ShareParties(municipal, PlatformRole.MUNICIPAL, hospital, PlatformRole.HOSPITAL)


def label_for(flow: ShareFlow) -> Label:
    """The label a course shared in ``flow`` carries."""
    return LABELS[flow]


_FLOW_TITLES = {
    ShareFlow.HOSPITAL_TO_KS: N_("flow.hospital-to-ks"),
    ShareFlow.KS_ORDERS_FROM_HOSPITAL: N_("flow.ks-orders-from-hospital"),
    ShareFlow.HOSPITAL_SHARES_KS_COURSE: N_("flow.hospital-shares-ks-course"),
}


def flow_title(flow: ShareFlow) -> Message:
    """One line naming the flow for people."""
    return Message(_FLOW_TITLES[flow])


def check_transition(current: str, target: str) -> Verdict:
    """May a share in state ``current`` move to ``target``? Re-publishing a published share is a no-op."""
    known = ", ".join(s.value for s in ShareState)
    for state in (current, target):
        if state not in _STATE_VALUES:
            return verdict(False, "transition.unknown_state", state=state, known=known)
    now, then = ShareState(current), ShareState(target)
    if now is then and now in IDEMPOTENT:
        return verdict(True, "transition.idempotent", current=now.value, target=then.value)
    if then in TRANSITIONS[now]:
        return verdict(True, "transition.allowed", current=now.value, target=then.value)
    following: str | Message = ", ".join(s.value for s in TRANSITIONS[now]) or Message("transition.none")
    return verdict(False, "transition.not_allowed", current=now.value, target=then.value, next=following)


def contact_point_for(flow: ShareFlow, agreement_contact_point: str | None = DEFAULT_CONTACT_POINT) -> str:
    """Where the share request goes. «All kontakt mot KS Læring skjer via kslaring@ks.no», and when a
    municipality orders from an HF «Kontaktpunkt for deling er kslaring@ks.no» too: the same address for
    every flow. An empty configured address falls back to the agreement's."""
    del flow  # the agreement names one address for all three flows; kept in the signature on purpose
    return (agreement_contact_point or "").strip() or DEFAULT_CONTACT_POINT


@dataclass(frozen=True)
class SupportRouting:
    """Who supports whom on a share: each side's employees keep their own platform's support."""

    owner_role: PlatformRole
    owner_support: str
    borrower_role: PlatformRole
    borrower_support: str

    def for_employee(self, employer_role: PlatformRole) -> str:
        """The support an employee of a ``employer_role`` organisation uses, on either platform's course."""
        return self.owner_support if employer_role is self.owner_role else self.borrower_support


def support_for(employer_role: PlatformRole, *, municipal_support: str = "", hospital_support: str = "") -> str:
    """Municipal employees → KS Læring's support; hospital employees → the hospital's (Sykehuspartner)."""
    configured = municipal_support if employer_role is PlatformRole.MUNICIPAL else hospital_support
    return configured.strip() or DEFAULT_SUPPORT[employer_role]


def support_routing(
    *,
    owner_role: PlatformRole,
    borrower_role: PlatformRole,
    owner_support: str = "",
    borrower_support: str = "",
) -> SupportRouting:
    """Support on a share «gjelder også for kurs som er delt fra annen part»: nothing moves. The owner's
    employees use the owner platform's support, the borrower's employees the borrower platform's, also on
    the borrowed course. Empty addresses fall back to the agreement's named services."""
    if owner_role is borrower_role:
        raise RuleViolation(Message("ownership.same_role", role=owner_role.value))
    return SupportRouting(
        owner_role=owner_role,
        owner_support=owner_support.strip() or DEFAULT_SUPPORT[owner_role],
        borrower_role=borrower_role,
        borrower_support=borrower_support.strip() or DEFAULT_SUPPORT[borrower_role],
    )
