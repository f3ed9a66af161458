"""Seeding: the two recorded lab sites (data/sites.json) and synthetic bulk data for benchmarks.

``data/sites.json`` is built from tests/fixtures/moodle/seed_data.json and the values the recorded
responses show (course summaries, custom field values, activity names, tokens). Its times are the
recorded ones; ``build_site`` shifts event times by ``now - reference_time`` so a fresh sandbox looks
like the lab sites did at the first capture (completions a few minutes old), whatever today is.
Calendar dates (course start, the ``studiestart`` field) are kept as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from lmsbridge.sandbox.models import (
    COMPLETE,
    TRACKING_AUTOMATIC,
    ActivityCompletion,
    Category,
    Course,
    CourseCompletion,
    CourseCopy,
    CustomField,
    Enrolment,
    Module,
    Report,
    Section,
    Tag,
    Token,
    User,
)
from lmsbridge.sandbox.state import Clock, SiteState

__all__ = ["RECEIPT_FIELD", "SITE_NAMES", "SeedSpec", "add_receipt_field", "build_site", "seed_document"]

#: The sites of the default seed: KS Læring (municipal) and a hospital Læringsportal.
SITE_NAMES: tuple[str, ...] = ("ks", "lp")


@dataclass(frozen=True)
class SeedSpec:
    """What to seed. ``base="default"``: the recorded lab sites; ``"empty"``: only each site's skeleton
    (admin, lmsbridge WS user and tokens, custom fields, categories, report). Then ``courses``
    synthetic courses per site with ``enrolments`` learners each (``SiteState.bulk_seed``)."""

    base: str = "default"
    courses: int = 0
    enrolments: int = 0
    activities: int = 2
    sites: tuple[str, ...] = SITE_NAMES
    rng_seed: int = 0

    def __post_init__(self) -> None:
        if self.base not in ("default", "empty"):
            raise ValueError("SeedSpec.base must be 'default' or 'empty'")
        unknown = set(self.sites) - set(SITE_NAMES)
        if unknown:
            raise ValueError(f"unknown sites: {sorted(unknown)}")


@lru_cache(maxsize=1)
def _document_text() -> str:
    return resources.files("lmsbridge.sandbox").joinpath("data/sites.json").read_text(encoding="utf-8")


def seed_document() -> dict[str, Any]:
    """A fresh copy of the shipped seed (data/sites.json)."""
    data: dict[str, Any] = json.loads(_document_text())
    return data


def _shifted(value: int, shift: int) -> int:
    return value + shift if value else value


def build_site(name: str, *, clock: Clock | None = None, base: str = "default") -> SiteState:
    """A site's state as seeded: the recorded lab site (``base="default"``) or its skeleton (``"empty"``)."""
    document = seed_document()
    site: Mapping[str, Any] = document["sites"][name]
    state = SiteState(name, clock=clock)
    shift = state.now() - int(document["reference_time"])
    settings = state.settings
    settings.sitename = site["sitename"]
    settings.shortname = site["shortname"]
    settings.timezone = site["timezone"]
    settings.service = site["service"]
    settings.siteurl = f"http://127.0.0.1:{site['port']}"

    learners_wanted = base == "default"
    for raw in site["users"]:
        if not learners_wanted and raw.get("role", "user") == "user" and raw["id"] != 4:
            continue  # the empty skeleton keeps the learner behind the recorded learner token (u01)
        fields = {k: v for k, v in raw.items() if k in User.__dataclass_fields__}
        fields["timecreated"] = _shifted(int(fields.get("timecreated", 0)), shift)
        user = User(**fields)
        user.contextid = user.contextid or 8 + user.id
        state.users[user.id] = user
    for raw in site["tokens"]:
        if raw["user"] in state.users:
            state.tokens[raw["token"]] = Token(raw["token"], raw["user"], site["service"])
    for raw in site["categories"]:
        category = Category(**{**raw, "timemodified": _shifted(int(raw.get("timemodified", 0)), shift)})
        state.categories[category.id] = category
    state.custom_fields = [CustomField(**raw) for raw in site["custom_fields"]]
    for raw in site["tags"]:
        state.tags[raw["id"]] = Tag(raw["id"], raw["name"])

    site_course = Course(
        id=1, shortname=site["shortname"], fullname=site["sitename"], categoryid=0, summaryformat=0, format="site",
        newsitems=3, enablecompletion=0, sortorder=1, contextid=2, timecreated=_shifted(1795369876, shift),
        timemodified=_shifted(1795369920, shift), cacherev=_shifted(1795370418, shift), sections=[Section(0, 0)],
    )
    state.courses[1] = site_course
    state.enrolments[1] = {}

    if base == "default":
        _seed_courses(state, site, shift)

    report = Report(id=int(site["report"]["id"]))
    report.timecreated = report.timemodified = _shifted(int(site["report"]["timecreated"]), shift)
    state.reports[report.id] = report

    # next ids: the recorded sites' next values (ks course 5 was created by a captured call), never
    # below what the data already uses
    state.next_ids = dict(site["next_ids"])
    _raise_floor(state, "course", max(state.courses))
    _raise_floor(state, "user", max(state.users))
    _raise_floor(state, "category", max(state.categories))
    _raise_floor(state, "module", max(state.modules, default=0))
    _raise_floor(state, "section", max((s.id for c in state.courses.values() for s in c.sections), default=0))
    _raise_floor(state, "context", max([c.contextid for c in state.courses.values()]
                                       + [m.contextid for m in state.modules.values()]
                                       + [u.contextid for u in state.users.values()]))
    _raise_floor(state, "gradeitem", max((c.gradeitemid for c in state.courses.values()), default=0))
    _raise_floor(state, "tag", max(state.tags, default=0))
    for modname in {m.modname for m in state.modules.values()}:
        _raise_floor(state, f"instance_{modname}", max(m.instance for m in state.modules.values() if m.modname == modname))
    _seed_staff(state, site, shift)
    if base == "default":
        _seed_copy_targets(state, site)
    return state


