"""One bad record never stops a run (issue 11 item 1): it becomes a failed item with a coded reason, retried next
run and shown by ``sync status``; a share that cannot be read becomes a failed share; the other shares finish;
the run exits 4, never with a traceback.

Over the in-process sandbox (tests/sync/test_engine.py describes the seeded share S-0001): a second share S-0002
(lp owns HBHF-ANDRE-01, ks borrows it) has Kari Nordmann (ks 4, lp 4) with one activity done.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.adapters import MoodleClient
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sync import courses
from tests.sync.helpers import Clock, borrower_key, make_config, publish, publish_seeded
from tests.sync.test_engine import STATUSES, done, failed_items, sync, urls

POISON = 10 ** 13  # «timemodified 10^13»: year 318857


@pytest.fixture
def second(sandbox: Sandbox) -> tuple[int, int]:
    """S-0002's owner and borrower activity (cmids)."""
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    owner = lp.add_course("HBHF-ANDRE-01", "Andre kurs", activities=["Aktivitet 1", "Aktivitet 2"])
    borrower = ks.add_course("KSL-HBHF-ANDRE-01", "Andre kurs (KS)", activities=["Aktivitet 1", "Aktivitet 2"])
    lp.enrol(4, owner.id)
    ks.enrol(4, borrower.id)
    ks.set_last_access(4, borrower.id)
    first_borrowed = ks.tracked_modules(borrower)[0].id
    ks.complete_activity(4, first_borrowed)
    return lp.tracked_modules(owner)[0].id, first_borrowed


@pytest.fixture
def ledger(tmp_path: Path, sandbox: Sandbox, second: tuple[int, int]) -> Iterator[Ledger]:
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    with Ledger.open(tmp_path / "ledger.db") as led:
        publish_seeded(led)
        owner = next(c for c in lp.courses.values() if c.shortname == "HBHF-ANDRE-01")
        borrower = next(c for c in ks.courses.values() if c.shortname == "KSL-HBHF-ANDRE-01")
        publish(led, owner="lp", owner_course=owner.id, owner_shortname=owner.shortname, borrower="ks",
                borrower_course=borrower.id, borrower_shortname=borrower.shortname, key="k2")
        yield led


def poisoned(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer with borrower activity cm:5 completed at 10^13 seconds."""
    for status in answer["statuses"]:
        if status["cmid"] == 5:
            status["timecompleted"] = POISON
    return answer


def test_a_poisoned_completion_time_fails_one_learner_and_is_never_written(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, second: tuple[int, int]
) -> None:
    """Issue 11: one activity completion with timemodified 10^13 ended every run in a traceback after the owner
    write; later shares never came back, and the pair was written again on every run."""
    ks, lp = sandbox.sites["ks"].state, sandbox.sites["lp"].state
    config = make_config(urls(sandbox), tmp=tmp_path)
    ks.rewrite(STATUSES, poisoned, when=lambda call: call.params["userid"] == 10)
    for attempt in (1, 2):
        summary = sync(config, ledger, sandbox, clock)
        assert summary.exit_code == 4, summary.as_dict()
        assert [s.status for s in summary.shares] == ["ok", "ok"]  # both shares finish
        (failure,) = [f for f in ledger.list_failures() if str(f.item_kind) == "learner"]
        assert failure.attempts == attempt
        # the poisoned time is refused before the owner write (or, where the adapter's bounds refuse the
        # answer, at the read): either way a coded reason, and nothing written for the pair
        assert Message.from_stored(failure.reason).code in ("sync.failure.bad_time", "sync.failure.reading")
        assert 12 not in done(lp, 10)
        clock.tick(minutes=15)
    assert done(lp, 4) >= {12, 13, second[0]}  # the others came back, S-0002 too
    assert lp.calls_to("core_completion_override_activity_completion_status").count(
        {"userid": 10, "cmid": 12, "newstate": 1}) == 0


def test_an_unexpected_error_in_one_share_fails_that_share_only(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, second: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    lp = sandbox.sites["lp"].state
    real = courses.mapping

    def broken(ctx: Any, share: Any, owner_course: int) -> Any:
        if share.id == "S-0001":
            raise KeyError("a bug")
        return real(ctx, share, owner_course)

    monkeypatch.setattr(courses, "mapping", broken)
    summary = sync(make_config(urls(sandbox), tmp=tmp_path), ledger, sandbox, clock)
    assert summary.exit_code == 4
    assert [(s.share_id, s.status) for s in summary.shares] == [("S-0001", "failed"), ("S-0002", "ok")]
    assert second[0] in done(lp, 4)
    (failure,) = [f for f in ledger.list_failures() if str(f.item_kind) == "share"]
    reason = Message.from_stored(failure.reason)
    assert reason.code == "sync.unexpected" and reason.render("en") == "unexpected error (KeyError: 'a bug')"
    assert ledger.get_cursor("S-0001") is None and ledger.get_cursor("S-0002") == clock.now


def test_an_unexpected_error_for_one_learner_fails_that_learner_only(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lp = sandbox.sites["lp"].state
    real = MoodleClient.activities_completion

    def broken(self: MoodleClient, courseid: int, userid: int) -> Any:
        if userid == 10:
            raise ValueError("not what anyone expected")
        return real(self, courseid, userid)

    monkeypatch.setattr(MoodleClient, "activities_completion", broken)
    summary = sync(make_config(urls(sandbox), tmp=tmp_path), ledger, sandbox, clock)
    assert summary.exit_code == 4 and [s.status for s in summary.shares] == ["ok", "ok"]
    assert ("learner", borrower_key(10)) in failed_items(ledger)
    assert done(lp, 10) == set() and done(lp, 4) >= {12, 13}
    reason = Message.from_stored(next(f.reason for f in ledger.list_failures() if f.item_key == borrower_key(10)))
    assert reason.render("en") == "reading completion: unexpected error (ValueError: not what anyone expected)"
