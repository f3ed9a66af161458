"""Place each participant of a certificate course in its group on the owner platform, idempotently.

The groups «Fullført 100%», «Fullført, ikke 100%» and «Inaktiv» are created when missing (a duplicate
name is ``invalidparameter``: ``lp__core_group_create_groups__err_duplicate_name.json``, so existing groups
are looked up first). A learner whose state changed is removed from the old group and added to the new;
only enrolled users may be group members (``lp__core_group_add_group_members__err_not_enrolled.json``).
The adds are made first; when the platform refuses the removals (a service without
``core_group_delete_group_members``: issue 15), each member who should leave a group is reported as a manual step
and the run exits 4, the adds standing.
Members of these groups who are not participants (teachers placed by hand) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, PlatformProfile
from lmsbridge.certificates.course import CourseState, read_course
from lmsbridge.certificates.rules import GROUP_NAMES, CertificateGroup, Move, moves
from lmsbridge.config import CertificateCourse
from lmsbridge.errors import AccessDeniedError
from lmsbridge.i18n import N_, Message
from lmsbridge.sync.outcome import CourseWrites

_DESCRIPTION = {
    CertificateGroup.COMPLETE: N_("certificates.group.description.complete"),
    CertificateGroup.PARTIAL: N_("certificates.group.description.partial"),
    CertificateGroup.INACTIVE: N_("certificates.group.description.inactive"),
}


@dataclass
class GroupingOutcome:
    key: str
    platform: str
    course_id: int
    due: date
    participants: int = 0
    created_groups: list[str] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    unread: int = 0
    notes: list[Message] = field(default_factory=list)
    #: (user id, group) for each member who should leave a group but could not be taken out: a manual step
    manual: list[tuple[int, str]] = field(default_factory=list)
    manual_reason: Message | None = None

    @property
    def changed(self) -> int:
        return len(self.moves)

    def as_dict(self) -> dict[str, Any]:
        return {
            "course": self.key,
            "platform": self.platform,
            "course_id": self.course_id,
            "due": self.due.isoformat(),
            "participants": self.participants,
            "created_groups": self.created_groups,
            "moves": [{"userid": m.userid, "remove": list(m.remove), "add": m.add} for m in self.moves],
            "groups": self.counts,
            "unread": self.unread,
            "manual": [{"userid": userid, "leave": group} for userid, group in self.manual],
            "manual_reason": self.manual_reason.render() if self.manual_reason else "",
            "notes": [note.render() for note in self.notes],
        }


def apply_groups(client: MoodleClient, state: CourseState) -> GroupingOutcome:
    """Bring the groups in line with each participant's placement (``state``: read with states after due)."""
    outcome = GroupingOutcome(state.key, state.platform, state.course_id, state.due, len(state.participants))
    groups = {g.name: g.id for g in client.course_groups(state.course_id) if g.name in GROUP_NAMES}
    wanted: dict[int, str | None] = {}
    for participant in state.participants:
        if not participant.known and state.today > state.due:
            outcome.unread += 1  # its completion could not be read: leave it where it is this time
            continue
        group = participant.placement.group
        wanted[participant.userid] = group.value if group else None
    needed = {name for name in wanted.values() if name}
    if needed and any(name not in groups for name in GROUP_NAMES):
        missing = [g for g in CertificateGroup if g.value not in groups]
        created = client.create_groups(
            [{"courseid": state.course_id, "name": g.value, "description": i18n.t(_DESCRIPTION[g])} for g in missing]
        )
        groups.update({g.name: g.id for g in created})
        outcome.created_groups = [g.value for g in missing]
    current: dict[int, set[str]] = {uid: set() for uid in wanted}
    if groups:
        names = {gid: name for name, gid in groups.items()}
        for members in client.group_members(sorted(groups.values())):
            for userid in members.userids:
                if userid in current:
                    current[userid].add(names[members.groupid])
    outcome.moves = moves(current, wanted)
    additions = [(groups[m.add], m.userid) for m in outcome.moves if m.add and m.add in groups]
    if len(additions) < sum(1 for m in outcome.moves if m.add):
        outcome.notes.append(Message("certificates.note.dry_run_groups"))
    if additions:  # first: every add the platform allows is made, whatever happens to the removals
        client.add_group_members(additions)
    removals = [(groups[name], m.userid) for m in outcome.moves for name in m.remove]
    if removals:
        try:
            client.delete_group_members(removals)
        except AccessDeniedError as exc:
            # The service lacks core_group_delete_group_members (doctor names it), or may not use it here:
            # each member who should leave a group is a manual step for a person (exit 4).
            outcome.manual = [(m.userid, name) for m in outcome.moves for name in m.remove]
            outcome.manual_reason = exc.message
    for name in wanted.values():
        if name:
            outcome.counts[name] = outcome.counts.get(name, 0) + 1
    return outcome


def group_course(
    client: MoodleClient,
    profile: PlatformProfile,
    key: str,
    settings: CertificateCourse,
    *,
    today: date,
    page_size: int = 500,
    concurrency: int | None = None,
    known: CourseWrites | None = None,
) -> tuple[GroupingOutcome, CourseState]:
    """Read the course and group its participants. Before the due date nobody is grouped, so no completion
    is read: only the listings, to take anyone out of the groups who was put there too early. ``known``:
    what a sync run just read of the course and wrote to it (``read_course``)."""
    state = read_course(client, profile, key, settings, today=today, need_states=today > settings.due,
                        page_size=page_size, concurrency=concurrency, known=known)
    return apply_groups(client, state), state


__all__ = ["GroupingOutcome", "apply_groups", "group_course"]
