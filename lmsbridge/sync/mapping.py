"""Which owner activity a borrower activity stands for: by activity idnumber, else by name. Pure.

``core_course_get_course_module`` is the only call that gives an activity's idnumber
(``lp__core_course_get_course_module__ok.json``); ``core_course_get_contents`` gives names and the
completion mode only. Unmapped activities are reported with a reason, never guessed: two owner activities
with the same name, no counterpart at all, or an owner activity without completion tracking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lmsbridge.i18n import Message


@dataclass(frozen=True)
class Activity:
    cmid: int
    name: str
    idnumber: str = ""
    modname: str = ""
    tracked: bool = True  # completion enabled (contents ``completion`` 1 manual / 2 automatic)


@dataclass(frozen=True)
class Unmapped:
    activity: Activity
    reason: Message


@dataclass(frozen=True)
class ActivityMapping:
    """Borrower cmid → owner activity, plus what could not be mapped (and why)."""

    pairs: dict[int, Activity]
    unmapped: tuple[Unmapped, ...] = ()
    by: dict[int, str] | None = None  # borrower cmid → "idnumber" | "name"

    @property
    def owner_cmids(self) -> frozenset[int]:
        return frozenset(a.cmid for a in self.pairs.values())

    def owner_for(self, borrower_cmid: int) -> Activity | None:
        return self.pairs.get(borrower_cmid)


def normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def map_activities(borrower: Sequence[Activity], owner: Sequence[Activity]) -> ActivityMapping:
    """Map every tracked borrower activity to at most one owner activity (each owner activity used once)."""
    owner_tracked = [a for a in owner if a.tracked]
    by_idnumber: dict[str, list[Activity]] = {}
    by_name: dict[str, list[Activity]] = {}
    for activity in owner_tracked:
        if activity.idnumber.strip():
            by_idnumber.setdefault(activity.idnumber.strip(), []).append(activity)
        by_name.setdefault(normalise_name(activity.name), []).append(activity)
    untracked_ids = {a.idnumber.strip() for a in owner if not a.tracked and a.idnumber.strip()}
    untracked_names = {normalise_name(a.name) for a in owner if not a.tracked}

    pairs: dict[int, Activity] = {}
    how: dict[int, str] = {}
    unmapped: list[Unmapped] = []
    used: dict[int, int] = {}  # owner cmid → borrower cmid

    def claim(source: Activity, target: Activity, method: str) -> None:
        if target.cmid in used:
            unmapped.append(Unmapped(source, Message("sync.unmapped.already_mapped", owner=target.cmid,
                                                          borrower=used[target.cmid])))
            return
        used[target.cmid] = source.cmid
        pairs[source.cmid] = target
        how[source.cmid] = method

    for activity in borrower:
        if not activity.tracked:
            continue
        idnumber = activity.idnumber.strip()
        if idnumber:
            hits = by_idnumber.get(idnumber, [])
            if len(hits) == 1:
                claim(activity, hits[0], "idnumber")
                continue
            if len(hits) > 1:
                unmapped.append(Unmapped(activity, Message("sync.unmapped.idnumber_ambiguous", idnumber=idnumber,
                                                              n=len(hits))))
                continue
            if idnumber in untracked_ids:
                unmapped.append(Unmapped(activity, Message("sync.unmapped.untracked", activity=idnumber)))
                continue
        # No idnumber counterpart (copies between sites often get new idnumbers): by name within the course.
        name = normalise_name(activity.name)
        hits = by_name.get(name, [])
        if len(hits) == 1:
            claim(activity, hits[0], "name")
        elif len(hits) > 1:
            unmapped.append(Unmapped(activity, Message("sync.unmapped.name_ambiguous", n=len(hits), name=activity.name)))
        elif name in untracked_names:
            unmapped.append(Unmapped(activity, Message("sync.unmapped.untracked", activity=activity.name)))
        else:
            unmapped.append(Unmapped(activity, Message("sync.unmapped.none")))
    return ActivityMapping(pairs=pairs, unmapped=tuple(unmapped), by=how)


__all__ = ["Activity", "ActivityMapping", "Unmapped", "map_activities", "normalise_name"]
