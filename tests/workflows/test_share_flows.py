"""The three flows of the agreement end to end: request → approve → publish → revoke, with the ledger."""

from __future__ import annotations

import copy
import email
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner, Result

from lmsbridge.adapters.profile import DEFAULT_SELECT_OPTIONS
from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from tests.workflows.fake_moodle import FakeSite, Person, install, recorded_course

CONFIG = """
ledger = "ledger.db"
outbox = "outbox"
[agreement]
start = 2016-07-01
renewals = [{renewals}]
[operator]
name = "Ola Hansen"
organisation = "{org}"
[login]
store = "file"
file = "keys.json"
[platforms.ks]
title = "KS Læring"
url = "http://ks.test"
role = "municipal"
organisation = "KS"
token_env = "KS_TOKEN"
share_category_id = 2
retry_attempts = 1
categories = {{ "Helse og velferd" = 2, "Skolesektor" = 4 }}
[platforms.lp]
title = "Læringsportal"
url = "http://lp.test"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "LP_TOKEN"
share_category_id = 3
contact_point = "elaring@helse-bergen.no"
retry_attempts = 1
"""
RENEWALS = ", ".join(f"{year}-07-01" for year in range(2017, 2027))
#: personal tokens on the fake sites: each site's e-læringsansvarlig (may update and create courses) and a learner
PEOPLE = {
    "lp": {"lp-owner": Person(7, "ingrid.hauge", "Ingrid Hauge", update=True, create=True),
           "lp-learner": Person(4, "hb10001", "Kari Nordmann")},
    "ks": {"ks-owner": Person(8, "kari.as@ks.no", "Kari Ås", update=True, create=True),
           "ks-learner": Person(4, "kari.nordmann@helse-bergen.no", "Kari Nordmann")},
}


