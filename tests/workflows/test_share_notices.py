"""Issue 14 items 4 and 5 over the sandbox: the other party is told of each act (the contact point, with the
requesting coordinator in copy, and what the act means for the learners); a revoke runs a last sync of the share
first, and revokes nothing when that sync does not go through; an approved share not yet published can be
withdrawn by its owner or by the person who asked."""

from __future__ import annotations

import email
from email.message import Message as Email
from pathlib import Path

import pytest

from lmsbridge.errors import ExitCode
from lmsbridge.ledger import SYNC_LOCK, Ledger
from lmsbridge.sandbox import Fault
from tests.sandbox_cli import one_error_line
from tests.workflows.test_share_sandbox import Bridge, reset, without_manual_copy, writes

pytestmark = pytest.mark.slow

MANUAL_COPY = 3  # ks KSL-HBHF-SMITTE-01: the seeded nurses' completions of HBHF-SMITTE-01 are there
OWNER_COURSE = 5  # lp HBHF-SMITTE-01


def mail(bridge: Bridge, prefix: str) -> Email:
    [path] = sorted((bridge.tmp / "outbox").glob(f"{prefix}*.eml"))
    return email.message_from_bytes(Path(path).read_bytes())


def body(message: Email) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return " ".join(payload.decode("utf-8").split())


def owner_completions(bridge: Bridge) -> set[tuple[int, int]]:
    """(user id, cmid) of every completed activity of the owner's course, read from the lp site."""
    lp = bridge.lp
    course = lp.courses[OWNER_COURSE]
    return {(user.id, module.id) for module in lp.course_modules(course) for user in lp.users.values()
            if (state := lp.activity_state(module.id, user.id)) is not None and state.state > 0}


def linked(bridge: Bridge) -> str:
    """S-0001: HBHF-SMITTE-01 shared into KS Læring and linked to the hand-made copy, which the nurses took."""
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    bridge.ok("share", "publish", share_id, "--borrower-course", "KSL-HBHF-SMITTE-01")
    return share_id