def _seed_staff(state: SiteState, site: Mapping[str, Any], shift: int) -> None:
    """The e-læringsansvarlige and their personal tokens: added after the next ids are set, with ids far above
    them (as the lab's scale rows), so the ids of objects created later stay those of the recordings."""
    for raw in site.get("staff", []):
        fields = {k: v for k, v in raw.items() if k in User.__dataclass_fields__}
        fields["timecreated"] = _shifted(int(fields.get("timecreated", 0)), shift)
        user = User(**fields)
        state.users[user.id] = user
        state.tokens[raw["token"]] = Token(raw["token"], user.id, site["service"])


#: The witness field of issue 12 (a course custom field for lmsbridge's receipts): not on the recorded
#: sites; a site admin creates it (type text, visible to teachers, locked), and so do tests and the demo.
RECEIPT_FIELD = {"shortname": "lmsbridge_kvittering", "name": "lmsbridge-kvittering", "type": "text"}


def add_receipt_field(state: SiteState, shortname: str = RECEIPT_FIELD["shortname"]) -> CustomField:
    """Create the receipt field on a site, as its admin would (idempotent)."""
    with state.changing():
        found = state.field(shortname)
        if found is None:
            found = CustomField(max((f.id for f in state.custom_fields), default=0) + 1, shortname,
                                RECEIPT_FIELD["name"], RECEIPT_FIELD["type"])
            state.custom_fields.append(found)
        return found