@pytest.fixture
def sites() -> Iterator[tuple[FakeSite, FakeSite]]:
    lp1 = recorded_course("lp__core_course_get_courses_by_field__ok_shortname")
    lp2 = recorded_course("lp__core_course_get_courses_by_field__ok_shortname_partial_metadata")
    for custom in lp1["customfields"]:
        if custom["shortname"] == "delingsstatus":  # start unlabelled
            custom["valueraw"], custom["value"] = 0, None
    ks1 = recorded_course("ks__core_course_get_courses_by_field__ok_after_create")
    ks1.update({"id": 2, "shortname": "KSL-VELFERD-01", "idnumber": ""})
    lp = FakeSite("http://lp.test", [lp1, lp2], DEFAULT_SELECT_OPTIONS, PEOPLE["lp"])
    ks = FakeSite("http://ks.test", [copy.deepcopy(ks1)], DEFAULT_SELECT_OPTIONS, PEOPLE["ks"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(mock, lp, ks)
        yield lp, ks


def setup_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, org: str = "Helse Bergen HF",
                 renewals: str = RENEWALS) -> Path:
    path = tmp_path / "lmsbridge.toml"
    path.write_text(CONFIG.format(org=org, renewals=renewals), encoding="utf-8")
    monkeypatch.setenv("KS_TOKEN", "ks-token")
    monkeypatch.setenv("LP_TOKEN", "lp-token")
    login(path, "lp", "lp-owner")
    login(path, "ks", "ks-owner")
    return path


def login(config: Path, platform: str, token: str) -> None:
    """Log in to ``platform`` with a personal token of ``PEOPLE``: the owner's acts are made with it."""
    result = CliRunner().invoke(cli, ["--config", str(config), "login", "--platform", platform, "--token-stdin"],
                                input=token + "\n")
    assert result.exit_code == 0, result.output


def run(config: Path, *args: str, org: str | None = None) -> Result:
    if org:
        text = config.read_text(encoding="utf-8")
        import re

        config.write_text(re.sub(r'organisation = "[^"]*"\n\[platforms', f'organisation = "{org}"\n[platforms', text, count=1),
                          encoding="utf-8")
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def field(course: dict[str, Any], shortname: str) -> Any:
    return next(f["valueraw"] for f in course["customfields"] if f["shortname"] == shortname)


def test_hospital_to_ks_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   sites: tuple[FakeSite, FakeSite]) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch)
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01", "--json")
    assert result.exit_code == 0, result.output
    requested = json.loads(result.output)
    share_id = requested["share"]["id"]
    eml = email.message_from_bytes(Path(requested["email"]).read_bytes())
    assert eml["To"] == "kslaring@ks.no"

    again = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01", "--json")
    assert json.loads(again.output)["created"] is False  # idempotent
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    assert run(config, "share", "approve", share_id).exit_code == 0

    dry = run(config, "share", "publish", share_id, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = [p["wsfunction"] for p in json.loads(dry.output)["planned"]]
    assert "core_course_create_courses" in planned
    assert len(ks.courses) == 1  # nothing written

    published = run(config, "share", "publish", share_id)
    assert published.exit_code == 0, published.output
    assert "KSL-HBHF-SMITTE-01" in published.output and "Last opp" in published.output
    shell = next(c for c in ks.courses.values() if c["shortname"] == "KSL-HBHF-SMITTE-01")
    assert field(shell, "delingsstatus") == 1  # «delt til KS Læring»
    assert field(shell, "eier") == "Helse Bergen HF"
    assert field(shell, "studiekategori") == 1 and field(shell, "tidsbruk") == "30 min"
    assert 'data-lmsbridge-label="delt-til-ks-laring"' in shell["summary"]
    assert field(lp.courses[5], "delingsstatus") == 1  # the owner's course is labelled too

    # Re-publishing is a no-op: no second course.
    assert run(config, "share", "publish", share_id).exit_code == 0
    assert sum(c["shortname"] == "KSL-HBHF-SMITTE-01" for c in ks.courses.values()) == 1

    # Only the owner ends a share: the platform says who may update the owner's course.
    login(config, "lp", "lp-learner")
    refused = run(config, "share", "revoke", share_id, "--reason", "test")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    login(config, "lp", "lp-owner")
    revoked = run(config, "share", "revoke", share_id, "--reason", "Erstattet")
    assert revoked.exit_code == 0, revoked.output
    assert shell["visible"] == 0 and field(shell, "delingsstatus") == 0
    assert "lmsbridge-label" not in shell["summary"]
    assert field(lp.courses[5], "delingsstatus") == 0

    shown = json.loads(run(config, "share", "show", share_id, "--json").output)
    assert [e["action"] for e in shown["events"]] == ["request", "approve", "publish", "revoke"]
    assert shown["share"]["state"] == "revoked"
    assert run(config, "ledger", "verify").exit_code == 0


def test_request_refused_when_course_information_is_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               sites: tuple[FakeSite, FakeSite]) -> None:
    config = setup_config(tmp_path, monkeypatch)
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-LEGEMID-02")
    assert result.exit_code == 1
    assert "missing.summary" in result.output
    assert not (tmp_path / "outbox").exists()
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert ledger.list_shares() == []


def test_request_outside_the_agreements_term_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        sites: tuple[FakeSite, FakeSite]) -> None:
    config = setup_config(tmp_path, monkeypatch, renewals="")
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert result.exit_code == 1 and "2017" in result.output


def test_ks_orders_from_hospital_goes_to_the_owning_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       sites: tuple[FakeSite, FakeSite]) -> None:
    config = setup_config(tmp_path, monkeypatch)
    result = run(config, "share", "request", "--flow", "ks-orders-from-hospital", "--course", "5", "--json")
    assert result.exit_code == 0, result.output
    eml = email.message_from_bytes(Path(json.loads(result.output)["email"]).read_bytes())
    assert eml["To"] == "elaring@helse-bergen.no" and eml["Cc"] == "kslaring@ks.no"
    share_id = json.loads(result.output)["share"]["id"]
    login(config, "lp", "lp-learner")
    refused = run(config, "share", "approve", share_id)
    assert refused.exit_code == 1  # approval is the owner's act
    assert "Kari Nordmann (hb10001)" in refused.output and "«update»" in refused.output


