"""Issue 12 over the sandbox: each act made with the acting person's own key, allowed or refused on the
platform's word; one share per course and pair; receipts on both platforms that ``ledger verify --witnesses``
reads back to catch what the hash chain alone cannot (a rewritten history, a deleted event renumbered, a forged
row with a forged vouching event, a rollback, an emptied ledger).

The sandbox's people (lmsbridge/sandbox/data/sites.json «staff»): Ingrid Hauge, e-læringsansvarlig of Helse
Bergen HF (manager of its course category on lp), Kari Ås of KS Læring (manager of «Helse og velferd» on ks),
and the recorded learner u01 on each site (no rights on the courses).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.ledger import Ledger
from lmsbridge.ledger.chain import GENESIS, event_hash
from lmsbridge.sandbox import Sandbox
from tests.ledger.support import Raw
from tests.workflows.test_share_sandbox import RECEIPT, Bridge, without_manual_copy

pytestmark = pytest.mark.slow


def events(bridge: Bridge, share_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = bridge.json("share", "show", share_id)["events"]
    return events


def published(bridge: Bridge) -> str:
    """S-0001: HBHF-SMITTE-01 requested, approved by its owner, published by KS Læring (a new course shell)."""
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    bridge.ok("share", "publish", share_id)
    return share_id


def witnesses(bridge: Bridge, *extra: str) -> tuple[int, dict[str, Any]]:
    result = bridge.run("ledger", "verify", "--witnesses", "--json", *extra)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.output)


def codes(report: dict[str, Any]) -> set[tuple[str | None, str, str]]:
    return {(p["share_id"], p["platform"], p["code"]) for p in report["witnesses"]["problems"]}


# -- who may act, on the platform's word ----------------------------------------------------------------------


def test_the_owners_acts_are_refused_for_a_key_without_update_on_the_owner_course(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.login("lp", "learner")
    for act, verb in (("approve", "godkjenne"), ("reject", "avvise")):
        refused = bridge.run("share", act, share_id, "--reason", "nei")
        assert refused.exit_code == 1, refused.output
        # what the platform answered, about whom and which course; the act named as it is
        assert "Læringsportal Helse Bergen svarte at Kari Nordmann (hb10001) ikke har retten «update»" in refused.output
        assert f"kan du ikke {verb} delingen {share_id}" in refused.output
    assert bridge.share(share_id).state == "requested"

    bridge.login("lp")
    bridge.ok("share", "approve", share_id)
    bridge.ok("share", "publish", share_id)
    bridge.login("lp", "learner")
    refused = bridge.run("share", "revoke", share_id, "--reason", "Mallory")
    assert refused.exit_code == 1 and "kan du ikke avslutte delingen" in refused.output
    assert bridge.share(share_id).state == "published"

    approve = events(bridge, share_id)[1]
    # the event records the platform's answer, never a name from the configuration ([operator] is Ola Hansen)
    assert approve["actor"] == "Ingrid Hauge (ingrid.hauge, lp)"
    assert {k: approve["details"]["by"][k] for k in ("platform", "userid", "username", "fullname")} == {
        "platform": "lp", "userid": 10000001, "username": "ingrid.hauge", "fullname": "Ingrid Hauge"}
    assert approve["details"]["by"]["site"] == bridge.sandbox.sites["lp"].url
    right = approve["details"]["right"]
    assert (right["right"], right["capability"], right["course_id"], right["available"]) == (
        "update", "moodle/course:update", 5, True)
    assert "Ola Hansen" not in json.dumps(events(bridge, share_id))


def test_the_configured_organisation_no_longer_decides(bridge: Bridge) -> None:
    """The issue's Mallory: LMSBRIDGE_OPERATOR__ORGANISATION="helse bergen hf" made anyone the owner."""
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.login("lp", "learner")
    bridge.write_config("helse bergen hf")
    assert bridge.run("share", "approve", share_id).exit_code == 1


