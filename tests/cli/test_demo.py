"""``lmsbridge demo``: the README's main job tells the whole story on the built-in sandbox sites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lmsbridge.cli import demo as demo_module
from lmsbridge.cli.main import cli
from lmsbridge.sandbox import Sandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run_demo(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def by_command(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {" ".join(c["command"][1:]): c for c in report["commands"]}


def test_the_story_runs_every_step_with_the_expected_outcome() -> None:
    result = run_demo("demo", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    commands = by_command(report)
    # the refusals are part of the story: incomplete course information is caught twice
    assert commands["validate --platform lp --course HBHF-LEGEMID-02"]["exit"] == 1
    assert "missing.course_coordinator" in commands["validate --platform lp --course HBHF-LEGEMID-02"]["output"]
    refused = commands["share request --flow hospital-to-ks --course HBHF-LEGEMID-02"]
    assert refused["exit"] == 1 and "Kursbeskrivelsen nevner ikke innhold" in refused["output"]
    # only the owner approves, on the platform's word: a learner's key is refused, the coordinator's is not
    approvals = [c for c in report["commands"] if c["command"][1:] == ["share", "approve", "S-0001"]]
    assert [c["exit"] for c in approvals] == [1, 0]
    assert "Kari Nordmann (hb10001)" in approvals[0]["output"] and "moodle/course:update" in approvals[0]["output"]
    assert "Ingrid Hauge (ingrid.hauge, lp)" in approvals[1]["output"]
    assert "Kari Ås (kari.as@ks.no, ks)" in commands["share approve S-0002"]["output"]  # KS owns its course
    assert "delt fra KS" in commands["share publish S-0002"]["output"]
    assert "delt til KS Læring" in commands["share publish S-0001 --borrower-course KSL-HBHF-SMITTE-01"]["output"]
    # three sync runs: the recorded completions, then only the new ones, then nothing
    syncs = [c["output"] for c in report["commands"] if c["command"][1:] == ["sync", "run"]]
    assert len(syncs) == 3
    written = [int(out.split(" fullføringer ført tilbake")[0].split()[-1]) for out in syncs]
    assert written[0] > 0 and written[1] > 0 and written[2] == 0, written
    listing = commands["certificates list"]["output"]
    for group in ("Fullført 100%", "Fullført, ikke 100%", "Inaktiv"):
        assert group in listing
    assert commands["licence check --platform lp --course HBHF-SMITTE-01 --seller KS"]["exit"] == 1
    assert commands["licence check --platform ks --course KSL-VELFERD-01 --seller Helse Bergen HF"]["exit"] == 0
    assert commands["share show S-0001"]["output"].startswith("Deling S-0001: Avsluttet")
    verified = commands["ledger verify --witnesses"]
    assert verified["exit"] == 0 and "kjeden er hel" in verified["output"] and "Vitner OK" in verified["output"]
    # a ledger put back from before the revoke: consistent with itself, caught by the platforms' receipts
    assert commands["ledger verify --ledger ledger-backup.db"]["exit"] == 0
    rolled_back = commands["ledger verify --witnesses --ledger ledger-backup.db"]
    assert rolled_back["exit"] == 1 and rolled_back["output"].count("[witness.beyond]") == 2


def test_partial_completions_reach_the_owner_for_the_certificate() -> None:
    # Hilde Berg (no idnumber on KS Læring) does one of two activities during the demo: the owner's
    # issuance list must then show her with 1/2 done and the points of that activity, not as inactive.
    report = json.loads(run_demo("demo", "--json").output)
    rows = [line for line in by_command(report)["certificates list"]["output"].splitlines() if "Hilde Berg" in line]
    assert len(rows) == 1 and "Fullført, ikke 100%" in rows[0] and "1/2" in rows[0], rows


def test_labels_are_shown_on_both_sides_and_removed_by_the_revoke() -> None:
    result = run_demo("demo")
    assert result.exit_code == 0, result.output
    out = result.output
    published, revoked = out.split("$ lmsbridge share revoke", 1)
    assert "Læringsportal Helse Bergen HBHF-SMITTE-01: synlig; kursfelt «delt til KS Læring»" in published
    assert "KS Læring KSL-HBHF-SMITTE-01: synlig; kursfelt «delt til KS Læring»" in published
    assert "KS Læring KSL-HBHF-SMITTE-01: skjult; kursfelt (ingen); i sammendraget (ingen)" in revoked
    assert "Læringsportal Helse Bergen KS-KSL-VELFERD-01: synlig; kursfelt «delt fra KS»; i sammendraget «delt fra KS»" \
        in published
    assert "$ lmsbridge login --platform lp --token-stdin < ingrid-hauge.token" in published
    assert "Demoen er ferdig" in out


def test_english_story() -> None:
    result = run_demo("--lang", "en", "demo")
    assert result.exit_code == 0, result.output
    assert "Step 1: Check the connection" in result.output
    assert "The demo is done" in result.output
    assert "Steg 1" not in result.output


def test_keep_leaves_the_ledger_and_outbox_and_never_prints_a_token(tmp_path: Path) -> None:
    folder = tmp_path / "demo-files"
    result = run_demo("demo", "--keep", str(folder))
    assert result.exit_code == 0, result.output
    assert (folder / "ledger.db").is_file()
    emails = sorted(p.name for p in (folder / "outbox").glob("*.eml"))
    assert emails[:2] == ["S-0001-approve-2.eml", "S-0001-publish-4.eml"]  # each named by its act's event
    assert "S-0001-request.eml" in emails and "S-0002-request.eml" in emails
    assert any(name.startswith("S-0001-revoke-") for name in emails)  # the revoke, named by its event
    assert any(name.startswith("notice-upgrade-lp-") for name in emails)
    assert "kslaring@ks.no" in (folder / "outbox" / "S-0001-request.eml").read_text(encoding="utf-8")
    # each act's e-mail carries its receipt, the same the platforms keep
    assert "S-0001 approve #2 " in (folder / "outbox" / "S-0001-approve-2.eml").read_text(encoding="utf-8")
    keys = folder / "personal-tokens.json"
    assert keys.stat().st_mode & 0o077 == 0
    for name in ("ks.token", "lp.token", "ingrid-hauge.token", "kari-as.token", "kari-nordmann.token"):
        token = (folder / name).read_text(encoding="utf-8").strip()
        assert token and token not in result.output
        assert (folder / name).stat().st_mode & 0o077 == 0


def test_keep_refuses_a_folder_with_files_in_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_demo("demo", "--keep", str(tmp_path))
    assert result.exit_code == 2
    assert "ikke tom" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_step_with_a_surprising_outcome_stops_the_demo_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = demo_module.write_demo_config

    def wrong_ks_token(folder: Path, sandbox: Sandbox, **kwargs: Any) -> Path:
        path = real_write(folder, sandbox, **kwargs)
        (folder / "ks.token").write_text("0" * 32, encoding="utf-8")  # a token the site does not know
        return path

    monkeypatch.setattr(demo_module, "write_demo_config", wrong_ks_token)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 1
    assert "Uventet: «lmsbridge doctor»" in result.output
    assert "Steg 2" not in result.output
    assert "Traceback" not in result.output


def test_the_readme_main_job_runs_in_a_fresh_process() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\nlmsbridge demo\n" in readme
    done = subprocess.run([sys.executable, "-m", "lmsbridge", "demo"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Steg 11: Kontroller hovedboken" in done.stdout


def test_a_sandbox_that_cannot_start_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ports(*args: Any, **kwargs: Any) -> Sandbox:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(demo_module.Sandbox, "start", no_ports)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 2
    assert "kan ikke starte sandkassen" in result.output and "Address already in use" in result.output
    assert "Traceback" not in result.output
