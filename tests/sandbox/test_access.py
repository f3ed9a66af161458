"""``core_course_get_user_administration_options`` and the capabilities behind the owner's acts (issue 12).

Checked against the answer's shape written down from Moodle 4.5's code (tests/fixtures/moodle-shapes: the lab's
service does not include the function, so there is no recording), and against what the sandbox's people may do:
the e-læringsansvarlig (manager of the organisation's course category) updates and creates courses there, the
learner u01 neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.adapters.models import AdministrationOptions
from lmsbridge.sandbox import Sandbox

SHAPE = Path(__file__).parents[1] / "fixtures" / "moodle-shapes" / "lp__core_course_get_user_administration_options__shape.json"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


def token_of(sandbox: Sandbox, site: str, username: str) -> str:
    state = sandbox.sites[site].state
    user = state.user_by_username(username)
    assert user is not None
    token = state.token_of(user.id)
    assert token is not None
    return token


def call(sandbox: Sandbox, site: str, token: str, function: str, **params: Any) -> Any:
    data: list[tuple[str, str]] = [("wstoken", token), ("wsfunction", function), ("moodlewsrestformat", "json")]
    for name, values in params.items():
        data += [(f"{name}[{n}]", str(v)) for n, v in enumerate(values)]
    return requests.post(sandbox.sites[site].rest_url, data=data, timeout=10).json()


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_the_answer_has_moodle_45s_shape(sandbox: Sandbox) -> None:
    recorded = json.loads(SHAPE.read_text(encoding="utf-8"))
    served = call(sandbox, "lp", token_of(sandbox, "lp", "ingrid.hauge"), recorded["wsfunction"],
                  **recorded["params"])
    assert shape(served) == shape(recorded["response"])
    assert served == recorded["response"]  # the same people, the same answer
    parsed = AdministrationOptions.model_validate(recorded["response"])
    assert parsed.course(5) is not None and parsed.course(5).has("update")  # type: ignore[union-attr]
    assert parsed.course(99) is None and parsed.warning(99) is not None


def test_who_may_update_a_course(sandbox: Sandbox) -> None:
    coordinator = token_of(sandbox, "lp", "ingrid.hauge")
    learner = sandbox.sites["lp"].learner_token
    admin = sandbox.sites["lp"].admin_token

    def update(token: str, courseid: int) -> bool | None:
        answer = call(sandbox, "lp", token, "core_course_get_user_administration_options", courseids=[courseid])
        found = [c for c in answer["courses"] if c["id"] == courseid]
        return next(o["available"] for o in found[0]["options"] if o["name"] == "update") if found else None

    assert update(coordinator, 5) is True  # manager of category 3
    assert update(admin, 5) is True
    assert update(learner, 5) is False  # enrolled as a student: can enter, may not update
    assert update(learner, 6) is None  # not enrolled: a warning, no options


def test_the_writes_check_the_same_capabilities(sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"]
    client = MoodleClient(MoodleTransport(ks.url, ks.learner_token, retry=RetryPolicy.none(), name="ks"))
    with pytest.raises(Exception, match=r"nopermissions|permissions"):
        client.create_courses([{"fullname": "X", "shortname": "X-1", "categoryid": 2}])
    coordinator = MoodleClient(MoodleTransport(ks.url, token_of(sandbox, "ks", "kari.as@ks.no"),
                                               retry=RetryPolicy.none(), name="ks"))
    [created] = coordinator.create_courses([{"fullname": "Y", "shortname": "Y-1", "categoryid": 2}])
    coordinator.update_courses([{"id": created.id, "summary": "<p>ok</p>"}])
    assert ks.state.courses[created.id].summary == "<p>ok</p>"
    with pytest.raises(Exception, match="nopermissions"):
        client.update_courses([{"id": created.id, "summary": "<p>no</p>"}])


def test_the_client_reads_the_answer(sandbox: Sandbox) -> None:
    lp = sandbox.sites["lp"]
    client = MoodleClient(MoodleTransport(lp.url, token_of(sandbox, "lp", "ingrid.hauge"), retry=RetryPolicy.none(),
                                          name="lp"))
    answer = client.administration_options([5, 6, 1000])
    assert [c.id for c in answer.courses] == [5, 6] and answer.warning(1000) is not None
    assert client.site_info().fullname == "Ingrid Hauge"
