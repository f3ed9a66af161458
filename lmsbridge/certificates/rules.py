"""Certificate groups («kursbevis») as pure functions: pass ``today``, get the group and the reason.

Source: DESIGN.md «Completion and certificates» and seed 000 («Etterfordeling og sortering av ferdige/ikke
ferdige deltakere + kursbevis»): after the last due date each participant is placed in

* «Fullført 100%»       — every required activity done: a certificate with all the credit points;
* «Fullført, ikke 100%» — some done: a certificate with the points earned;
* «Inaktiv»             — nothing done, and enough time («nok tid», the grace period) has passed: an
                          administrator issues the certificate by hand.

Before the due date nobody is grouped; with nothing done and the grace period still running, no group yet.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from lmsbridge.i18n import Message


class CertificateGroup(StrEnum):
    """The course groups on the owner platform, names exactly as the routine spells them."""

    COMPLETE = "Fullført 100%"
    PARTIAL = "Fullført, ikke 100%"
    INACTIVE = "Inaktiv"


GROUP_NAMES: tuple[str, ...] = tuple(g.value for g in CertificateGroup)


@dataclass(frozen=True)
class Placement:
    group: CertificateGroup | None
    reason: Message


def place(*, required: int, done: int, due: date, grace_days: int, today: date) -> Placement:
    """Which group a participant belongs in today (None = not grouped yet)."""
    if required <= 0:
        return Placement(None, Message("placement.no_required"))
    if today <= due:
        return Placement(None, Message("placement.before_due", due=due.isoformat()))
    if done >= required:
        return Placement(CertificateGroup.COMPLETE, Message("placement.all_done", required=required))
    if done > 0:
        return Placement(CertificateGroup.PARTIAL, Message("placement.some_done", done=done, required=required))
    grace_end = due + timedelta(days=grace_days)
    if today > grace_end:
        return Placement(CertificateGroup.INACTIVE, Message("placement.inactive", grace_end=grace_end.isoformat()))
    return Placement(None, Message("placement.waiting", grace_end=grace_end.isoformat()))


@dataclass(frozen=True)
class Move:
    """Group changes for one participant: leave ``remove`` groups, join ``add`` (None = none)."""

    userid: int
    remove: tuple[str, ...]
    add: str | None


def moves(current: Mapping[int, Collection[str]], wanted: Mapping[int, str | None]) -> list[Move]:
    """What to change so each participant is in exactly their wanted certificate group (or none).

    ``current``: userid → certificate groups they are in now; ``wanted``: userid → group name or None.
    Participants already right get no move; so running twice changes nothing the second time.
    """
    out: list[Move] = []
    for userid in sorted(set(current) | set(wanted)):
        have = set(current.get(userid, ()))
        target = wanted.get(userid)
        remove = tuple(sorted(g for g in have if g != target))
        add = target if target is not None and target not in have else None
        if remove or add:
            out.append(Move(userid, remove, add))
    return out


def activity_points_for(activity_points: Mapping[str, float], keys: Iterable[str]) -> float:
    """Points of one activity, found under any of its keys (idnumber, name, cmid) in the config."""
    folded = {k.strip().casefold(): v for k, v in activity_points.items()}
    for key in keys:
        if key and key.strip().casefold() in folded:
            return folded[key.strip().casefold()]
    return 0.0


@dataclass(frozen=True)
class Points:
    earned: float
    total: float
    manual: bool  # «Inaktiv»: an administrator issues the certificate by hand


def points(
    group: CertificateGroup | None,
    *,
    course_points: float,
    done_activity_points: Iterable[float],
    all_activity_points: Iterable[float],
) -> Points:
    """Credit points for the issuance list: all points for 100%, the points earned otherwise.

    The course total is ``points`` from the config, or the sum of the activity points when it is 0.
    Points for a partial completion are the configured points of the activities done (0 when the config
    gives no per-activity points: the routine grants only «de poengene de har krav på»).
    """
    per_activity = list(all_activity_points)
    total = course_points if course_points > 0 else sum(per_activity)
    if group is CertificateGroup.COMPLETE:
        return Points(total, total, False)
    earned = min(sum(done_activity_points), total) if total else sum(done_activity_points)
    return Points(earned if group is CertificateGroup.PARTIAL else 0.0, total, group is CertificateGroup.INACTIVE)


__all__ = [
    "GROUP_NAMES",
    "CertificateGroup",
    "Move",
    "Placement",
    "Points",
    "activity_points_for",
    "moves",
    "place",
    "points",
]
