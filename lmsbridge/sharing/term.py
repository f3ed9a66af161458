"""The agreement's term: «Pilotavtale KS/HSØ trer i kraft fra 1.7.2016 … Varighet: ett år, må deretter
fornyes» (seed 002).

How renewals are read (the agreement only says «må deretter fornyes»):

* A term runs ``term_months`` calendar months from its first day; its last day is the day before the
  same date ``term_months`` later (2016-07-01 → 2017-06-30).
* A renewal made while a term is in force (on or before its last day) renews *that* term: the next term
  starts the day after it ends, so no day is lost or gained by renewing early. Renewing the same term
  twice (a date recorded twice) adds nothing.
* A renewal made after the agreement lapsed starts a new term on the renewal date; the gap in between is
  outside any term.
* Renewals dated before the agreement took effect, or after ``today``, do not count (yet).

Pure: ``today`` is always passed in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lmsbridge.i18n import N_, Message
from lmsbridge.sharing.verdict import Verdict, verdict

#: «Pilotavtale KS/HSØ trer i kraft fra 1.7.2016» (seed 002).
AGREEMENT_START = date(2016, 7, 1)
#: «Varighet: ett år».
TERM_MONTHS = 12
#: Warn (``term.expiring``) when fewer days than this remain of the term (``[agreement] warn_days``).
WARN_DAYS = 60


@dataclass(frozen=True)
class Term:
    """One term of the agreement, both days inclusive."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class TermStatus:
    """Where ``today`` stands. ``days_left`` counts the days after today up to the term's last day (0 on
    the last day, negative once it has passed). ``current_term_*`` is the term in force, else the last one
    that ended (or the first, before the start)."""

    valid: bool
    current_term_start: date
    current_term_end: date
    days_left: int
    message: Message
    terms: tuple[Term, ...]

    @property
    def code(self) -> str:
        return self.message.code

    @property
    def reason(self) -> str:
        """The reason in the current language."""
        return self.message.render()

    @property
    def expiring(self) -> bool:
        return self.code == "term.expiring"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year += day.year
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_from(start: date, term_months: int) -> Term:
    return Term(start, add_months(start, term_months) - timedelta(days=1))


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


def terms_of(
    today: date, *, start: date = AGREEMENT_START, term_months: int = TERM_MONTHS, renewals: Iterable[date] = ()
) -> tuple[Term, ...]:
    """The agreement's terms known on ``today``, in order (see the module's reading of renewals)."""
    if term_months < 1:
        raise ValueError(f"term_months must be at least 1, not {term_months}")
    today, start = _as_date(today), _as_date(start)
    terms = [term_from(start, term_months)]
    renewed: set[Term] = set()
    for renewal in sorted({_as_date(r) for r in renewals}):
        if renewal < start or renewal > today:
            continue
        in_force = next((term for term in terms if renewal in term), None)
        if in_force is None:  # the agreement had lapsed: a new term from the renewal date
            terms.append(term_from(renewal, term_months))
        elif in_force not in renewed:
            renewed.add(in_force)
            if in_force is terms[-1]:
                terms.append(term_from(in_force.end + timedelta(days=1), term_months))
    return tuple(terms)


def term_status(
    today: date,
    *,
    start: date = AGREEMENT_START,
    term_months: int = TERM_MONTHS,
    renewals: Iterable[date] = (),
    warn_days: int = WARN_DAYS,
) -> TermStatus:
    """Is the agreement in force on ``today``, which term, and how long is left?"""
    today = _as_date(today)
    terms = terms_of(today, start=start, term_months=term_months, renewals=renewals)
    current = next((term for term in terms if today in term), None)
    if current is not None:
        code = N_("term.expiring") if (current.end - today).days < warn_days else N_("term.valid")
        valid = True
    elif today < terms[0].start:
        current, code, valid = terms[0], N_("term.not_started"), False
    else:
        current = max((term for term in terms if term.end < today), key=lambda term: term.end)
        code, valid = N_("term.expired"), False
    days_left = (current.end - today).days
    message = Message(code, start=current.start.isoformat(), end=current.end.isoformat(), days_left=days_left)
    return TermStatus(valid, current.start, current.end, days_left, message, terms)


def _term_verdict(act: str, status: TermStatus) -> Verdict:
    return verdict(
        status.valid,
        status.code,
        act=act,
        start=status.current_term_start.isoformat(),
        end=status.current_term_end.isoformat(),
        days_left=status.days_left,
        warning=status.expiring,
    )


def may_request(
    today: date, *, start: date = AGREEMENT_START, term_months: int = TERM_MONTHS, renewals: Iterable[date] = (),
    warn_days: int = WARN_DAYS,
) -> Verdict:
    """A share may be requested only within a valid term (allowed with ``term.expiring`` near its end)."""
    status = term_status(today, start=start, term_months=term_months, renewals=renewals, warn_days=warn_days)
    return _term_verdict("request", status)


def may_publish(
    today: date, *, start: date = AGREEMENT_START, term_months: int = TERM_MONTHS, renewals: Iterable[date] = (),
    warn_days: int = WARN_DAYS,
) -> Verdict:
    """A share may be published only within a valid term (allowed with ``term.expiring`` near its end)."""
    status = term_status(today, start=start, term_months=term_months, renewals=renewals, warn_days=warn_days)
    return _term_verdict("publish", status)


def may_revoke_in_term(
    today: date, *, start: date = AGREEMENT_START, term_months: int = TERM_MONTHS, renewals: Iterable[date] = ()
) -> Verdict:
    """Ending a share is always allowed: «Eier av kurset kan velge å avslutte delingen av et kurs», and a
    lapsed agreement is a reason to end shares, not to keep them."""
    status = term_status(today, start=start, term_months=term_months, renewals=renewals)
    return verdict(
        True, "term.revoke_always", act="revoke", term_valid=status.valid, end=status.current_term_end.isoformat()
    )
