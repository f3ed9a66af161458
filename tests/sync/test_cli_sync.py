"""``lmsbridge sync run|status`` from the command line, against the sandbox: output, exit codes, the lock."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import lmsbridge.cli.sync as cli_sync
from lmsbridge.cli.main import cli
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Fault, Sandbox
from lmsbridge.sandbox.exceptions import invalid_user
from lmsbridge.sandbox.registry import REGISTRY, Call
from tests.sandbox_cli import write_config
from tests.sync.helpers import SECRET, borrower_key, publish

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


#: HBHF-SMITTE-01's certificate groups, after the sync.
CERTIFICATES = '[certificates.HBHF-SMITTE-01]\nplatform = "lp"\ndue = 2026-11-01\ngrace_days = 10'


@pytest.fixture
def config_file(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_config(sandbox, tmp_path, monkeypatch, extra=CERTIFICATES)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        publish(ledger, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks",
                borrower_course=3, borrower_shortname="KSL-HBHF-SMITTE-01")
    return path


def invoke(config: Path, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_run_then_status(config_file: Path, sandbox: Sandbox) -> None:
    result = invoke(config_file, "sync", "run", "--json", "--no-certificates")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # 5 completions to bring back, 2 of them on the owner already (Kari's own: «fra før», not written, no row)
    assert data["totals"]["written"] == 3 and data["totals"]["already_there"] == 2
    assert data["status"] == "ok" and data["shares"][0]["unmatched"] == 2
    # --json keeps English keys and language-neutral codes; the reason itself is in the user's language
    assert data["shares"][0]["failed"][0] == {
        "kind": "unmatched", "key": borrower_key(18), "reason": "ingen konto hos eier med samme idnumber/email",
        "reason_code": "sync.match.none"}
    table = invoke(config_file, "sync", "run", "--no-certificates")
    assert table.exit_code == 0 and "S-0001" in table.output and "0 fullføringer" in table.output
    status = invoke(config_file, "sync", "status", "--json")
    info = json.loads(status.output)
    assert info["last_run"]["status"] == "ok" and info["shares"][0]["completions"] == 3
    assert info["shares"][0]["cursor"] is not None
    # the two without an owner account are counted per share and listed apart, not failed items (issue 13)
    assert info["failures"] == [] and info["shares"][0]["without_owner_account"] == 2
    assert {f["item_key"] for f in info["without_owner_account"]} == {borrower_key(18), borrower_key(19)}
    plain = invoke(config_file, "sync", "status")
    assert "S-0001" in plain.output and "uten konto" in plain.output  # the column, in Norwegian
    assert "Ingen feilede elementer" in plain.output or "ingen feilede" in plain.output.lower()


def test_status_lists_failed_items_of_published_shares_only_and_as_excel_csv(config_file: Path,
                                                                              sandbox: Sandbox) -> None:
    sandbox.sites["lp"].state.fail("core_completion_override_activity_completion_status",
                                   Fault.moodle("dmlwriteexception", "Error writing to database",
                                                exception="dml_write_exception"))
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 4
    excel = invoke(config_file, "sync", "status", "--excel")
    assert excel.output.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(excel.output.lstrip("\ufeff")), delimiter=";"))
    assert rows and {r["share_id"] for r in rows} == {"S-0001"} and {r["item_kind"] for r in rows} == {"learner"}
    assert all(r["course"] == "ks KSL-HBHF-SMITTE-01" for r in rows)
    with Ledger.open(config_file.parent / "ledger.db") as ledger:  # the owner ends the share
        ledger.update_share_state("S-0001", "revoked", now=datetime.now(UTC))
    after = json.loads(invoke(config_file, "sync", "status", "--json").output)
    assert after["failures"] == [] and after["shares"] == []  # no run retries a revoked share's items


def test_quiet_prints_nothing_when_all_went_through(config_file: Path) -> None:
    result = invoke(config_file, "sync", "run", "--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_certificate_groups_after_the_sync(config_file: Path, sandbox: Sandbox) -> None:
    result = invoke(config_file, "sync", "run")
    assert result.exit_code == 0, result.output
    assert "Kursbevisgrupper: HBHF-SMITTE-01" in result.output
    assert {g.name for g in sandbox.sites["lp"].state.groups.values()} == {"Fullført 100%", "Fullført, ikke 100%",
                                                                           "Inaktiv"}


def test_dry_run_prints_the_writes_and_changes_nothing(config_file: Path, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger, ledger.acquire_lock("sync"):
        # a dry run writes nothing to the ledger, so it takes no lock either: it runs beside a real run
        result = invoke(config_file, "sync", "run", "--dry-run", "--no-certificates")
    assert result.exit_code == 0, result.output
    assert "core_completion_override_activity_completion_status" in result.output
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert ledger.completions() == [] and ledger.last_run() is None and ledger.list_failures() == []
    (tmp_path / "ledger.db").rename(tmp_path / "elsewhere.db")
    missing = invoke(config_file, "sync", "run", "--dry-run")
    assert missing.exit_code == 2 and "det finnes ingen hovedbok i" in missing.output  # configuration (#13)
    assert not (tmp_path / "ledger.db").exists()


def test_missing_secret_exits_2(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PSEUDONYM")
    result = invoke(config_file, "sync", "run")
    assert result.exit_code == 2 and "TEST_PSEUDONYM" in result.output


def test_second_run_while_one_runs_exits_at_once(config_file: Path, tmp_path: Path, sandbox: Sandbox) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger, ledger.acquire_lock("sync"):
        result = invoke(config_file, "sync", "run")
        # cron's line: an overlap is no error to mail
        quiet = invoke(config_file, "sync", "run", "--quiet")
    assert result.exit_code == ExitCode.LOCKED and "kjører allerede" in result.output  # 75: tests/test_exitcodes.py
    assert quiet.exit_code == 0 and quiet.output == ""
    assert sandbox.sites["ks"].state.call_count == 0


def test_unreachable_platform_exits_3(config_file: Path) -> None:
    text = config_file.read_text(encoding="utf-8")
    import re

    config_file.write_text(re.sub(r'url = "http://127\.0\.0\.1:\d+"', 'url = "http://127.0.0.1:9"', text, count=1),
                           encoding="utf-8")
    result = invoke(config_file, "sync", "run", "--no-certificates")
    assert result.exit_code == 3, result.output


def test_failed_items_exit_4(config_file: Path, sandbox: Sandbox) -> None:
    ks = sandbox.sites["ks"].state
    from lmsbridge.sandbox import SERVED_FUNCTIONS

    ks.set_service_functions(sorted(SERVED_FUNCTIONS - {"core_completion_get_activities_completion_status"}))
    result = invoke(config_file, "sync", "run", "--no-certificates")
    assert result.exit_code == 4, result.output


def test_every_runs_again_and_ctrl_c_stops_cleanly(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    def fake_wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt
        return False

    monkeypatch.setattr(cli_sync, "wait", fake_wait)
    result = invoke(config_file, "sync", "run", "--every", "15m", "--no-certificates")
    assert result.exit_code == 0
    assert waits == [900.0, 900.0] and "Stoppet." in result.output
    assert result.output.count("S-0001") >= 2


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h", 3600), ("900", 900), ("30s", 30)])
def test_parse_every(text: str, seconds: float) -> None:
    assert cli_sync.parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "5s", "soon", "-1m"])
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(click.BadParameter):
        cli_sync.parse_every(text)


# --- the output in the user's language: nb by default, en with --lang en --------------------------------

SUMMARY = {
    "nb": "{written} fullføringer ført tilbake til eier, {already} fra før, {failed} feilede elementer, {unmatched} uten "
    "konto hos eier",
    "en": "{written} completions brought back to the owner, {already} already there, {failed} failed items, "
    "{unmatched} without an owner account",
}
UNMATCHED = {"nb": "ingen konto hos eier med samme idnumber/email",
             "en": "no owner account with the same idnumber/email"}
#: A sync run's own words that must not show in the other language.
OTHER = {"nb": ("no owner account", "reading completion", "could not reach", "Last run", "failed items", "learner "),
         "en": ("ingen konto", "lesing av", "kan ikke nå", "Siste kjøring", "feilede elementer", "deltaker")}


def in_language(config: Path, lang: str, *args: str) -> click.testing.Result:
    return invoke(config, *(["--lang", "en"] if lang == "en" else []), *args)


def flat(output: str) -> str:
    """A table's text on one line: borders gone and blanks collapsed (a wrapped cell reads as one)."""
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘┌┐├┤┬┴┼━─╇╈╋┳┻]", " ", output).split())


