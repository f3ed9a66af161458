"""bench/bench_sync.py at a tiny size, so the benchmark cannot rot: it completes, and every count adds up.

No timing is asserted (the speed targets are the benchmark's, at 50 × 200 with 25 ms per call); at 0 ms the
runs make exactly the minimum computed from the seeded data, the client's and the server's counts agree,
the owner site ends with exactly the borrower's completions, and the naive sweep costs what its formula
says.
"""

from __future__ import annotations

import pytest

from bench.bench_sync import Figures, measure, verdicts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures() -> Figures:
    # 4 shares × 10 learners, 30 % active: with this seed the second share has no one to read (4, 0, 3, 2)
    return measure(shares=4, enrolments=10, latency=0.0, active=0.3, seed=21)


def test_the_tiny_bench_has_a_share_with_nothing_to_read(figures: Figures) -> None:
    busy = [s for s in figures.seeded.shares if s.learners_done]
    assert 0 < len(busy) < len(figures.seeded.shares)
    assert figures.seeded.completions > 0


def test_first_full_syncs_make_exactly_the_minimum(figures: Figures) -> None:
    """Exactly, bar the owner report's reads that confirm course completions: one at the least, one per share
    with writes at the most (how the shares finish decides)."""
    minimum = figures.minimum
    busy = sum(1 for s in figures.seeded.shares if s.learners_done)
    for run in (figures.first1, figures.first4):
        assert 1 <= run.confirm_reads <= busy and run.confirm_pages >= run.confirm_reads
        # the minimum counts one read of one page: each further read sets the filter again and reads its pages
        assert run.calls == minimum.total + run.confirm_reads + run.confirm_pages - 2
    assert figures.first4.by_function == {
        "core_completion_get_activities_completion_status": minimum.reads,
        "core_webservice_get_site_info": minimum.ws_user,
        "core_completion_override_activity_completion_status": minimum.writes,
        "core_course_get_contents": minimum.contents,
        "core_course_get_course_module": minimum.idnumbers,
        "core_enrol_get_enrolled_users": minimum.participant_pages,
        # ks: one before the unfiltered read; lp: the filter of the confirming reads, reset at the end
        "core_reportbuilder_filters_reset": minimum.report_filter + 1,
        "core_reportbuilder_set_filters": figures.first4.confirm_reads,
        "core_reportbuilder_retrieve_report": minimum.report_pages + figures.first4.confirm_pages,
    }
    assert figures.first1.written == figures.first4.written == figures.seeded.completions


def test_the_no_change_run_reads_the_report_three_times_and_lists_no_one(figures: Figures) -> None:
    # course completions since the cursor, the probe that finds the filter «Last access to course» (one row),
    # visits since the cursor: no participant listing, nothing else
    assert figures.minimum_no_change.borrower_pages == 0
    assert figures.no_change.calls == figures.minimum_no_change.total == 2 + 2 + 3
    assert figures.no_change.by_function == {
        "core_reportbuilder_filters_reset": 1,
        "core_reportbuilder_retrieve_report": 3,
        "core_reportbuilder_set_filters": 3,
    }
    assert figures.no_change.written == 0


def test_the_small_change_run_reads_only_who_finished(figures: Figures) -> None:
    assert sum(figures.changed_learners) == 1  # 1 % of 40 enrolments, at least one
    minimum = figures.minimum_changed
    assert figures.changed.confirm_reads == figures.changed.confirm_pages == 1
    assert figures.changed.calls == minimum.total
    # the learner is in both filtered reads of the report (course completed, visited): read once
    assert figures.changed.by_function == {
        "core_completion_get_activities_completion_status": 1,
        "core_webservice_get_site_info": 1,
        "core_completion_override_activity_completion_status": 1,
        "core_course_get_contents": 2,
        "core_course_get_course_module": minimum.idnumbers,
        "core_enrol_get_enrolled_users": minimum.participant_pages,
        "core_reportbuilder_filters_reset": 2,  # ks after its reads, lp after the confirming read
        "core_reportbuilder_retrieve_report": 3 + 1,
        "core_reportbuilder_set_filters": 3 + 1,
    }
    assert figures.changed.written == 1


def test_counts_agree_with_the_server_and_the_owner_site(figures: Figures) -> None:
    for run in figures.runs:
        assert run.calls == run.served, run.name
    assert figures.owner_first == (True, figures.seeded.completions, figures.seeded.completions)
    assert figures.owner_last == (True, figures.completions_now, figures.completions_now)


def test_the_naive_sweep_costs_what_its_formula_says(figures: Figures) -> None:
    assert figures.naive.calls == figures.naive_formula
    assert figures.naive.written == figures.completions_now
    # without the report, a full run reads every learner as the naive sweep does, plus the activity idnumbers,
    # plus what the owner holds of each learner with an account in the owner course (it reconciles against the
    # owner platform, not the ledger: issue 11 item 2)
    idnumbers = sum(s.owner_tracked + s.borrower_tracked for s in figures.seeded.shares)
    assert figures.without_report.owner_reads > 0
    # and, the owner holding every completion by then, it writes none where the naive sweep writes them all again
    # (so no course completion is read back and no override told apart: those follow writes)
    writes = figures.completions_now
    assert figures.without_report.calls == figures.naive_formula - writes + idnumbers + figures.without_report.owner_reads
    assert figures.without_report.written == 0


def test_no_verdict_but_the_untested_targets(figures: Figures) -> None:
    assert verdicts(figures, check_targets=False) == []


def test_the_command_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.bench_sync import main

    assert main(["--shares", "2", "--enrolments", "6", "--latency", "0", "--active", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "minimum of a first full sync" in out
    assert "naive per-learner sweep, each run" in out
    assert "not checked" in out  # the speed targets are for 50 × 200 at 25 ms
    assert "MISSED" not in out
