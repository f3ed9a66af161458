"""Tell each participant who is not complete what is missing, once per due date.

Sent with ``core_message_send_instant_messages``. A message Moodle refuses comes back as ``msgid: -1`` with
an ``errormessage`` and no exception (``*_warn_*`` fixtures: unknown user, the recipient's privacy
settings): it is reported and not recorded, so the next run tries again. A sent notice is recorded in the
ledger's certificate_notices under the learner's pseudonym, so each learner hears once per due date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates.course import CourseState, Participant
from lmsbridge.i18n import Message
from lmsbridge.ledger import Ledger
from lmsbridge.sync.identity import learner_key


@dataclass
class NoticeOutcome:
    key: str
    due: str
    sent: int = 0
    planned: int = 0
    already: int = 0
    complete: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "course": self.key,
            "due": self.due,
            "sent": self.sent,
            "planned": self.planned,
            "already_notified": self.already,
            "complete": self.complete,
            "failed": [{**f, "reason": f["reason"].render()} for f in self.failed],
        }


def course_key(state: CourseState) -> str:
    return f"{state.platform}:{state.key}"


def notice_text(state: CourseState, participant: Participant, lang: str | None = None) -> str:
    missing = ", ".join(f"«{a.name}»" for a in participant.missing)
    due = state.due.strftime("%d.%m.%Y") if (lang or i18n.language()) == "nb" else state.due.isoformat()
    return i18n.t("certificates.notice", lang, name=participant.fullname, course=state.fullname or state.key,
                  missing=missing, due=due)


def notify_missing(client: MoodleClient, ledger: Ledger | None, state: CourseState, *, secret: bytes,
                   lang: str | None = None) -> NoticeOutcome:
    """Send the notices not yet sent for this due date. ``ledger`` None with a dry-run client: nothing recorded."""
    outcome = NoticeOutcome(state.key, state.due.isoformat())
    key = course_key(state)
    due = state.due
    queue: list[tuple[Participant, str]] = []
    for participant in state.participants:
        if not participant.known:
            if participant.error:
                outcome.failed.append({"userid": participant.userid, "reason": participant.error})
            continue
        if participant.complete:
            outcome.complete += 1
            continue
        pseudonym = learner_key(secret, state.platform, participant.userid)
        if ledger is not None and ledger.certificate_notice_sent(key, pseudonym, due):
            outcome.already += 1
            continue
        queue.append((participant, pseudonym))
    if not queue:
        return outcome
    results = client.send_messages([(p.userid, notice_text(state, p, lang)) for p, _ in queue])
    if client.dry_run:
        outcome.planned = len(queue)
        return outcome
    for (participant, pseudonym), result in zip(queue, results, strict=False):
        if result.sent:
            outcome.sent += 1
            if ledger is not None:
                ledger.record_certificate_notice(course_key=key, learner_key=pseudonym, due_date=due)
        else:
            # Moodle's errormessage stays as Moodle sent it
            reason = Message.text(result.errormessage) if result.errormessage else Message("certificates.reason.not_sent")
            outcome.failed.append({"userid": participant.userid, "reason": reason})
    for participant, _ in queue[len(results):]:
        outcome.failed.append({"userid": participant.userid, "reason": Message("certificates.reason.no_answer")})
    return outcome


__all__ = ["NoticeOutcome", "course_key", "notice_text", "notify_missing"]
