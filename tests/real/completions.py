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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lmsbridge.ledger import Ledger
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


def seeded_pair(ks: Moodle, lp: Moodle, borrower: str, owner: str) -> CoursePair:
    """The seeded course pair by short names (owner on lp, borrowed on KS Læring), activities paired by name."""
    borrowed, owned = ks.course(borrower), lp.course(owner)
    assert borrowed is not None and owned is not None, f"the lab's seeded courses {borrower}, {owner}"
    return pair_by_name(ks, lp, int(borrowed["id"]), int(owned["id"]), owner)


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
    """Participants of the borrowed course with activity completions. ``progress`` (username → percent of
    the activities complete, from the completion report) spares the reads of learners with none or all."""
    people = moodle.enrolled(pair.borrower_id)
    every = frozenset(pair.activities)
    known: dict[int, frozenset[int]] = {}
    if progress is not None:
        for person in people:
            percent = progress.get(fold(person["username"]))
            if percent in (0.0, 100.0):
                known[int(person["id"])] = every if percent == 100.0 else frozenset()
    unknown = [p for p in people if int(p["id"]) not in known]
    states = parallel(lambda p: moodle.completed_activities(pair.borrower_id, int(p["id"])), unknown, workers=workers)
    known.update((int(p["id"]), s) for p, s in zip(unknown, states, strict=True))
    return [Learner(p, known[int(p["id"])]) for p in people if known[int(p["id"])]]


def find_owner_accounts(owner: Moodle, learners: Sequence[Learner], *, keys: Sequence[str] = IDENTITY_KEYS,
                        candidates: Sequence[Mapping[str, Any]] = ()) -> None:
    """Fill in ``owner_user`` / ``matched_by`` by the first key that names exactly one owner account: among
    ``candidates`` (the owner course's participants: one listing) first, then on the whole owner site."""
    for pool in (candidates, None):
        for key in keys:
            left = [learner for learner in learners if learner.owner_user is None and fold(learner.user.get(key))]
            if not left:
                continue
            if pool is None:
                found = _accounts_by(owner, key, {str(learner.user[key]).strip() for learner in left})
            else:
                found = {}
                for user in pool:
                    found.setdefault(fold(user.get(key)), []).append(dict(user))
                found.pop("", None)
            for learner in left:
                hits = found.get(fold(learner.user[key]), [])
                if len({h["id"] for h in hits}) == 1:
                    learner.owner_user, learner.matched_by = hits[0], key


def _accounts_by(owner: Moodle, key: str, values: Iterable[str], chunk: int = 100) -> dict[str, list[dict[str, Any]]]:
    """Owner accounts by folded key value. Moodle's lookups are exact, so each value is also asked in lower
    case (the sites store usernames in lower case). One call at a time: Moodle may create a user's context
    while answering, and two calls naming the same user at once can collide (``dml_write_exception``)."""
    asked = sorted({v for value in values for v in (value, value.lower())})
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for n in range(0, len(asked), chunk):
        for user in owner.users_by(key, asked[n:n + chunk]):
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
                completed_courses: set[str] | None = None, progress: Mapping[str, float] | None = None,
                workers: int = 8) -> OwnerCheck:
    """Compare the owner's course with the borrowed one. ``before``: owner username → owner cmids complete
    before the sync (for the learners concerned); ``completed_courses``: owner usernames whose owner course
    is complete now and ``progress`` their percent of activities complete (both from the completion
    report), else asked learner by learner."""
    result = OwnerCheck()
    participants = {int(u["id"]) for u in owner.enrolled(pair.owner_id)}
    matched = [learner for learner in learners if learner.owner_user is not None]
    result.unmatched = len(learners) - len(matched)

    def have(learner: Learner) -> frozenset[int]:
        account = learner.owner_user
        assert account is not None
        percent = (progress or {}).get(fold(account["username"]))
        if percent == 100.0:
            return pair.owner_activities
        if percent == 0.0:
            return frozenset()
        return owner.completed_activities(pair.owner_id, int(account["id"]))

    now = parallel(have, matched, workers=workers)
    for learner, have_now in zip(matched, now, strict=True):
        account = learner.owner_user
        assert account is not None
        username = str(account["username"])
        wanted = {pair.activities[cmid] for cmid in learner.done if cmid in pair.activities}
        had = before.get(fold(username), frozenset())
        result.learners_checked += 1
        result.activities_expected += len(wanted - had)
        if int(account["id"]) not in participants:
            result.not_enrolled.append(username)
        result.activities_missing.extend((username, cmid) for cmid in sorted(wanted - have_now))
        result.activities_extra.extend((username, cmid) for cmid in sorted(have_now - wanted - had))
        if pair.owner_activities <= wanted | had:
            result.courses_expected += 1
            if completed_courses is not None:
                complete = fold(username) in completed_courses
            else:  # (Moodle refuses to tell for someone not enrolled: usernotenroled)
                complete = int(account["id"]) in participants and owner.course_completed(pair.owner_id,
                                                                                          int(account["id"]))
            if not complete:
                result.courses_missing.append(username)
    # a learner nobody matched has no account by that e-mail on the owner site, before or after ("skip")
    emails = sorted({str(lr.user.get("email") or "") for lr in learners if lr.owner_user is None} - {""})
    for n in range(0, len(emails), 100):
        result.unmatched_on_owner.extend(str(u["email"]) for u in owner.users_by("email", emails[n:n + 100]))
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


