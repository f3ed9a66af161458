"""The completion report (report builder, "Course participants" datasource) as typed rows. Pure functions.

``MoodleClient.completion_report`` pages through ``core_reportbuilder_retrieve_report`` and gives a
``CompletionReport``; ``MoodleClient.filter_report_completed_since`` sets the filter whose values
``completed_since_filter`` builds. Nothing above the adapters reads a report cell.

Facts this rests on (tests/fixtures/moodle/INDEX.md, ``*reportbuilder*`` files):

* cells are display strings by column position; headers are display names in the caller's language, so
  columns are found by header text and, failing that, at the positions of the recorded report
  (``lp__core_reportbuilder_retrieve_report__ok_perpage1000_tz_utc_lang_en.json``);
* user and course ids appear only inside the links of the "… with link" columns
  (``<a href="http://…/user/profile.php?id=4">Kari Nordmann</a>``), read here with a strict regex;
* times are ``userdate`` strings to the minute, "Sunday, 22 November 2026, 6:01 PM", in UTC when the call
  carries ``moodlewssettingtimezone=UTC``; "Never" and "" mean none;
* "Completed" is "Yes"/"No", or "" without a course_completions row; "Student progress" is the
  activity-completion percentage ("66.7%").
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: Rows asked for per ``core_reportbuilder_retrieve_report`` page.
REPORT_PAGE_SIZE = 1000

#: Column positions of the recorded report «lmsbridge course completions» (both sites).
KNOWN_POSITIONS: dict[str, int] = {
    "course": 0,
    "course_link": 1,
    "user_link": 2,
    "username": 3,
    "idnumber": 4,
    "email": 5,
    "completed": 6,
    "timecompleted": 7,
    "progress": 8,
    "lastaccess": 9,
}

# Header texts (English, and Norwegian bokmål for a site whose report speaks it), lower-cased.
_HEADERS: dict[str, tuple[str, ...]] = {
    "course": ("course short name", "kortnavn for kurs", "kursets kortnavn", "kortnavn"),
    "course_link": ("course short name with link", "kortnavn for kurs med lenke", "kortnavn med lenke"),
    "user_link": ("full name with link", "fullt navn med lenke"),
    "username": ("username", "brukernavn"),
    "idnumber": ("id number", "idnumber", "id-nummer", "idnummer"),
    "email": ("email address", "e-postadresse", "email", "e-post"),
    "completed": ("completed", "fullført"),
    "timecompleted": ("time completed", "tid fullført", "fullført tidspunkt", "tidspunkt fullført"),
    "progress": ("student progress", "progress", "fremdrift", "studentens fremdrift"),
    "lastaccess": ("last access to course", "siste tilgang til kurs", "sist besøkt kurs"),
}

_USER_LINK = re.compile(r"""<a\s[^>]*href=["'][^"']*/user/profile\.php\?(?:[^"'#]*&(?:amp;)?)?id=(\d+)[^"']*["']""")
_COURSE_LINK = re.compile(r"""<a\s[^>]*href=["'][^"']*/course/view\.php\?(?:[^"'#]*&(?:amp;)?)?id=(\d+)[^"']*["']""")
_TAGS = re.compile(r"<[^>]*>")
_PERCENT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*%\s*$")

DATE_FORMAT = "%A, %d %B %Y, %I:%M %p"
_NONE_TEXTS = frozenset({"", "never", "aldri", "-"})


@dataclass(frozen=True)
class Columns:
    """Where each needed column is (None = not in this report)."""

    positions: dict[str, int | None]

    def get(self, row: Sequence[str], name: str) -> str:
        index = self.positions.get(name)
        if index is None or index >= len(row):
            return ""
        return row[index]


@dataclass(frozen=True)
class CompletionRow:
    """One (course, enrolled user) row of the report."""

    course_id: int | None
    course_shortname: str
    userid: int | None
    username: str
    idnumber: str
    email: str
    fullname: str
    completed: bool | None
    time_completed: datetime | None
    progress: float | None  # percent, 0..100
    last_access: datetime | None


def locate_columns(headers: Sequence[str], sample: Sequence[Sequence[str]] = ()) -> Columns:
    """Find columns by header text; fall back to the link patterns in the cells, then the known positions."""
    lowered = [text_of(h).strip().casefold() for h in headers]
    positions: dict[str, int | None] = {}
    taken: set[int] = set()
    # Longer, more specific names first ("course short name with link" before "course short name").
    for name in sorted(_HEADERS, key=lambda n: -max(len(h) for h in _HEADERS[n])):
        for candidate in _HEADERS[name]:
            hits = [i for i, h in enumerate(lowered) if h == candidate and i not in taken]
            if hits:
                positions[name] = hits[0]
                taken.add(hits[0])
                break
    for name, pattern in (("course_link", _COURSE_LINK), ("user_link", _USER_LINK)):
        if positions.get(name) is None:
            positions[name] = _column_matching(sample, pattern)
    width = len(headers) or max((len(r) for r in sample), default=0)
    known_layout = width == len(KNOWN_POSITIONS)
    for name, index in KNOWN_POSITIONS.items():
        if positions.get(name) is None:
            positions[name] = index if known_layout and index not in taken else None
    return Columns(positions)


def _column_matching(rows: Sequence[Sequence[str]], pattern: re.Pattern[str]) -> int | None:
    for row in rows[:20]:
        for index, cell in enumerate(row):
            if pattern.search(cell):
                return index
    return None


def text_of(cell: str) -> str:
    """Display text of a cell (tags stripped, entities decoded)."""
    return html.unescape(_TAGS.sub("", cell or "")).strip()


def link_id(cell: str, pattern: re.Pattern[str]) -> int | None:
    found = pattern.search(cell or "")
    return int(found.group(1)) if found else None


def user_id(cell: str) -> int | None:
    """``<a href=".../user/profile.php?id=4">Kari Nordmann</a>`` → 4."""
    return link_id(cell, _USER_LINK)


def course_id(cell: str) -> int | None:
    """``<a href=".../course/view.php?id=7">HBHF-BRANN-03</a>`` → 7."""
    return link_id(cell, _COURSE_LINK)


def parse_time(cell: str) -> datetime | None:
    """'Sunday, 22 November 2026, 6:01 PM' (rendered in UTC) → aware datetime; 'Never'/'' → None.

    Raises ValueError for a text that is neither (the caller decides whether that row still counts).
    """
    text = text_of(cell)
    if text.casefold() in _NONE_TEXTS:
        return None
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)


