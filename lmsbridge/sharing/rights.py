"""Who may do what on a share: the agreement's ownership, decided on the platforms' word. Pure functions.

«Kurs som er delt anses som lånt fra den andre parten … Eier av kurset kan velge å avslutte delingen av et kurs»
(seed 002). Who owns a course is a fact of the platform that holds it, not of anyone's configuration: each act
is made with the acting person's own key (a personal web-service token), the platform says who holds it
(``core_webservice_get_site_info``) and what they may do on the course
(``core_course_get_user_administration_options``: ``update`` = moodle/course:update), and these rules read the
answer. The verdict's reason says what the platform answered.

| act | whose key | what the platform must answer |
|---|---|---|
| approve, reject, revoke | the owner platform's | ``update`` on the owner's course |
| withdraw (a request, or an approved share not yet published) | the borrower platform's (or, once approved, the owner's) | the person who asked, ``update`` on the borrower course, or once approved ``update`` on the owner's course |
| publish | the borrower platform's | ``update`` on the borrower course; a new course: ``moodle/course:create`` in its category (the platform refuses the creation otherwise) — and only after an owner's approval |
| labels audit --fix | each platform's | ``update`` on each course fixed |
"""

from __future__ import annotations

from dataclasses import dataclass

from lmsbridge.i18n import N_, Message
from lmsbridge.sharing.verdict import Verdict, verdict

#: The act, as a verb in a sentence («… kan ikke {act} delingen»).
ACTS: dict[str, str] = {
    "approve": N_("rights.act.approve"),
    "reject": N_("rights.act.reject"),
    "revoke": N_("rights.act.revoke"),
    "withdraw": N_("rights.act.withdraw"),
    "publish": N_("rights.act.publish"),
    "fix": N_("rights.act.fix"),
}
#: The owner's acts (seed 002: the owner grants and ends a share).
OWNER_ACTS = frozenset({"approve", "reject", "revoke"})


@dataclass(frozen=True)
class CourseAnswer:
    """What a platform answered about the key holder and one course: may they enter it, may they update it."""

    platform: str
    who: str
    course: str
    course_id: int
    access: bool
    update: bool
    #: Moodle's warning when the course could not be entered ('No access rights in course context').
    warning: str = ""


def _act(act: str, share_id: str) -> Message:
    return Message(ACTS[act], share=share_id)


def service_key(platform: str, who: str, *, is_service: bool) -> Verdict:
    """A person acts with their own key: the lmsbridge service's key (the scheduled sync's) is nobody's."""
    if is_service:
        return verdict(False, "rights.service_key", platform=platform, who=who)
    return verdict(True, "rights.personal_key", platform=platform, who=who)


def _course_answer(act: str, answer: CourseAnswer, share_id: str) -> Verdict:
    values = {"act": _act(act, share_id), "platform": answer.platform, "who": answer.who, "course": answer.course,
              "course_id": answer.course_id}
    if not answer.access:
        return verdict(False, "rights.no_access", moodle=answer.warning or "-", **values)
    if not answer.update:
        return verdict(False, "rights.no_update", **values)
    return verdict(True, "rights.may_update", **values)


_ROLES = {"owner": N_("rights.role.owner"), "borrower": N_("rights.role.borrower")}


def _wrong_platform(act: str, share_id: str, actor_platform: str, expected: str, role: str) -> Verdict:
    return verdict(False, "rights.wrong_platform", act=_act(act, share_id), platform=actor_platform,
                   expected=expected, role=Message(_ROLES[role]))


def owner_act(act: str, *, share_id: str, owner_platform: str, actor_platform: str,
              answer: CourseAnswer | None) -> Verdict:
    """approve, reject, revoke: the key of the owner platform, and ``update`` on the owner's course."""
    if act not in OWNER_ACTS:
        raise ValueError(act)
    if actor_platform != owner_platform or answer is None:
        return _wrong_platform(act, share_id, actor_platform, owner_platform, "owner")
    return _course_answer(act, answer, share_id)


def publish(*, share_id: str, state: str, borrower_platform: str, actor_platform: str,
            answer: CourseAnswer | None) -> Verdict:
    """publish: only after the owner's approval, with the borrower platform's key; ``update`` on the borrower
    course when there is one (``answer``); a new course is the platform's to allow when it is created."""
    if state not in ("approved", "published"):
        return verdict(False, "rights.publish_unapproved", share=share_id, state=state)
    if actor_platform != borrower_platform:
        return _wrong_platform("publish", share_id, actor_platform, borrower_platform, "borrower")
    if answer is None:
        return verdict(True, "rights.may_create", share=share_id, platform=actor_platform)
    return _course_answer("publish", answer, share_id)


def withdraw(*, share_id: str, state: str, borrower_platform: str, actor_platform: str, who: str,
             asked_by_them: bool, answer: CourseAnswer | None, owner_platform: str = "") -> Verdict:
    """withdraw: a request, or an approved share not yet published, is taken back: by the person who asked, by
    one who may update the borrower course, or, once approved, by the owner (``update`` on the owner's course;
    ``answer`` is then the owner platform's)."""
    if state not in ("requested", "approved"):
        return verdict(False, "rights.withdraw_not_requested", share=share_id, state=state)
    if asked_by_them:
        return verdict(True, "rights.asked", share=share_id, platform=actor_platform, who=who)
    if actor_platform == borrower_platform:
        if answer is None:
            return verdict(False, "rights.not_asker", share=share_id, platform=actor_platform, who=who)
        return _course_answer("withdraw", answer, share_id)
    if state == "approved" and actor_platform == owner_platform and answer is not None:
        return _course_answer("withdraw", answer, share_id)
    return _wrong_platform("withdraw", share_id, actor_platform, borrower_platform, "borrower")


def fix_label(answer: CourseAnswer) -> Verdict:
    """labels audit --fix on one course: ``update`` on it."""
    return _course_answer("fix", answer, "-")


__all__ = ["ACTS", "OWNER_ACTS", "CourseAnswer", "fix_label", "owner_act", "publish", "service_key", "withdraw"]
