"""What a correct completion sync must leave on the owner's site, worked out from Moodle alone.

For a borrowed course (on the borrower site) and its owner's course: every learner of the borrowed course
with activity completions is looked up on the owner site by the keys lmsbridge is configured with
(idnumber, then e-mail, then username; compared without case, an empty value never matches, a key
naming two people is not used). A learner found there must afterwards be a participant of the owner's
course with at least the same activities complete (activities paired by idnumber, else by name), and
with the owner's course complete when every activity of it is. A learner found nowhere (a municipal
employee) must not turn up on the owner's site at all. Everyone else on the owner's course keeps what
they had.

Every number here is read over the web services (this suite's own reader, not lmsbridge's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.real.lab import Moodle, parallel

IDENTITY_KEYS = ("idnumber", "email", "username")
DONE_STATES = (1, 2)  # COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS


def fold(value: Any) -> str:
    return str(value or "").strip().casefold()


@dataclass(frozen=True)
class CoursePair:
    borrower_id: int
    owner_id: int
    owner_shortname: str
    activities: Mapping[int, int]  # borrower cmid → owner cmid
    owner_activities: frozenset[int]  # every tracked activity of the owner's course


def tracked_activities(moodle: Moodle, courseid: int) -> dict[int, str]:
    """cmid → name of the activities with completion tracking (``core_course_get_contents``)."""
    return {int(m["id"]): str(m["name"]) for section in moodle.call("core_course_get_contents", courseid=courseid)
            for m in section["modules"] if int(m.get("completion", 0)) > 0}


def pair_by_name(borrower: Moodle, owner: Moodle, borrower_id: int, owner_id: int, owner_shortname: str) -> CoursePair:
    """Activities paired by name (the seed's pages carry no idnumber)."""
    theirs = {name: cmid for cmid, name in tracked_activities(owner, owner_id).items()}
    ours = tracked_activities(borrower, borrower_id)
    return CoursePair(borrower_id, owner_id, owner_shortname,
                      {cmid: theirs[name] for cmid, name in ours.items() if name in theirs}, frozenset(theirs.values()))


def pair_from_scale(pair: Mapping[str, Any]) -> CoursePair:
    """Activities paired by idnumber, from the lab's scale.json."""
    owner = {a["idnumber"]: int(a["cmid"]) for a in pair["lp"]["activities"]}
    return CoursePair(int(pair["ks"]["courseid"]), int(pair["lp"]["courseid"]), str(pair["lp"]["shortname"]),
                      {int(a["cmid"]): owner[a["idnumber"]] for a in pair["ks"]["activities"]},
                      frozenset(owner.values()))


@dataclass
class Learner:
    """A borrower-side learner with something done, and who they are on the owner's site."""

    user: dict[str, Any]
    done: frozenset[int]  # borrower cmids complete
    owner_user: dict[str, Any] | None = None
    matched_by: str | None = None


def borrower_learners(moodle: Moodle, pair: CoursePair, *, progress: Mapping[str, float] | None = None,
                      workers: int = 8) -> list[Learner]:
    """Participants of the borrowed course with activity completions. ``progress`` (username → percent, from
    the completion report) spares the reads of learners the report shows with nothing done."""
    people = moodle.enrolled(pair.borrower_id)
    if progress is not None:
        people = [p for p in people if progress.get(fold(p["username"]), 100.0) > 0]
    states = parallel(lambda p: moodle.completed_activities(pair.borrower_id, int(p["id"])), people, workers=workers)
    return [Learner(p, done) for p, done in zip(people, states, strict=True) if done]


def find_owner_accounts(owner: Moodle, learners: Sequence[Learner], *, keys: Sequence[str] = IDENTITY_KEYS) -> None:
    """Fill in ``owner_user`` / ``matched_by`` by the first key that names exactly one owner account."""
    for key in keys:
        left = [learner for learner in learners if learner.owner_user is None and fold(learner.user.get(key))]
        if not left:
            continue
        found = _accounts_by(owner, key, {str(learner.user[key]).strip() for learner in left})
        for learner in left:
            hits = found.get(fold(learner.user[key]), [])
            if len({h["id"] for h in hits}) == 1:
                learner.owner_user, learner.matched_by = hits[0], key


def _accounts_by(owner: Moodle, key: str, values: Iterable[str], chunk: int = 100) -> dict[str, list[dict[str, Any]]]:
    """Owner accounts by folded key value. Moodle's e-mail and username lookups are exact, so each value is
    also asked in lower case (the sites store usernames in lower case)."""
    asked = sorted({v for value in values for v in (value, value.lower())})
    found: dict[str, dict[int, dict[str, Any]]] = {}
    batches = [asked[n:n + chunk] for n in range(0, len(asked), chunk)]
    for batch in parallel(lambda b: owner.users_by(key, b), batches, workers=4):
        for user in batch:
            found.setdefault(fold(user.get(key)), {})[int(user["id"])] = user
    return {value: list(users.values()) for value, users in found.items()}


@dataclass
class OwnerCheck:
    """Differences between what the owner's site holds and what it must hold."""

    learners_checked: int = 0
    activities_expected: int = 0
    activities_missing: list[tuple[str, int]] = field(default_factory=list)  # (owner username, owner cmid)
    activities_extra: list[tuple[str, int]] = field(default_factory=list)
    not_enrolled: list[str] = field(default_factory=list)
    courses_expected: int = 0
    courses_missing: list[str] = field(default_factory=list)
    unmatched: int = 0
    unmatched_on_owner: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        for label, items in (("activity completions missing", self.activities_missing),
                             ("activity completions nobody made", self.activities_extra),
                             ("learners not enrolled in the owner course", self.not_enrolled),
                             ("course completions missing", self.courses_missing),
                             ("municipal learners found on the owner site", self.unmatched_on_owner)):
            if items:
                out.append(f"{len(items)} {label}: {sorted(items, key=str)[:10]}")
        return out


def check_owner(owner: Moodle, pair: CoursePair, learners: Sequence[Learner], *, before: Mapping[str, frozenset[int]],
                completed_courses: set[str] | None = None, workers: int = 8) -> OwnerCheck:
    """Compare the owner's course with the borrowed one. ``before``: owner username → owner cmids complete
    before the sync (for the learners concerned); ``completed_courses``: owner usernames whose owner course
    is complete now (from the completion report), else asked learner by learner."""
    result = OwnerCheck()
    participants = {int(u["id"]) for u in owner.enrolled(pair.owner_id)}
    matched = [learner for learner in learners if learner.owner_user is not None]
    result.unmatched = len(learners) - len(matched)
    now = parallel(lambda lr: owner.completed_activities(pair.owner_id, int(lr.owner_user["id"])),  # type: ignore[index]
                   matched, workers=workers)
    for learner, have in zip(matched, now, strict=True):
        account = learner.owner_user
        assert account is not None
        username = str(account["username"])
        wanted = {pair.activities[cmid] for cmid in learner.done if cmid in pair.activities}
        had = before.get(fold(username), frozenset())
        result.learners_checked += 1
        result.activities_expected += len(wanted - had)
        if int(account["id"]) not in participants:
            result.not_enrolled.append(username)
        result.activities_missing.extend((username, cmid) for cmid in sorted(wanted - have))
        result.activities_extra.extend((username, cmid) for cmid in sorted(have - wanted - had))
        if pair.owner_activities <= wanted | had:
            result.courses_expected += 1
            complete = (fold(username) in completed_courses if completed_courses is not None
                        else owner.course_completed(pair.owner_id, int(account["id"])))
            if not complete:
                result.courses_missing.append(username)
    # a learner nobody matched has no account by that e-mail on the owner site, before or after ("skip")
    for learner in learners:
        email = str(learner.user.get("email") or "")
        if learner.owner_user is None and email and owner.users_by("email", [email]):
            result.unmatched_on_owner.append(email)
    return result


@dataclass(frozen=True)
class ReportRow:
    course: str
    username: str
    completed: bool
    progress: float


def report(moodle: Moodle) -> list[ReportRow]:
    """The lab's report 1 (participants: course, username, completed, progress), columns found by header."""
    moodle.call("core_reportbuilder_filters_reset", reportid=1)
    first = moodle.call("core_reportbuilder_retrieve_report", reportid=1, page=0, perpage=1)["data"]
    headers = [str(h) for h in first["headers"]]
    at = {name: headers.index(name) for name in ("Course short name", "Username", "Completed", "Student progress")}
    rows = []
    for cells in moodle.report_rows(1):
        progress = cells[at["Student progress"]].rstrip("%").strip()
        rows.append(ReportRow(cells[at["Course short name"]], fold(cells[at["Username"]]),
                              cells[at["Completed"]] == "Yes", float(progress) if progress else 0.0))
    return rows


def completed_in(rows: Iterable[ReportRow], course: str) -> set[str]:
    return {r.username for r in rows if r.course == course and r.completed}


def progress_in(rows: Iterable[ReportRow], course: str) -> dict[str, float]:
    return {r.username: r.progress for r in rows if r.course == course}