def test_hospital_shares_ks_course_links_it_with_label_from_ks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               sites: tuple[FakeSite, FakeSite]) -> None:
    lp, _ks = sites
    config = setup_config(tmp_path, monkeypatch)
    result = run(config, "share", "request", "--flow", "hospital-shares-ks-course", "--course", "KSL-VELFERD-01",
                 "--json")
    assert result.exit_code == 0, result.output
    share_id = json.loads(result.output)["share"]["id"]
    assert run(config, "share", "approve", share_id).exit_code == 0
    assert run(config, "share", "publish", share_id).exit_code == 0
    link = next(c for c in lp.courses.values() if c["shortname"] == "KS-KSL-VELFERD-01")
    assert field(link, "delingsstatus") == 2  # «delt fra KS»
    assert 'href="http://ks.test/course/view.php?id=2"' in link["summary"]
    assert run(config, "share", "revoke", share_id, "--reason", "slutt").exit_code == 0
    assert link["visible"] == 0 and "ks.test/course/view.php" not in link["summary"]


def test_interrupted_publish_leaves_the_ledger_consistent_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sites: tuple[FakeSite, FakeSite]
) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch)
    share_id = json.loads(run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01",
                              "--json").output)["share"]["id"]
    run(config, "share", "approve", share_id)
    lp.fail_on = "core_course_update_courses"  # dies after the shell was created, before the owner is labelled
    failed = run(config, "share", "publish", share_id)
    assert failed.exit_code != 0 and "Traceback" not in failed.output
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        share = ledger.get_share(share_id)
        assert share is not None and share.state == "approved"
        assert ledger.verify().ok
    lp.fail_on = None
    assert run(config, "share", "publish", share_id).exit_code == 0
    assert sum(c["shortname"] == "KSL-HBHF-SMITTE-01" for c in ks.courses.values()) == 1
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        share = ledger.get_share(share_id)
        assert share is not None and share.state == "published" and share.borrower_course_id is not None


def test_labels_audit_finds_drift_and_fix_repairs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     sites: tuple[FakeSite, FakeSite]) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch)
    stale = run(config, "labels", "audit", "--json")  # the recorded KS course carries a label without a share
    assert stale.exit_code == 1
    assert {a["shortname"] for a in json.loads(stale.output)} == {"KSL-VELFERD-01"}
    assert run(config, "labels", "audit", "--fix").exit_code == 0
    share_id = json.loads(run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01",
                              "--json").output)["share"]["id"]
    run(config, "share", "approve", share_id)
    run(config, "share", "publish", share_id)
    clean = run(config, "labels", "audit")
    assert clean.exit_code == 0, clean.output
    shell = next(c for c in ks.courses.values() if c["shortname"] == "KSL-HBHF-SMITTE-01")
    shell["summary"] = "<p>Someone removed the label line.</p>"  # drift on the platform
    lp.courses[6]["summary"] = '<p class="lmsbridge-label" data-lmsbridge-label="delt-til-ks-laring">Delt til KS Læring</p>'
    audit = run(config, "labels", "audit", "--json")
    assert audit.exit_code == 1
    found = {(a["platform"], a["shortname"]): {p["code"] for p in a["problems"]} for a in json.loads(audit.output)}
    assert "summary_missing" in found[("ks", "KSL-HBHF-SMITTE-01")]
    assert "summary_stale" in found[("lp", "HBHF-LEGEMID-02")]
    assert run(config, "labels", "audit", "--fix").exit_code == 0
    assert run(config, "labels", "audit").exit_code == 0
    assert "Someone removed the label line." in shell["summary"]  # the author's text stays
