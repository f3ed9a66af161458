"""The agreement's term as configured, and the reminder to renew it.

«Pilotavtale KS/HSØ trer i kraft fra 1.7.2016 … Varighet: ett år, må deretter fornyes» (seed 002). The rule
is ``sharing.term`` (pure); here it is read from ``[agreement]`` (start, term_months, renewals, warn_days).
``doctor`` and ``share request`` warn from ``warn_days`` (60) days before the term ends; ``notify renewal``
writes the reminder to both parties' contact points; after the end, requests are refused
(``sharing.term.may_request``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lmsbridge import i18n
from lmsbridge.config import Config
from lmsbridge.domain import PlatformRole
from lmsbridge.ledger import Ledger
from lmsbridge.mail import Mailer
from lmsbridge.sharing.notices import renewal_notice
from lmsbridge.sharing.term import TermStatus, term_status
from lmsbridge.workflows.notices import NoticeWritten, deliver_notice, operator_actor


def agreement_status(config: Config, today: date) -> TermStatus:
    """Where ``today`` stands in the configured agreement (``status.expiring`` within ``warn_days``)."""
    agreement = config.agreement
    return term_status(today, start=agreement.start, term_months=agreement.term_months,
                       renewals=agreement.renewals, warn_days=agreement.warn_days)


@dataclass(frozen=True)
class ContactPoint:
    """One party's contact point for the agreement (seed 002: «Kontaktpunkter», Sykehuspartner and KS)."""

    party: str
    address: str


def contact_points(config: Config) -> list[ContactPoint]:
    """Both parties' contact points: each role's platforms' ``contact_point`` (KS Læring's falls back to
    ``[agreement] contact_point``), each address once, municipal side first."""
    out: dict[str, ContactPoint] = {}
    for role in (PlatformRole.MUNICIPAL, PlatformRole.HOSPITAL):
        for profile in config.platforms_by_role(role):
            fallback = config.agreement.contact_point if role is PlatformRole.MUNICIPAL else ""
            address = (profile.contact_point or fallback).strip()
            if address and address.casefold() not in out:
                out[address.casefold()] = ContactPoint(profile.organisation, address)
    if not out:
        address = config.agreement.contact_point.strip()
        out[address.casefold()] = ContactPoint("KS", address)
    return list(out.values())


def send_renewal_reminders(config: Config, ledger: Ledger, mailer: Mailer, *, today: date,
                           when: datetime) -> tuple[TermStatus, list[NoticeWritten]]:
    """The renewal reminder to every contact point, once per term and address (logged as ``notice`` events)."""
    status = agreement_status(config, today)
    sender = config.operator.organisation or config.operator.name or "lmsbridge"
    written = []
    for point in contact_points(config):
        notice = renewal_notice(to_contact_point=point.address, from_party=sender, status=status,
                                lang=i18n.language())
        key = f"notice-renewal-{status.current_term_end.isoformat()}-{point.address}"
        written.append(deliver_notice(
            ledger=ledger, mailer=mailer, notice=notice, kind="renewal", key=key, actor=operator_actor(config),
            when=when, details={"party": point.party, "term_end": status.current_term_end.isoformat(),
                                "days_left": status.days_left},
        ))
    return status, written


__all__ = ["ContactPoint", "agreement_status", "contact_points", "send_renewal_reminders"]
