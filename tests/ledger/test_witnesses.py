"""The receipts' format and what they say about a ledger (pure functions; over the sandbox:
tests/workflows/test_owner_acts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger
from lmsbridge.ledger.witnesses import (
    EventRef,
    Found,
    Holder,
    Receipt,
    ShareCourses,
    check_witnesses,
    parse_receipts,
    with_receipt,
)
from tests.ledger.support import LEARNER, new_share

H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64
LP, KS = Holder("lp", 5, "HBHF-SMITTE-01"), Holder("ks", 9, "KSL-HBHF-SMITTE-01")
EVENTS = {1: EventRef(1, "S-0001", "request", H1), 2: EventRef(2, "S-0001", "approve", H2),
          3: EventRef(3, "S-0001", "publish", H3)}
SHARES = [ShareCourses("S-0001", (LP, KS))]


def test_one_receipt_per_share_on_a_course_and_the_rest_kept() -> None:
    text = with_receipt("", Receipt("S-0002", "request", 7, H1))
    text = with_receipt(text, Receipt("S-0001", "approve", 2, H2))
    text = with_receipt(text, Receipt("S-0001", "publish", 3, H3))
    assert text == f"S-0001 publish #3 {H3}; S-0002 request #7 {H1}"
    assert parse_receipts(text) == [Receipt("S-0001", "publish", 3, H3), Receipt("S-0002", "request", 7, H1)]
    assert parse_receipts("written by hand; S-1 x") == [] and parse_receipts(None) == []


def check(*found: Found, events: dict[int, EventRef] = EVENTS, shares: list[ShareCourses] = SHARES) -> set[str]:
    heads = {"S-0001": events[max(events)]} if events and shares else {}
    report = check_witnesses(list(found), shares=shares, heads=heads, events=events, last_seq=max(events, default=0),
                             platforms=["lp", "ks"])
    assert report.ok == (not report.problems)
    return {f"{p.code} {p.platform}" for p in report.problems}


def test_what_each_disagreement_is_called() -> None:
    good = Receipt("S-0001", "publish", 3, H3)
    assert check(Found(LP, (good,)), Found(KS, (good,))) == set()
    assert check(Found(LP, (good,)), Found(KS, (Receipt("S-0001", "publish", 3, "f" * 64),))) == {"witness.rewritten ks"}
    cut = {k: v for k, v in EVENTS.items() if k < 3}
    assert check(Found(LP, (good,)), Found(KS, (good,)), events=cut) == {"witness.beyond lp", "witness.beyond ks"}
    assert check(Found(LP, (good,)), Found(KS, (good,)), events={}, shares=[]) == {"witness.share_missing lp",
                                                                                    "witness.share_missing ks"}
    old = Receipt("S-0001", "approve", 2, H2)
    assert check(Found(LP, (old,)), Found(KS, (good,))) == {"witness.unwitnessed lp"}
    assert check(Found(LP, (good,))) == {"witness.missing ks"}


# -- what the ledger gives the witnesses, on both databases ---------------------------------------------------------


def test_one_share_per_course_and_pair_asked_again_on_its_line(ledger: Ledger) -> None:
    share = new_share(ledger)
    with ledger.transaction():
        ledger.update_share_state(share.id, "rejected")
        ledger.append_event(share_id=share.id, actor="Ingrid Hauge (ingrid.hauge, lp)", action="reject")
    found = ledger.find_share_for_course("lp", 5, "ks")
    assert found is not None and found.id == share.id
    assert ledger.find_share_for_course("lp", 5, "other") is None
    with ledger.transaction():
        again = ledger.update_share_state(share.id, "requested", flow="ks-orders-from-hospital", initiator="Kari Ås",
                                          contact_point="elaring@helse-bergen.no", licence_at_share="CC BY-SA")
        ledger.append_event(share_id=share.id, actor="Kari Ås (kari.as@ks.no, ks)", action="request")
    assert (again.state, again.flow, again.initiator) == ("requested", "ks-orders-from-hospital", "Kari Ås")
    assert ledger.verify().ok
    assert "0007_shares_by_course" in ledger.applied_migrations()


def test_a_shares_head_is_its_last_event_or_the_last_that_vouches_for_its_rows(ledger: Ledger) -> None:
    share = new_share(ledger)  # vouched for by a shares.recorded event naming it
    refs = ledger.event_refs()
    assert ledger.share_heads()[share.id] == refs[max(refs)]
    with ledger.transaction():  # a completion vouched for by an event that names no share
        ledger.record_completion(share_id=share.id, learner_key=LEARNER, owner_activity="12", borrower_activity="3",
                                 time_completed=None)
        ledger.append_event(share_id=None, actor="someone", action="sync.completions")
    refs = ledger.event_refs()
    head = ledger.share_heads()[share.id]
    assert (head.seq, head.action, head.hash) == (max(refs), "sync.completions", refs[max(refs)].hash)


def test_a_backup_of_a_sqlite_ledger(ledger: Ledger, tmp_path: Path) -> None:
    new_share(ledger)
    if ledger.dialect != "sqlite":
        with pytest.raises(LedgerError, match="pg_dump"):
            ledger.backup_to(tmp_path / "copy.db")
        return
    ledger.backup_to(tmp_path / "copy.db")
    with Ledger.open(tmp_path / "copy.db") as copy:
        assert copy.event_refs() == ledger.event_refs() and copy.verify().ok
