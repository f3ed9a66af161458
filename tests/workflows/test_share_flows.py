"""The three flows of the agreement end to end: request → approve → publish → revoke, with the ledger.

The CLI runs against the sandbox's two sites in process (``Sandbox.in_process``: no sockets), seeded like
the recorded lab sites (lmsbridge/sandbox/data/sites.json). Two changes to that seed give these tests
the starting point of a pilot that has shared nothing yet: the Læringsportal's HBHF-SMITTE-01 (course 5)
starts without its «delt til KS Læring» mark, and KS Læring's hand-made copy of it (course 3,
KSL-HBHF-SMITTE-01) is gone, so that ``share publish`` creates the shell (a hand-made copy is linked,
never overwritten: tests/workflows/test_share_sandbox.py). The platforms' behaviour over real HTTP, the
SIGKILL cases included, is in test_share_sandbox.py.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sandbox.models import Course
from lmsbridge.sandbox.seed import add_receipt_field
from lmsbridge.sandbox.state import SiteState

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
url = "{ks_url}"
role = "municipal"
organisation = "KS"
token_env = "KS_TOKEN"
share_category_id = 2
retry_attempts = 1
categories = {{ "Helse og velferd" = 2, "Skolesektor" = 4 }}
[platforms.lp]
title = "Læringsportal"
url = "{lp_url}"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "LP_TOKEN"
share_category_id = 3
contact_point = "elaring@helse-bergen.no"
retry_attempts = 1
"""
RENEWALS = ", ".join(f"{year}-07-01" for year in range(2017, 2027))
LABEL_FIELD = "delingsstatus"
#: KS Læring's hand-made copy of HBHF-SMITTE-01 on the recorded ks site
MANUAL_COPY = 3
#: the e-læringsansvarlige of the sandbox seed (sites.json «staff»), each the manager of their organisation's
#: course category; the owner's acts are made with their own keys
COORDINATORS = {"lp": "ingrid.hauge", "ks": "kari.as@ks.no"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.in_process() as sb:
        lp, ks = sb.sites["lp"].state, sb.sites["ks"].state
        with lp.changing():
            lp.courses[5].customfields[LABEL_FIELD] = 0  # start unlabelled
        assert ks.courses[MANUAL_COPY].shortname == "KSL-HBHF-SMITTE-01"
        ks.delete_course(MANUAL_COPY)
        for site in sb.sites.values():
            add_receipt_field(site.state)  # the receipts of the owner's acts, as each site's admin would add it
        yield sb


@pytest.fixture
def sites(sandbox: Sandbox) -> tuple[SiteState, SiteState]:
    return sandbox.sites["lp"].state, sandbox.sites["ks"].state


def setup_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, org: str = "Helse Bergen HF",
                 renewals: str = RENEWALS) -> Path:
    path = tmp_path / "lmsbridge.toml"
    path.write_text(CONFIG.format(org=org, renewals=renewals, ks_url=sandbox.sites["ks"].url,
                                  lp_url=sandbox.sites["lp"].url), encoding="utf-8")
    monkeypatch.setenv("KS_TOKEN", sandbox.sites["ks"].token)
    monkeypatch.setenv("LP_TOKEN", sandbox.sites["lp"].token)
    monkeypatch.setenv("LMSBRIDGE_PSEUDONYM_SECRET", "a-secret-for-the-last-sync-before-a-revoke")
    for platform in ("lp", "ks"):
        login(path, sandbox, platform)
    Ledger.open(tmp_path / "ledger.db").close()  # as `lmsbridge init` makes it: readers need it there
    return path


def login(config: Path, sandbox: Sandbox, platform: str, who: str = "coordinator") -> None:
    """Log in to ``platform`` with a person's own key: its e-læringsansvarlig's, or the learner u01's."""
    site = sandbox.sites[platform]
    if who == "learner":
        token = site.learner_token
    else:
        person = site.state.user_by_username(COORDINATORS[platform])
        assert person is not None
        token = site.state.token_of(person.id) or ""
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


