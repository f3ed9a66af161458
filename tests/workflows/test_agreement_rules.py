"""Issue #14 items 2, 3 and 6 through the CLI against the sandbox sites: notices in the ledger, the
agreement's term, and the course rules that ``validate`` and ``share request`` now apply alike."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.demo import write_demo_config
from lmsbridge.cli.main import cli
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.seed import add_receipt_field
from lmsbridge.sharing.term import add_months

pytestmark = pytest.mark.slow


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    """The sandbox's two sites, with the receipt field their admins add, and the demo's configuration for them."""
    with Sandbox.start() as sandbox:
        for site in sandbox.sites.values():
            add_receipt_field(site.state)
        yield sandbox, write_demo_config(tmp_path, sandbox, today=date.today())


@pytest.fixture
def config(sites: tuple[Sandbox, Path]) -> Path:
    return sites[1]


def edit(config: Path, section: str, *lines: str) -> None:
    """Add ``lines`` at the top of TOML table ``section`` (or replace ``key = …`` lines it already has)."""
    text = config.read_text(encoding="utf-8")
    for line in lines:
        key = line.split("=")[0].strip()
        head = f"[{section}]\n"
        start = text.index(head) + len(head)
        end = text.find("\n[", start)
        body = text[start:end]
        body = re.sub(rf"(?m)^{re.escape(key)} = .*\n", "", body)
        text = text[:start] + line + "\n" + body + text[end:]
    config.write_text(text, encoding="utf-8")


def run(config: Path, *args: str, lang: str = "nb") -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "--lang", lang, *args])


def ending_soon(config: Path, days: int) -> date:
    """Make the agreement's one term end ``days`` days from today; its last day."""
    start = add_months(date.today(), -12) + timedelta(days=days + 1)
    edit(config, "agreement", f"start = {start.isoformat()}", "renewals = []")
    return add_months(start, 12) - timedelta(days=1)


def notice_events(config: Path) -> list[dict[str, object]]:
    with Ledger.open(config.parent / "ledger.db") as ledger:
        return [e.details for e in ledger.events() if e.action == "notice"]


# --- 3: the term -------------------------------------------------------------------------------------------


def test_doctor_and_share_request_warn_within_60_days_and_the_request_goes_through(config: Path) -> None:
    end = ending_soon(config, 20)
    doctor = run(config, "doctor")
    assert doctor.exit_code == 0, doctor.output
    assert f"Advarsel: Avtaleperioden utløper {end} (om 20 dager) og må fornyes" in doctor.output
    assert "lmsbridge notify renewal" in doctor.output
    request = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert request.exit_code == 0, request.output
    assert f"Advarsel: Avtaleperioden utløper {end} (om 20 dager)" in request.output
    # the contact point reads it in the request too
    (eml,) = (config.parent / "outbox").glob("S-0001-request.eml")
    body = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_body().get_content()
    assert "term.expiring" in body


def test_warn_days_is_configurable(config: Path) -> None:
    ending_soon(config, 20)
    edit(config, "agreement", "warn_days = 10")
    assert "Advarsel" not in run(config, "doctor").output
    assert "Avtalen: gjelder til" in run(config, "doctor").output


def test_after_the_end_requests_are_refused_as_before(config: Path) -> None:
    ending_soon(config, -2)
    request = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert request.exit_code == 1 and "utløp" in request.output
    assert "nye forespørsler om deling avvises" in run(config, "doctor").output


def test_notify_renewal_writes_to_both_contact_points_once_and_logs_it(config: Path) -> None:
    end = ending_soon(config, 30)
    result = run(config, "notify", "renewal", "--json")
    assert result.exit_code == 0, result.output
    notices = json.loads(result.output)["notices"]
    assert {n["to"] for n in notices} == {"kslaring@ks.no", "elaring@helse-bergen.no"}
    assert all(n["logged"] for n in notices)
    for notice in notices:
        message = email.message_from_bytes(Path(notice["path"]).read_bytes(), policy=email.policy.default)
        assert str(message["Subject"]) == f"Påminnelse: samarbeidsavtalen må fornyes innen {end}"
    again = run(config, "notify", "renewal", "--json")
    assert not any(n["logged"] for n in json.loads(again.output)["notices"])
    events = notice_events(config)
    assert sorted((e["kind"], e["to"]) for e in events) == [
        ("renewal", "elaring@helse-bergen.no"), ("renewal", "kslaring@ks.no")]
    assert run(config, "ledger", "verify").exit_code == 0


