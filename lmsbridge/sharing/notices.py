"""The texts the agreement makes parties send: downtime/upgrade notices and share requests.

Pure text building (the e-mail transport lives in ``lmsbridge.mail``). Norwegian bokmål unless ``lang``
says English.

* «Nede-tid eller oppgraderinger som kan berøre kursaktivitet hos den andre parten skal varsles den andre
  parten ved systemansvarlig/kontaktpunkter (Sykehuspartner og KS) uten ugrunnet opphold» (seed 002).
* «Helseforetaket sender henvendelse om deling til kslaring@ks.no» (seed 002): the share request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from lmsbridge import i18n
from lmsbridge.domain import CC_BY_SA, ShareFlow
from lmsbridge.errors import InputError
from lmsbridge.sharing.licence import normalise_licence
from lmsbridge.sharing.ownership import DEFAULT_CONTACT_POINT, flow_title, label_for

NoticeKind = Literal["downtime", "upgrade"]

i18n.register(
    {
        "notice.kind.downtime": {"nb": "nedetid", "en": "downtime"},
        "notice.kind.upgrade": {"nb": "oppgradering", "en": "upgrade"},
        "notice.downtime.subject": {
            "nb": "Varsel om {kind}: {affected} {start_day}",
            "en": "Notice of {kind}: {affected} {start_day}",
        },
        "notice.downtime.body": {
            "nb": "Til kontaktpunktet {to}\n\n"
            "{from_party} varsler {kind} som kan berøre kursaktivitet hos dere.\n\n"
            "Berører: {affected}\n"
            "Fra: {start}\n"
            "Til: {end}\n"
            "Varighet: {duration}\n\n"
            "Brukere hos dere kan ikke regne med å få gjennomført eller registrert kursaktivitet på {affected} "
            "i dette tidsrommet. Ta kontakt med avsenderen ved spørsmål.\n\n"
            "Varselet sendes etter pilotavtalen mellom KS og Helse Sør-Øst: nedetid eller oppgraderinger som "
            "kan berøre kursaktivitet hos den andre parten, skal varsles den andre parten ved "
            "systemansvarlig/kontaktpunkter uten ugrunnet opphold.\n",
            "en": "To the contact point {to}\n\n"
            "{from_party} gives notice of {kind} that may affect course activity on your side.\n\n"
            "Affects: {affected}\n"
            "From: {start}\n"
            "To: {end}\n"
            "Duration: {duration}\n\n"
            "Your users cannot count on completing or recording course activity on {affected} during this "
            "period. Contact the sender with any questions.\n\n"
            "This notice is sent under the pilot agreement between KS and Helse Sør-Øst: downtime or upgrades "
            "that may affect course activity at the other party shall be notified to the other party through "
            "the system owners/contact points without undue delay.\n",
        },
        "notice.duration": {"nb": "{hours} t {minutes} min", "en": "{hours} h {minutes} min"},
        "notice.error.no_recipient": {
            "nb": "Varselet mangler mottaker: kontaktpunktet er ikke satt",
            "en": "The notice has no recipient: the contact point is not set",
        },
        "notice.error.naive_time": {
            "nb": "Tidspunktene i varselet må ha tidssone",
            "en": "The notice's times must carry a time zone",
        },
        "notice.error.end_before_start": {
            "nb": "Varselet slutter ({end}) før det begynner ({start})",
            "en": "The notice ends ({end}) before it starts ({start})",
        },
        "request.subject": {
            "nb": "Forespørsel om deling av kurs: {fullname} ({shortname})",
            "en": "Request to share a course: {fullname} ({shortname})",
        },
        "request.intro": {
            "nb": "Til kontaktpunktet for deling {to}\n\nVi ber om at dette kurset deles etter pilotavtalen mellom "
            "KS og Helse Sør-Øst.",
            "en": "To the sharing contact point {to}\n\nWe ask for this course to be shared under the pilot "
            "agreement between KS and Helse Sør-Øst.",
        },
        "request.facts": {
            "nb": "Forespørsel: {share_id}\n"
            "Arbeidsflyt: {flow}\n"
            "Kurs: {fullname} ({shortname}){owner_platform}\n"
            "Eier: {owner_org}\n"
            "Låner: {borrower_org}{borrower_platform}\n"
            "Merking: «{label}»\n"
            "Lisens: {licence}",
            "en": "Request: {share_id}\n"
            "Workflow: {flow}\n"
            "Course: {fullname} ({shortname}){owner_platform}\n"
            "Owner: {owner_org}\n"
            "Borrower: {borrower_org}{borrower_platform}\n"
            "Label: '{label}'\n"
            "Licence: {licence}",
        },
        "request.on_platform": {"nb": " på {platform}", "en": " on {platform}"},
        "request.licence_missing": {"nb": "ikke oppgitt", "en": "not given"},
        "request.resale_borrowed": {
            "nb": "Kurset lånes ut og eies fortsatt av {owner_org}. Det kan ikke selges videre av låneren, med "
            "mindre materialet er under CC BY-SA.",
            "en": "The course is lent and still owned by {owner_org}. The borrower may not resell it unless the "
            "material is CC BY-SA.",
        },
        "request.resale_cc_by_sa": {
            "nb": "Kurset lånes ut og eies fortsatt av {owner_org}. Materialet er under CC BY-SA.",
            "en": "The course is lent and still owned by {owner_org}. The material is CC BY-SA.",
        },
        "request.owner_ends": {
            "nb": "Eier kan når som helst avslutte delingen.",
            "en": "The owner may end the share at any time.",
        },
        "request.reason": {"nb": "Begrunnelse: {reason}", "en": "Reason: {reason}"},
        "request.findings_none": {
            "nb": "Kursinformasjonen oppfyller kravene i avtalen.",
            "en": "The course information meets the agreement's requirements.",
        },
        "request.findings": {
            "nb": "Kontroll av kursinformasjonen: {errors} feil, {warnings} advarsler.",
            "en": "Check of the course information: {errors} errors, {warnings} warnings.",
        },
        "request.severity.error": {"nb": "feil", "en": "error"},
        "request.severity.warning": {"nb": "advarsel", "en": "warning"},
        "request.footer": {
            "nb": "Sendt av lmsbridge på vegne av {sender}.",
            "en": "Sent by lmsbridge on behalf of {sender}.",
        },
    }
)


@dataclass(frozen=True)
class Notice:
    """An e-mail to send: one recipient, a subject and a plain-text body."""

    to: str
    subject: str
    body: str


# --- downtime and upgrades -------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def downtime_notice(
    *,
    from_party: str,
    to_contact_point: str,
    start: datetime,
    end: datetime,
    kind: NoticeKind,
    affected: str,
    lang: str | None = None,
) -> Notice:
    """The notice of downtime or an upgrade to the other party's contact point. Times must be timezone-aware
    and are shown as given (pass them in Europe/Oslo for the sites' users)."""
    lang = i18n.normalise_language(lang) if lang else None
    to = to_contact_point.strip()
    if not to:
        raise InputError(i18n.t("notice.error.no_recipient", lang))
    if start.tzinfo is None or start.utcoffset() is None or end.tzinfo is None or end.utcoffset() is None:
        raise InputError(i18n.t("notice.error.naive_time", lang))
    if end < start:
        raise InputError(i18n.t("notice.error.end_before_start", lang, start=_when(start), end=_when(end)))
    minutes = int((end - start).total_seconds() // 60)
    values = {
        "to": to,
        "from_party": from_party.strip(),
        "kind": i18n.t(f"notice.kind.{kind}", lang),
        "affected": affected.strip(),
        "start": _when(start),
        "end": _when(end),
        "start_day": f"{start:%Y-%m-%d}",
        "duration": i18n.t("notice.duration", lang, hours=minutes // 60, minutes=minutes % 60),
    }
    return Notice(
        to=to,
        subject=i18n.t("notice.downtime.subject", lang, **values),
        body=i18n.t("notice.downtime.body", lang, **values),
    )


# --- share requests --------------------------------------------------------------------------------


class ShareFields(Protocol):
    """What a share request names; the ledger's ``Share`` has these (and ``ShareRequest`` below)."""

    @property
    def id(self) -> object: ...
    @property
    def flow(self) -> str: ...
    @property
    def owner_org(self) -> str: ...
    @property
    def borrower_org(self) -> str: ...
    @property
    def owner_course_shortname(self) -> str | None: ...
    @property
    def owner_platform(self) -> str | None: ...
    @property
    def borrower_platform(self) -> str | None: ...
    @property
    def licence_at_share(self) -> str | None: ...
    @property
    def contact_point(self) -> str | None: ...


@dataclass(frozen=True)
class ShareRequest:
    """A share's fields for callers without a ledger record (tests, dry runs)."""

    id: str
    flow: ShareFlow
    owner_org: str
    borrower_org: str
    owner_course_shortname: str | None = None
    owner_platform: str | None = None
    borrower_platform: str | None = None
    licence_at_share: str | None = None
    contact_point: str | None = DEFAULT_CONTACT_POINT


class FindingSummary(Protocol):
    """One finding of the course-information check (``sharing.requirements.Finding`` fits)."""

    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...


def _finding_line(finding: FindingSummary, lang: str | None) -> str:
    severity = str(finding.severity)
    shown = i18n.t(f"request.severity.{severity}", lang) if i18n.has(f"request.severity.{severity}") else severity
    return f"- [{shown}] {finding.code}" + (f": {finding.message}" if finding.message else "")


def requester(flow: ShareFlow, share: ShareFields) -> str:
    """Who asks: the owning HF when it puts its course into KS Læring; the municipality when it orders a
    course; the HF's local coordinator when it shares a KS course. Only in the first is it the owner."""
    return share.owner_org if flow is ShareFlow.HOSPITAL_TO_KS else share.borrower_org


def share_request_message(
    *,
    share: ShareFields,
    fullname: str = "",
    findings: Sequence[FindingSummary] = (),
    reason: str = "",
    sender: str = "",
    lang: str | None = None,
) -> Notice:
    """The request e-mail to the contact point (kslaring@ks.no unless the share names another): which
    flow, owner, borrower, course, the label to apply and the licence, with the findings of the
    course-information check."""
    lang = i18n.normalise_language(lang) if lang else None
    flow = ShareFlow(share.flow)
    label = label_for(flow)  # the flow decides the label (seed 002), whatever a record says
    to = (share.contact_point or "").strip() or DEFAULT_CONTACT_POINT
    shortname = share.owner_course_shortname or ""
    licence_text = (share.licence_at_share or "").strip()
    licence = normalise_licence(licence_text) or licence_text or i18n.t("request.licence_missing", lang)

    def platform(name: str | None) -> str:
        return i18n.t("request.on_platform", lang, platform=name) if name else ""

    facts = i18n.t(
        "request.facts",
        lang,
        share_id=share.id,
        flow=flow_title(flow, lang),
        fullname=fullname or shortname,
        shortname=shortname,
        owner_platform=platform(share.owner_platform),
        owner_org=share.owner_org,
        borrower_org=share.borrower_org,
        borrower_platform=platform(share.borrower_platform),
        label=label.value,
        licence=licence,
    )
    resale = "request.resale_cc_by_sa" if licence == CC_BY_SA else "request.resale_borrowed"
    parts = [
        i18n.t("request.intro", lang, to=to),
        facts,
        i18n.t(resale, lang, owner_org=share.owner_org) + " " + i18n.t("request.owner_ends", lang),
    ]
    if reason.strip():
        parts.append(i18n.t("request.reason", lang, reason=reason.strip()))
    if findings:
        errors = sum(1 for f in findings if f.severity == "error")
        warnings = sum(1 for f in findings if f.severity == "warning")
        summary = i18n.t("request.findings", lang, errors=errors, warnings=warnings)
        parts.append("\n".join([summary, *(_finding_line(f, lang) for f in findings)]))
    else:
        parts.append(i18n.t("request.findings_none", lang))
    parts.append(i18n.t("request.footer", lang, sender=sender.strip() or requester(flow, share)))
    subject = i18n.t("request.subject", lang, fullname=fullname or shortname, shortname=shortname)
    return Notice(to=to, subject=subject, body="\n\n".join(parts) + "\n")
