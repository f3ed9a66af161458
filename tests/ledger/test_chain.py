"""The event log is append-only and hash-chained: verify names the first event that is not as written,
whether the tamperer edited rows (after dropping the append-only triggers) or the database file itself."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lmsbridge import i18n
from lmsbridge.domain import ShareFlow
from lmsbridge.errors import LedgerError
from lmsbridge.ledger import GENESIS, Ledger
from lmsbridge.ledger.chain import ChainHead, StoredEvent, check_chain, event_hash
from tests.ledger.support import NOW, Raw, new_share

ACTIONS = ("request", "approve", "publish", "revoke")


def write_chain(ledger: Ledger) -> None:
    with ledger.transaction():  # the share and its first event, as a request writes them
        share = new_share(ledger)
        ledger.append_event(share_id=share.id, actor="Ola Nordmann", action=ACTIONS[0], at=NOW,
                            details={"reason": "step 0"})
    for i, action in enumerate(ACTIONS[1:], start=1):
        ledger.append_event(share_id=share.id, actor="Ola Nordmann", action=action, at=NOW + timedelta(minutes=i),
                            details={"reason": f"step {i}"})


FORGED = "INSERT INTO events (seq, share_id, at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def forged(seq: int, prev: str) -> tuple[object, ...]:
    """An event row someone computed by hand, with a correct hash."""
    at = NOW.isoformat()
    return (seq, "S-0001", at, "Mallory", "approve", "{}", prev, event_hash(seq, "S-0001", at, "Mallory", "approve",
                                                                             "{}", prev))


# (what the tamperer does, is it an UPDATE/DELETE the triggers refuse, first bad seq, problem code)
TAMPERING = [
    ("edit details", "UPDATE events SET details = '{\"reason\": \"step 9\"}' WHERE seq = 2", True, 2, "changed"),
    ("edit actor", "UPDATE events SET actor = 'Mallory' WHERE seq = 3", True, 3, "changed"),
    ("edit time", "UPDATE events SET at = '2020-01-01T00:00:00+00:00' WHERE seq = 1", True, 1, "changed"),
    ("move to another share", "UPDATE events SET share_id = 'S-0002' WHERE seq = 4", True, 4, "changed"),
    ("delete a middle row", "DELETE FROM events WHERE seq = 2", True, 2, "missing"),
    ("delete the first row", "DELETE FROM events WHERE seq = 1", True, 1, "missing"),
    ("delete the last row", "DELETE FROM events WHERE seq = 4", True, 4, "tail_missing"),
    ("delete every row", "DELETE FROM events", True, 1, "tail_missing"),
    ("renumber a row", "UPDATE events SET seq = 10 WHERE seq = 4", True, 4, "missing"),
    ("swap two rows' contents",
     "UPDATE events SET action = CASE action WHEN 'approve' THEN 'publish' ELSE 'approve' END WHERE seq IN (2, 3)",
     True, 2, "changed"),
    ("relink a row", "UPDATE events SET prev_hash = (SELECT hash FROM events WHERE seq = 1) WHERE seq = 3",
     True, 3, "broken_link"),
]


@pytest.mark.parametrize(("what", "sql", "guarded", "bad_seq", "code"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_verify_finds_rows_changed_behind_its_back(ledger_url: str, what: str, sql: str, guarded: bool,
                                                  bad_seq: int, code: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        write_chain(ledger)
        assert ledger.verify().ok
    raw = Raw(ledger_url)
    try:
        if guarded:
            with pytest.raises(raw.errors, match="append-only"):
                raw.execute(sql)  # the database itself refuses it …
        raw.drop_append_only_triggers()  # … until someone drops the guard
        raw.execute(sql)
    finally:
        raw.close()
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
    assert not report.ok, what
    assert (report.first_bad_seq, report.problem_code) == (bad_seq, f"ledger.verify.{code}")
    assert report.problem is not None and str(bad_seq) in report.problem.render()


def test_an_event_inserted_with_a_correct_hash_is_still_found(ledger_url: str) -> None:
    # The chain alone cannot see a well-forged event at its end; the head written with each event can.
    with Ledger.open(ledger_url) as ledger:
        write_chain(ledger)
        last = ledger.events()[-1]
    raw = Raw(ledger_url)
    raw.execute(FORGED, forged(last.seq + 1, last.hash))
    raw.close()
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
    assert (report.ok, report.first_bad_seq, report.problem_code) == (False, 5, "ledger.verify.added")


def test_an_event_inserted_in_the_middle_is_found(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        write_chain(ledger)
        events = ledger.events()
    raw = Raw(ledger_url)
    raw.drop_append_only_triggers()
    raw.execute("DELETE FROM events WHERE seq = 3")  # make room, as an insert in the middle must
    raw.execute(FORGED, forged(3, events[1].hash))
    raw.close()
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
    # The forged 3 links to 2 correctly, but 4 was chained to the original 3.
    assert (report.ok, report.first_bad_seq, report.problem_code) == (False, 4, "ledger.verify.broken_link")


def test_an_edit_of_the_database_file_itself_is_found(tmp_path: Path) -> None:
    # No SQL at all: bytes changed in the file (same length, so SQLite still reads it).
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as ledger, ledger.transaction():
        new_share(ledger)
        ledger.append_event(share_id="S-0001", actor="Ola Nordmann", action="request", details={"reason": "first"})
    with Ledger.open(path) as ledger:
        ledger.append_event(share_id="S-0001", actor="Ola Nordmann", action="revoke",
                            details={"reason": "Kurset er erstattet"})
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0  # all of it is in the file
    data = path.read_bytes()
    assert data.count(b"Kurset er erstattet") == 1
    path.write_bytes(data.replace(b"Kurset er erstattet", b"Kurset er forlenget"))
    with Ledger.open(path) as ledger:
        assert ledger.events()[1].details == {"reason": "Kurset er forlenget"}  # it reads fine …
        report = ledger.verify()
    assert (report.ok, report.first_bad_seq, report.problem_code) == (False, 2, "ledger.verify.changed")  # … but


def test_an_intact_chain_reports_its_length_and_head(ledger: Ledger) -> None:
    assert ledger.verify().model_dump() == {"ok": True, "events": 0, "first_bad_seq": None, "problem_code": "",
                                            "problem": None, "head_hash": None, "rows": 0, "row_problems": []}
    write_chain(ledger)
    report = ledger.verify()
    assert (report.ok, report.events, report.head_hash, report.rows) == (True, 4, ledger.events()[-1].hash, 1)


def test_events_chain_from_genesis_and_keep_their_details(ledger: Ledger) -> None:
    with ledger.transaction():
        share = new_share(ledger)
        first = ledger.append_event(share_id=share.id, actor="Ola", action="request",
                                    details={"flow": ShareFlow.HOSPITAL_TO_KS, "when": NOW, "findings": ["a", "b"]})
    second = ledger.append_event(share_id=None, actor="cron", action="sync", details=None)
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, GENESIS, 2, first.hash)
    assert ledger.events(share.id) == [first]
    assert ledger.events(after_seq=1) == [second]
    assert ledger.events(limit=1) == [first]
    assert first.details == {"flow": "hospital-to-ks", "when": NOW.isoformat(), "findings": ["a", "b"]}
    assert first.at == NOW and first.at.tzinfo is not None


@pytest.mark.parametrize("details", [{"x": object()}, {"x": float("nan")}])
def test_details_must_be_json(ledger: Ledger, details: dict[str, object]) -> None:
    with pytest.raises(LedgerError, match="JSON"):
        ledger.append_event(share_id=None, actor="Ola", action="x", details=details)


def test_verify_speaks_norwegian_by_default_and_english_on_request() -> None:
    rows = [StoredEvent(2, None, "t", "a", "b", "{}", GENESIS, "x")]
    problem = check_chain(rows, ChainHead(2, "x")).problem
    assert problem is not None and problem.code == "ledger.verify.missing"
    assert str(problem) == "hendelse 1 mangler (slettet?)"
    i18n.set_language("en")
    assert str(problem) == "event 1 is missing (deleted?)"