def test_each_act_tells_the_contact_point_and_the_requester_what_it_means_for_learners(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("hospital-to-ks", "HBHF-SMITTE-01")  # asked by Ingrid Hauge with her own key
    ingrid = bridge.lp.user_by_username("ingrid.hauge")
    assert ingrid is not None and ingrid.email
    bridge.ok("share", "approve", share_id)
    notices = bridge.ledger_lines().count("notice share-approve")
    bridge.ok("share", "approve", share_id)  # a repeated act tells nobody again
    assert bridge.ledger_lines().count("notice share-approve") == notices == 1
    approve = mail(bridge, f"{share_id}-approve-")
    assert approve["To"] == "kslaring@ks.no"
    assert ingrid.email in (approve["Cc"] or "")
    text = body(approve)
    assert "For deltakerne: ingenting ennå" in text and "publisert" in text

    bridge.ok("share", "publish", share_id)
    publish = body(mail(bridge, f"{share_id}-publish-"))
    assert "kurset er nå tilgjengelig hos KS" in publish and "kursbevis" in publish

    assert bridge.ledger_lines().count("notice share-publish") == 1


def test_revoke_runs_a_last_sync_first_so_completions_reach_the_owner(bridge: Bridge) -> None:
    share_id = linked(bridge)
    before = owner_completions(bridge)
    bridge.ok("share", "revoke", share_id, "--reason", "Kurset er erstattet")
    brought = owner_completions(bridge) - before
    assert brought, "the nurses' completions on KS Læring were brought back before the revoke"
    assert bridge.share(share_id).state == "revoked"
    assert bridge.ks.courses[MANUAL_COPY].visible == 0
    revoke = body(mail(bridge, f"{share_id}-revoke-"))
    assert "Fullføringer frem til nå er ført tilbake til Helse Bergen HF" in revoke
    event = bridge.json("share", "show", share_id)["events"][-1]
    assert event["details"]["last_sync"]["exit_code"] == 0
    # writes sent; the owner ignores an override of an activity already complete (issue 15 item 5 counts those apart)
    assert event["details"]["last_sync"]["written"] >= len(brought)


def test_revoke_with_no_sync_leaves_completions_behind_and_says_so(bridge: Bridge) -> None:
    share_id = linked(bridge)
    before = owner_completions(bridge)
    bridge.ok("share", "revoke", share_id, "--reason", "Kurset er erstattet", "--no-sync")
    assert owner_completions(bridge) == before
    assert bridge.share(share_id).state == "revoked"
    revoke = body(mail(bridge, f"{share_id}-revoke-"))
    assert "Det ble ikke kjørt en siste synkronisering" in revoke
    assert bridge.json("share", "show", share_id)["events"][-1]["details"]["last_sync"] is None


def test_revoke_revokes_nothing_when_the_last_sync_cannot_run(bridge: Bridge) -> None:
    share_id = linked(bridge)
    first = bridge.ledger_lines()[0]
    # the borrower platform cannot list the course's participants: the last sync cannot read its completions
    bridge.ks.fail("core_enrol_get_enrolled_users", Fault.http(503))
    refused = bridge.run("share", "revoke", share_id, "--reason", "Kurset er erstattet")
    assert refused.exit_code == 3, refused.output
    assert "er ikke avsluttet" in refused.output and "--no-sync" in refused.output
    assert "Traceback" not in refused.output
    bridge.ks.clear_hooks()
    assert bridge.share(share_id).state == "published"
    assert bridge.ks.courses[MANUAL_COPY].visible == 1  # still shown, still labelled
    assert [line for line in bridge.ledger_lines() if line.endswith(" revoke")] == []
    assert not list((bridge.tmp / "outbox").glob(f"{share_id}-revoke-*.eml"))
    assert bridge.ledger_lines()[0] == first


def test_revoke_revokes_nothing_when_another_sync_run_holds_the_lock(bridge: Bridge) -> None:
    share_id = linked(bridge)
    share, events = bridge.share(share_id), bridge.ledger_lines()
    copy = bridge.ks.courses[MANUAL_COPY]
    shown = (copy.visible, copy.summary, dict(copy.customfields))
    assert copy.visible == 1
    reset(bridge.ks, bridge.lp)
    with Ledger.open(bridge.tmp / "ledger.db") as ledger, ledger.acquire_lock(SYNC_LOCK):  # cron's sync run
        refused = bridge.run("share", "revoke", share_id, "--reason", "Kurset er erstattet")
    assert refused.exit_code == ExitCode.LOCKED, refused.output
    assert one_error_line(refused).startswith("Feil: Delingen ") and "er ikke avsluttet" in refused.output
    assert "(kode 75)" in refused.output and "--no-sync" in refused.output
    # the last sync never ran, so nothing was revoked: the share, its events, both sites and the outbox as before
    assert bridge.share(share_id) == share
    assert bridge.ledger_lines() == events
    assert writes(bridge.ks) == writes(bridge.lp) == {}
    copy = bridge.ks.courses[MANUAL_COPY]  # still shown, still labelled
    assert (copy.visible, copy.summary, dict(copy.customfields)) == shown
    assert not list((bridge.tmp / "outbox").glob(f"{share_id}-revoke-*.eml"))
    assert bridge.verified()["events"] == len(events)


def test_revoke_goes_on_when_some_items_of_the_last_sync_fail_and_says_so(bridge: Bridge) -> None:
    share_id = linked(bridge)
    bridge.lp.fail("core_completion_override_activity_completion_status",
                   Fault.moodle("dmlwriteexception", "Error writing to database", exception="dml_write_exception"))
    done = bridge.ok("share", "revoke", share_id, "--reason", "Kurset er erstattet")
    assert "kunne ikke føres tilbake" in done.output
    assert bridge.share(share_id).state == "revoked"
    last = bridge.json("share", "show", share_id)["events"][-1]["details"]["last_sync"]
    assert last["exit_code"] == 4 and last["failed"] > 0
    assert "unntatt noen den ikke kunne føre tilbake" in body(mail(bridge, f"{share_id}-revoke-"))


def test_an_approved_share_not_yet_published_is_withdrawn_by_its_owner(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("ks-orders-from-hospital", "HBHF-SMITTE-01")  # asked by Kari Ås on ks
    bridge.ok("share", "approve", share_id)  # by Ingrid Hauge, the owner
    bridge.ok("logout", "--platform", "ks")  # only the owner's key is at hand
    bridge.ok("share", "withdraw", share_id, "--reason", "Kurset skal revideres først")
    assert bridge.share(share_id).state == "rejected"
    event = bridge.json("share", "show", share_id)["events"][-1]
    assert (event["action"], event["details"]["from_state"], event["details"]["by"]["username"]) == (
        "withdraw", "approved", "ingrid.hauge")
    assert event["details"]["right"]["right"] == "update"
    late = bridge.run("share", "publish", share_id)
    assert late.exit_code != 0 and bridge.share(share_id).state == "rejected"


def test_an_approved_share_is_withdrawn_by_the_person_who_asked_but_not_by_a_learner(bridge: Bridge) -> None:
    without_manual_copy(bridge)
    share_id = bridge.request("ks-orders-from-hospital", "HBHF-SMITTE-01")
    bridge.ok("share", "approve", share_id)
    bridge.ok("logout", "--platform", "lp")
    bridge.login("ks", "learner")
    refused = bridge.run("share", "withdraw", share_id, "--reason", "nei")
    assert refused.exit_code == 1 and bridge.share(share_id).state == "approved"
    bridge.login("ks")
    bridge.ok("share", "withdraw", share_id, "--reason", "Behovet er borte")
    event = bridge.json("share", "show", share_id)["events"][-1]
    assert (event["details"]["by"]["username"], event["details"]["right"]["right"]) == ("kari.as@ks.no", "asked")
