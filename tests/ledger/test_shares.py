"""Shares: ids, the request key that makes a repeated request find the same share, and the state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lmsbridge.domain import Label, ShareFlow
from lmsbridge.errors import LedgerError, RuleViolation
from lmsbridge.ledger import (
    SHARE_STATES,
    SHARE_TRANSITIONS,
    Ledger,
    LedgerConstraintError,
    LedgerNotFoundError,
    Share,
    ShareStateError,
)
from lmsbridge.sharing.ownership import TRANSITIONS
from tests.ledger.support import NOW, new_share

# The road to each state from a new share.
ROAD = {
    "requested": [],
    "approved": ["approved"],
    "published": ["approved", "published"],
    "revoked": ["approved", "published", "revoked"],
    "rejected": ["rejected"],
}


def share_in(ledger: Ledger, state: str) -> Share:
    share = new_share(ledger)
    for step in ROAD[state]:
        share = ledger.update_share_state(share.id, step)
    assert share.state == state
    return share


def test_the_ledger_and_the_agreement_rules_agree_on_the_transitions() -> None:
    assert {k: frozenset(v) for k, v in TRANSITIONS.items()} == SHARE_TRANSITIONS


def test_a_new_share_is_requested_with_the_next_id(ledger: Ledger) -> None:
    first = new_share(ledger, "k1")
    second = new_share(ledger, "k2", flow=ShareFlow.HOSPITAL_SHARES_KS_COURSE, label=Label.SHARED_FROM_KS)
    assert (first.id, second.id) == ("S-0001", "S-0002")
    assert first.state == "requested" and first.flow is ShareFlow.HOSPITAL_TO_KS
    assert second.label == "delt fra KS"
    assert first.created_at == first.updated_at == NOW
    assert first.borrower_course_id is None and first.borrower_course_shortname is None
    assert ledger.get_share("S-0001") == first
    with pytest.raises(Exception, match="frozen"):
        first.state = "approved"  # type: ignore[misc]


def test_a_repeated_request_finds_the_share_instead_of_making_a_second(ledger: Ledger) -> None:
    share = new_share(ledger, "hospital-to-ks:lp:5:ks")
    assert ledger.find_share_by_request_key("hospital-to-ks:lp:5:ks") == share
    assert ledger.find_share_by_request_key("nothing") is None
    with pytest.raises(LedgerConstraintError, match="S-0001"):
        new_share(ledger, "hospital-to-ks:lp:5:ks")
    assert len(ledger.list_shares()) == 1


def test_list_shares_filters_by_state_and_platform(ledger: Ledger) -> None:
    new_share(ledger, "a")
    new_share(ledger, "b", owner_platform="ks", borrower_platform="lp2")
    ledger.update_share_state("S-0002", "approved")
    assert [s.id for s in ledger.list_shares()] == ["S-0001", "S-0002"]
    assert [s.id for s in ledger.list_shares(state="approved")] == ["S-0002"]
    assert [s.id for s in ledger.list_shares(platform="lp")] == ["S-0001"]
    assert [s.id for s in ledger.list_shares(platform="ks")] == ["S-0001", "S-0002"]
    assert ledger.list_shares(state="revoked") == []


ALL_MOVES = [(current, target) for current in SHARE_STATES for target in SHARE_STATES]


@pytest.mark.parametrize(("current", "target"), ALL_MOVES, ids=[f"{c}->{t}" for c, t in ALL_MOVES])
def test_only_the_agreed_transitions_are_allowed(ledger: Ledger, current: str, target: str) -> None:
    share = share_in(ledger, current)
    if target in SHARE_TRANSITIONS[share.state]:
        moved = ledger.update_share_state(share.id, target, now=NOW + timedelta(hours=1))
        assert (moved.state, moved.updated_at, moved.created_at) == (target, NOW + timedelta(hours=1), NOW)
    else:
        with pytest.raises(ShareStateError) as caught:
            ledger.update_share_state(share.id, target)
        assert isinstance(caught.value, LedgerError) and isinstance(caught.value, RuleViolation)
        assert (caught.value.current, caught.value.target) == (current, target)
        assert share.id in str(caught.value)
        assert ledger.require_share(share.id).state == current


def test_publishing_records_the_borrowers_course_in_the_same_write(ledger: Ledger) -> None:
    share = share_in(ledger, "approved")
    published = ledger.update_share_state(share.id, "published", borrower_course_id=42,
                                           borrower_course_shortname="KS-HBHF-SMITTE-01")
    assert (published.borrower_course_id, published.borrower_course_shortname) == (42, "KS-HBHF-SMITTE-01")
    relinked = ledger.set_borrower_course(share.id, 43, "KS-HBHF-SMITTE-01b")
    assert (relinked.state, relinked.borrower_course_id) == ("published", 43)


def test_only_the_borrowers_course_may_change_with_the_state(ledger: Ledger) -> None:
    share = new_share(ledger)
    with pytest.raises(LedgerError, match="owner_org"):
        ledger.update_share_state(share.id, "approved", owner_org="Someone else")  # type: ignore[call-arg]
    with pytest.raises(LedgerError, match="unknown share state"):
        ledger.update_share_state(share.id, "lent")


def test_an_unknown_share_is_named(ledger: Ledger) -> None:
    with pytest.raises(LedgerNotFoundError, match="S-0404"):
        ledger.update_share_state("S-0404", "approved")
    with pytest.raises(LedgerNotFoundError, match="S-0404"):
        ledger.set_borrower_course("S-0404", 1, "x")
    assert ledger.get_share("S-0404") is None
