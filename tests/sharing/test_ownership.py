"""Ownership, flows, transitions, support and contact point — as the agreement (seed 002) says (who may act:
tests/sharing/test_rights.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lmsbridge.domain import Label, PlatformRole, ShareFlow
from lmsbridge.errors import RuleViolation
from lmsbridge.sharing.ownership import (
    DEFAULT_CONTACT_POINT,
    ShareParties,
    ShareState,
    check_transition,
    contact_point_for,
    label_for,
    share_parties,
    support_for,
    support_routing,
)

HOSPITAL = PlatformRole.HOSPITAL
MUNICIPAL = PlatformRole.MUNICIPAL
HF = "Helse Bergen HF"
KOMMUNE = "Bergen kommune"

# «Kurs som er delt fra helseforetak i HSØ eies fremdeles av helseforetaket. Kurs som er delt fra KS
# læring eies tilsvarende av kurseier på kommunal side.»
PARTIES = [
    (ShareFlow.HOSPITAL_TO_KS, (HF, HOSPITAL, KOMMUNE, MUNICIPAL)),
    (ShareFlow.KS_ORDERS_FROM_HOSPITAL, (HF, HOSPITAL, KOMMUNE, MUNICIPAL)),
    (ShareFlow.HOSPITAL_SHARES_KS_COURSE, (KOMMUNE, MUNICIPAL, HF, HOSPITAL)),
]


@pytest.mark.parametrize(("flow", "expected"), PARTIES, ids=[f.value for f, _ in PARTIES])
def test_every_share_has_one_owner_and_one_borrower(flow: ShareFlow, expected: tuple[str, ...]) -> None:
    parties = share_parties(flow, hospital_org=HF, municipal_org=KOMMUNE)
    assert parties == expected
    assert isinstance(parties, ShareParties)
    assert parties.owner_role is not parties.borrower_role
    assert parties.owner_org != parties.borrower_org


@pytest.mark.parametrize(
    ("hospital_org", "municipal_org"),
    [("", KOMMUNE), (HF, "   "), ("Helse Bergen HF", " helse  bergen hf ")],
    ids=["no hospital", "no municipality", "same organisation"],
)
def test_a_share_without_two_parties_is_refused(hospital_org: str, municipal_org: str) -> None:
    with pytest.raises(RuleViolation):
        share_parties(ShareFlow.HOSPITAL_TO_KS, hospital_org=hospital_org, municipal_org=municipal_org)


def test_party_names_are_trimmed() -> None:
    parties = share_parties(ShareFlow.HOSPITAL_TO_KS, hospital_org="  Helse Bergen  HF ", municipal_org=KOMMUNE)
    assert parties.owner_org == "Helse Bergen HF"


# «Kurset merkes «delt til KS Læring»» / «Kurset merkes med «delt fra KS»».
LABELS = [
    (ShareFlow.HOSPITAL_TO_KS, Label.SHARED_TO_KS),
    (ShareFlow.KS_ORDERS_FROM_HOSPITAL, Label.SHARED_TO_KS),
    (ShareFlow.HOSPITAL_SHARES_KS_COURSE, Label.SHARED_FROM_KS),
]


@pytest.mark.parametrize(("flow", "label"), LABELS, ids=[f.value for f, _ in LABELS])
def test_each_flow_has_its_label(flow: ShareFlow, label: Label) -> None:
    assert label_for(flow) is label


# requested → approved → published → revoked; requested → rejected; re-publish is a no-op; a revoked or
# rejected share is requested again on its own line (issue 12: one share per course and pair).
TRANSITIONS = [
    ("revoked", "requested", True, "transition.allowed"),
    ("rejected", "requested", True, "transition.allowed"),
    ("requested", "approved", True, "transition.allowed"),
    ("requested", "rejected", True, "transition.allowed"),
    ("approved", "published", True, "transition.allowed"),
    ("published", "revoked", True, "transition.allowed"),
    ("published", "published", True, "transition.idempotent"),
    ("requested", "published", False, "transition.not_allowed"),
    ("requested", "revoked", False, "transition.not_allowed"),
    ("approved", "rejected", True, "transition.allowed"),  # withdrawn before it is published (issue 14)
    ("approved", "requested", False, "transition.not_allowed"),
    ("rejected", "approved", False, "transition.not_allowed"),
    ("revoked", "published", False, "transition.not_allowed"),
    ("revoked", "revoked", False, "transition.not_allowed"),
    ("published", "archived", False, "transition.unknown_state"),
    ("draft", "requested", False, "transition.unknown_state"),
]


@pytest.mark.parametrize(("current", "target", "allowed", "code"), TRANSITIONS)
def test_share_state_transitions(current: str, target: str, allowed: bool, code: str) -> None:
    verdict = check_transition(current, target)
    assert (verdict.allowed, verdict.code) == (allowed, code)


def test_transition_accepts_the_enum_and_says_what_could_come_next() -> None:
    assert check_transition(ShareState.APPROVED, ShareState.PUBLISHED).allowed
    refused = check_transition("requested", "published")
    assert refused.reason == "En deling som er «requested» kan ikke bli «published» (mulig neste: approved, rejected)"
    assert "mulig neste: requested" in check_transition("revoked", "published").reason


# «All kontakt mot KS Læring skjer via kslaring@ks.no» — for every flow.
@pytest.mark.parametrize("flow", list(ShareFlow))
@pytest.mark.parametrize(
    ("configured", "expected"),
    [(None, "kslaring@ks.no"), ("", "kslaring@ks.no"), (" deling@ks.no ", "deling@ks.no")],
)
def test_one_contact_point_for_every_flow(flow: ShareFlow, configured: str | None, expected: str) -> None:
    assert contact_point_for(flow, configured) == expected
    assert contact_point_for(flow) == DEFAULT_CONTACT_POINT == "kslaring@ks.no"


# «kommuneansatte … KS Læring-brukerstøtte … HSØ sine ansatte … Sykehuspartner-brukerstøtte. Dette gjelder
# også for kurs som er delt fra annen part.»
SUPPORT = [
    (MUNICIPAL, "", "", "KS Læring-brukerstøtte"),
    (HOSPITAL, "", "", "Sykehuspartner-brukerstøtte"),
    (MUNICIPAL, "support@kslaring.no", "kundesenter@sykehuspartner.no", "support@kslaring.no"),
    (HOSPITAL, "support@kslaring.no", "kundesenter@sykehuspartner.no", "kundesenter@sykehuspartner.no"),
]


@pytest.mark.parametrize(("employer", "municipal", "hospital", "expected"), SUPPORT)
def test_support_follows_the_employee(employer: PlatformRole, municipal: str, hospital: str, expected: str) -> None:
    assert support_for(employer, municipal_support=municipal, hospital_support=hospital) == expected


@pytest.mark.parametrize(("flow", "parties"), PARTIES, ids=[f.value for f, _ in PARTIES])
def test_support_stays_where_it_was_on_a_shared_course(flow: ShareFlow, parties: tuple[str, ...]) -> None:
    owner_role, borrower_role = parties[1], parties[3]
    assert isinstance(owner_role, PlatformRole) and isinstance(borrower_role, PlatformRole)
    addresses = {MUNICIPAL: "support@kslaring.no", HOSPITAL: "kundesenter@sykehuspartner.no"}
    routing = support_routing(
        owner_role=owner_role,
        borrower_role=borrower_role,
        owner_support=addresses[owner_role],
        borrower_support=addresses[borrower_role],
    )
    # Whoever owns the course: municipal staff go to KS Læring, hospital staff to Sykehuspartner.
    assert routing.for_employee(MUNICIPAL) == "support@kslaring.no"
    assert routing.for_employee(HOSPITAL) == "kundesenter@sykehuspartner.no"


def test_support_routing_fills_in_the_agreements_services() -> None:
    routing = support_routing(owner_role=HOSPITAL, borrower_role=MUNICIPAL)
    assert (routing.owner_support, routing.borrower_support) == (
        "Sykehuspartner-brukerstøtte",
        "KS Læring-brukerstøtte",
    )
    with pytest.raises(RuleViolation):
        support_routing(owner_role=HOSPITAL, borrower_role=HOSPITAL)


# --- purity: no clock, no files, no network in the rules ------------------------------------------

RULES = Path(__file__).resolve().parents[2] / "lmsbridge" / "sharing"
MINE = ["verdict.py", "ownership.py", "labels.py", "licence.py", "term.py", "notices.py", "rights.py", "receipts.py"]
IMPURE_CALLS = {"now", "today", "utcnow", "time", "open", "read_text", "urlopen", "getenv"}


@pytest.mark.parametrize("name", MINE)
def test_rules_read_no_clock_and_do_no_io(name: str) -> None:
    tree = ast.parse((RULES / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            assert called not in IMPURE_CALLS, f"{name}:{node.lineno} calls {called}()"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            assert not {"os", "time", "socket", "sqlite3", "requests", "pathlib"} & {str(n) for n in names}
