"""``lmsbridge doctor`` against the lab: its verdict agrees with what each site's token may do.

The truth is the site's own ``core_webservice_get_site_info`` (site name, release, user, the functions
of the token's service), read here independently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.real.lab import Bridge, Lab, MoodleException

pytestmark = pytest.mark.real

#: what lmsbridge needs on every platform (lmsbridge.adapters REQUIRED_FUNCTIONS) is not listed here: the
#: test asks Moodle which functions its service lacks and expects doctor to name exactly those
OPTIONAL_DELETE = "core_group_delete_group_members"


@pytest.fixture(scope="module")
def bridge(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    yield Bridge(fresh_lab, tmp_path_factory.mktemp("doctor"))  # (the next module resets the lp service)


def platforms(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["platform"]: p for p in report["platforms"]}


def test_doctor_all_good_on_both_lab_sites(bridge: Bridge) -> None:
    report = bridge.json("doctor")
    found = platforms(report)
    assert report["ok"] is True
    for name in ("ks", "lp"):
        info = bridge.lab.moodle(name).site_info()
        have = {f["name"] for f in info["functions"]}
        assert found[name]["sitename"] == info["sitename"]
        assert found[name]["release"] == info["release"]
        assert found[name]["ws_user"] == info["username"]
        assert found[name]["missing_functions"] == []
        # the one optional function the lab's service lacks is named, and only because Moodle lacks it
        assert OPTIONAL_DELETE not in have
        assert found[name]["missing_optional"] == {"certificates": [OPTIONAL_DELETE]}
        assert found[name]["missing_fields"] == []


def test_doctor_names_a_function_removed_from_the_service(bridge: Bridge) -> None:
    removed = "core_completion_override_activity_completion_status"
    bridge.lab.admin("lp", f"--remove-function={removed}")
    have = {f["name"] for f in bridge.lab.moodle("lp").site_info()["functions"]}
    assert removed not in have
    report = bridge.json("doctor", expect=1)
    assert report["ok"] is False
    assert platforms(report)["lp"]["missing_functions"] == [removed]
    assert platforms(report)["ks"]["ok"] is True


def test_doctor_once_the_optional_function_is_added(bridge: Bridge) -> None:
    bridge.lab.admin("lp", f"--add-function={OPTIONAL_DELETE}", "--with-caps")
    assert OPTIONAL_DELETE in {f["name"] for f in bridge.lab.moodle("lp").site_info()["functions"]}
    assert platforms(bridge.json("doctor", expect=1))["lp"]["missing_optional"] == {}


def test_doctor_with_a_token_moodle_refuses(bridge: Bridge) -> None:
    wrong = "0" * 32
    with pytest.raises(MoodleException) as refused:
        bridge.lab.moodle("ks").site_info(token=wrong)
    assert refused.value.errorcode == "invalidtoken"
    ran = bridge.run("doctor", env={bridge.lab.ks.token_env: wrong})
    assert ran.code != 0
    ks_line, lp_line = (line for line in ran.stdout.splitlines() if line.startswith(("ks:", "lp:")))
    assert "[invalidtoken]" in ks_line
    assert wrong not in ran.stdout + ran.stderr  # a token is never printed
    assert "Læringsportal Helse Bergen (lab)" in lp_line
