"""The agreement's three share flows, the label audit and revoke, against the lab, read back on both sites.

Run in file order on one ledger (a module-scoped ``Bridge``): the requests and approvals come first, then
publish, audit, revoke. What counts is what the two Moodle sites hold afterwards: each course's label
select field (``delingsstatus``, 1-based option index), lmsbridge's label paragraph in its summary, its
visibility, the owner field and the link to a linked KS course.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.real.lab import SELECT_OPTIONS, Bridge, Lab, custom_fields, label_field, summary_labels

pytestmark = pytest.mark.real

TO_KS = "delt til KS Læring"
FROM_KS = "delt fra KS"


@pytest.fixture(scope="module")
def bridge(fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Bridge:
    return Bridge(fresh_lab, tmp_path_factory.mktemp("shares"))


@pytest.fixture(scope="module")
def shares() -> dict[str, str]:
    """flow → share id, filled in by the request tests."""
    return {}


def course(bridge: Bridge, site: str, shortname: str) -> dict[str, Any]:
    found = bridge.lab.moodle(site).course(shortname)
    assert found is not None, f"{site} has no course {shortname}"
    return found


def request(bridge: Bridge, flow: str, shortname: str) -> str:
    result = bridge.json("share", "request", "--flow", flow, "--course", shortname, "--reason", "real-site suite")
    share_id: str = result["share"]["id"]
    return share_id


def assert_labelled(found: dict[str, Any], label: str) -> None:
    assert label_field(found) == label, f"{found['shortname']}: label field {label_field(found)!r}"
    assert summary_labels(found) == [label], f"{found['shortname']}: summary labels {summary_labels(found)}"


def assert_unlabelled(found: dict[str, Any]) -> None:
    assert label_field(found) is None, f"{found['shortname']}: label field {label_field(found)!r}"
    assert summary_labels(found) == [], f"{found['shortname']}: summary labels {summary_labels(found)}"


# -- HF → KS Læring, owner-initiated: the course KS Læring filled exists already ---------------------------


def test_hospital_to_ks_request_and_approve(bridge: Bridge, shares: dict[str, str]) -> None:
    shares["hospital-to-ks"] = share = request(bridge, "hospital-to-ks", "HBHF-SMITTE-01")
    # only the owner approves: Læringsportal says a learner's key may not update HBHF-SMITTE-01, so it is refused
    with bridge.logged_in_as(lp=bridge.lab.lp.learner_token):
        assert bridge.run("share", "approve", share).code == 1
    bridge.run("share", "approve", share).expect(0)  # Ingrid Hauge's own key: she may


def test_hospital_to_ks_publish_dry_run_changes_nothing(bridge: Bridge, shares: dict[str, str]) -> None:
    before = (course(bridge, "lp", "HBHF-SMITTE-01"), course(bridge, "ks", "KSL-HBHF-SMITTE-01"))
    bridge.run("share", "publish", shares["hospital-to-ks"], "--borrower-course", "KSL-HBHF-SMITTE-01",
               "--dry-run").expect(0)
    after = (course(bridge, "lp", "HBHF-SMITTE-01"), course(bridge, "ks", "KSL-HBHF-SMITTE-01"))
    for old, new in zip(before, after, strict=True):
        assert (new["summary"], new["visible"], custom_fields(new)) == (old["summary"], old["visible"],
                                                                          custom_fields(old))


def test_hospital_to_ks_publish_labels_both_sides(bridge: Bridge, shares: dict[str, str]) -> None:
    bridge.run("share", "publish", shares["hospital-to-ks"], "--borrower-course", "KSL-HBHF-SMITTE-01").expect(0)
    owner, borrower = course(bridge, "lp", "HBHF-SMITTE-01"), course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    assert_labelled(owner, TO_KS)
    assert_labelled(borrower, TO_KS)
    assert borrower["visible"] == 1
    assert custom_fields(borrower)["eier"] == "Helse Bergen HF"


def test_hospital_to_ks_publish_again_writes_nothing(bridge: Bridge, shares: dict[str, str]) -> None:
    before = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    bridge.run("share", "publish", shares["hospital-to-ks"], "--borrower-course", "KSL-HBHF-SMITTE-01").expect(0)
    after = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    assert after["timemodified"] == before["timemodified"]
    assert after["summary"] == before["summary"]


# -- KS orders from an HF: lmsbridge creates the course shell in KS Læring ---------------------------------


def test_ks_orders_a_course_whose_study_category_ks_laring_lacks(bridge: Bridge) -> None:
    """HBHF-BRANN-03 has the study category «Annet», which is not one of KS Læring's: refused (rule 7)."""
    owner = course(bridge, "lp", "HBHF-BRANN-03")
    assert custom_fields(owner)["studiekategori"] == SELECT_OPTIONS["studiekategori"].index("Annet")
    ran = bridge.run("share", "request", "--flow", "ks-orders-from-hospital", "--course", "HBHF-BRANN-03")
    assert ran.code == 1
    # the refusal says what validate says: the study category and the ones KS Læring has
    assert "«Annet»" in ran.stderr and "«Helse og velferd»" in ran.stderr


