"""Shares, completions and messages sent are vouched for by the events that wrote them: ``ledger verify``
names each such row edited, deleted or inserted behind lmsbridge's back, and leaves operational state
(cursors, failed items, runs) alone. Every case runs on SQLite and, given a server, on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lmsbridge import i18n
from lmsbridge.cli.ledger import ledger_group
from lmsbridge.ledger import MIGRATIONS, Event, Ledger, Migration, RowProblem, Share
from lmsbridge.ledger import migrations as migration_module
from lmsbridge.ledger.database import connect, parse_location
from lmsbridge.ledger.rows import AUDITED, SHARES
from tests.ledger.support import (
    LEARNER,
    NOW,
    OTHER_LEARNER,
    ROOT,
    Raw,
    child,
    kill_inside_transaction,
    new_share,
    wait_for,
)

HOUR = timedelta(hours=1)
FIXTURE = Path(__file__).parent / "fixtures" / "ledger-0005.json"
#: Tables in an order their foreign keys accept.
LOAD_ORDER = ("shares", "events", "chain_head", "completions", "messages", "certificate_notices", "sync_cursors",
              "failed_items", "sync_runs")
PREVIOUS_HEAD = MIGRATIONS[:5]
assert PREVIOUS_HEAD[-1].name == "0005_indexes"


def lifecycle(ledger: Ledger) -> None:
    """What the share workflows and the sync write, each in the transactions they use: S-0001 requested (its
    e-mail recorded apart, after delivery), approved, published, synced (three completions, a failed item,
    the cursor), one learner noticed; S-0002 requested."""
    with ledger.transaction():
        first = new_share(ledger)
        ledger.append_event(share_id=first.id, actor="Ola Nordmann", action="request",
                            details={"flow": "hospital-to-ks", "course": "HBHF-SMITTE-01", "reason": "nytt kurs"})
    ledger.record_message(key="S-0001-request", kind="share-request", to="kslaring@ks.no",
                          subject="Forespørsel om deling", message_id="<S-0001@lmsbridge>",
                          path="outbox/S-0001-request.eml")
    with ledger.transaction():
        ledger.update_share_state(first.id, "approved", now=NOW + HOUR)
        ledger.append_event(share_id=first.id, actor="Kari Nordmann", action="approve", at=NOW + HOUR)
    with ledger.transaction():
        ledger.update_share_state(first.id, "published", now=NOW + 2 * HOUR, borrower_course_id=42,
                                  borrower_course_shortname="KSL-HBHF-SMITTE-01")
        ledger.append_event(share_id=first.id, actor="Kari Nordmann", action="publish", at=NOW + 2 * HOUR,
                            details={"borrower_course_id": 42, "borrower_course": "KSL-HBHF-SMITTE-01"})
    with ledger.transaction():  # one share's sync commit (lmsbridge.sync.commit.commit)
        for learner, activity in ((LEARNER, "12"), (LEARNER, "13"), (OTHER_LEARNER, "12")):
            ledger.record_completion(share_id=first.id, learner_key=learner, owner_activity=activity,
                                     borrower_activity="b" + activity, time_completed=NOW, synced_at=NOW + 3 * HOUR)
        ledger.record_failure(share_id=first.id, item_kind="unmatched", item_key=OTHER_LEARNER, reason="no account")
        ledger.set_cursor(first.id, NOW + 3 * HOUR, NOW + 3 * HOUR)
        ledger.append_event(share_id=first.id, actor="lmsbridge sync", action="sync.completions", at=NOW + 3 * HOUR,
                            details={"completions": 3, "learners": 2})
    ledger.record_certificate_notice(course_key="lp:HBHF-SMITTE-01", learner_key=OTHER_LEARNER,
                                     due_date=date(2026, 12, 31))
    with ledger.transaction():
        second = new_share(ledger, "hospital-to-ks:lp:6:ks", owner_course_id=6, owner_course_shortname="HBHF-HMS-02")
        ledger.append_event(share_id=second.id, actor="Ola Nordmann", action="request",
                            details={"flow": "hospital-to-ks", "course": "HBHF-HMS-02"})
    run = ledger.start_run(NOW)
    ledger.finish_run(run.id, status="ok", counts={"written": 3})


@pytest.fixture
def lived(ledger_url: str) -> str:
    with Ledger.open(ledger_url, clock=lambda: NOW) as ledger:
        lifecycle(ledger)
    return ledger_url


def tamper(url: str, *statements: str | tuple[str, Sequence[object]]) -> None:
    raw = Raw(url)
    try:
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            raw.execute(sql, params)
    finally:
        raw.close()


def verify_cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(ledger_group, ["verify", "--ledger", url, *args])


def last_seq(events: Sequence[Event], table: str, row: str) -> int | None:
    """The last event that stamped the row labelled ``row`` (None: no event did)."""
    seqs = [e.seq for e in events for s in e.rows if (s.table, s.row) == (table, row)]
    return seqs[-1] if seqs else None


def problems_of(url: str) -> tuple[list[RowProblem], list[Event]]:
    with Ledger.open(url) as ledger:
        report = ledger.verify()
        events = ledger.events()
    return report.row_problems, events


# -- every audited field, row and table ----------------------------------------------------------------------

#: A new value for each column of S-0001 (the published share) but its key.
SHARE_EDITS: dict[str, object] = {
    "flow": "ks-orders-from-hospital", "state": "revoked", "owner_platform": "ks", "owner_course_id": 6,
    "owner_course_shortname": "HBHF-HMS-02", "owner_org": "Helse Stavanger HF", "borrower_platform": "lp",
    "borrower_course_id": 2, "borrower_course_shortname": "KSL-ANNET", "borrower_org": "Bergen kommune",
    "initiator": "Mallory", "licence_at_share": "CC BY-SA", "label": "delt fra KS",
    "owner_support": "mallory@example.org", "borrower_support": "mallory@example.org",
    "contact_point": "mallory@example.org", "request_key": "forged", "created_at": "2020-01-01T00:00:00+00:00",
    "updated_at": "2030-01-01T00:00:00+00:00",
}


def test_every_share_column_but_the_key_has_an_edit_below() -> None:
    assert set(SHARE_EDITS) == set(SHARES.columns) - set(SHARES.key)


@pytest.mark.parametrize("column", sorted(SHARE_EDITS))
def test_editing_any_field_of_a_share_is_named(lived: str, column: str) -> None:
    tamper(lived, (f"UPDATE shares SET {column} = ? WHERE id = 'S-0001'", (SHARE_EDITS[column],)))
    result = verify_cli(lived)
    assert result.exit_code == 1, result.output
    problems, events = problems_of(lived)
    seq = last_seq(events, "shares", "S-0001")
    assert seq is not None and events[seq - 1].action == "publish"
    assert [(p.code, p.table, p.share_id, p.fields, p.seq) for p in problems] == [
        ("ledger.verify.row.changed", "shares", "S-0001", [column], seq)]
    assert f"deling S-0001 er endret etter hendelse {seq}: {column}" in result.output


# (case, tampering, expected problems as (code, table, share, row, fields); the seq is the last event that
# stamped the row, None for a row no event stamped)
P = tuple[str, str, str | None, str, list[str]]
ROW_TAMPERING: list[tuple[str, list[str | tuple[str, Sequence[object]]], list[P]]] = [
    ("the colleague's update", ["UPDATE shares SET state = 'published', borrower_course_id = 2 WHERE id = 'S-0002'"],
     [("changed", "shares", "S-0002", "S-0002", ["state", "borrower_course_id"])]),
    ("delete a share", ["DELETE FROM shares WHERE id = 'S-0002'"],
     [("missing", "shares", "S-0002", "S-0002", [])]),
    ("renumber a share", ["UPDATE shares SET id = 'S-0009' WHERE id = 'S-0002'"],
     [("missing", "shares", "S-0002", "S-0002", []), ("unrecorded", "shares", "S-0009", "S-0009", [])]),
    ("insert a forged share", [(
        "INSERT INTO shares (id, flow, state, owner_platform, owner_course_id, owner_course_shortname, owner_org, "
        "borrower_platform, borrower_course_id, borrower_course_shortname, borrower_org, initiator, licence_at_share, "
        "label, owner_support, borrower_support, contact_point, request_key, created_at, updated_at) "
        "SELECT 'S-0003', flow, 'published', owner_platform, 7, 'HBHF-ANNET', owner_org, borrower_platform, 9, "
        "'KSL-ANNET', borrower_org, initiator, licence_at_share, label, owner_support, borrower_support, "
        "contact_point, 'forged', created_at, updated_at FROM shares WHERE id = 'S-0001'", ())],
     [("unrecorded", "shares", "S-0003", "S-0003", [])]),
    ("edit when a completion was completed", ["UPDATE completions SET time_completed = '2020-01-01T00:00:00+00:00' "
                                              "WHERE owner_activity = '13'"],
     [("changed", "completions", "S-0001", "13", ["time_completed"])]),
    ("edit when a completion was synced and its borrower activity",
     ["UPDATE completions SET synced_at = '2020-01-01T00:00:00+00:00', borrower_activity = 'b99' "
      "WHERE owner_activity = '13'"],
     [("changed", "completions", "S-0001", "13", ["borrower_activity", "synced_at"])]),
    ("move a completion to another activity", ["UPDATE completions SET owner_activity = '14' WHERE owner_activity = '13'"],
     [("missing", "completions", "S-0001", "13", []), ("unrecorded", "completions", "S-0001", "14", [])]),
    ("give a completion to another learner",
     [(f"UPDATE completions SET learner_key = '{'7' * 64}' WHERE learner_key = ? AND owner_activity = '13'",
       (LEARNER,))],
     [("missing", "completions", "S-0001", "13", []), ("unrecorded", "completions", "S-0001", "13", [])]),
    ("delete a completion", ["DELETE FROM completions WHERE owner_activity = '13'"],
     [("missing", "completions", "S-0001", "13", [])]),
    ("insert a forged completion", [(
        "INSERT INTO completions (share_id, learner_key, owner_activity, borrower_activity, time_completed, synced_at) "
        "VALUES ('S-0001', ?, '13', 'b13', NULL, '2026-11-24T12:00:00+00:00')", (OTHER_LEARNER,))],
     [("unrecorded", "completions", "S-0001", "13", [])]),
    ("edit a message's recipient", ["UPDATE messages SET recipient = 'mallory@example.org'"],
     [("changed", "messages", None, "S-0001-request", ["recipient"])]),
    ("edit a message's subject and time", ["UPDATE messages SET subject = 'x', created_at = '2020-01-01T00:00:00+00:00'"],
     [("changed", "messages", None, "S-0001-request", ["subject", "created_at"])]),
    ("delete a message", ["DELETE FROM messages"],
     [("missing", "messages", None, "S-0001-request", [])]),
    ("insert a forged message", [
        "INSERT INTO messages (key, kind, recipient, subject, message_id, path, created_at) "
        "VALUES ('S-0002-request', 'share-request', 'x@y', 's', '<m>', 'p', '2026-11-24T09:00:00+00:00')"],
     [("unrecorded", "messages", None, "S-0002-request", [])]),
    ("edit when a notice was sent", ["UPDATE certificate_notices SET sent_at = '2020-01-01T00:00:00+00:00'"],
     [("changed", "certificate_notices", None, "lp:HBHF-SMITTE-01 2026-12-31", ["sent_at"])]),
    ("delete a notice", ["DELETE FROM certificate_notices"],
     [("missing", "certificate_notices", None, "lp:HBHF-SMITTE-01 2026-12-31", [])]),
]


@pytest.mark.parametrize(("case", "statements", "expected"), ROW_TAMPERING, ids=[t[0] for t in ROW_TAMPERING])
def test_a_row_edited_deleted_or_inserted_behind_lmsbridges_back_is_named(
    lived: str, case: str, statements: list[str | tuple[str, Sequence[object]]], expected: list[P]
) -> None:
    with Ledger.open(lived) as ledger:
        assert ledger.verify().ok
        events = ledger.events()
    tamper(lived, *statements)
    result = verify_cli(lived)
    assert result.exit_code == 1, result.output
    problems, _ = problems_of(lived)
    got = [(p.code.rsplit(".", 1)[1], p.table, p.share_id, p.row, p.fields) for p in problems]
    assert sorted(got) == sorted(expected), case
    for problem in problems:
        assert problem.seq == (None if problem.code.endswith("unrecorded") else last_seq(events, problem.table,
                                                                                        problem.row))
        assert problem.problem.render() in result.output and problem.code in result.output  # each one, named
    report = json.loads(verify_cli(lived, "--json").output)
    assert report["ok"] is False and report["problem_code"] == problems[0].code
    assert len(report["row_problems"]) == len(expected)


def test_the_report_speaks_english_on_request(lived: str) -> None:
    tamper(lived, "UPDATE shares SET state = 'published', borrower_course_id = 2 WHERE id = 'S-0002'",
           "DELETE FROM completions WHERE owner_activity = '13'")
    i18n.set_language("en")
    result = verify_cli(lived)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "The ledger cannot be trusted: 2 rows do not match their events (the chain is intact):"
    assert "share S-0002 was changed after event 7: state, borrower_course_id  [ledger.verify.row.changed]" in lines[1]
    assert lines[2].startswith("  completion in share S-0001, activity 13 is missing")


def test_an_untouched_ledger_after_the_whole_lifecycle_verifies(lived: str) -> None:
    result = verify_cli(lived)
    assert result.exit_code == 0, result.output
    assert "Radene stemmer med hendelsene: 7 rader" in result.output  # 2 shares, 3 completions, 1 message, 1 notice
    with Ledger.open(lived) as ledger:
        actions = [(e.action, sorted({s.table for s in e.rows})) for e in ledger.events()]
        assert actions == [
            ("request", ["shares"]),
            ("messages.recorded", ["messages"]),  # recorded after delivery, with no event of its own
            ("approve", ["shares"]),
            ("publish", ["shares"]),
            ("sync.completions", ["completions"]),
            ("certificate_notices.recorded", ["certificate_notices"]),
            ("request", ["shares"]),
        ]
        # … and a revoke later, after more syncs, still does.
        with ledger.transaction():
            ledger.update_share_state("S-0001", "revoked", now=NOW + 5 * HOUR)
            ledger.append_event(share_id="S-0001", actor="Kari Nordmann", action="revoke", at=NOW + 5 * HOUR)
        assert ledger.verify().ok and ledger.verify().rows == 7


def test_no_learner_key_is_written_into_an_event(lived: str) -> None:
    raw = Raw(lived)
    try:
        text = json.dumps(raw.execute("SELECT * FROM events"))
    finally:
        raw.close()
    assert LEARNER not in text and OTHER_LEARNER not in text and LEARNER[:16] not in text


@pytest.mark.parametrize("statement", [
    "UPDATE sync_cursors SET cursor = '2020-01-01T00:00:00+00:00'",
    "DELETE FROM failed_items",
    "UPDATE sync_runs SET status = 'failed'",
    "DELETE FROM sync_runs",
], ids=["cursor", "failed items", "run status", "runs"])
def test_operational_state_is_not_audited(lived: str, statement: str) -> None:
    tamper(lived, statement)  # a sync redoes or retries work: nothing agreed or brought back is rewritten
    assert verify_cli(lived).exit_code == 0


def test_a_broken_chain_is_reported_first_and_the_rows_are_not_checked_against_it(lived: str) -> None:
    raw = Raw(lived)
    raw.drop_append_only_triggers()
    raw.close()
    tamper(lived, "UPDATE events SET actor = 'Mallory' WHERE seq = 3", "DELETE FROM messages")
    with Ledger.open(lived) as ledger:
        report = ledger.verify()
    assert (report.ok, report.first_bad_seq, report.problem_code, report.rows, report.row_problems) == (
        False, 3, "ledger.verify.changed", 0, [])
    assert "Radene er ikke kontrollert" in verify_cli(lived).output


@pytest.mark.parametrize("edit", [
    "UPDATE events SET row_digests = '' WHERE seq = 4",
    "UPDATE events SET row_digests = replace(row_digests, 'shares', 'messages') WHERE seq = 4",
], ids=["stamps blanked", "stamps edited"])
def test_an_events_stamps_are_covered_by_its_hash(lived: str, edit: str) -> None:
    raw = Raw(lived)
    raw.drop_append_only_triggers()
    raw.close()
    tamper(lived, edit)
    with Ledger.open(lived) as ledger:
        report = ledger.verify()
    assert (report.ok, report.first_bad_seq, report.problem_code) == (False, 4, "ledger.verify.changed")


# -- the stamps follow the transaction -----------------------------------------------------------------------


def test_stamps_of_a_rolled_back_savepoint_go_with_it_and_those_an_event_in_it_took_come_back(ledger: Ledger) -> None:
    class Crash(Exception):
        pass

    with ledger.transaction():
        kept = new_share(ledger, "kept")
        with pytest.raises(Crash), ledger.transaction():
            new_share(ledger, "dropped")  # undone: its stamp too
            ledger.append_event(share_id=kept.id, actor="Ola", action="undone")  # took the stamps, undone
            raise Crash
        ledger.append_event(share_id=kept.id, actor="Ola", action="request")
    events = ledger.events()
    assert [(e.action, [s.row for s in e.rows]) for e in events] == [("request", [kept.id])]
    assert ledger.verify().ok


def test_rows_written_without_an_event_get_one_by_lmsbridge_in_the_same_transaction(ledger: Ledger) -> None:
    with ledger.transaction():
        share = new_share(ledger)
        ledger.update_share_state(share.id, "approved")  # the same row twice: its last stamp only
        ledger.record_completion(share_id=share.id, learner_key=LEARNER, owner_activity="12", borrower_activity="1",
                                 time_completed=None)
        assert ledger.events() == []  # not yet: just before COMMIT
    (event,) = ledger.events()
    assert (event.actor, event.action, event.share_id, event.details) == (
        "lmsbridge", "rows.recorded", share.id, {"rows": {"shares": 1, "completions": 1}})
    assert [(s.table, s.row) for s in event.rows] == [("shares", share.id), ("completions", "12")]
    assert ledger.record_completion(share_id=share.id, learner_key=LEARNER, owner_activity="12",
                                    borrower_activity="1", time_completed=None) is False  # a no-op writes no event
    assert len(ledger.events()) == 1 and ledger.verify().ok


def test_sigkill_before_commit_leaves_neither_rows_nor_stamps(lived: str) -> None:
    kill_inside_transaction(lived, f"""
        ledger.update_share_state("S-0001", "revoked")
        ledger.record_completion(share_id="S-0001", learner_key={OTHER_LEARNER!r}, owner_activity="13",
                                 borrower_activity="b13", time_completed=None)
        ledger.record_message(key="S-0001-revoke", kind="notice", to="x@y", subject="s", message_id="m", path="p")
        ledger.append_event(share_id="S-0001", actor="Kari", action="revoke")
    """)
    with Ledger.open(lived) as ledger:
        assert ledger.require_share("S-0001").state == "published"
        assert len(ledger.completions()) == 3 and len(ledger.events()) == 7
        report = ledger.verify()
        assert (report.ok, report.rows) == (True, 7), report


# -- a ledger of the previous migration head -----------------------------------------------------------------


def load(url: str, tables: dict[str, list[dict[str, Any]]], migrations: Sequence[Migration]) -> None:
    """A ledger at ``migrations`` holding ``tables`` (rows as column → value), written row by row."""
    db = connect(parse_location(url))
    try:
        migration_module.migrate(db, NOW.isoformat(), migrations)
        db.begin()
        for table in LOAD_ORDER:
            for row in tables.get(table, []):
                db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                           list(row.values()))
        db.commit()
    finally:
        db.close()


def fixture_tables() -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return tables


@pytest.fixture
def old(ledger_url: str) -> str:
    """A ledger written by lmsbridge at 0005 (the demo, a message, a notice, a rejected request)."""
    load(ledger_url, fixture_tables(), PREVIOUS_HEAD)
    return ledger_url


def test_a_ledger_of_the_previous_head_upgrades_with_a_baseline_and_verifies(old: str) -> None:
    before = fixture_tables()
    with Ledger.open(old, clock=lambda: NOW + 9 * HOUR) as ledger:
        assert "0006_row_digests" in ledger.applied_migrations()
        events = ledger.events()
        # The old events as written (their hashes unchanged) …
        assert [e.hash for e in events[:-1]] == [e["hash"] for e in before["events"]]
        assert all(e.rows == [] for e in events[:-1])
        # … then one event by lmsbridge at the upgrade that stamps every audited row as found.
        baseline = events[-1]
        assert (baseline.seq, baseline.actor, baseline.action, baseline.share_id, baseline.at) == (
            len(before["events"]) + 1, "lmsbridge", "ledger.baseline", None, NOW + 9 * HOUR)
        counts = {name: len(before[name]) for name in AUDITED}
        assert baseline.details["stamped"] == counts == {"shares": 3, "completions": 8, "messages": 1,
                                                          "certificate_notices": 1}
        assert "disputed" not in baseline.details
        assert len(baseline.rows) == sum(counts.values())
        report = ledger.verify()
        assert (report.ok, report.events, report.rows) == (True, len(events), 13), report
        # Writes after the upgrade are stamped as usual.
        with ledger.transaction():
            ledger.update_share_state("S-0002", "revoked")
            ledger.append_event(share_id="S-0002", actor="Kari Nordmann", action="revoke")
        assert ledger.verify().ok
    assert verify_cli(old).exit_code == 0
    tamper(old, "UPDATE shares SET state = 'published', borrower_course_id = 2 WHERE id = 'S-0001'")
    result = verify_cli(old)
    assert result.exit_code == 1 and "deling S-0001 er endret etter hendelse 12: state, borrower_course_id" in (
        result.output)


# (case, tampering done before the upgrade, expected problems as (code, share, fields))
BEFORE_UPGRADE: list[tuple[str, list[str], list[tuple[str, str, list[str]]]]] = [
    ("a rejected share made published", ["UPDATE shares SET state = 'published', borrower_course_id = 2 "
                                         "WHERE id = 'S-0003'"], [("disputed", "S-0003", ["state"])]),
    ("a published share pointed at another course", ["UPDATE shares SET borrower_course_id = 2 WHERE id = 'S-0002'"],
     [("disputed", "S-0002", ["borrower_course_id"])]),
    ("an owner's course renamed", ["UPDATE shares SET owner_course_shortname = 'X', flow = 'ks-orders-from-hospital' "
                                   "WHERE id = 'S-0003'"],
     [("disputed", "S-0003", ["flow", "owner_course_shortname"])]),
    ("a forged share", ["INSERT INTO shares SELECT 'S-0004', flow, state, owner_platform, owner_course_id, "
                        "owner_course_shortname, owner_org, borrower_platform, borrower_course_id, "
                        "borrower_course_shortname, borrower_org, initiator, licence_at_share, label, owner_support, "
                        "borrower_support, contact_point, 'forged', created_at, updated_at FROM shares "
                        "WHERE id = 'S-0003'"],
     [("disputed", "S-0004", [])]),
    ("a share deleted", ["DELETE FROM shares WHERE id = 'S-0003'"], [("missing", "S-0003", [])]),
]


@pytest.mark.parametrize(("case", "statements", "expected"), BEFORE_UPGRADE, ids=[t[0] for t in BEFORE_UPGRADE])
def test_a_share_edited_before_the_upgrade_is_still_named_when_its_own_events_disagree(
    old: str, case: str, statements: list[str], expected: list[tuple[str, str, list[str]]]
) -> None:
    tamper(old, *statements)
    result = verify_cli(old)  # opening it upgrades it
    assert result.exit_code == 1, result.output
    problems, events = problems_of(old)
    assert [(p.code.rsplit(".", 1)[1], p.share_id, p.fields) for p in problems] == expected, case
    for problem in problems:
        assert problem.problem.render() in result.output
        if problem.code.endswith("disputed"):
            assert problem.seq == events[-1].seq and events[-1].action == "ledger.baseline"
    if expected[0][2] == ["state"]:
        assert "state er «published» i raden, men «rejected» etter hendelsene" in result.output


def test_what_the_upgrade_cannot_know_is_taken_as_found(old: str) -> None:
    # Completions and messages had no per-row events before 0006: one deleted before the upgrade is not
    # found (nor an edit of a share field no old event names). Everything after the upgrade is.
    first = fixture_tables()["completions"][0]
    tamper(old, ("DELETE FROM completions WHERE share_id = ? AND learner_key = ? AND owner_activity = ?",
                 (first["share_id"], first["learner_key"], first["owner_activity"])),
           "UPDATE shares SET initiator = 'Mallory' WHERE id = 'S-0001'")
    with Ledger.open(old) as ledger:
        report = ledger.verify()
        assert (report.ok, report.rows) == (True, 12), report
        assert ledger.require_share("S-0001").initiator == "Mallory"


def test_sigkill_during_the_upgrade_leaves_the_previous_ledger(old: str) -> None:
    upgrader = child(f"""
        import sys
        from lmsbridge.ledger import Ledger, audit

        real = audit.stamp_existing_rows

        def slow(db, **kwargs):
            written = real(db, **kwargs)
            print("inside", flush=True)
            sys.stdin.readline()  # killed here: the column added and the baseline written, not committed
            return written

        audit.stamp_existing_rows = slow
        Ledger.open({old!r})
    """)
    try:
        wait_for(upgrader, "inside")
        os.kill(upgrader.pid, signal.SIGKILL)
    finally:
        upgrader.wait()
    assert upgrader.returncode == -signal.SIGKILL
    raw = Raw(old)
    try:
        assert raw.execute("SELECT COUNT(*) FROM migrations WHERE name = '0006_row_digests'") == [(0,)]
        assert raw.execute("SELECT COUNT(*) FROM events") == [(len(fixture_tables()["events"]),)]
    finally:
        raw.close()
    with Ledger.open(old) as ledger:  # and the upgrade goes through on the next open
        assert "0006_row_digests" in ledger.applied_migrations()
        assert ledger.verify().ok and ledger.events()[-1].action == "ledger.baseline"


# -- the real commands: the demo's ledger ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ledger ``lmsbridge demo`` leaves: three shares through request, approve, publish; three sync runs;
    certificate groups; a revoke. Written by the real workflows and sync, over HTTP to the sandbox sites."""
    folder = tmp_path_factory.mktemp("demo") / "kept"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSBRIDGE_")}
    done = subprocess.run([sys.executable, "-m", "lmsbridge", "demo", "--keep", str(folder)], cwd=ROOT,
                          env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    yield folder / "ledger.db"


@pytest.mark.slow
def test_the_demos_ledger_verifies_and_the_colleagues_edit_is_found(demo_ledger: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ledger.db"
    source = sqlite3.connect(demo_ledger)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    result = verify_cli(str(copy))
    assert result.exit_code == 0, result.output
    with Ledger.open(copy) as ledger:
        shares = ledger.list_shares()
        assert {s.state for s in shares} >= {"published", "revoked"} and ledger.completions()
        assert f"Radene stemmer med hendelsene: {ledger.verify().rows} rader" in result.output
    tamper(str(copy), "UPDATE shares SET state = 'published', borrower_course_id = 2 WHERE id = 'S-0001'")
    result = verify_cli(str(copy))
    assert result.exit_code == 1 and "deling S-0001 er endret etter hendelse" in result.output
    assert "state, borrower_course_id" in result.output


@pytest.mark.slow
def test_the_demos_rows_copied_into_a_fresh_ledger_of_either_dialect_verify_there(demo_ledger: Path,
                                                                                   ledger_url: str) -> None:
    # Stamps are of the values as the database gives them back: the same on SQLite and PostgreSQL.
    source = sqlite3.connect(demo_ledger)
    source.row_factory = sqlite3.Row
    tables = {t: [dict(r) for r in source.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in LOAD_ORDER}
    source.close()
    load(ledger_url, tables, MIGRATIONS)
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
        assert report.ok and report.rows == sum(len(tables[t]) for t in AUDITED), report
        assert report.head_hash == tables["chain_head"][0]["hash"]


def test_every_column_of_an_audited_table_is_stamped(ledger_url: str) -> None:
    # A migration that adds a column to an audited table fails here until the stamps cover it (and the
    # rows are stamped again in an event, as 0006 did).
    Ledger.open(ledger_url).close()
    raw = Raw(ledger_url)
    try:
        for table in AUDITED.values():
            sql = ("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                   "AND table_name = ?" if raw.postgres else "SELECT name FROM pragma_table_info(?)")
            assert {c for (c,) in raw.execute(sql, (table.name,))} == set(table.columns), table.name
    finally:
        raw.close()
    assert set(SHARES.columns) == set(Share.model_fields)
