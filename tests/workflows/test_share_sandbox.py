"""The three share flows end to end over real HTTP: the CLI against the sandbox's two Moodle-compatible sites.

The sandbox is seeded like the recorded lab sites (tests/fixtures/moodle/seed_data.json): lp owns
HBHF-SMITTE-01 (course 5, category 3, full course information, the label field already set), ks owns
KSL-VELFERD-01 (course 2, category 2) and already borrows HBHF-SMITTE-01 by hand as KSL-HBHF-SMITTE-01
(course 3, idnumber KSL-HBHF-SMITTE-01: not made by lmsbridge). Tests that share HBHF-SMITTE-01 anew first
take that hand-made copy away; one test keeps it and links it instead.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.main import cli
from lmsbridge.domain import Label
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.models import Course
from lmsbridge.sandbox.registry import REGISTRY
from lmsbridge.sandbox.seed import add_receipt_field
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sharing.labels import label_html, labels_in
from tests.ledger.support import Raw

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RENEWALS = ", ".join(f"{year}-07-01" for year in range(2017, 2027))
#: the e-læringsansvarlige of the sandbox seed (sites.json «staff»): manager of the organisation's course category
COORDINATORS = {"lp": "ingrid.hauge", "ks": "kari.as@ks.no"}
RECEIPT = "lmsbridge_kvittering"
LABEL_FIELD = "delingsstatus"
#: the hand-made KS Læring copy of HBHF-SMITTE-01 on the recorded ks site
MANUAL_COPY = 3

CONFIG = """\
ledger = "ledger.db"
outbox = "outbox"

[agreement]
contact_point = "kslaring@ks.no"
start = 2016-07-01
term_months = 12
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
token_env = "SANDBOX_KS_TOKEN"
contact_point = "kslaring@ks.no"
support_contact = "KS Læring brukerstøtte <kslaring@ks.no>"
retry_attempts = 1
# the fallback is the site's default category; the study category decides (sites.json: ks has 1 and 2)
share_category_id = 1
categories = {{ "Helse og velferd" = 2 }}

[platforms.ks.select_options]
studiekategori = ["", "Helse og velferd", "Skolesektor", "Annet"]
lisens = ["", "Alle rettigheter reservert", "CC BY-SA", "CC BY", "CC BY-NC-SA"]
delingsstatus = ["", "delt til KS Læring", "delt fra KS"]