def no_other_language(output: str, lang: str) -> None:
    for words in OTHER[lang]:
        assert words not in output, (words, output)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_unmatched_learners_in_the_users_language(config_file: Path, lang: str) -> None:
    result = in_language(config_file, lang, "sync", "run", "--no-certificates")
    assert result.exit_code == 0, result.output
    kind = {"nb": "uten konto", "en": "unmatched"}[lang]
    for uid in (18, 19):
        assert f"  S-0001 {kind} {borrower_key(uid)[:12]}: {UNMATCHED[lang]}\n" in result.output
    assert SUMMARY[lang].format(written=3, already=2, failed=0, unmatched=2) in result.output
    assert {"nb": "per deltaker", "en": "per-learner"}[lang] in result.output
    no_other_language(result.output, lang)

    status = in_language(config_file, lang, "sync", "status")
    assert status.exit_code == 0, status.output
    text = flat(status.output)
    assert {"nb": "Siste kjøring #1: ok", "en": "Last run #1: ok"}[lang] in text
    assert {"nb": "skrevet 3", "en": "written 3"}[lang] in text
    # in status they are listed apart (with the reason), not among the failed items
    assert {"nb": "uten konto hos eier", "en": "without an owner account"}[lang] in text
    assert {"nb": "Ingen feilede elementer", "en": "No failed items"}[lang] in text
    assert borrower_key(18)[:12] in text and UNMATCHED[lang] in text
    no_other_language(status.output, lang)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_a_failing_learner_in_the_users_language(config_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                 lang: str) -> None:
    """u07 (ks user 10) cannot be read: Moodle says «Invalid user»; the others come through; exit 4."""
    served = REGISTRY["core_completion_get_activities_completion_status"]

    def refuse_u07(call: Call) -> object:
        if call.params["userid"] == 10:
            raise invalid_user()
        return served.handler(call)

    monkeypatch.setitem(REGISTRY, served.name, dataclasses.replace(served, handler=refuse_u07))
    result = in_language(config_file, lang, "sync", "run", "--no-certificates")
    assert result.exit_code == 4, result.output
    reading = {
        "nb": "lesing av fullføring: ks: core_completion_get_activities_completion_status: plattformen svarte med "
        "en feil: «Invalid user» [invaliduser]",
        "en": "reading completion: ks: core_completion_get_activities_completion_status: the platform answered "
        "with an error: «Invalid user» [invaliduser]",
    }[lang]
    kind = {"nb": "deltaker", "en": "learner"}[lang]
    assert f"  S-0001 {kind} {borrower_key(10)[:12]}: {reading}\n" in result.output
    assert SUMMARY[lang].format(written=1, already=2, failed=1, unmatched=2) in result.output
    no_other_language(result.output, lang)

    status = in_language(config_file, lang, "sync", "status")
    text = flat(status.output)
    assert {"nb": "Siste kjøring #1: delvis (noen elementer feilet)",
            "en": "Last run #1: partial (some items failed)"}[lang] in text
    assert f"S-0001 ks KSL-HBHF-SMITTE-01 {kind} {borrower_key(10)[:12]} 1 " in text and reading in text  # Moodle's [code] is not taken for markup
    no_other_language(status.output, lang)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_an_unreachable_platform_in_the_users_language(config_file: Path, lang: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(re.sub(r'url = "http://127\.0\.0\.1:\d+"', f'url = "{url}"', text, count=1),
                           encoding="utf-8")
    assert 'title = "ks"' in config_file.read_text(encoding="utf-8").split(url)[0]  # ks, the borrower, is down
    result = in_language(config_file, lang, "sync", "run", "--no-certificates")
    assert result.exit_code == 3, result.output
    cause = {
        "nb": f"ks: core_enrol_get_enrolled_users: kan ikke nå {url} (tilkoblingen feilet): sjekk adressen (url) i "
        "konfigurasjonen, nettverket, og at plattformen er oppe",
        "en": f"ks: core_enrol_get_enrolled_users: could not reach {url} (the connection failed): check the address "
        "(url) in the configuration, the network, and that the platform is up",
    }[lang]
    skipped = {"nb": " (resten av kjøringen mot plattformen ble hoppet over)",
               "en": " (the rest of the run on the platform was skipped)"}[lang]
    lines = result.output.splitlines()
    assert cause + skipped in lines, result.output  # the platform named once, at the start
    assert not any(line.startswith("ks kunne ikke") or "ks: ks:" in line for line in lines)
    retried = {"nb": "; delingen prøves igjen ved neste kjøring", "en": "; the share is tried again on the next run"}
    assert f"{ {'nb': 'feilet', 'en': 'failed'}[lang]}: {cause}{retried[lang]}" in flat(result.output)
    no_other_language(result.output, lang)

    status = in_language(config_file, lang, "sync", "status")
    flat_status = flat(status.output)
    assert {"nb": "Siste kjøring #1: feilet", "en": "Last run #1: failed"}[lang] in flat_status
    share = {"nb": "deling", "en": "share"}[lang]
    assert f"S-0001 ks KSL-HBHF-SMITTE-01 {share} share 1 " in flat_status and cause + retried[lang] in flat_status
    no_other_language(status.output, lang)


def test_a_stored_reason_is_shown_in_the_readers_language(config_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """The run spoke Norwegian; whoever looks later in English reads the failed items in English (and the
    other way round), from the same ledger rows: they keep a code and values, not the run's text."""
    served = REGISTRY["core_completion_get_activities_completion_status"]

    def refuse_u07(call: Call) -> object:
        if call.params["userid"] == 10:
            raise invalid_user()
        return served.handler(call)

    monkeypatch.setitem(REGISTRY, served.name, dataclasses.replace(served, handler=refuse_u07))
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 4  # in Norwegian
    english = flat(in_language(config_file, "en", "sync", "status").output)
    assert UNMATCHED["en"] in english
    assert "reading completion: ks: core_completion_get_activities_completion_status: the platform answered with an " \
           "error: «Invalid user» [invaliduser]" in english
    no_other_language(english, "en")
    data = json.loads(in_language(config_file, "en", "sync", "status", "--json").output)
    reasons = {f["item_key"]: (f["reason"], f["reason_code"]) for f in [*data["failures"], *data["without_owner_account"]]}
    assert reasons[borrower_key(18)] == (UNMATCHED["en"], "sync.match.none")
    assert reasons[borrower_key(10)][1] == "sync.failure.reading"
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        stored = {f.item_key: f.reason for f in ledger.list_failures()}
    assert json.loads(stored[borrower_key(18)]) == {"code": "sync.match.none", "values": {"keys": "idnumber/email"}}


def test_a_reason_stored_as_text_by_an_earlier_version_is_shown_as_it_is(config_file: Path, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.record_failure(share_id="S-0001", item_kind="learner", item_key=borrower_key(77),
                              reason="reading completion: {not json} [code]")
    for lang in ("nb", "en"):
        assert "reading completion: {not json} [code]" in flat(in_language(config_file, lang, "sync", "status").output)
    data = json.loads(invoke(config_file, "sync", "status", "--json").output)
    assert data["failures"][0]["reason"] == "reading completion: {not json} [code]"
    assert data["failures"][0]["reason_code"] is None


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_configuration_errors_of_the_sync_in_the_users_language(config_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                                lang: str) -> None:
    unknown = CliRunner().invoke(cli, ["--config", str(config_file), *(["--lang", "en"] if lang == "en" else []),
                                       "sync", "run", "--share", "S-0999"])
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == {"nb": "Feil: --share: ingen publisert deling S-0999",
                                      "en": "Error: --share: no published share S-0999"}[lang]
    monkeypatch.setenv("TEST_PSEUDONYM", "short")
    short = CliRunner().invoke(cli, ["--config", str(config_file), *(["--lang", "en"] if lang == "en" else []),
                                     "sync", "run"])
    assert short.exit_code == 2
    assert short.stderr.strip() == {
        "nb": "Feil: hemmeligheten for pseudonymer i $TEST_PSEUDONYM er kortere enn 16 tegn",
        "en": "Error: the pseudonym secret in $TEST_PSEUDONYM is shorter than 16 characters",
    }[lang]
    assert "short" not in short.stderr.replace("shorter", "")  # never the value


def test_a_poisoned_record_exits_4_without_a_traceback_and_shows_in_status(config_file: Path,
                                                                            sandbox: Sandbox) -> None:
    def poison(answer: dict[str, object]) -> dict[str, object]:
        for status in answer["statuses"]:  # type: ignore[attr-defined]
            status["timecompleted"] = 10 ** 13
        return answer

    sandbox.sites["ks"].state.rewrite("core_completion_get_activities_completion_status", poison,
                                      when=lambda call: call.params["userid"] == 10)
    result = CliRunner().invoke(cli, ["--config", str(config_file), "--lang", "en", "sync", "run",
                                      "--no-certificates"])
    assert result.exit_code == 4, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    status = json.loads(invoke(config_file, "sync", "status", "--json").output)
    codes = {f["reason_code"] for f in status["failures"] if f["item_kind"] == "learner"}
    assert codes <= {"sync.failure.bad_time", "sync.failure.reading"} and codes


def test_status_reveal_names_the_failed_learners_live_and_the_ledger_keeps_no_id(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger keeps pseudonyms; an operator with the secret and the platforms' tokens can still act: --reveal
    reads the borrower course's participants and says who each failed learner is."""
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 0
    plain = json.loads(invoke(config_file, "sync", "status", "--json").output)
    waiting = plain["without_owner_account"]  # the learners to act on: no account on the owner
    assert {f["item_key"] for f in waiting} == {borrower_key(18), borrower_key(19)}
    assert all("revealed" not in f for f in waiting)
    assert {(f["borrower_platform"], f["borrower_course"]) for f in waiting} == {("ks", "KSL-HBHF-SMITTE-01")}
    revealed = json.loads(invoke(config_file, "sync", "status", "--reveal", "--json").output)
    names = {f["item_key"]: f["revealed"]["name"] for f in revealed["without_owner_account"]}
    assert names == {borrower_key(18): "Eva Rønning", borrower_key(19): "Trond Lunde"}
    text = flat(invoke(config_file, "sync", "status", "--reveal").output)
    assert "Eva Rønning" in text and "Trond Lunde" in text
    data = b"".join(path.read_bytes() for path in tmp_path.glob("ledger.db*"))  # the database and its WAL
    assert b"user:18" not in data and b"Eva" not in data and b"eva.ronning" not in data
    monkeypatch.delenv("TEST_PSEUDONYM")
    assert invoke(config_file, "sync", "status", "--reveal").exit_code == 2  # no secret, no names


def test_another_secret_exits_2_and_rotate_secret_rekeys_the_ledger(config_file: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 0
    monkeypatch.setenv("TEST_PSEUDONYM", "a-brand-new-pseudonym-secret-9876")
    refused = invoke(config_file, "sync", "run", "--no-certificates")
    assert refused.exit_code == 2 and "--rotate-secret" in refused.output
    notify = invoke(config_file, "certificates", "notify", "--today", "2026-11-02")
    assert notify.exit_code == 2  # notices are kept under pseudonyms too: nobody is told twice
    for wrong in (["--rotate-secret"], ["--old-secret-env", "OLD"],
                  ["--rotate-secret", "--old-secret-env", "OLD", "--old-secret-file", "old.txt"]):
        usage = invoke(config_file, "sync", "run", *wrong)
        assert usage.exit_code == 2 and "--old-secret-env" in usage.output
    monkeypatch.setenv("OLD", SECRET)
    rotated = invoke(config_file, "--lang", "en", "sync", "run", "--no-certificates", "--rotate-secret",
                     "--old-secret-env", "OLD")
    assert rotated.exit_code == 0, rotated.output
    assert "Pseudonyms re-keyed to the new secret: 3 completions, 0 certificate notices, 2 failed items" in rotated.output
    assert "0 completions brought back" in rotated.output
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 0


def test_check_says_what_the_owner_lacks_and_exits_1_then_0_after_a_full_run(config_file: Path, sandbox: Sandbox,
                                                                              tmp_path: Path) -> None:
    lp = sandbox.sites["lp"].state
    for cmid, userid in list(lp.activity_completions):  # lp's own completions of the course: none left
        if cmid in (12, 13) and userid != 4:
            lp.reset_activity(userid, cmid)
    assert invoke(config_file, "sync", "run", "--no-certificates").exit_code == 0
    for userid, cmid in ((4, 12), (10, 13)):  # reset on the owner by hand
        lp.reset_activity(userid, cmid)
    result = invoke(config_file, "--lang", "en", "sync", "check", "--items")
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "Drift: 2 completions (2 missing on the owner, 0 missing on the borrower)" in result.output
    assert result.output.count("owner lacks: learner") == 2
    data = json.loads(invoke(config_file, "sync", "check", "--json", "--no-record").output)
    assert (data["drift"], data["exit_code"], data["shares"][0]["owner_lacks"]) == (2, 1, 2)
    assert invoke(config_file, "sync", "run", "--full", "--no-report", "--no-certificates").exit_code == 0
    after = invoke(config_file, "sync", "check", "--json")
    assert after.exit_code == 0 and json.loads(after.output)["equal"] is True
    with Ledger.open(tmp_path / "ledger.db") as ledger:  # two recorded checks; --no-record left none
        assert [e.details["drift"] for e in ledger.events(actions=["sync.check"])] == [2, 0]
