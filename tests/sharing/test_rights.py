"""Who may act on a share, on the platform's word (``lmsbridge.sharing.rights``): table-driven, pure."""

from __future__ import annotations

import pytest

from lmsbridge.errors import RuleViolation
from lmsbridge.sharing import rights
from lmsbridge.sharing.rights import CourseAnswer


def answer(*, access: bool = True, update: bool = True) -> CourseAnswer:
    return CourseAnswer(platform="Læringsportal Helse Bergen", who="Kari Nordmann (hb10001)", course="HBHF-SMITTE-01",
                        course_id=5, access=access, update=update,
                        warning="" if access else "No access rights in course context")


OWNER = [
    # act, actor's platform, answer, allowed, code
    ("approve", "lp", answer(), True, "rights.may_update"),
    ("approve", "lp", answer(update=False), False, "rights.no_update"),
    ("reject", "lp", answer(access=False, update=False), False, "rights.no_access"),
    ("revoke", "ks", answer(), False, "rights.wrong_platform"),
    ("revoke", "lp", answer(), True, "rights.may_update"),
]


@pytest.mark.parametrize(("act", "platform", "said", "allowed", "code"), OWNER)
def test_the_owners_acts_need_update_on_the_owner_course(act: str, platform: str, said: CourseAnswer, allowed: bool,
                                                         code: str) -> None:
    verdict = rights.owner_act(act, share_id="S-0001", owner_platform="lp", actor_platform=platform, answer=said)
    assert (verdict.allowed, verdict.code) == (allowed, code)


def test_a_refusal_says_what_the_platform_answered_and_names_the_act() -> None:
    refused = rights.owner_act("reject", share_id="S-0001", owner_platform="lp", actor_platform="lp",
                               answer=answer(update=False))
    assert refused.reason == ("Læringsportal Helse Bergen svarte at Kari Nordmann (hb10001) ikke har retten «update» "
                              "(moodle/course:update) på kurset HBHF-SMITTE-01 (id 5). Derfor kan du ikke avvise "
                              "delingen S-0001.")
    assert "So you may not reject share S-0001" in refused.reason_in("en")
    with pytest.raises(RuleViolation):
        refused.require()


def test_publish_after_approval_with_the_borrowers_key() -> None:
    def publish(state: str, platform: str = "ks", said: CourseAnswer | None = None) -> str:
        return rights.publish(share_id="S-0001", state=state, borrower_platform="ks", actor_platform=platform,
                              answer=said).code

    assert publish("requested") == "rights.publish_unapproved"
    assert publish("approved", "lp") == "rights.wrong_platform"
    assert publish("approved") == "rights.may_create"  # the platform decides when the course is created
    assert publish("approved", said=answer(update=False)) == "rights.no_update"
    assert publish("published", said=answer()) == "rights.may_update"


def test_withdraw_is_the_askers_or_a_borrower_course_editors() -> None:
    def withdraw(asked: bool, state: str = "requested", said: CourseAnswer | None = None) -> str:
        return rights.withdraw(share_id="S-0001", state=state, borrower_platform="ks", actor_platform="ks",
                               who="Kari Ås", asked_by_them=asked, answer=said).code

    assert withdraw(True) == "rights.asked"
    assert withdraw(False) == "rights.not_asker"
    assert withdraw(False, said=answer()) == "rights.may_update"
    assert withdraw(True, state="approved") == "rights.asked"  # not yet published: still taken back (issue 14)
    assert withdraw(True, state="published") == "rights.withdraw_not_requested"


def test_the_service_key_is_nobodys() -> None:
    assert not rights.service_key("lp", "LMS Bridge (lmsbridge, lp)", is_service=True).allowed
    assert rights.service_key("lp", "Ingrid Hauge (ingrid.hauge, lp)", is_service=False).allowed