def parse_progress(cell: str) -> float | None:
    found = _PERCENT.match(text_of(cell))
    return float(found.group(1).replace(",", ".")) if found else None


def parse_completed(cell: str) -> bool | None:
    text = text_of(cell).casefold()
    if text in ("yes", "ja", "1", "true"):
        return True
    if text in ("no", "nei", "0", "false"):
        return False
    return None


@dataclass(frozen=True)
class UnreadableCell:
    """A cell whose text is not what the report should hold (a date in another format, say)."""

    row: int  # 0-based, across pages
    column: str
    text: str


@dataclass(frozen=True)
class CompletionReport:
    """Every row of one read of the report, and the cells that could not be read."""

    rows: list[CompletionRow] = field(default_factory=list)
    problems: list[UnreadableCell] = field(default_factory=list)

    def merged(self, other: CompletionReport) -> CompletionReport:
        """The rows of both reads, each (course, user) once (this read's row first), and both reads' problems."""
        rows = list(self.rows)
        seen = {(r.course_id, r.userid) for r in rows if r.userid is not None}
        rows.extend(r for r in other.rows if r.userid is None or (r.course_id, r.userid) not in seen)
        return CompletionReport(rows, [*self.problems, *other.problems])

    def for_course(self, courseid: int | None, shortname: str | None) -> list[CompletionRow]:
        """The rows of one course: by the id in the link when known, else by the short name column."""
        return rows_for_course(self.rows, courseid, shortname)