def field(course: Course, shortname: str) -> object:
    """The stored value of a custom field (a select: its 1-based option index, 0 = unset)."""
    return course.customfields.get(shortname) or (0 if shortname == LABEL_FIELD else None)


def by_shortname(state: SiteState, shortname: str) -> list[Course]:
    return [c for c in state.courses.values() if c.shortname == shortname]


def test_hospital_to_ks_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox,
                                   sites: tuple[SiteState, SiteState]) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch, sandbox)
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

    courses_before = set(ks.courses)
    dry = run(config, "share", "publish", share_id, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = [p["wsfunction"] for p in json.loads(dry.output)["planned"]]
    assert "core_course_create_courses" in planned
    assert set(ks.courses) == courses_before  # nothing written
    assert "core_course_create_courses" not in ks.calls_by_function

    published = run(config, "share", "publish", share_id)
    assert published.exit_code == 0, published.output
    assert "KSL-HBHF-SMITTE-01" in published.output and "Last opp" in published.output
    [shell] = by_shortname(ks, "KSL-HBHF-SMITTE-01")
    assert field(shell, "delingsstatus") == 1  # «delt til KS Læring»
    assert field(shell, "eier") == "Helse Bergen HF"
    assert field(shell, "studiekategori") == 1 and field(shell, "tidsbruk") == "30 min"
    assert 'data-lmsbridge-label="delt-til-ks-laring"' in shell.summary
    assert field(lp.courses[5], "delingsstatus") == 1  # the owner's course is labelled too

    # Re-publishing is a no-op: no second course.
    assert run(config, "share", "publish", share_id).exit_code == 0
    assert len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1

    # Only the owner ends a share.
    # Only the owner ends a share: the platform says who may update the owner's course.
    login(config, sandbox, "lp", "learner")
    refused = run(config, "share", "revoke", share_id, "--reason", "test")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    login(config, sandbox, "lp")
    revoked = run(config, "share", "revoke", share_id, "--reason", "Erstattet")
    assert revoked.exit_code == 0, revoked.output
    shell = ks.courses[shell.id]
    assert shell.visible == 0 and field(shell, "delingsstatus") == 0
    assert "lmsbridge-label" not in shell.summary
    assert field(lp.courses[5], "delingsstatus") == 0

    shown = json.loads(run(config, "share", "show", share_id, "--json").output)
    assert [e["action"] for e in shown["events"]] == ["request", "approve", "publish", "revoke"]
    assert shown["share"]["state"] == "revoked"
    assert run(config, "ledger", "verify").exit_code == 0


def test_request_refused_when_course_information_is_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               sandbox: Sandbox) -> None:
    config = setup_config(tmp_path, monkeypatch, sandbox)
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-LEGEMID-02")
    assert result.exit_code == 1
    assert "Kurssammendrag mangler" in result.output  # the message validate shows, not its code
    assert not (tmp_path / "outbox").exists()
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert ledger.list_shares() == []


def test_request_outside_the_agreements_term_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        sandbox: Sandbox) -> None:
    config = setup_config(tmp_path, monkeypatch, sandbox, renewals="")
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert result.exit_code == 1 and "2017" in result.output


def test_ks_orders_from_hospital_goes_to_the_owning_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       sandbox: Sandbox) -> None:
    config = setup_config(tmp_path, monkeypatch, sandbox)
    result = run(config, "share", "request", "--flow", "ks-orders-from-hospital", "--course", "5", "--json")
    assert result.exit_code == 0, result.output
    eml = email.message_from_bytes(Path(json.loads(result.output)["email"]).read_bytes())
    assert eml["To"] == "elaring@helse-bergen.no" and eml["Cc"] == "kslaring@ks.no"
    share_id = json.loads(result.output)["share"]["id"]
    login(config, sandbox, "lp", "learner")
    refused = run(config, "share", "approve", share_id)
    assert refused.exit_code == 1  # approval is the owner's act