# -- the scale dataset --------------------------------------------------------------------------------------


def publish_scale_shares(ledger_path: Path, pairs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Published shares lp SKALA-LP-NN → ks SKALA-KS-NN in a new ledger, as an installation that has been
    sharing them holds (their course information is not complete enough for ``share request``)."""
    stamp = datetime.now(UTC)
    ids = []
    with Ledger.open(str(ledger_path)) as ledger:
        for pair in pairs:
            share = ledger.create_share(
                flow="hospital-to-ks", owner_platform="lp", owner_course_id=int(pair["lp"]["courseid"]),
                owner_course_shortname=str(pair["lp"]["shortname"]), owner_org="Helse Bergen HF",
                borrower_platform="ks", borrower_org="KS", initiator="real-site suite", licence_at_share="",
                label="delt til KS Læring", owner_support="Sykehuspartner brukerstøtte",
                borrower_support="KS Læring brukerstøtte", contact_point="kslaring@ks.no",
                request_key=f"scale-{pair['pair']}", now=stamp)
            ledger.update_share_state(share.id, "approved", now=stamp)
            ledger.update_share_state(share.id, "published", now=stamp, borrower_course_id=int(pair["ks"]["courseid"]),
                                      borrower_course_shortname=str(pair["ks"]["shortname"]))
            ids.append(share.id)
    return ids


@dataclass
class ScaleExpectation:
    """Per course pair: the borrower's learners with something done, who they are on lp, and what lp had."""

    pairs: list[CoursePair]
    learners: dict[int, list[Learner]]  # owner course id → learners
    before: dict[int, dict[str, frozenset[int]]]  # owner course id → owner username → cmids complete before
    owner_progress_before: dict[str, dict[str, float]]  # owner shortname → username → progress (report)


def expect_scale(ks: Moodle, lp: Moodle, facts: Sequence[Mapping[str, Any]], *,
                 use_report: bool = True) -> ScaleExpectation:
    """Read what a correct sync of these scale pairs must bring to lp (before the sync runs).

    With ``use_report`` the completion reports say who has nothing (0 %) or everything (100 %) done, and only
    the others are read learner by learner; learners are matched first, so that those with no owner account
    (never synced) are not read at all. The reports cost about 7 ms a row on the lab (every course's rows):
    for one or two pairs reading each learner is quicker."""
    pairs = [pair_from_scale(p) for p in facts]
    ks_rows, lp_rows = (report(ks), report(lp)) if use_report else ([], [])
    shown_ks = {pair.borrower_id: progress_in(ks_rows, str(f["ks"]["shortname"])) for f, pair in zip(facts, pairs,
                                                                                                      strict=True)}
    learners: dict[int, list[Learner]] = {}
    for pair in pairs:
        people = ks.enrolled(pair.borrower_id)
        shown = shown_ks[pair.borrower_id]
        learners[pair.owner_id] = [Learner(p, frozenset()) for p in people
                                   if not use_report or shown.get(fold(p["username"]), 0.0) > 0]
    participants = [user for pair in pairs for user in lp.enrolled(pair.owner_id)]
    find_owner_accounts(lp, [learner for group in learners.values() for learner in group], candidates=participants)
    # what each matched learner has done on ks: 100 % is everything; the others are read
    unread: list[tuple[CoursePair, Learner]] = []
    for pair in pairs:
        for learner in learners[pair.owner_id]:
            if learner.owner_user is None:
                continue
            if use_report and shown_ks[pair.borrower_id].get(fold(learner.user["username"])) == 100.0:
                learner.done = frozenset(pair.activities)
            else:
                unread.append((pair, learner))
    states = parallel(lambda item: ks.completed_activities(item[0].borrower_id, int(item[1].user["id"])), unread)
    for (_, learner), done in zip(unread, states, strict=True):
        learner.done = done
    for pair in pairs:
        learners[pair.owner_id] = [lr for lr in learners[pair.owner_id] if lr.done or lr.owner_user is None]
    # what lp has for them before the sync: 0 % is nothing, 100 % everything; the others are read
    before: dict[int, dict[str, frozenset[int]]] = {}
    progress = {pair.owner_shortname: progress_in(lp_rows, pair.owner_shortname) for pair in pairs}
    for pair in pairs:
        shown_lp = progress[pair.owner_shortname] if use_report else None
        owners = [lr.owner_user for lr in learners[pair.owner_id] if lr.owner_user]
        full = [u for u in owners if shown_lp is not None and shown_lp.get(fold(u["username"])) == 100.0]
        some = [u for u in owners if shown_lp is None or 0.0 < shown_lp.get(fold(u["username"]), 0.0) < 100.0]
        states_lp = parallel(lambda u: lp.completed_activities(pair.owner_id, int(u["id"])), some)  # noqa: B023
        before[pair.owner_id] = {fold(u["username"]): s for u, s in zip(some, states_lp, strict=True)}
        before[pair.owner_id].update((fold(u["username"]), pair.owner_activities) for u in full)
    return ScaleExpectation(pairs, learners, before, progress)