def parse_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[list[CompletionRow], list[UnreadableCell]]:
    """Every row as a CompletionRow, plus the cells met that could not be read (unparseable completion times)."""
    columns = locate_columns(headers, rows)
    out: list[CompletionRow] = []
    problems: list[UnreadableCell] = []
    for number, row in enumerate(rows):
        try:
            completed_at = parse_time(columns.get(row, "timecompleted"))
        except ValueError:
            completed_at = None
            problems.append(UnreadableCell(number, "timecompleted", text_of(columns.get(row, "timecompleted"))))
        try:
            last_access = parse_time(columns.get(row, "lastaccess"))
        except ValueError:
            last_access = None
        user_cell = columns.get(row, "user_link")
        course_cell = columns.get(row, "course_link")
        out.append(
            CompletionRow(
                course_id=course_id(course_cell),
                course_shortname=text_of(columns.get(row, "course")) or text_of(course_cell),
                userid=user_id(user_cell),
                username=text_of(columns.get(row, "username")),
                idnumber=text_of(columns.get(row, "idnumber")),
                email=text_of(columns.get(row, "email")),
                fullname=text_of(user_cell),
                completed=parse_completed(columns.get(row, "completed")),
                time_completed=completed_at,
                progress=parse_progress(columns.get(row, "progress")),
                last_access=last_access,
            )
        )
    return out, problems


def rows_for_course(rows: Sequence[CompletionRow], courseid: int | None, shortname: str | None) -> list[CompletionRow]:
    """The rows of one course: by the id in the link when known, else by the short name column."""
    out = []
    for row in rows:
        if courseid is not None and row.course_id is not None:
            if row.course_id == courseid:
                out.append(row)
        elif shortname and row.course_shortname == shortname:
            out.append(row)
    return out


def completed_since_filter(since: datetime) -> str:
    """``core_reportbuilder_set_filters`` values: time completed ≥ ``since`` (operator 3 = range, no end).

    The filter compares to the second; the report shows minutes, so callers subtract their overlap before.
    """
    return json.dumps(
        {
            "completion:timecompleted_operator": 3,
            "completion:timecompleted_from": int(since.timestamp()),
            "completion:timecompleted_to": 0,
        }
    )


#: The report filter on «Last access to course» (``core_course\\reportbuilder\\local\\entities\\access``), which
#: an administrator adds to the completion report for incremental runs without a participant listing per course.
VISITS_FILTER = "access:timeaccess"
#: A time no learner has visited at: with the visits filter present, the report holds no row from it on.
_NEVER = datetime(2999, 1, 1, tzinfo=UTC)


def visited_since_filter(since: datetime) -> str:
    """``core_reportbuilder_set_filters`` values: last access to the course ≥ ``since`` (operator 3 = range, no
    end). Moodle keeps values of a filter the report does not have and applies nothing (``probe_visits_filter``)."""
    return json.dumps(
        {
            f"{VISITS_FILTER}_operator": 3,
            f"{VISITS_FILTER}_from": int(since.timestamp()),
            f"{VISITS_FILTER}_to": 0,
        }
    )


def probe_visits_filter() -> str:
    """Filter values under which a report with the visits filter holds no row (a report without it: every row)."""
    return visited_since_filter(_NEVER)


__all__ = [
    "DATE_FORMAT",
    "KNOWN_POSITIONS",
    "REPORT_PAGE_SIZE",
    "VISITS_FILTER",
    "Columns",
    "CompletionReport",
    "CompletionRow",
    "UnreadableCell",
    "completed_since_filter",
    "course_id",
    "locate_columns",
    "parse_completed",
    "parse_progress",
    "parse_rows",
    "parse_time",
    "probe_visits_filter",
    "rows_for_course",
    "text_of",
    "user_id",
    "visited_since_filter",
]
