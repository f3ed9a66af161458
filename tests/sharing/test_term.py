"""The agreement's term (seed 002: «Pilotavtale KS/HSØ trer i kraft fra 1.7.2016 … Varighet: ett år, må
deretter fornyes»)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lmsbridge.sharing.term import (
    AGREEMENT_START,
    Term,
    add_months,
    may_publish,
    may_request,
    may_revoke_in_term,
    term_status,
    terms_of,
)

D = date

STATUS = [
    # today, renewals, valid, code, current term, days left
    # the first term: 2016-07-01 … 2017-06-30
    (D(2016, 6, 30), [], False, "term.not_started", (D(2016, 7, 1), D(2017, 6, 30)), 365),
    (D(2016, 7, 1), [], True, "term.valid", (D(2016, 7, 1), D(2017, 6, 30)), 364),
    # warned when fewer than 60 days remain after today
    (D(2017, 5, 1), [], True, "term.valid", (D(2016, 7, 1), D(2017, 6, 30)), 60),
    (D(2017, 5, 2), [], True, "term.expiring", (D(2016, 7, 1), D(2017, 6, 30)), 59),
    (D(2017, 6, 30), [], True, "term.expiring", (D(2016, 7, 1), D(2017, 6, 30)), 0),
    # «må deretter fornyes»: without a renewal it lapses
    (D(2017, 7, 1), [], False, "term.expired", (D(2016, 7, 1), D(2017, 6, 30)), -1),
    (D(2025, 1, 1), [], False, "term.expired", (D(2016, 7, 1), D(2017, 6, 30)), -2742),
    # renewed in time: the next term follows on, whatever day in the term it was renewed
    (D(2017, 7, 1), [D(2017, 5, 15)], True, "term.valid", (D(2017, 7, 1), D(2018, 6, 30)), 364),
    (D(2017, 7, 1), [D(2017, 6, 30)], True, "term.valid", (D(2017, 7, 1), D(2018, 6, 30)), 364),
    (D(2017, 7, 1), [D(2016, 9, 1)], True, "term.valid", (D(2017, 7, 1), D(2018, 6, 30)), 364),
    # the same term renewed twice (a date recorded twice, or two signatures) adds one term, not two
    (D(2018, 7, 1), [D(2017, 5, 15), D(2017, 6, 1)], False, "term.expired", (D(2017, 7, 1), D(2018, 6, 30)), -1),
    # renewed every year
    (D(2019, 3, 1), [D(2017, 6, 1), D(2018, 6, 1)], True, "term.valid", (D(2018, 7, 1), D(2019, 6, 30)), 121),
    # renewed after a lapse: a new term from the renewal date; the gap is outside any term
    (D(2017, 9, 1), [D(2017, 9, 15)], False, "term.expired", (D(2016, 7, 1), D(2017, 6, 30)), -63),
    (D(2017, 9, 15), [D(2017, 9, 15)], True, "term.valid", (D(2017, 9, 15), D(2018, 9, 14)), 364),
    # a renewal dated after today has not happened yet; one before the start renews nothing
    (D(2017, 7, 1), [D(2017, 8, 1)], False, "term.expired", (D(2016, 7, 1), D(2017, 6, 30)), -1),
    (D(2017, 7, 1), [D(2016, 1, 1)], False, "term.expired", (D(2016, 7, 1), D(2017, 6, 30)), -1),
]


@pytest.mark.parametrize(("today", "renewals", "valid", "code", "term", "days_left"), STATUS)
def test_term_status(
    today: date, renewals: list[date], valid: bool, code: str, term: tuple[date, date], days_left: int
) -> None:
    status = term_status(today, start=AGREEMENT_START, term_months=12, renewals=renewals)
    assert (status.valid, status.code) == (valid, code)
    assert (status.current_term_start, status.current_term_end) == term
    assert status.days_left == days_left
    assert status.reason


def test_the_reason_says_when_it_lapsed() -> None:
    assert term_status(D(2017, 8, 1)).reason == "Avtaleperioden utløp 2017-06-30 og er ikke fornyet"
    assert term_status(D(2017, 8, 1)).message.render("en") == (
        "The agreement's term ended on 2017-06-30 and has not been renewed"
    )
    assert term_status(D(2017, 6, 20)).reason == "Avtaleperioden utløper 2017-06-30 (om 10 dager) og må fornyes"


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2016, 7, 1), 12, D(2017, 6, 30)),
        (D(2016, 7, 1), 6, D(2016, 12, 31)),
        (D(2016, 7, 1), 24, D(2018, 6, 30)),
        (D(2016, 1, 31), 1, D(2016, 2, 28)),  # 31 Jan + 1 month = 29 Feb, the term ends the day before
        (D(2016, 2, 29), 12, D(2017, 2, 27)),  # leap day + 1 year = 28 Feb 2017
    ],
)
def test_a_term_is_calendar_months(start: date, months: int, end: date) -> None:
    assert terms_of(start, start=start, term_months=months)[0] == Term(start, end)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(D(2016, 1, 31), 1) == D(2016, 2, 29)
    assert add_months(D(2016, 11, 30), 3) == D(2017, 2, 28)


def test_term_months_must_be_positive() -> None:
    with pytest.raises(ValueError, match="term_months"):
        term_status(D(2017, 1, 1), term_months=0)


def test_a_datetime_is_read_as_its_date() -> None:
    assert term_status(datetime(2017, 6, 30, 23, 0, tzinfo=UTC)).valid


ACTS = [
    # today, renewals, allowed, code, warning
    (D(2016, 12, 1), [], True, "term.valid", False),
    (D(2017, 6, 15), [], True, "term.expiring", True),
    (D(2017, 7, 1), [], False, "term.expired", False),
    (D(2017, 7, 1), [D(2017, 6, 1)], True, "term.valid", False),
    (D(2016, 6, 1), [], False, "term.not_started", False),
]


@pytest.mark.parametrize("act", [may_request, may_publish], ids=["request", "publish"])
@pytest.mark.parametrize(("today", "renewals", "allowed", "code", "warning"), ACTS)
def test_requests_and_publishing_need_a_valid_term(
    act: object, today: date, renewals: list[date], allowed: bool, code: str, warning: bool
) -> None:
    assert callable(act)
    verdict = act(today, start=AGREEMENT_START, term_months=12, renewals=renewals)
    assert (verdict.allowed, verdict.code, verdict.warning) == (allowed, code, warning)


def test_a_refusal_outside_the_term_gives_the_date() -> None:
    verdict = may_publish(D(2018, 1, 1), start=D(2016, 7, 1), term_months=12, renewals=[])
    assert not verdict.allowed
    assert verdict.reason == "Avtaleperioden utløp 2017-06-30 og er ikke fornyet"
    assert verdict.details["act"] == "publish"


@pytest.mark.parametrize("today", [D(2016, 1, 1), D(2016, 12, 1), D(2017, 6, 29), D(2030, 1, 1)])
def test_ending_a_share_is_always_allowed(today: date) -> None:
    verdict = may_revoke_in_term(today, start=AGREEMENT_START, term_months=12, renewals=[])
    assert verdict.allowed
    assert verdict.code == "term.revoke_always"
