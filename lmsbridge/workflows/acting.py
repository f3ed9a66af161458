"""Who acts, on the platform's word: the person holding a key, and what they may do on a course.

Each act is made with the acting person's own key (``lmsbridge login``). ``who_holds`` asks the platform whose
key it is (``core_webservice_get_site_info``: site, user id, username, full name); ``course_answer`` asks what
they may do on a course (``core_course_get_user_administration_options``: ``update`` is moodle/course:update in
the course's context; a course they cannot enter is a warning, not an option list). The ledger event of the
act records both answers, never a name from the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from lmsbridge.adapters import MoodleClient, PlatformProfile
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message
from lmsbridge.keystore import KeyStore
from lmsbridge.sharing.rights import CourseAnswer, service_key
from lmsbridge.sharing.verdict import Verdict

ADMIN_OPTIONS = "core_course_get_user_administration_options"
UPDATE = "update"
UPDATE_CAPABILITY = "moodle/course:update"


@dataclass(frozen=True)
class Actor:
    """The platform's answer to «whose key is this?»."""

    platform: str
    site: str
    userid: int
    username: str
    fullname: str

    @property
    def label(self) -> str:
        """How the ledger's ``actor`` names them: «Ingrid Hauge (ingrid.hauge, lp)»."""
        return f"{self.fullname} ({self.username}, {self.platform})"

    def as_data(self) -> dict[str, Any]:
        return {"platform": self.platform, "site": self.site, "userid": self.userid, "username": self.username,
                "fullname": self.fullname, "function": "core_webservice_get_site_info"}

    def same_person(self, data: object) -> bool:
        """Is ``data`` (an event's ``by``) this person on this platform?"""
        return (isinstance(data, dict) and data.get("platform") == self.platform
                and data.get("userid") == self.userid and data.get("site") == self.site)


def who_holds(client: MoodleClient, platform: str) -> Actor:
    info = client.site_info()
    return Actor(platform=platform, site=info.siteurl, userid=info.userid, username=info.username,
                 fullname=info.fullname or info.username)


def course_answers(client: MoodleClient, actor: Actor, courses: Iterable[tuple[int, str]],
                   title: str = "") -> dict[int, CourseAnswer]:
    """What the platform (``title``) says the key holder may do on each (course id, shortname): one call."""
    wanted = list(dict.fromkeys(courses))
    if not wanted:
        return {}
    options = client.administration_options([courseid for courseid, _ in wanted])
    answers: dict[int, CourseAnswer] = {}
    for courseid, shortname in wanted:
        listed = options.course(courseid)
        warning = options.warning(courseid)
        answers[courseid] = CourseAnswer(
            platform=title or actor.platform, who=f"{actor.fullname} ({actor.username})", course=shortname or str(courseid),
            course_id=courseid, access=listed is not None, update=listed is not None and listed.has(UPDATE),
            warning=warning.message if warning is not None else "")
    return answers


def right_data(answer: CourseAnswer | None, **extra: Any) -> dict[str, Any]:
    """The platform's answer about a right, as the event records it."""
    if answer is None:
        return dict(extra)
    return {"right": UPDATE, "capability": UPDATE_CAPABILITY, "function": ADMIN_OPTIONS, "platform": answer.platform,
            "course_id": answer.course_id, "course": answer.course, "access": answer.access,
            "available": answer.update, **({"warning": answer.warning} if answer.warning else {}), **extra}


@dataclass
class Keys:
    """The acting person's keys, one per platform (from the key store), and the service's clients to compare."""

    store: KeyStore
    personal: Callable[[str, SecretStr], MoodleClient]
    service: Callable[[str], MoodleClient]
    profiles: dict[str, PlatformProfile]

    def client(self, platform: str) -> MoodleClient:
        """The acting person's client on ``platform``; a usage error when they have not logged in there."""
        profile = self.profiles[platform]
        token = self.store.get(profile.url)
        if token is None:
            raise ConfigError(Message("keys.not_logged_in", platform=platform, title=profile.title,
                                      where=self.store.where))
        return self.personal(platform, token)

    def answers(self, client: MoodleClient, actor: Actor, courses: Iterable[tuple[int, str]]) -> dict[int, CourseAnswer]:
        """``course_answers`` named by the platform's title."""
        return course_answers(client, actor, courses, self.profiles[actor.platform].title)

    def actor(self, platform: str) -> tuple[Actor, MoodleClient]:
        """Who holds the person's key on ``platform`` (refused when it is the lmsbridge service's own key)."""
        client = self.client(platform)
        actor = who_holds(client, platform)
        self.not_the_service(actor).require()
        return actor, client

    def not_the_service(self, actor: Actor) -> Verdict:
        service = self.service(actor.platform).site_info()
        title = self.profiles[actor.platform].title
        return service_key(title, actor.label, is_service=service.userid == actor.userid)


__all__ = ["ADMIN_OPTIONS", "Actor", "Keys", "course_answers", "right_data", "who_holds"]