def test_a_key_is_needed_and_the_service_key_is_nobodys(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("logout", "--platform", "lp")
    missing = bridge.run("share", "approve", share_id)
    assert missing.exit_code == 2 and "lmsbridge login --platform lp" in missing.output
    service = bridge.login("lp", "service")
    assert service.exit_code == 1 and "lmsbridge-tjenesten selv" in service.output
    assert bridge.key("lp", "service") not in service.output
    assert bridge.run("share", "approve", share_id).exit_code == 2  # nothing was stored


def test_publish_is_the_borrowers_act_after_the_owners_approval(bridge: Bridge) -> None:
    ks = bridge.ks
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    early = bridge.run("share", "publish", share_id)
    assert early.exit_code == 1 and "først når eieren har godkjent" in early.output
    bridge.ok("share", "approve", share_id)

    bridge.login("ks", "learner")  # no right to create courses in «Helse og velferd»: KS Læring refuses
    refused = bridge.run("share", "publish", share_id)
    assert refused.exit_code == 1 and "moodle/course:create" in refused.output, refused.output
    assert not [c for c in ks.courses.values() if c.idnumber == f"lmsbridge-{share_id}"]
    assert bridge.share(share_id).state == "approved"

    bridge.login("ks")
    bridge.ok("share", "publish", share_id)
    publish = events(bridge, share_id)[-1]
    assert publish["actor"] == "Kari Ås (kari.as@ks.no, ks)"
    assert publish["details"]["right"]["right"] == "moodle/course:create"
    assert publish["details"]["right"]["created"] is True


def test_the_borrower_withdraws_its_own_request_and_asks_again_on_the_same_share(bridge: Bridge) -> None:
    # KS Læring orders HBHF-SMITTE-01: the request is the borrower's, made with Kari Ås's key
    without_manual_copy(bridge)
    share_id = bridge.request("ks-orders-from-hospital", "HBHF-SMITTE-01")
    assert events(bridge, share_id)[0]["details"]["by"]["username"] == "kari.as@ks.no"
    bridge.login("ks", "learner")
    other = bridge.run("share", "withdraw", share_id, "--reason", "ikke min")
    assert other.exit_code == 1 and "ba ikke om delingen" in other.output
    bridge.login("ks")
    bridge.ok("share", "withdraw", share_id, "--reason", "Behovet er borte")
    assert bridge.share(share_id).state == "rejected"
    assert events(bridge, share_id)[-1]["action"] == "withdraw"
    again = bridge.json("share", "request", "--flow", "ks-orders-from-hospital", "--course", "HBHF-SMITTE-01")
    assert (again["share"]["id"], again["reopened"]) == (share_id, True)


def test_a_rejected_course_asked_for_five_times_stays_one_share_and_one_more_email(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "reject", share_id, "--reason", "Ikke nå")
    outbox = bridge.tmp / "outbox"
    before = {p.name for p in outbox.glob("*.eml")}
    ids = {bridge.request("hospital-to-ks", "HBHF-SMITTE-01") for _ in range(5)}
    assert ids == {share_id}
    new = {p.name for p in outbox.glob("*.eml")} - before
    assert len(new) == 1 and next(iter(new)).startswith(f"{share_id}-request-")
    with Ledger.open(bridge.tmp / "ledger.db") as ledger:
        assert [s.id for s in ledger.list_shares()] == [share_id]
    assert [e["action"] for e in events(bridge, share_id)] == ["request", "reject", "request"]


def test_labels_audit_fix_is_made_with_the_persons_key(bridge: Bridge) -> None:
    share_id = published(bridge)
    shell = next(c for c in bridge.ks.courses.values() if c.idnumber == f"lmsbridge-{share_id}")
    with bridge.ks.changing():
        shell.customfields["delingsstatus"] = 0  # someone cleared the label by hand
    bridge.login("ks", "learner")
    refused = bridge.run("labels", "audit", "--platform", "ks", "--fix")
    assert refused.exit_code == 1  # KS Læring said she may not even enter the course
    assert "KS Læring svarte at Kari Nordmann" in refused.output and "rette merkingen" in refused.output
    assert bridge.ks.courses[shell.id].customfields["delingsstatus"] == 0
    bridge.login("ks")
    bridge.ok("labels", "audit", "--platform", "ks", "--fix")
    assert bridge.ks.courses[shell.id].customfields["delingsstatus"] == 1
    bridge.ok("labels", "audit")


# -- receipts --------------------------------------------------------------------------------------------------


def test_each_act_leaves_the_same_receipt_on_both_courses_and_in_its_email(bridge: Bridge) -> None:
    share_id = published(bridge)
    shell = next(c for c in bridge.ks.courses.values() if c.idnumber == f"lmsbridge-{share_id}")
    publish = events(bridge, share_id)[-1]
    receipt = f"{share_id} publish #{publish['seq']} {publish['hash']}"
    assert bridge.lp.courses[5].customfields[RECEIPT] == receipt
    assert bridge.ks.courses[shell.id].customfields[RECEIPT] == receipt
    mail = (bridge.tmp / "outbox" / f"{share_id}-publish-{publish['seq']}.eml").read_text(encoding="utf-8")
    assert receipt in mail.replace("=\n", "") and "kslaring@ks.no" in mail
    code, report = witnesses(bridge)
    assert code == 0 and report["witnesses"]["witnessed_seq"] == publish["seq"]


def test_a_receipt_that_could_not_be_written_is_written_by_ledger_witness(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    bridge.lp.custom_fields = [f for f in bridge.lp.custom_fields if f.shortname != RECEIPT]  # not made yet on lp
    asked = bridge.run("share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert asked.exit_code == 0 and "Kvittering ikke skrevet på lp:HBHF-SMITTE-01" in asked.output  # on stderr
    share_id = "S-0001"
    approved = bridge.run("share", "approve", share_id)
    assert approved.exit_code == 0 and "Kvittering ikke skrevet på lp:HBHF-SMITTE-01" in approved.output
    from lmsbridge.sandbox.seed import add_receipt_field

    add_receipt_field(bridge.lp)
    code, report = witnesses(bridge)
    assert code == 1 and codes(report) == {(share_id, "lp", "witness.missing")}
    bridge.ok("ledger", "witness")
    assert witnesses(bridge)[0] == 0


# -- what verify --witnesses catches (the five cases) ----------------------------------------------------


def rechain(raw: Raw, start: int) -> None:
    """Recompute every hash from event ``start`` on, and the head: what someone who can write the file does."""
    rows = raw.execute("SELECT seq, share_id, at, actor, action, details, prev_hash, row_digests FROM events "
                       "ORDER BY seq")
    prev = GENESIS
    for seq, share_id, at, actor, action, details, _prev, digests in rows:
        if seq >= start:
            digest = event_hash(seq, share_id, at, actor, action, details, prev, digests or "")
            raw.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
            prev = digest
        else:
            prev = raw.execute("SELECT hash FROM events WHERE seq = ?", (seq,))[0][0]
    raw.execute("UPDATE chain_head SET seq = (SELECT MAX(seq) FROM events), hash = ?", (prev,))


def tamper(bridge: Bridge, *statements: tuple[str, tuple[Any, ...]], start: int) -> None:
    raw = Raw(str(bridge.tmp / "ledger.db"))
    try:
        raw.drop_append_only_triggers()
        for sql, params in statements:
            raw.execute(sql, params)
        rechain(raw, start)
    finally:
        raw.close()


def plain_ok(bridge: Bridge, *extra: str) -> None:
    """The chain alone says nothing is wrong: that is the point."""
    assert bridge.json("ledger", "verify", *extra)["ok"] is True


def test_an_approver_renamed_with_the_chain_recomputed(bridge: Bridge) -> None:
    share_id = published(bridge)
    approve = events(bridge, share_id)[1]
    tamper(bridge, ("UPDATE events SET actor = 'Mallory (KS)' WHERE seq = ?", (approve["seq"],)),
           start=approve["seq"])
    plain_ok(bridge)
    code, report = witnesses(bridge)
    assert code == 1 and codes(report) == {(share_id, "lp", "witness.rewritten"), (share_id, "ks", "witness.rewritten")}
    # … and lmsbridge will not build on it, nor overwrite the platforms' receipts with it
    refused = bridge.run("share", "revoke", share_id, "--reason", "x")
    assert refused.exit_code == 1 and "ledger verify --witnesses" in refused.output
    assert bridge.run("ledger", "witness").exit_code == 1


def test_an_approve_event_deleted_and_the_chain_renumbered(bridge: Bridge) -> None:
    share_id = published(bridge)
    approve = events(bridge, share_id)[1]["seq"]
    tamper(bridge, ("DELETE FROM events WHERE seq = ?", (approve,)),
           ("UPDATE events SET seq = seq - 1 WHERE seq > ?", (approve,)), start=approve)
    plain_ok(bridge)
    assert [e["action"] for e in events(bridge, share_id)] == ["request", "publish"]
    code, report = witnesses(bridge)
    assert code == 1 and {c for _, _, c in codes(report)} <= {"witness.rewritten", "witness.beyond"}
    assert {(s, p) for s, p, _ in codes(report)} == {(share_id, "lp"), (share_id, "ks")}


@pytest.mark.parametrize("forged", ["completion", "share"])
def test_a_forged_row_with_a_forged_vouching_event(bridge: Bridge, forged: str) -> None:
    share_id = published(bridge)
    now = datetime.now(UTC)
    with Ledger.open(bridge.tmp / "ledger.db") as ledger, ledger.transaction():
        if forged == "completion":  # with lmsbridge's own code, as anyone who can write the file may
            ledger.record_completion(share_id=share_id, learner_key="f0" * 32, owner_activity="12",
                                     borrower_activity="99", time_completed=now, synced_at=now)
            ledger.append_event(share_id=share_id, actor="lmsbridge sync", action="sync.completions", at=now,
                                details={"completions": 1, "learners": 1})
            wanted = {(share_id, "lp", "witness.unwitnessed"), (share_id, "ks", "witness.unwitnessed")}
        else:
            forged_share = ledger.create_share(
                flow="hospital-to-ks", owner_platform="lp", owner_course_id=7, owner_course_shortname="HBHF-BRANN-03",
                owner_org="Helse Bergen HF", borrower_platform="ks", borrower_org="KS", initiator="Mallory",
                licence_at_share="", label="delt til KS Læring", owner_support="-", borrower_support="-",
                contact_point="kslaring@ks.no", request_key="forged", now=now)
            ledger.append_event(share_id=forged_share.id, actor="Ingrid Hauge (ingrid.hauge, lp)", action="request",
                                at=now, details={})
            wanted = {(forged_share.id, "lp", "witness.missing")}
    plain_ok(bridge)
    code, report = witnesses(bridge)
    assert code == 1 and codes(report) == wanted


def test_the_last_six_events_cut_a_rollback(bridge: Bridge) -> None:
    share_id = published(bridge)
    backup = bridge.tmp / "ledger-before.db"
    with Ledger.open(bridge.tmp / "ledger.db") as ledger:
        ledger.backup_to(backup)
        before = max(ledger.event_refs())
    bridge.ok("share", "revoke", share_id, "--reason", "Pause")
    bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    bridge.ok("share", "publish", share_id)
    link = bridge.request("hospital-shares-ks-course", "KSL-VELFERD-01")
    bridge.ok("share", "approve", link)
    with Ledger.open(bridge.tmp / "ledger.db") as ledger:
        assert max(ledger.event_refs()) - before >= 6
    plain_ok(bridge, "--ledger", str(backup))
    code, report = witnesses(bridge, "--ledger", str(backup))
    assert code == 1
    assert (share_id, "lp", "witness.beyond") in codes(report) and (share_id, "ks", "witness.beyond") in codes(report)
    assert (link, "ks", "witness.share_missing") in codes(report)  # a share the old ledger never had
    text = bridge.run("ledger", "verify", "--witnesses", "--ledger", str(backup)).output
    assert f"har en kvittering for {share_id}" in text and "loggen slutter ved" in text


def test_the_ledger_replaced_by_an_empty_file(bridge: Bridge, tmp_path: Path) -> None:
    share_id = published(bridge)
    ledger_file = bridge.tmp / "ledger.db"
    shutil.move(ledger_file, tmp_path / "kept.db")
    for suffix in ("-wal", "-shm"):
        (bridge.tmp / f"ledger.db{suffix}").unlink(missing_ok=True)
    Ledger.open(ledger_file).close()
    assert bridge.json("ledger", "verify")["events"] == 0  # «Ledger OK: 0 events»
    code, report = witnesses(bridge)
    assert code == 1 and codes(report) == {(share_id, "lp", "witness.share_missing"),
                                           (share_id, "ks", "witness.share_missing")}


def test_witnesses_need_the_field_on_the_platform(sandbox: Sandbox, bridge: Bridge) -> None:
    published(bridge)
    for site in sandbox.sites.values():
        site.state.custom_fields = [f for f in site.state.custom_fields if f.shortname != RECEIPT]
    code, report = witnesses(bridge)
    assert code == 1 and {c for _, _, c in codes(report)} == {"witness.no_field"}
