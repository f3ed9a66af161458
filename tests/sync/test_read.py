"""The read stage's own rules (the calls are tested through the engine, tests/sync/test_engine.py)."""

from __future__ import annotations

from lmsbridge.sync.read import implied_done


def test_a_progress_percentage_stands_for_a_number_of_activities() -> None:
    assert implied_done(66.7, 3) == 2 and implied_done(33.3, 3) == 1
    assert implied_done(None, 3) is None and implied_done(50.0, 0) is None