def test_hospital_shares_ks_course_links_it_with_label_from_ks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               sandbox: Sandbox,
                                                               sites: tuple[SiteState, SiteState]) -> None:
    lp, _ks = sites
    config = setup_config(tmp_path, monkeypatch, sandbox)
    result = run(config, "share", "request", "--flow", "hospital-shares-ks-course", "--course", "KSL-VELFERD-01",
                 "--json")
    assert result.exit_code == 0, result.output
    share_id = json.loads(result.output)["share"]["id"]
    assert run(config, "share", "approve", share_id).exit_code == 0
    assert run(config, "share", "publish", share_id).exit_code == 0
    [link] = by_shortname(lp, "KS-KSL-VELFERD-01")
    assert field(link, "delingsstatus") == 2  # «delt fra KS»
    ks_url = sandbox.sites["ks"].url
    assert f'href="{ks_url}/course/view.php?id=2"' in link.summary
    assert run(config, "share", "revoke", share_id, "--reason", "slutt").exit_code == 0
    link = lp.courses[link.id]
    assert link.visible == 0 and f"{ks_url}/course/view.php" not in link.summary


def test_interrupted_publish_leaves_the_ledger_consistent_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, sites: tuple[SiteState, SiteState]
) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch, sandbox)
    share_id = json.loads(run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01",
                              "--json").output)["share"]["id"]
    run(config, "share", "approve", share_id)
    # the owner's site goes away after the shell was created, before the owner is labelled
    gone = lp.fail("core_course_update_courses", Fault.dropped())
    failed = run(config, "share", "publish", share_id)
    assert failed.exit_code == 3 and "Traceback" not in failed.output  # a platform could not be reached
    assert gone.hits == 1 and len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        share = ledger.get_share(share_id)
        assert share is not None and share.state == "approved"
        assert ledger.verify().ok
    gone.remove()
    assert run(config, "share", "publish", share_id).exit_code == 0
    assert len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        share = ledger.get_share(share_id)
        assert share is not None and share.state == "published" and share.borrower_course_id is not None


def test_labels_audit_finds_drift_and_fix_repairs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     sandbox: Sandbox, sites: tuple[SiteState, SiteState]) -> None:
    lp, ks = sites
    config = setup_config(tmp_path, monkeypatch, sandbox)
    # a label without a share: KSL-VELFERD-01 marked «delt til KS Læring» by hand, as the course recorded after
    # its creation on the lab site was (ks__core_course_get_courses_by_field__ok_after_create.json)
    with ks.changing():
        ks.courses[2].customfields[LABEL_FIELD] = 1
    stale = run(config, "labels", "audit", "--json")
    assert stale.exit_code == 1
    assert {a["shortname"] for a in json.loads(stale.output)} == {"KSL-VELFERD-01"}
    assert run(config, "labels", "audit", "--fix").exit_code == 0
    assert field(ks.courses[2], LABEL_FIELD) == 0
    share_id = json.loads(run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01",
                              "--json").output)["share"]["id"]
    run(config, "share", "approve", share_id)
    run(config, "share", "publish", share_id)
    clean = run(config, "labels", "audit")
    assert clean.exit_code == 0, clean.output
    [shell] = by_shortname(ks, "KSL-HBHF-SMITTE-01")
    with ks.changing():
        shell.summary = "<p>Someone removed the label line.</p>"  # drift on the platform
    with lp.changing():
        lp.courses[6].summary = ('<p class="lmsbridge-label" data-lmsbridge-label="delt-til-ks-laring">'
                                 "Delt til KS Læring</p>")
    audit = run(config, "labels", "audit", "--json")
    assert audit.exit_code == 1
    found = {(a["platform"], a["shortname"]): {p["code"] for p in a["problems"]} for a in json.loads(audit.output)}
    assert "summary_missing" in found[("ks", "KSL-HBHF-SMITTE-01")]
    assert "summary_stale" in found[("lp", "HBHF-LEGEMID-02")]
    assert run(config, "labels", "audit", "--fix").exit_code == 0
    assert run(config, "labels", "audit").exit_code == 0
    assert "Someone removed the label line." in ks.courses[shell.id].summary  # the author's text stays
