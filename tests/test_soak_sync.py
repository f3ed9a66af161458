"""bench/soak_sync.py: its ledger count finds a duplicate, and a tiny soak (every scenario once) ends with
nothing lost, duplicated or drifting. (The default soak's figures are in the README's «Reliability».)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.soak_sync import SECRET, ledger_duplicates, main
from lmsbridge.ledger import Ledger
from lmsbridge.sync.identity import learner_key
from tests.sync.helpers import publish

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_the_ledger_count_finds_rows_under_another_pseudonym(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        share = publish(ledger, owner="lp", owner_course=5, owner_shortname="C", borrower="ks", borrower_course=3,
                        borrower_shortname="KSL-C")
        for secret, activity in ((SECRET, "12"), (SECRET, "13"), ("another-secret-0123456789abcdef", "12")):
            with ledger.transaction():
                ledger.record_completion(share_id=share.id, learner_key=learner_key(secret.encode(), "lp", 7),
                                         owner_activity=activity, borrower_activity="5", time_completed=AT)
    assert ledger_duplicates(tmp_path, {"HB-7": 7}) == (1, 3)  # the row under the other secret's pseudonym


@pytest.mark.slow
def test_a_tiny_soak_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--trials", "2", "--shares", "1", "--learners", "6", "--latency", "0", "--burst", "10",
                 "--resets", "2", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    figures = dict(line.split(": ", 1) for line in out.splitlines()[:4])
    assert int(figures["trials"]) >= 2
    assert (figures["lost"], figures["duplicated"], figures["drift"]) == ("0", "0", "0")
    assert "owner-side reset: 2 completions; missing after an incremental run: 2; after --full: 0" in out