# --- 2: notices in the ledger ---------------------------------------------------------------------------------


def test_a_downtime_notice_is_a_ledger_event_that_verify_vouches_for(config: Path) -> None:
    result = run(config, "notify", "downtime", "--from", "lp", "--kind", "upgrade", "--start", "2030-01-10T18:00",
                 "--end", "2030-01-10T22:00", "--affected", "Alle kurs")
    assert result.exit_code == 0, result.output
    (event,) = notice_events(config)
    assert event["kind"] == "upgrade" and event["to"] == "kslaring@ks.no"
    assert event["from_platform"] == "lp" and event["start"] == "2030-01-10T18:00:00+01:00"
    verify = run(config, "ledger", "verify", "--json")
    assert verify.exit_code == 0 and json.loads(verify.output)["ok"]
    # the same notice again is not a second event
    run(config, "notify", "downtime", "--from", "lp", "--kind", "upgrade", "--start", "2030-01-10T18:00",
        "--end", "2030-01-10T22:00", "--affected", "Alle kurs")
    assert len(notice_events(config)) == 1


# --- 6: one course check for validate and share request ---------------------------------------------------------


def test_validate_and_share_request_agree_on_study_categories(config: Path) -> None:
    """HBHF-BRANN-03 is in «Annet»; KS Læring (the demo's config) lists «Helse og velferd» only."""
    validate = run(config, "validate", "--platform", "lp", "--course", "HBHF-BRANN-03", "--json")
    assert validate.exit_code == 1
    (finding,) = [f for f in json.loads(validate.output)["courses"][0]["findings"] if f["code"] == "category.unknown"]
    request = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-BRANN-03")
    assert request.exit_code == 1 and f"  {finding['message']}" in request.output  # as validate words it


def test_course_length_is_a_warning_in_both(config: Path) -> None:
    edit(config, "platforms.lp", "max_minutes = 20")  # HBHF-SMITTE-01 takes «30 min»
    validate = run(config, "validate", "--platform", "lp", "--course", "HBHF-SMITTE-01", "--json")
    assert validate.exit_code == 0
    (course,) = json.loads(validate.output)["courses"]
    assert [f["code"] for f in course["findings"]] == ["time_needed.too_long"]
    request = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert request.exit_code == 0
    assert "Advarsel: Tidsbruk 30 min er lengre enn de 20 min" in request.output


def test_the_coordinator_is_checked_against_the_owners_list(config: Path) -> None:
    edit(config, "platforms.lp", 'coordinators = ["Kari Nordmann <kari.nordmann@helse-bergen.no>"]')
    validate = run(config, "validate", "--platform", "lp", "--course", "HBHF-SMITTE-01", "--json")
    assert validate.exit_code == 1
    (finding,) = json.loads(validate.output)["courses"][0]["findings"]
    assert finding["code"] == "course_coordinator.not_listed"
    request = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
    assert request.exit_code == 1 and f"  {finding['message']}" in request.output  # as validate words it
    edit(config, "platforms.lp", 'coordinators = ["Ola Hansen", "Kari Nordmann"]')
    assert run(config, "validate", "--platform", "lp", "--course", "HBHF-SMITTE-01").exit_code == 0


def test_a_ks_course_offered_without_its_licence_is_refused(sites: tuple[Sandbox, Path]) -> None:
    sandbox, config = sites
    state = sandbox.sites["ks"].state
    course = state.course_by_shortname("KSL-VELFERD-01")
    assert course is not None
    with state.changing():
        course.customfields["lisens"] = 0  # no licence: is it free to share and reuse under CC? nobody can tell
    request = run(config, "share", "request", "--flow", "hospital-shares-ks-course", "--course", "KSL-VELFERD-01")
    assert request.exit_code == 1
    assert "  Kurset fra KS Læring tilbys for deling uten oppgitt lisens" in request.output  # cc_marking.unmarked
    # the same course unlabelled is not offered for sharing: validate only notes the missing licence
    validate = run(config, "validate", "--platform", "ks", "--course", "KSL-VELFERD-01", "--json")
    assert [f["code"] for f in json.loads(validate.output)["courses"][0]["findings"]] == ["licence.missing"]