[platforms.lp]
title = "Læringsportal Helse Bergen"
url = "{lp_url}"
role = "hospital"
organisation = "Helse Bergen HF"
token_env = "SANDBOX_LP_TOKEN"
contact_point = "elaring@helse-bergen.no"
support_contact = "Sykehuspartner brukerstøtte"
retry_attempts = 1
# lp has the categories 1 and 3 (Helse Bergen HF)
share_category_id = 1
categories = {{ "Helse og velferd" = 3 }}
"""


@dataclass
class Bridge:
    """The CLI pointed at a running sandbox, with its config, ledger and outbox in ``tmp``."""

    sandbox: Sandbox
    tmp: Path
    org: str = "Helse Bergen HF"

    @property
    def config(self) -> Path:
        return self.tmp / "lmsbridge.toml"

    @property
    def ks(self) -> SiteState:
        return self.sandbox.sites["ks"].state

    @property
    def lp(self) -> SiteState:
        return self.sandbox.sites["lp"].state

    def write_config(self, org: str | None = None) -> None:
        self.org = org or self.org
        self.config.write_text(CONFIG.format(renewals=RENEWALS, org=self.org, ks_url=self.sandbox.sites["ks"].url,
                                             lp_url=self.sandbox.sites["lp"].url), encoding="utf-8")

    def env(self) -> dict[str, str]:
        return {"SANDBOX_KS_TOKEN": self.sandbox.sites["ks"].token, "SANDBOX_LP_TOKEN": self.sandbox.sites["lp"].token,
                "LMSBRIDGE_PSEUDONYM_SECRET": "a-secret-for-the-last-sync-before-a-revoke"}

    def key(self, platform: str, who: str) -> str:
        """A person's own token: "coordinator" (the site's e-læringsansvarlig), "learner" (u01), "service"."""
        site = self.sandbox.sites[platform]
        if who == "learner":
            return site.learner_token
        if who == "service":
            return site.token
        person = site.state.user_by_username(COORDINATORS[platform])
        assert person is not None
        token = site.state.token_of(person.id)
        assert token is not None
        return token

    def login(self, platform: str, who: str = "coordinator") -> Result:
        return CliRunner(env=self.env()).invoke(cli, ["--config", str(self.config), "login", "--platform", platform,
                                                      "--token-stdin"], input=self.key(platform, who) + "\n")

    def run(self, *args: str, org: str | None = None) -> Result:
        if org and org != self.org:
            self.write_config(org)
        return CliRunner(env=self.env()).invoke(cli, ["--config", str(self.config), *args])

    def ok(self, *args: str, org: str | None = None) -> Result:
        result = self.run(*args, org=org)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, org: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", org=org).output)

    def request(self, flow: str, course: str, org: str | None = None) -> str:
        share_id: str = self.json("share", "request", "--flow", flow, "--course", course, org=org)["share"]["id"]
        return share_id

    def share(self, share_id: str) -> Share:
        with Ledger.open(self.tmp / "ledger.db") as ledger:
            share = ledger.get_share(share_id)
        assert share is not None
        return share

    def ledger_lines(self) -> list[str]:
        """Every ledger event as «share action» or «notice kind» (the acts' notices have no share)."""
        with Ledger.open(self.tmp / "ledger.db") as ledger:
            return [f"notice {e.details.get('kind')}" if e.action == "notice" else f"{e.share_id or '-'} {e.action}"
                    for e in ledger.events()]

    def verified(self) -> dict[str, Any]:
        report: dict[str, Any] = self.json("ledger", "verify")
        assert report["ok"] is True and report["first_bad_seq"] is None, report
        return report


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def bridge(sandbox: Sandbox, tmp_path: Path) -> Bridge:
    """The CLI with both e-læringsansvarlige logged in (each act is made with their own key) and the receipt
    field on both sites (made by their admins)."""
    b = Bridge(sandbox, tmp_path)
    b.write_config()
    for name, site in sandbox.sites.items():
        add_receipt_field(site.state)
        assert b.login(name).exit_code == 0
    return b


def without_manual_copy(bridge: Bridge) -> None:
    """KS Læring before anyone borrowed HBHF-SMITTE-01: the hand-made copy (ks course 3) is gone."""
    assert bridge.ks.courses[MANUAL_COPY].shortname == "KSL-HBHF-SMITTE-01"
    bridge.ks.delete_course(MANUAL_COPY)


def by_idnumber(state: SiteState, idnumber: str) -> list[Course]:
    return [c for c in state.courses.values() if c.idnumber == idnumber]


def by_shortname(state: SiteState, shortname: str) -> list[Course]:
    return [c for c in state.courses.values() if c.shortname == shortname]


def label_of(state: SiteState, course: Course) -> str | None:
    """The label the site's select field shows: the 1-based index into the site's own option list."""
    index = int(course.customfields.get(LABEL_FIELD) or 0)
    spec = state.field(LABEL_FIELD)
    assert spec is not None and spec.type == "select"
    return spec.options[index - 1] if index else None


def assert_labelled(state: SiteState, course: Course, label: Label) -> None:
    assert label_of(state, course) == label.value
    assert labels_in(course.summary) == {label}
    assert course.summary.count('class="lmsbridge-label"') == 1  # one visible, marked line …
    assert course.summary.startswith(label_html(label))  # … first in the summary


def assert_unlabelled(state: SiteState, course: Course) -> None:
    assert label_of(state, course) is None
    assert labels_in(course.summary) == set()
    assert "lmsbridge-label" not in course.summary


def writes(state: SiteState) -> dict[str, int]:
    """The write calls the site served since its counters were reset."""
    return {name: n for name, n in state.calls_by_function.items() if REGISTRY[name].writes}


def reset(*states: SiteState) -> None:
    for state in states:
        state.reset_counters()


# -- the three flows -------------------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["hospital-to-ks", "ks-orders-from-hospital"])
def test_hospital_course_into_ks_laering_end_to_end(bridge: Bridge, flow: str) -> None:
    ks, lp = bridge.ks, bridge.lp
    without_manual_copy(bridge)
    original_summary = lp.courses[5].summary
    share_id = bridge.request(flow, "HBHF-SMITTE-01" if flow == "hospital-to-ks" else "5")

    [eml] = (bridge.tmp / "outbox").glob("*.eml")
    headers = email.message_from_bytes(eml.read_bytes())
    if flow == "hospital-to-ks":
        assert (headers["To"], headers["Cc"]) == ("kslaring@ks.no", None)
    else:  # the municipality orders from the owning HF, KS Læring in copy
        assert (headers["To"], headers["Cc"]) == ("elaring@helse-bergen.no", "kslaring@ks.no")
    again = bridge.json("share", "request", "--flow", flow, "--course", "HBHF-SMITTE-01")
    assert again["created"] is False and again["share"]["id"] == share_id  # idempotent: one share, one e-mail
    assert len(list((bridge.tmp / "outbox").glob("*.eml"))) == 1

    bridge.login("lp", "learner")
    refused = bridge.run("share", "approve", share_id)
    assert refused.exit_code == 1 and "Traceback" not in refused.output  # approval is the owner's act …
    assert "moodle/course:update" in refused.output  # … and the platform said she may not update the course
    bridge.login("lp")
    bridge.ok("share", "approve", share_id)

    # --dry-run: the calls are planned, none is sent
    reset(ks, lp)
    planned = bridge.json("share", "publish", share_id, "--dry-run")["planned"]
    assert {p["wsfunction"] for p in planned} == {"core_course_create_courses", "core_course_update_courses"}
    assert writes(ks) == {} and writes(lp) == {}
    assert by_shortname(ks, "KSL-HBHF-SMITTE-01") == [] and bridge.share(share_id).state == "approved"

    published = bridge.json("share", "publish", share_id)
    assert published["created_course"] is True
    [shell] = by_idnumber(ks, f"lmsbridge-{share_id}")
    assert published["borrower_course_id"] == shell.id
    assert (shell.shortname, shell.fullname, shell.visible) == ("KSL-HBHF-SMITTE-01", "Smittevern – basale rutiner", 1)
    assert shell.categoryid == 2 and ks.categories[2].name == "Helse og velferd"  # by its study category
    assert_labelled(ks, shell, Label.SHARED_TO_KS)
    assert shell.customfields["eier"] == "Helse Bergen HF"
    assert (shell.customfields["studiekategori"], shell.customfields["lisens"]) == (1, 3)  # Helse og velferd, CC BY
    assert shell.customfields["tidsbruk"] == "30 min"
    assert_labelled(lp, lp.courses[5], Label.SHARED_TO_KS)  # the owner's course is marked too …
    assert lp.courses[5].summary.endswith(original_summary)  # … in front of the author's text
    share = bridge.share(share_id)
    assert (share.state, share.borrower_course_id, share.borrower_course_shortname) == (
        "published", shell.id, "KSL-HBHF-SMITTE-01")
    bridge.ok("labels", "audit")  # every label agrees with the ledger

    # re-running publish finds the course again: nothing written, still one course
    reset(ks, lp)
    rerun = bridge.json("share", "publish", share_id)
    assert rerun["created_course"] is False and rerun["borrower_course_id"] == shell.id
    assert writes(ks) == {} and writes(lp) == {}
    assert len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1

    reset(ks, lp)
    dry_revoke = bridge.ok("share", "revoke", share_id, "--reason", "Kurset er erstattet", "--dry-run").output
    assert "core_course_update_courses" in dry_revoke
    assert writes(ks) == {} and writes(lp) == {} and bridge.share(share_id).state == "published"

    bridge.ok("share", "revoke", share_id, "--reason", "Kurset er erstattet")
    hidden = ks.courses[shell.id]  # kept, hidden and unlabelled
    assert hidden.visible == 0
    assert_unlabelled(ks, hidden)
    assert_unlabelled(lp, lp.courses[5])
    assert lp.courses[5].summary == original_summary  # the author's text comes back byte for byte
    bridge.ok("labels", "audit")

    shown = bridge.json("share", "show", share_id)
    assert [e["action"] for e in shown["events"]] == ["request", "approve", "publish", "revoke"]
    assert shown["share"]["state"] == "revoked" and shown["share"]["borrower_course_id"] == shell.id
    # each act after the request told the other party (a notice), and the revoke ran a last sync first
    assert bridge.ledger_lines() == [
        f"{share_id} request", f"{share_id} approve", "notice share-approve", f"{share_id} publish",
        "notice share-publish", "- sync.secret.adopted", f"{share_id} revoke", "notice share-revoke"]
    assert bridge.verified()["events"] == 8
    reset(ks, lp)
    bridge.ok("share", "revoke", share_id, "--reason", "igjen")  # idempotent: no act, no notice, no sync
    assert writes(ks) == {} and writes(lp) == {}
    assert bridge.verified()["events"] == 8


def test_hospital_shares_ks_course_end_to_end(bridge: Bridge) -> None:
    ks, lp = bridge.ks, bridge.lp
    def owner_course() -> tuple[str, dict[str, object]]:  # as the author left it (the receipt aside)
        course = ks.courses[2]
        return course.summary, {k: v for k, v in course.customfields.items() if k != RECEIPT}

    owner_before = owner_course()
    share_id = bridge.request("hospital-shares-ks-course", "KSL-VELFERD-01")
    bridge.login("ks", "learner")
    assert bridge.run("share", "approve", share_id).exit_code == 1  # KS owns the course: its coordinator approves
    bridge.login("ks")
    bridge.ok("share", "approve", share_id)

    reset(ks, lp)
    planned = bridge.json("share", "publish", share_id, "--dry-run")["planned"]
    assert [p["wsfunction"] for p in planned] == ["core_course_create_courses"]
    assert writes(ks) == {} and writes(lp) == {}

    published = bridge.json("share", "publish", share_id)
    [link] = by_idnumber(lp, f"lmsbridge-{share_id}")
    assert published["borrower_course_id"] == link.id and published["created_course"] is True
    assert (link.shortname, link.visible) == ("KS-KSL-VELFERD-01", 1)
    assert link.categoryid == 3 and lp.categories[3].name == "Helse Bergen HF"  # by its study category
    assert_labelled(lp, link, Label.SHARED_FROM_KS)
    href = f'href="{bridge.sandbox.sites["ks"].url}/course/view.php?id=2"'
    assert f'<p class="lmsbridge-link"><a {href}>Gå til kurset i KS Læring</a></p>' in link.summary
    assert owner_course() == owner_before  # the KS course is not marked

    reset(ks, lp)
    assert bridge.json("share", "publish", share_id)["created_course"] is False
    assert writes(ks) == {} and writes(lp) == {}
    assert len(by_shortname(lp, "KS-KSL-VELFERD-01")) == 1

    bridge.ok("share", "revoke", share_id, "--reason", "Avtalen er avsluttet")
    hidden = lp.courses[link.id]
    assert hidden.visible == 0
    assert_unlabelled(lp, hidden)
    assert "course/view.php" not in hidden.summary and "lmsbridge-link" not in hidden.summary
    assert hidden.summary == ks.courses[2].summary  # only the author's text is left
    assert owner_course() == owner_before
    shown = bridge.json("share", "show", share_id)
    assert [e["action"] for e in shown["events"]] == ["request", "approve", "publish", "revoke"]
    bridge.verified()


def test_a_hand_made_copy_is_not_overwritten_and_can_be_linked(bridge: Bridge) -> None:
    """The recorded KS Læring already has KSL-HBHF-SMITTE-01, made by hand: publish must not try to create a
    second course with that shortname (Moodle refuses it), in a dry run either; --borrower-course links it."""
    ks, lp = bridge.ks, bridge.lp
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    before = {name: len(state.courses) for name, state in (("ks", ks), ("lp", lp))}
    reset(ks, lp)
    for args in (("--dry-run",), ()):
        refused = bridge.run("share", "publish", share_id, *args)
        assert refused.exit_code == 1, refused.output
        assert "KSL-HBHF-SMITTE-01" in refused.output and "--borrower-course" in refused.output
        assert "Traceback" not in refused.output
    assert writes(ks) == {} and writes(lp) == {}  # not even the owner's label
    assert {"ks": len(ks.courses), "lp": len(lp.courses)} == before
    assert bridge.share(share_id).state == "approved"

    linked = bridge.json("share", "publish", share_id, "--borrower-course", "KSL-HBHF-SMITTE-01")
    assert linked["borrower_course_id"] == MANUAL_COPY and linked["created_course"] is False
    copy = ks.courses[MANUAL_COPY]
    assert_labelled(ks, copy, Label.SHARED_TO_KS)
    assert copy.summary.endswith("<p>E-læringskurs i basale smittevernrutiner, lånt fra Helse Bergen HF.</p>")
    assert_labelled(lp, lp.courses[5], Label.SHARED_TO_KS)
    assert bridge.share(share_id).borrower_course_id == MANUAL_COPY
    assert len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1
    bridge.ok("labels", "audit")

    bridge.ok("share", "revoke", share_id, "--reason", "slutt")
    assert ks.courses[MANUAL_COPY].visible == 0
    assert_unlabelled(ks, ks.courses[MANUAL_COPY])
    bridge.verified()


def test_a_revoked_share_asked_for_again_goes_on_on_its_line_and_its_old_course(bridge: Bridge) -> None:
    ks, lp = bridge.ks, bridge.lp
    without_manual_copy(bridge)
    first = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", first)
    course_id = bridge.json("share", "publish", first)["borrower_course_id"]
    bridge.ok("share", "revoke", first, "--reason", "Pause")
    assert ks.courses[course_id].visible == 0

    again = bridge.json("share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert (again["share"]["id"], again["created"], again["reopened"]) == (first, False, True)  # one share
    bridge.ok("share", "approve", first)
    relinked = bridge.json("share", "publish", first)  # its old course, hidden by the revoke, comes back
    assert relinked["borrower_course_id"] == course_id and relinked["created_course"] is False
    course = ks.courses[course_id]
    assert course.visible == 1  # publishing shows it again
    assert_labelled(ks, course, Label.SHARED_TO_KS)
    assert_labelled(lp, lp.courses[5], Label.SHARED_TO_KS)
    assert len(by_shortname(ks, "KSL-HBHF-SMITTE-01")) == 1
    shown = bridge.json("share", "show", first)
    assert [e["action"] for e in shown["events"]] == ["request", "approve", "publish", "revoke", "request",
                                                       "approve", "publish"]
    assert shown["events"][4]["details"]["reopened_from"] == "revoked"
    bridge.ok("labels", "audit")

    with ks.changing():  # KS Læring's administrators hide it again, by hand
        course.visible = 0
    reset(ks, lp)
    bridge.ok("share", "publish", first)  # a re-run of a published share leaves that alone
    assert writes(ks) == {} and ks.courses[course_id].visible == 0
    bridge.verified()


def test_ledger_verify_catches_a_tampered_event(bridge: Bridge) -> None:
    share_id = bridge.request("hospital-shares-ks-course", "KSL-VELFERD-01")
    bridge.ok("share", "approve", share_id)
    course_id = bridge.json("share", "publish", share_id)["borrower_course_id"]
    assert bridge.verified()["events"] == 5  # request, approve, publish and the notices of the last two
    raw = Raw(str(bridge.tmp / "ledger.db"))
    try:
        with pytest.raises(raw.errors):  # the events table is append-only …
            raw.execute("UPDATE events SET actor = 'Mallory' WHERE action = 'approve'")
        raw.drop_append_only_triggers()  # … until someone drops the guard and points the share elsewhere
        raw.execute("UPDATE events SET details = replace(details, ?, ?) WHERE action = 'publish'",
                    (f'"borrower_course_id": {course_id}', '"borrower_course_id": 2'))
        assert raw.execute("SELECT seq FROM events WHERE details LIKE '%\"borrower_course_id\": 2%'") == [(4,)]
    finally:
        raw.close()
    result = bridge.run("ledger", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["ok"], report["first_bad_seq"]) == (False, 4)


# -- SIGKILL in the middle of publish ----------------------------------------------------------------


@pytest.mark.parametrize(("site", "kill_on"), [("ks", "core_course_create_courses"),
                                                   ("lp", "core_course_update_courses")],
                         ids=["course-created-answer-lost", "owner-labelled-not-recorded"])
def test_killed_mid_publish_leaves_the_ledger_consistent_and_a_rerun_completes(
    bridge: Bridge, site: str, kill_on: str
) -> None:
    """``share publish`` in a child process is SIGKILLed by the sandbox itself the moment it has carried out
    ``kill_on`` and before its answer leaves: the platform did the write, the child never learnt of it
    (first case: the new course's id; second: the owner's label, the last platform step before the ledger)."""
    ks, lp = bridge.ks, bridge.lp
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    reset(ks, lp)

    state = bridge.sandbox.sites[site].state
    counted = state.record_call
    children: list[subprocess.Popen[bytes]] = []

    def kill_when_served(wsfunction: str) -> None:  # runs in the server's thread, before the reply is sent
        counted(wsfunction)
        if wsfunction == kill_on:
            for child in children:
                child.send_signal(signal.SIGKILL)

    state.record_call = kill_when_served  # type: ignore[method-assign]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSBRIDGE_")}
    env.update(bridge.env(), PYTHONPATH=str(ROOT))
    try:
        children.append(subprocess.Popen(
            [sys.executable, "-m", "lmsbridge", "--config", str(bridge.config), "share", "publish", share_id],
            cwd=bridge.tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        out, err = children[0].communicate(timeout=60)
    finally:
        state.record_call = counted  # type: ignore[method-assign]
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
    assert children[0].returncode == -signal.SIGKILL, (out, err)

    [created] = by_idnumber(ks, f"lmsbridge-{share_id}")  # the platform steps happened …
    assert ks.calls_by_function["core_course_create_courses"] == 1
    share = bridge.share(share_id)
    assert (share.state, share.borrower_course_id) == ("approved", None)  # … their record did not: consistent
    assert bridge.ledger_lines() == [f"{share_id} request", f"{share_id} approve", "notice share-approve"]
    assert bridge.verified()["events"] == 3
    assert [e["action"] for e in bridge.json("share", "show", share_id)["events"]] == ["request", "approve"]

    rerun = bridge.json("share", "publish", share_id)
    assert rerun["created_course"] is False and rerun["borrower_course_id"] == created.id  # found again …
    assert by_shortname(ks, "KSL-HBHF-SMITTE-01") == [ks.courses[created.id]]  # … not duplicated
    assert ks.calls_by_function["core_course_create_courses"] == 1
    share = bridge.share(share_id)
    assert (share.state, share.borrower_course_id, share.borrower_course_shortname) == (
        "published", created.id, "KSL-HBHF-SMITTE-01")
    assert_labelled(ks, ks.courses[created.id], Label.SHARED_TO_KS)
    assert_labelled(lp, lp.courses[5], Label.SHARED_TO_KS)
    # the owner was labelled once, and the publish's receipt written onto its course once
    assert lp.calls_by_function.get("core_course_update_courses", 0) == 2
    assert [e["action"] for e in bridge.json("share", "show", share_id)["events"]] == ["request", "approve", "publish"]
    assert bridge.verified()["events"] == 5  # and the notices of the approve and the publish
    bridge.ok("labels", "audit")
