"""What the sync and the notices keep: cursors, completions, failed items, runs, messages, certificate notices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger, LedgerNotFoundError, is_pseudonym
from tests.ledger.support import LEARNER, NOW, OTHER_LEARNER, new_share

HOUR = timedelta(hours=1)
RUN_START = NOW

# (cursor before, value offered, cursor after): never past the run's start, never backwards.
CURSOR_MOVES = [
    (None, NOW - HOUR, NOW - HOUR),  # first run: as offered
    (None, NOW + HOUR, RUN_START),  # past the run's start: cut down to it
    (NOW - 2 * HOUR, NOW - HOUR, NOW - HOUR),  # forward
    (NOW - HOUR, NOW - 2 * HOUR, NOW - HOUR),  # backwards: stays
    (NOW - HOUR, NOW - HOUR, NOW - HOUR),  # same: stays
    (NOW - HOUR, NOW + 5 * HOUR, RUN_START),  # forward, but past the start
]


@pytest.mark.parametrize(("before", "offered", "after"), CURSOR_MOVES)
def test_a_cursor_never_passes_the_run_start_and_never_goes_back(
    ledger: Ledger, before: datetime | None, offered: datetime, after: datetime
) -> None:
    share = new_share(ledger)
    if before is not None:
        ledger.set_cursor(share.id, before, before)
    assert ledger.set_cursor(share.id, offered, RUN_START) == after
    assert ledger.get_cursor(share.id) == after
    (cursor,) = ledger.cursors()
    assert (cursor.share_id, cursor.cursor) == (share.id, after)


def test_a_cursor_in_another_zone_is_stored_in_utc(ledger: Ledger) -> None:
    from zoneinfo import ZoneInfo

    share = new_share(ledger)
    oslo = datetime(2026, 11, 24, 9, 30, tzinfo=ZoneInfo("Europe/Oslo"))  # 08:30 UTC, before the run start
    assert ledger.set_cursor(share.id, oslo, RUN_START) == oslo
    assert ledger.get_cursor(share.id) == datetime(2026, 11, 24, 8, 30, tzinfo=NOW.tzinfo)
    assert ledger.get_cursor("S-0404") is None


def test_a_completion_is_recorded_once_however_often_the_sync_runs(ledger: Ledger) -> None:
    share = new_share(ledger)
    completion: dict[str, Any] = dict(share_id=share.id, learner_key=LEARNER, owner_activity="12", borrower_activity="57",
                      time_completed=NOW - HOUR)
    assert ledger.record_completion(**completion) is True
    assert ledger.record_completion(**completion) is False
    assert ledger.record_completion(**{**completion, "synced_at": NOW + HOUR}) is False
    (stored,) = ledger.completions(share.id)
    assert (stored.learner_key, stored.owner_activity, stored.time_completed, stored.synced_at) == (
        LEARNER, "12", NOW - HOUR, NOW)
    assert ledger.is_recorded(share.id, LEARNER, "12")
    assert not ledger.is_recorded(share.id, LEARNER, "13")


def test_completed_learners_with_and_without_required_activities(ledger: Ledger) -> None:
    share = new_share(ledger)
    for learner, activities in ((LEARNER, ("12", "13")), (OTHER_LEARNER, ("12",))):
        for activity in activities:
            ledger.record_completion(share_id=share.id, learner_key=learner, owner_activity=activity,
                                     borrower_activity="b" + activity, time_completed=None)
    assert ledger.recorded_activities(share.id, LEARNER) == {"12", "13"}
    assert ledger.recorded_activities(share.id, "0" * 64) == set()
    assert ledger.completed_learners(share.id) == {LEARNER, OTHER_LEARNER}
    assert ledger.completed_learners(share.id, ["12", "13"]) == {LEARNER}
    assert ledger.completed_learners(share.id, ["14"]) == set()
    assert ledger.completions(share.id)[0].time_completed is None


@pytest.mark.parametrize("key", ["kari.nordmann@helse-bergen.no", "Kari Nordmann", "hb10001", "short1",
                                 "abcdefghijklmnopqrstuvwxyz"])
def test_a_name_or_email_is_never_stored_as_learner_key(ledger: Ledger, key: str) -> None:
    share = new_share(ledger)
    assert not is_pseudonym(key)
    with pytest.raises(LedgerError, match="pseudonym"):
        ledger.record_completion(share_id=share.id, learner_key=key, owner_activity="1", borrower_activity="1",
                                 time_completed=None)
    with pytest.raises(LedgerError, match="pseudonym"):
        ledger.record_certificate_notice(course_key="c", learner_key=key, due_date=date(2026, 12, 1))
    assert ledger.completions() == []


def test_a_failure_is_counted_up_and_cleared(ledger: Ledger) -> None:
    share = new_share(ledger)
    for attempt, reason in enumerate(("503", "timeout", "503"), start=1):
        failure = ledger.record_failure(share_id=share.id, item_kind="learner", item_key=LEARNER, reason=reason,
                                        now=NOW + attempt * HOUR)
        assert failure.attempts == attempt
    assert (failure.reason, failure.first_failed_at, failure.last_failed_at) == ("503", NOW + HOUR, NOW + 3 * HOUR)
    ledger.record_failure(share_id=share.id, item_kind="unmatched", item_key=OTHER_LEARNER, reason="no account")
    assert [(f.item_kind, f.attempts) for f in ledger.list_failures(share.id)] == [("learner", 3), ("unmatched", 1)]
    assert [f.item_key for f in ledger.list_failures(item_kind="unmatched")] == [OTHER_LEARNER]
    assert ledger.clear_failure(share_id=share.id, item_kind="learner", item_key=LEARNER) is True
    assert ledger.clear_failure(share_id=share.id, item_kind="learner", item_key=LEARNER) is False
    assert [f.item_kind for f in ledger.list_failures()] == ["unmatched"]
    with pytest.raises(LedgerError, match="kind"):
        ledger.record_failure(share_id=share.id, item_kind="course", item_key="x", reason="?")


@pytest.mark.parametrize("kind", ["learner", "unmatched", "conflict"])
def test_a_failed_learner_is_kept_under_a_pseudonym_never_an_id(ledger: Ledger, kind: str) -> None:
    """Issue 11 item 8: failed_items held raw borrower ids (``user:18``)."""
    share = new_share(ledger)
    with pytest.raises(LedgerError, match="pseudonym"):
        ledger.record_failure(share_id=share.id, item_kind=kind, item_key="user:18", reason="?")
    ledger.record_failure(share_id=share.id, item_kind="activity", item_key="cm:5", reason="no counterpart")
    ledger.record_failure(share_id=share.id, item_kind=kind, item_key=LEARNER, reason="?")
    with pytest.raises(LedgerError, match="pseudonym"):
        ledger.rename_failure(share_id=share.id, item_kind=kind, item_key=LEARNER, new_key="user:18")
    ledger.rename_failure(share_id=share.id, item_kind=kind, item_key=LEARNER, new_key=OTHER_LEARNER)
    assert [f.item_key for f in ledger.list_failures(item_kind=kind)] == [OTHER_LEARNER]


def test_sync_runs_start_finish_and_the_last_one(ledger: Ledger) -> None:
    assert ledger.last_run() is None
    first = ledger.start_run(NOW)
    assert (first.status, first.finished_at, first.counts) == ("running", None, {})
    done = ledger.finish_run(first.id, status="partial", counts={"written": 3, "failed_items": 1},
                             finished_at=NOW + HOUR)
    assert (done.status, done.finished_at, done.counts) == ("partial", NOW + HOUR, {"written": 3, "failed_items": 1})
    second = ledger.start_run(NOW + 2 * HOUR)
    assert ledger.last_run() == second
    assert ledger.last_run(status="partial") == done
    assert ledger.last_run(status="ok") is None
    assert [r.id for r in ledger.runs()] == [second.id, first.id]
    with pytest.raises(LedgerNotFoundError):
        ledger.finish_run(first.id, status="ok", counts={})  # already finished
    with pytest.raises(LedgerError, match="ok, partial or failed"):
        ledger.finish_run(second.id, status="running", counts={})


def test_a_message_is_recorded_once_per_key(ledger: Ledger) -> None:
    fields: dict[str, Any] = dict(key="S-0001-request", kind="share-request", to="kslaring@ks.no", subject="Forespørsel om deling",
                  message_id="<abc@lmsbridge>", path="outbox/S-0001-request.eml")
    assert ledger.find_message("S-0001-request") is None
    assert ledger.record_message(**fields) is True
    assert ledger.record_message(**{**fields, "subject": "again"}) is False
    message = ledger.find_message("S-0001-request")
    assert message is not None and (message.to, message.subject, message.created_at) == (
        "kslaring@ks.no", "Forespørsel om deling", NOW)
    assert ledger.messages("share-request") == [message]
    assert ledger.messages("downtime") == []


def test_a_certificate_notice_is_sent_once_per_due_date(ledger: Ledger) -> None:
    due, later = date(2026, 12, 1), date(2027, 1, 15)
    assert ledger.record_certificate_notice(course_key="lp:5", learner_key=LEARNER, due_date=due) is True
    assert ledger.record_certificate_notice(course_key="lp:5", learner_key=LEARNER, due_date=due) is False
    assert ledger.certificate_notice_sent("lp:5", LEARNER, due)
    assert not ledger.certificate_notice_sent("lp:5", LEARNER, later)
    assert ledger.record_certificate_notice(course_key="lp:5", learner_key=LEARNER, due_date=later) is True
    assert [n.due_date for n in ledger.certificate_notices("lp:5")] == [due, later]