def _seed_copy_targets(state: SiteState, site: Mapping[str, Any]) -> None:
    """The course a queued course copy restores into exists at once, hidden and empty (no sections), until the
    copy runs: ks course 4 «Course copying in progress» on the lab. It is made with the copy form's defaults
    (completion off; see functions/common.py for what a copy leaves as text or unset)."""
    for copy, raw in zip(state.copies, site.get("copies", []), strict=True):
        target = raw.get("target")
        if not target:
            continue
        source = state.courses[copy.source_courseid]
        now = state.now()
        course = Course(
            id=int(target["id"]), shortname=target["shortname"], fullname=target["fullname"],
            categoryid=source.categoryid, summaryformat=0, newsitems=1, visible=0, enablecompletion=0,
            sortorder=source.sortorder + 1, timecreated=now, timemodified=now, cacherev=now,
            contextid=state.next_id("context"), gradeitemid=state.next_id("gradeitem"),
        )
        state.courses[course.id] = course
        state.enrolments[course.id] = {}
        copy.target_courseid = course.id


def _raise_floor(state: SiteState, table: str, used: int) -> None:
    state.next_ids[table] = max(int(state.next_ids.get(table, 1)), used + 1)


def _seed_courses(state: SiteState, site: Mapping[str, Any], shift: int) -> None:
    for raw in site["courses"]:
        course = Course(
            id=raw["id"], shortname=raw["shortname"], fullname=raw["fullname"], categoryid=raw["categoryid"],
            idnumber=raw["idnumber"], summary=raw["summary"], format=raw["format"], newsitems=raw["newsitems"],
            startdate=raw["startdate"], timecreated=_shifted(raw["timecreated"], shift),
            timemodified=_shifted(raw["timemodified"], shift), contextid=raw["contextid"],
            cacherev=_shifted(raw["timemodified"], shift), customfields=dict(raw["customfields"]),
            criteria_activities=True, criteria_self=bool(raw["self_completion"]), tags=list(raw["tags"]),
            gradeitemid=raw["gradeitemid"], key=raw["key"],
        )
        course.sections = [Section(s["id"], s["section"]) for s in raw["sections"]]
        for m in raw["modules"]:
            section = course.sections[m["section"]]
            module = Module(
                id=m["id"], courseid=course.id, sectionid=section.id, modname=m["modname"], instance=m["instance"],
                name=m["name"], idnumber=m["idnumber"], completion=m["completion"],
                completionview=m.get("completionview", 0), added=_shifted(m["added"], shift),
                contextid=m["contextid"], timemodified=_shifted(m["added"], shift),
            )
            state.modules[module.id] = module
            section.sequence.append(module.id)
        state.courses[course.id] = course
        state.enrolments[course.id] = {}
    # course sortorder: newest first within a category (Moodle inserts new courses at the top)
    for category in state.categories.values():
        members = sorted((c for c in state.courses.values() if c.categoryid == category.id), key=lambda c: -c.id)
        for rank, course in enumerate(members, start=1):
            course.sortorder = category.sortorder + rank
    for key, enrolments in site["enrolments"].items():
        course = next(c for c in state.courses.values() if c.key == key)
        tracked = state.tracked_modules(course)
        for raw in enrolments:
            when = _shifted(raw["time"], shift)
            userid = raw["userid"]
            state.enrolments[course.id][userid] = Enrolment(course.id, userid, timecreated=_shifted(raw["timecreated"], shift))
            record = CourseCompletion(course.id, userid, timeenrolled=_shifted(raw["timecreated"], shift))
            state.course_completions[(course.id, userid)] = record
            code = str(raw["state"])
            done = len(tracked) if code.startswith("C") else int(code[1:]) if code.startswith("P") else 0
            for module in tracked[:done]:
                state.activity_completions[(module.id, userid)] = ActivityCompletion(
                    module.id, userid, COMPLETE, when, viewed=module.completion == TRACKING_AUTOMATIC)
            if code == "C+self":
                record.selfcompleted = when
            if code.startswith("C"):
                state.aggregate(course, userid, when)
    for raw in site.get("copies", []):
        state.copies.append(CourseCopy(raw["backupid"], raw["restoreid"], raw["source_courseid"], 0))

