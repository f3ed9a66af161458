"""The texts the agreement makes parties send: downtime/upgrade notices and share requests.

Pure text building (the e-mail transport lives in ``lmsbridge.mail``). Norwegian bokmål unless ``lang``
says English.

* «Nede-tid eller oppgraderinger som kan berøre kursaktivitet hos den andre parten skal varsles den andre
  parten ved systemansvarlig/kontaktpunkter (Sykehuspartner og KS) uten ugrunnet opphold» (seed 002).
* «Helseforetaket sender henvendelse om deling til kslaring@ks.no» (seed 002): the share request.
* «Varighet: ett år, må deretter fornyes» (seed 002): the reminder to renew the agreement.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from lmsbridge import i18n
from lmsbridge.domain import CC_BY_SA, ShareFlow
from lmsbridge.errors import InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.sharing.licence import normalise_licence
from lmsbridge.sharing.ownership import DEFAULT_CONTACT_POINT, flow_title, label_for
from lmsbridge.sharing.term import TermStatus

NoticeKind = Literal["downtime", "upgrade"]


@dataclass(frozen=True)
class Notice:
    """An e-mail to send: one recipient, a subject and a plain-text body."""

    to: str
    subject: str
    body: str


#: The longest header text written (RFC 5322 allows 998 characters a line; a subject is read in a list).
MAX_HEADER_TEXT = 200
_LINE_BREAKS = {0x2028, 0x2029}  # LINE SEPARATOR and PARAGRAPH SEPARATOR: breaks lines, not Cc


def header_text(value: str, limit: int = MAX_HEADER_TEXT) -> str:
    """Text that is safe in an e-mail header (a subject, a name): every control character (CR and LF
    included: a course's full name may hold one) becomes a space, runs of spaces become one, and the text is
    cut to ``limit`` characters with «…». Never fails, so a notice is written whatever the name holds."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" or ord(ch) in _LINE_BREAKS else ch for ch in value)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


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
        raise InputError(Message("notice.error.no_recipient"))
    if start.tzinfo is None or start.utcoffset() is None or end.tzinfo is None or end.utcoffset() is None:
        raise InputError(Message("notice.error.naive_time"))
    if end < start:
        raise InputError(Message("notice.error.end_before_start", start=_when(start), end=_when(end)))
    minutes = int((end - start).total_seconds() // 60)
    values = {
        "to": to,
        "from_party": from_party.strip(),
        "kind": i18n.t(_NOTICE_KINDS[kind], lang),
        "affected": affected.strip(),
        "start": _when(start),
        "end": _when(end),
        "start_day": f"{start:%Y-%m-%d}",
        "duration": i18n.t("notice.duration", lang, hours=minutes // 60, minutes=minutes % 60),
    }
    return Notice(
        to=to,
        subject=header_text(i18n.t("notice.downtime.subject", lang, **values)),
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
    def message(self) -> Message: ...


_SEVERITIES = {"error": N_("request.severity.error"), "warning": N_("request.severity.warning")}
_NOTICE_KINDS = {"downtime": N_("notice.kind.downtime"), "upgrade": N_("notice.kind.upgrade")}


def _finding_line(finding: FindingSummary, lang: str | None) -> str:
    severity = str(finding.severity)
    code = _SEVERITIES.get(severity)
    shown = i18n.t(code, lang) if code else severity
    text = finding.message.render(lang)
    return f"- [{shown}] {finding.code}" + (f": {text}" if text else "")


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
    titles: Mapping[str, str] | None = None,
) -> Notice:
    """The request e-mail to the contact point (kslaring@ks.no unless the share names another): which
    flow, owner, borrower, course, the label to apply and the licence, with the findings of the
    course-information check, the reason given and who sends it. ``titles``: each platform's title
    («KS Læring»), which the e-mail names instead of the configuration's key («ks»)."""
    lang = i18n.normalise_language(lang) if lang else None
    flow = ShareFlow(share.flow)
    label = label_for(flow)  # the flow decides the label (seed 002), whatever a record says
    to = (share.contact_point or "").strip() or DEFAULT_CONTACT_POINT
    shortname = share.owner_course_shortname or ""
    licence_text = (share.licence_at_share or "").strip()
    licence = normalise_licence(licence_text) or licence_text or i18n.t("request.licence_missing", lang)

    def platform(name: str | None) -> str:
        return i18n.t("request.on_platform", lang, platform=(titles or {}).get(name, name)) if name else ""

    facts = i18n.t(
        "request.facts",
        lang,
        share_id=share.id,
        flow=flow_title(flow).render(lang),
        fullname=fullname or shortname,
        shortname=shortname,
        owner_platform=platform(share.owner_platform),
        owner_org=share.owner_org,
        borrower_org=share.borrower_org,
        borrower_platform=platform(share.borrower_platform),
        label=label.value,
        licence=licence,
    )
    resale = N_("request.resale_cc_by_sa") if licence == CC_BY_SA else N_("request.resale_borrowed")
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
    subject = header_text(i18n.t("request.subject", lang, fullname=fullname or shortname, shortname=shortname))
    return Notice(to=to, subject=subject, body="\n\n".join(parts) + "\n")


# --- renewal of the agreement --------------------------------------------------------------------------


def renewal_notice(*, to_contact_point: str, from_party: str, status: TermStatus, lang: str | None = None) -> Notice:
    """The reminder that the agreement must be renewed: «Varighet: ett år, må deretter fornyes» (seed 002).

    Says when the term ends and how many days are left (or that it has lapsed), and what renewing means for
    lmsbridge (the date goes into ``[agreement] renewals``)."""
    lang = i18n.normalise_language(lang) if lang else None
    to = to_contact_point.strip()
    if not to:
        raise InputError(Message("notice.error.no_recipient"))
    values = {"to": to, "from_party": from_party.strip(), "start": status.current_term_start.isoformat(),
              "end": status.current_term_end.isoformat(), "days_left": status.days_left,
              "state": status.message.render(lang)}
    return Notice(
        to=to,
        subject=i18n.t("notice.renewal.subject", lang, **values),
        body=i18n.t("notice.renewal.body", lang, **values),
    )
