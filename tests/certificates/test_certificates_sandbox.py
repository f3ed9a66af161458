"""Certificate groups, issuance list and notices against the sandbox (in process), LP1 HBHF-SMITTE-01.

Seeded states on lp course 5 (seed_data.json): all done u01 4, u02 5, u03 6, u04 7, u11 14; one of two
u05 8, u06 9, u12 15; nothing u07 10, u08 11, u09 12, u10 13.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates import certificate_list, group_after_sync, group_certificates, notify_certificates
from lmsbridge.config import Config
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.registry import REGISTRY
from lmsbridge.sync import run_sync
from tests.sync.helpers import SECRET, make_clients, make_config, publish

COMPLETE = {4, 5, 6, 7, 14}
PARTIAL = {8, 9, 15}
NOTHING = {10, 11, 12, 13}
DUE = date(2026, 11, 1)  # grace 10 days: until 2026-11-11


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PSEUDONYM", SECRET)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.in_process() as sb:  # about the groups, not HTTP: no sockets needed
        yield sb


def config_for(sb: Sandbox, tmp: Path) -> Config:
    return make_config({n: s.url for n, s in sb.sites.items()}, tmp=tmp, certificates={
        "HBHF-SMITTE-01": {"platform": "lp", "due": DUE.isoformat(), "grace_days": 10, "points": 2.0,
                           "activity_points": {"Håndhygiene": 1.0, "Smittemåter og barrierer": 1.0}},
    })


def client_for(sb: Sandbox, *, dry_run: bool = False) -> dict[str, MoodleClient]:
    return make_clients({n: s.url for n, s in sb.sites.items()}, tokens={n: s.token for n, s in sb.sites.items()},
                        dry_run=dry_run)


def members(sb: Sandbox) -> dict[str, set[int]]:
    groups = sb.sites["lp"].state.groups.values()
    return {g.name: set(g.members) for g in groups if g.courseid == 5}


def test_groups_match_the_participants_states_and_converge(sandbox: Sandbox, tmp_path: Path) -> None:
    config = config_for(sandbox, tmp_path)
    clients = client_for(sandbox)
    before = group_certificates(config, clients.__getitem__, today=date(2026, 10, 15))
    assert before.exit_code == 0 and members(sandbox) == {}  # before the due date nobody is grouped

    within = group_certificates(config, clients.__getitem__, today=date(2026, 11, 5))
    assert within.grouped[0].created_groups == ["Fullført 100%", "Fullført, ikke 100%", "Inaktiv"]
    assert members(sandbox) == {"Fullført 100%": COMPLETE, "Fullført, ikke 100%": PARTIAL, "Inaktiv": set()}

    after_grace = group_certificates(config, clients.__getitem__, today=date(2026, 11, 20))
    assert members(sandbox) == {"Fullført 100%": COMPLETE, "Fullført, ikke 100%": PARTIAL, "Inaktiv": NOTHING}
    assert after_grace.grouped[0].changed == len(NOTHING)

    again = group_certificates(config, clients.__getitem__, today=date(2026, 11, 20))
    assert again.grouped[0].changed == 0 and again.grouped[0].created_groups == []

    lp = sandbox.sites["lp"].state
    lp.complete_activity(10, 12)  # u07 catches up: Inaktiv → Fullført, ikke 100%
    lp.complete_activity(8, 13)  # u05 finishes: → Fullført 100%
    moved = group_certificates(config, clients.__getitem__, today=date(2026, 11, 21))
    assert {m.userid: m.add for m in moved.grouped[0].moves} == {10: "Fullført, ikke 100%", 8: "Fullført 100%"}
    assert members(sandbox) == {"Fullført 100%": COMPLETE | {8}, "Fullført, ikke 100%": (PARTIAL - {8}) | {10},
                                "Inaktiv": NOTHING - {10}}


def test_after_a_sync_the_groups_use_what_the_run_wrote(sandbox: Sandbox, tmp_path: Path) -> None:
    """The sync brings u01 (4) and u07 (10) back complete and u09 (12) with one of two (ks course 3 → lp course 5):
    the groups after it are what a fresh read gives, without reading again the course, its activities, or the
    completion of the learners the run has just completed."""
    config = config_for(sandbox, tmp_path)
    clients = client_for(sandbox)
    lp = sandbox.sites["lp"].state
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        publish(ledger, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks",
                borrower_course=3, borrower_shortname="KSL-HBHF-SMITTE-01")
        summary = run_sync(config=config, clients=clients, ledger=ledger)
    assert summary.exit_code == 0
    assert summary.writes()[("lp", "HBHF-SMITTE-01")].completions == {
        4: frozenset({12, 13}), 10: frozenset({12, 13}), 12: frozenset({12})}
    lp.reset_counters()
    after = group_after_sync(config, clients.__getitem__, summary, today=date(2026, 11, 20))
    assert after.exit_code == 0
    assert members(sandbox) == {"Fullført 100%": COMPLETE | {10}, "Fullført, ikke 100%": PARTIAL | {12},
                                "Inaktiv": NOTHING - {10, 12}}
    calls = lp.calls_by_function
    assert not {"core_course_get_courses_by_field", "core_course_get_contents", "core_course_get_course_module"} & set(
        calls)
    participants = len(COMPLETE | PARTIAL | NOTHING)
    assert calls["core_completion_get_activities_completion_status"] == participants - 2  # not u01, u07
    fresh = group_certificates(config, clients.__getitem__, today=date(2026, 11, 20))
    assert fresh.grouped[0].changed == 0 and fresh.grouped[0].counts == after.grouped[0].counts


def test_dry_run_changes_no_group(sandbox: Sandbox, tmp_path: Path) -> None:
    clients = client_for(sandbox, dry_run=True)
    run = group_certificates(config_for(sandbox, tmp_path), clients.__getitem__, today=date(2026, 11, 20))
    assert members(sandbox) == {}
    assert [c.wsfunction for c in clients["lp"].planned] == ["core_group_create_groups"]
    assert run.grouped[0].counts == {"Fullført 100%": 5, "Fullført, ikke 100%": 3, "Inaktiv": 4}


def test_issuance_list_points(sandbox: Sandbox, tmp_path: Path) -> None:
    clients = client_for(sandbox)
    run = certificate_list(config_for(sandbox, tmp_path), clients.__getitem__, today=date(2026, 11, 20))
    rows = {r["userid"]: r for r in run.rows}
    assert rows[4]["group"] == "Fullført 100%" and rows[4]["points"] == 2.0 and not rows[4]["manual_issue"]
    assert rows[8]["group"] == "Fullført, ikke 100%" and rows[8]["points"] == 1.0
    assert rows[8]["missing"] == "Smittemåter og barrierer"
    assert rows[10]["group"] == "Inaktiv" and rows[10]["points"] == 0.0 and rows[10]["manual_issue"]
    assert rows[4]["name"] == "Kari Nordmann"


def test_notices_once_per_due_date_and_refusals_reported(sandbox: Sandbox, tmp_path: Path) -> None:
    config = config_for(sandbox, tmp_path)
    clients = client_for(sandbox)
    lp = sandbox.sites["lp"].state
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        first = notify_certificates(config, clients.__getitem__, ledger, today=date(2026, 11, 2))
        notice = first.notices[0]
        assert notice.sent == len(PARTIAL | NOTHING) and notice.complete == len(COMPLETE) and first.exit_code == 0
        text = lp.messages_to(8)[0].text
        assert "Smittemåter og barrierer" in text and "01.11.2026" in text and "Håndhygiene" not in text
        again = notify_certificates(config, clients.__getitem__, ledger, today=date(2026, 11, 3))
        assert again.notices[0].sent == 0 and again.notices[0].already == len(PARTIAL | NOTHING)
        assert len(lp.messages_to(8)) == 1
        assert all(len(n.learner_key) == 64 for n in ledger.certificate_notices())

    lp.set_ws_can_message_any_user(False)
    with Ledger.open(tmp_path / "other.db") as ledger:
        refused = notify_certificates(config, clients.__getitem__, ledger, today=date(2026, 11, 2))
        assert refused.exit_code == 4 and len(refused.notices[0].failed) == len(PARTIAL | NOTHING)
        assert ledger.certificate_notices() == []  # tried again next time


def test_without_the_delete_function_every_add_is_made_and_each_removal_is_a_manual_step(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """issue 15 item 3: a service without core_group_delete_group_members degrades, never fails whole."""
    config = config_for(sandbox, tmp_path)
    clients = client_for(sandbox)
    group_certificates(config, clients.__getitem__, today=date(2026, 11, 20))
    lp = sandbox.sites["lp"].state
    lp.set_service_functions(sorted(set(REGISTRY) - {"core_group_delete_group_members"}))
    lp.complete_activity(10, 12)  # u07: Inaktiv → Fullført, ikke 100% (cannot leave Inaktiv)
    lp.complete_activity(8, 13)  # u05: Fullført, ikke 100% → Fullført 100% (cannot leave the old one)
    run = group_certificates(config, clients.__getitem__, today=date(2026, 11, 21))
    assert run.exit_code == 4 and not run.errors
    outcome = run.grouped[0]
    assert sorted(outcome.manual) == [(8, "Fullført, ikke 100%"), (10, "Inaktiv")]
    assert outcome.manual_reason is not None and outcome.manual_reason.code == "moodle.access_denied"
    found = members(sandbox)
    assert 8 in found["Fullført 100%"] and 10 in found["Fullført, ikke 100%"]  # the adds were made
    assert 8 in found["Fullført, ikke 100%"] and 10 in found["Inaktiv"]  # the removals were not
    assert found["Fullført 100%"] == COMPLETE | {8}  # nobody else changed
