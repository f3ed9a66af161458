"""Notices the agreement makes the parties send: downtime/upgrades and share requests (seed 002)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from lmsbridge import i18n
from lmsbridge.domain import ShareFlow
from lmsbridge.errors import InputError
from lmsbridge.i18n import Message
from lmsbridge.sharing.notices import Notice, ShareRequest, downtime_notice, share_request_message

OSLO_WINTER = timezone(timedelta(hours=1))
START = datetime(2025, 3, 1, 22, 0, tzinfo=OSLO_WINTER)
END = datetime(2025, 3, 2, 1, 30, tzinfo=OSLO_WINTER)


# «Nede-tid eller oppgraderinger som kan berøre kursaktivitet hos den andre parten skal varsles den andre
# parten ved systemansvarlig/kontaktpunkter (Sykehuspartner og KS) uten ugrunnet opphold.»
def test_downtime_notice_in_norwegian() -> None:
    notice = downtime_notice(
        from_party="Sykehuspartner",
        to_contact_point=" kslaring@ks.no ",
        start=START,
        end=END,
        kind="downtime",
        affected="Læringsportalen Helse Sør-Øst",
    )
    assert notice == Notice(to="kslaring@ks.no", subject=notice.subject, body=notice.body)
    assert notice.subject == "Varsel om nedetid: Læringsportalen Helse Sør-Øst 2025-03-01"
    assert "Sykehuspartner varsler nedetid som kan berøre kursaktivitet hos dere." in notice.body
    assert "Fra: 2025-03-01 22:00 (UTC+01:00)" in notice.body
    assert "Til: 2025-03-02 01:30 (UTC+01:00)" in notice.body
    assert "Varighet: 3 t 30 min" in notice.body
    assert "uten ugrunnet opphold" in notice.body


def test_upgrade_notice_in_english() -> None:
    notice = downtime_notice(
        from_party="KS",
        to_contact_point="kundesenter@sykehuspartner.no",
        start=START,
        end=START + timedelta(hours=2),
        kind="upgrade",
        affected="KS Læring",
        lang="en",
    )
    assert notice.to == "kundesenter@sykehuspartner.no"
    assert notice.subject == "Notice of upgrade: KS Læring 2025-03-01"
    assert "KS gives notice of upgrade that may affect course activity on your side." in notice.body
    assert "Duration: 2 h 0 min" in notice.body
    assert "without undue delay" in notice.body


@pytest.mark.parametrize(
    ("to", "start", "end"),
    [
        ("", START, END),
        ("kslaring@ks.no", START.replace(tzinfo=None), END),
        ("kslaring@ks.no", START, END.replace(tzinfo=None)),
        ("kslaring@ks.no", END, START),
    ],
    ids=["no recipient", "naive start", "naive end", "ends before it starts"],
)
def test_a_notice_that_cannot_be_sent_is_refused(to: str, start: datetime, end: datetime) -> None:
    with pytest.raises(InputError):
        downtime_notice(from_party="KS", to_contact_point=to, start=start, end=end, kind="downtime", affected="x")


# «Helseforetaket sender henvendelse om deling til kslaring@ks.no» — «Kurset merkes «delt til KS Læring»».


@dataclass(frozen=True)
class Finding:
    """Shaped like sharing.requirements.Finding."""

    code: str
    severity: str
    item: str
    message: Message


def _share(flow: ShareFlow, **overrides: str) -> ShareRequest:
    hospital, municipal = "Helse Bergen HF", "Bergen kommune"
    owner, borrower = (municipal, hospital) if flow is ShareFlow.HOSPITAL_SHARES_KS_COURSE else (hospital, municipal)
    fields = {
        "id": "S-0001",
        "flow": flow,
        "owner_org": owner,
        "borrower_org": borrower,
        "owner_course_shortname": "HBHF-BRANN-03",
        "owner_platform": "lp-bergen",
        "borrower_platform": "ks",
        "licence_at_share": "Alle rettigheter reservert",
    }
    fields.update(overrides)
    return ShareRequest(**fields)  # type: ignore[arg-type]


def test_share_request_names_everything_the_contact_point_needs() -> None:
    notice = share_request_message(
        share=_share(ShareFlow.HOSPITAL_TO_KS),
        fullname="Brannvern – årlig repetisjon",
        findings=[Finding("courseinfo.time_needed.vague", "warning", "time_needed", Message.text("Tidsbruk er uklar"))],
        reason="Kommunene har bedt om kurset",
    )
    assert notice.to == "kslaring@ks.no"
    assert notice.subject == "Forespørsel om deling av kurs: Brannvern – årlig repetisjon (HBHF-BRANN-03)"
    body = notice.body
    for line in [
        "Til kontaktpunktet for deling kslaring@ks.no",
        "Forespørsel: S-0001",
        "Arbeidsflyt: Helseforetaket legger sitt kurs ut i KS Læring",
        "Kurs: Brannvern – årlig repetisjon (HBHF-BRANN-03) på lp-bergen",
        "Eier: Helse Bergen HF",
        "Låner: Bergen kommune på ks",
        "Merking: «delt til KS Læring»",
        "Lisens: Alle rettigheter reservert",
        "Det kan ikke selges videre av låneren, med mindre materialet er under CC BY-SA.",
        "Eier kan når som helst avslutte delingen.",
        "Begrunnelse: Kommunene har bedt om kurset",
        "Kontroll av kursinformasjonen: 0 feil, 1 advarsler.",
        "- [advarsel] courseinfo.time_needed.vague: Tidsbruk er uklar",
        "Sendt av lmsbridge på vegne av Helse Bergen HF.",
    ]:
        assert line in body, line


FLOWS = [
    # flow, label line, who asks
    (ShareFlow.HOSPITAL_TO_KS, "Merking: «delt til KS Læring»", "på vegne av Helse Bergen HF"),
    (ShareFlow.KS_ORDERS_FROM_HOSPITAL, "Merking: «delt til KS Læring»", "på vegne av Bergen kommune"),
    (ShareFlow.HOSPITAL_SHARES_KS_COURSE, "Merking: «delt fra KS»", "på vegne av Helse Bergen HF"),
]


@pytest.mark.parametrize(("flow", "label_line", "sender"), FLOWS, ids=[f.value for f, _, _ in FLOWS])
def test_share_request_per_flow(flow: ShareFlow, label_line: str, sender: str) -> None:
    notice = share_request_message(share=_share(flow), fullname="Brannvern")
    assert label_line in notice.body
    assert sender in notice.body
    assert "Kursinformasjonen oppfyller kravene i avtalen." in notice.body


def test_share_request_in_english_with_a_cc_by_sa_course_and_another_contact_point() -> None:
    share = _share(ShareFlow.HOSPITAL_SHARES_KS_COURSE, licence_at_share="cc by-sa 4.0", contact_point="deling@ks.no")
    notice = share_request_message(
        share=share,
        fullname="Velferdsteknologi",
        findings=[Finding("courseinfo.goals.missing", "error", "goals", Message.text(""))],
        lang="en",
    )
    assert notice.to == "deling@ks.no"
    assert notice.subject == "Request to share a course: Velferdsteknologi (HBHF-BRANN-03)"
    assert "Workflow: The hospital trust shares a KS Læring course (a link in the Læringsportal)" in notice.body
    assert "Label: 'delt fra KS'" in notice.body
    assert "Licence: CC BY-SA" in notice.body
    assert "The material is CC BY-SA." in notice.body
    assert "Check of the course information: 1 errors, 0 warnings." in notice.body
    assert "- [error] courseinfo.goals.missing\n" in notice.body


def test_share_request_follows_the_current_language_and_says_when_no_licence_is_given() -> None:
    i18n.set_language("en")
    try:
        notice = share_request_message(share=_share(ShareFlow.HOSPITAL_TO_KS, licence_at_share=""))
    finally:
        i18n.set_language(None)
    assert "Licence: not given" in notice.body
    assert "Course: HBHF-BRANN-03 (HBHF-BRANN-03)" in notice.body
