"""The report's figures from a ledger written by hand: what falls in the period, states at its end, sources."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from lmsbridge.config import parse_config
from lmsbridge.ledger import Ledger
from lmsbridge.report import Period, collect
from lmsbridge.report.render import render_csv

CONFIG = parse_config({"agreement": {"start": date(2016, 7, 1), "renewals": [date(2026, 7, 1)]}})
PSEUDONYM = "a1b2c3d4e5f6a7b8c9d0"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").astimezone(UTC)


def share(ledger: Ledger, key: str, acts: list[tuple[str, str, str]]) -> str:
    """A share with its acts: (action, new state or "", day)."""
    made = ledger.create_share(flow="hospital-to-ks", owner_platform="lp", owner_course_id=5,
                               owner_course_shortname=key, owner_org="Helse Bergen HF", borrower_platform="ks",
                               borrower_org="KS", initiator="Ola", licence_at_share="CC BY", label="delt til KS Læring",
                               owner_support="s", borrower_support="s", contact_point="kslaring@ks.no",
                               request_key=key, now=at(acts[0][2]))
    for action, state, day in acts:
        with ledger.transaction():
            if state:
                ledger.update_share_state(made.id, state, now=at(day))
            ledger.append_event(share_id=made.id, actor="Ola", action=action, at=at(day))
    return made.id


def test_the_period_decides_what_counts() -> None:
    with Ledger.open(":memory:") as ledger:
        old = share(ledger, "OLD", [("request", "", "2026-08-03"), ("approve", "approved", "2026-08-04"),
                                    ("publish", "published", "2026-08-05")])
        share(ledger, "NEW", [("request", "", "2026-10-06"), ("approve", "approved", "2026-10-07")])
        share(ledger, "LATER", [("request", "", "2027-01-05")])
        ledger.record_completion(share_id=old, learner_key=PSEUDONYM, owner_activity="7", borrower_activity="9",
                                 time_completed=None, synced_at=at("2026-09-01"))
        ledger.record_completion(share_id=old, learner_key=PSEUDONYM, owner_activity="8", borrower_activity="10",
                                 time_completed=None, synced_at=at("2026-11-02"))
        ledger.record_failure(share_id=old, item_kind="unmatched", item_key=PSEUDONYM, reason="x", now=at("2026-11-02"))
        run = ledger.start_run(at("2026-11-02"))
        ledger.finish_run(run.id, status="ok", counts={"written": 1}, finished_at=at("2026-11-02"))
        with ledger.transaction():
            ledger.append_event(share_id=None, actor="lmsbridge sync", action="sync.check", at=at("2026-11-03"),
                                details={"checked": 40, "drift": 2})
        figures = collect(ledger, CONFIG, Period.quarter("2026Q4"), now=at("2026-11-10"), lang="nb")

    assert figures.acts_period == {"request": 1, "approve": 1, "publish": 0, "revoke": 0, "reject": 0}
    assert figures.flow_state == {"hospital-to-ks": {"requested": 0, "approved": 1, "published": 1, "revoked": 0,
                                                     "rejected": 0}}
    first_week = figures.states_by_week[date(2026, 10, 4)]
    assert (first_week["published"], first_week["approved"]) == (1, 0)  # NEW was requested on the 6th
    (old_row,) = figures.shares  # NEW was never shared; LATER is after the period
    assert (old_row.completions_period, old_row.completions_total, old_row.learners_total) == (1, 2, 1)
    assert old_row.without_owner_account == 1
    assert figures.sync.runs == 1 and figures.sync.hours_since_clean_run == 192.0  # 8 days
    assert figures.sync.drift is not None and figures.sync.drift["drift"] == 2
    assert figures.sync.drift_source == "ledger"
    assert [(w.state, w.course) for w in figures.waiting] == [("approved", "NEW"), ("requested", "LATER")]
    assert figures.term.end == date(2027, 6, 30) and figures.term.days_left == 232
    assert figures.headline()["notices.period"] == 1  # the request of NEW wrote its e-mail in the period
    rows = render_csv(figures).splitlines()
    assert "courses,completions_period,S-0001 OLD,1,ledger" in rows


def test_the_cli_does_not_import_matplotlib_or_jinja2_until_a_report_is_drawn() -> None:
    code = "import sys, lmsbridge.cli.main; print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"