def test_ks_orders_from_hospital_creates_a_labelled_shell(bridge: Bridge, shares: dict[str, str]) -> None:
    assert bridge.lab.moodle("ks").course("KSL-HBHF-BRANN-03") is None
    # the hospital's coordinator puts the course in «Helse og velferd» first (in Moodle), then KS orders it
    owner = course(bridge, "lp", "HBHF-BRANN-03")
    bridge.lab.moodle("lp").call("core_course_update_courses", courses=[{"id": owner["id"], "customfields": [
        {"shortname": "studiekategori", "value": SELECT_OPTIONS["studiekategori"].index("Helse og velferd")}]}])
    shares["ks-orders-from-hospital"] = share = request(bridge, "ks-orders-from-hospital", "HBHF-BRANN-03")
    bridge.run("share", "approve", share).expect(0)
    bridge.run("share", "publish", share).expect(0)
    owner, shell = course(bridge, "lp", "HBHF-BRANN-03"), course(bridge, "ks", "KSL-HBHF-BRANN-03")
    assert_labelled(owner, TO_KS)
    assert_labelled(shell, TO_KS)
    assert shell["fullname"] == owner["fullname"]
    assert shell["categoryid"] == 2  # «Helse og velferd» on KS Læring
    assert shell["visible"] == 1
    fields_owner, fields_shell = custom_fields(owner), custom_fields(shell)
    assert fields_shell["eier"] == "Helse Bergen HF"
    for copied in ("maal", "innhold", "malgrupper", "forutsetninger", "produsert_av", "tidsbruk", "kurskoordinator"):
        assert fields_shell[copied] == fields_owner[copied], copied


def test_ks_orders_publish_again_makes_no_second_shell(bridge: Bridge, shares: dict[str, str]) -> None:
    bridge.run("share", "publish", shares["ks-orders-from-hospital"]).expect(0)
    found = [c for c in bridge.lab.moodle("ks").courses_in_category(2) if c["shortname"].startswith("KSL-HBHF-BRANN")]
    assert [c["shortname"] for c in found] == ["KSL-HBHF-BRANN-03"]


# -- HF shares a KS course: a link in the Læringsportal, labelled «delt fra KS» ------------------------------


def test_hospital_shares_ks_course_links_it_in_the_laringsportal(bridge: Bridge, shares: dict[str, str]) -> None:
    ks_before = course(bridge, "ks", "KSL-VELFERD-01")
    shares["hospital-shares-ks-course"] = share = request(bridge, "hospital-shares-ks-course", "KSL-VELFERD-01")
    with bridge.logged_in_as(ks=None):  # KS owns the course: a key to KS Læring is needed to approve
        assert bridge.run("share", "approve", share).code == 2
    with bridge.logged_in_as(ks=bridge.lab.ks.learner_token):  # and one that may update the KS course
        assert bridge.run("share", "approve", share).code == 1
    bridge.run("share", "approve", share).expect(0)  # Kari Ås's key on KS Læring
    bridge.run("share", "publish", share).expect(0)  # Ingrid Hauge's key on the Læringsportal
    link = course(bridge, "lp", "KS-KSL-VELFERD-01")
    assert_labelled(link, FROM_KS)
    assert link["categoryid"] == 3
    assert link["visible"] == 1
    assert f'{bridge.lab.ks.url}/course/view.php?id={ks_before["id"]}' in link["summary"]
    # the KS course itself carries no «delt fra KS»: the label belongs to the borrower's copy
    ks_after = course(bridge, "ks", "KSL-VELFERD-01")
    assert label_field(ks_after) == label_field(ks_before)
    assert summary_labels(ks_after) == []


# -- labels audit: a label changed by hand in Moodle is found and put back -------------------------------------


def labelled_on_moodle(bridge: Bridge) -> set[tuple[str, str]]:
    """(site, shortname) of every course carrying a label, in its field or its summary, as Moodle lists them."""
    return {(site, c["shortname"]) for site in ("ks", "lp") for c in bridge.lab.moodle(site).all_courses()
            if label_field(c) or summary_labels(c)}


SHARED = {("lp", "HBHF-SMITTE-01"), ("ks", "KSL-HBHF-SMITTE-01"), ("lp", "HBHF-BRANN-03"), ("ks", "KSL-HBHF-BRANN-03"),
          ("lp", "KS-KSL-VELFERD-01")}


def test_labels_audit_finds_exactly_the_labels_without_a_share(bridge: Bridge) -> None:
    """Every course this ledger shares is labelled right; the labels Moodle holds on other courses (the
    lab's scale courses carry «delt til KS Læring» from their seed) are stale for this ledger."""
    stale = labelled_on_moodle(bridge) - SHARED
    assert stale, "the lab's scale courses are labelled"
    found = bridge.json("labels", "audit", expect=1)
    assert {(a["platform"], a["shortname"]) for a in found} == stale
    assert {p["code"] for a in found for p in a["problems"]} == {"stale"}


def test_labels_audit_fix_puts_back_a_label_removed_by_hand(bridge: Bridge) -> None:
    moodle = bridge.lab.moodle("ks")
    borrower = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    moodle.call("core_course_update_courses",
                courses=[{"id": borrower["id"], "customfields": [{"shortname": "delingsstatus", "value": 0}]}])
    assert label_field(course(bridge, "ks", "KSL-HBHF-SMITTE-01")) is None
    found = bridge.json("labels", "audit", expect=1)
    assert ("ks", "KSL-HBHF-SMITTE-01") in {(a["platform"], a["shortname"]) for a in found}
    bridge.run("labels", "audit", "--fix").expect(0)
    assert_labelled(course(bridge, "ks", "KSL-HBHF-SMITTE-01"), TO_KS)
    assert labelled_on_moodle(bridge) == SHARED  # and the stale labels are gone
    bridge.run("labels", "audit").expect(0)


# -- revoke: only the owner; the borrower's course is hidden and unlabelled -------------------------------------


def test_revoke_by_the_borrower_is_refused_and_changes_nothing(bridge: Bridge, shares: dict[str, str]) -> None:
    before = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    with bridge.logged_in_as(lp=None):  # KS Læring's coordinator has no key to the owner's platform
        assert bridge.run("share", "revoke", shares["hospital-to-ks"], "--reason", "ikke vårt kurs").code == 2
    with bridge.logged_in_as(lp=bridge.lab.lp.learner_token):  # a key there that may not update the course
        assert bridge.run("share", "revoke", shares["hospital-to-ks"], "--reason", "ikke vårt kurs").code == 1
    after = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    assert (after["visible"], after["summary"], label_field(after)) == (before["visible"], before["summary"],
                                                                         label_field(before))


def test_revoke_hides_and_unlabels_the_borrowed_course(bridge: Bridge, shares: dict[str, str]) -> None:
    bridge.run("share", "revoke", shares["hospital-to-ks"], "--reason", "Kurset erstattes").expect(0)
    borrower = course(bridge, "ks", "KSL-HBHF-SMITTE-01")
    assert borrower["visible"] == 0
    assert_unlabelled(borrower)
    # the owner's course has no other share with this label: its label goes too
    assert_unlabelled(course(bridge, "lp", "HBHF-SMITTE-01"))
    # the other hospital course is still shared and still labelled on both sides
    assert_labelled(course(bridge, "lp", "HBHF-BRANN-03"), TO_KS)
    assert_labelled(course(bridge, "ks", "KSL-HBHF-BRANN-03"), TO_KS)


def test_revoke_of_a_linked_ks_course_removes_label_and_link(bridge: Bridge, shares: dict[str, str]) -> None:
    bridge.run("share", "revoke", shares["hospital-shares-ks-course"], "--reason", "Ny versjon").expect(0)
    link = course(bridge, "lp", "KS-KSL-VELFERD-01")
    assert link["visible"] == 0
    assert_unlabelled(link)
    assert "/course/view.php?id=" not in link["summary"]


def test_ledger_verify_after_the_story(bridge: Bridge) -> None:
    bridge.run("ledger", "verify").expect(0)
