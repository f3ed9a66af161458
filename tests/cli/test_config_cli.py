"""``lmsbridge config show``, ``lmsbridge init`` and ``sandbox serve --write-config``: a new user's first steps
(init → doctor → demo) against the sandbox, and the configuration in effect with where each value came from."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli import sandbox as sandbox_cli
from lmsbridge.cli.main import cli
from lmsbridge.config import load_config, renewals_until
from lmsbridge.sandbox import Sandbox
from tests.sandbox_cli import write_config

SECRET = "a-pseudonym-secret-of-32-characters"


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--lang", "en", *args], input=input)


# --- init -------------------------------------------------------------------------------------------------------


def test_init_then_doctor_then_demo_as_a_new_user(sandbox: Sandbox, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing asked without a terminal: the options say it all. The file passes the strict schema, names the
    tokens and the secret by variable, and with them set, doctor passes; then the demo runs."""
    monkeypatch.chdir(tmp_path)
    result = invoke("init", "--side", "hospital", "--organisation", "Helse Bergen HF", "--name", "Ola Hansen",
                    "--ks-url", sandbox["ks"].url, "--lp-url", sandbox["lp"].url)
    assert result.exit_code == 0, result.output
    assert "Wrote lmsbridge.toml." in result.output
    assert "LMSBRIDGE_KS_TOKEN, LMSBRIDGE_LP_TOKEN, LMSBRIDGE_PSEUDONYM_SECRET" in result.output
    text = (tmp_path / "lmsbridge.toml").read_text(encoding="utf-8")
    assert text.startswith("# lmsbridge configuration, written by lmsbridge init")
    assert sandbox["ks"].token not in text
    config = load_config(tmp_path / "lmsbridge.toml")
    assert config.platform("lp").organisation == "Helse Bergen HF" and config.operator.name == "Ola Hansen"
    assert (tmp_path / "ledger.db").exists() and (tmp_path / "outbox").is_dir()

    doctor = invoke("doctor")  # found as ./lmsbridge.toml
    assert doctor.exit_code == 2 and "LMSBRIDGE_KS_TOKEN" in doctor.output  # the tokens are not set yet
    monkeypatch.setenv("LMSBRIDGE_KS_TOKEN", sandbox["ks"].token)
    monkeypatch.setenv("LMSBRIDGE_LP_TOKEN", sandbox["lp"].token)
    monkeypatch.setenv("LMSBRIDGE_PSEUDONYM_SECRET", SECRET)
    doctor = invoke("doctor")
    assert doctor.exit_code == 0, doctor.output
    assert f"Configuration: {tmp_path / 'lmsbridge.toml'} (found by lmsbridge.toml in the working folder)" in doctor.output

    demo = invoke("demo", "--json")
    assert demo.exit_code == 0 and json.loads(demo.output)["ok"]


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "lmsbridge.toml"
    target.write_text("# mine\n", encoding="utf-8")
    options = ["--organisation", "Helse Bergen HF", "--lp-url", "https://lp.example"]
    result = invoke("init", str(target), *options)
    assert result.exit_code == 2 and "give --force" in result.output
    assert target.read_text(encoding="utf-8") == "# mine\n"
    assert invoke("init", str(target), *options, "--force").exit_code == 0
    assert load_config(target).platform("lp").url == "https://lp.example"


def test_init_names_every_missing_value_at_once_and_asks_nothing_without_a_terminal(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "x.toml"), "--side", "municipal")
    assert result.exit_code == 2
    assert "--organisation, --lp-url, --partner" in result.output
    assert not (tmp_path / "x.toml").exists()


def test_init_for_the_municipal_side_and_the_global_config_option(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "lmsbridge.toml"
    result = invoke("--config", str(target), "init", "--side", "municipal", "--organisation", "Bergen kommune",
                    "--partner", "Helse Bergen HF", "--lp-url", "https://lp.example", "--ledger",
                    str(tmp_path / "var" / "ledger.db"), "--outbox", str(tmp_path / "var" / "outbox"))
    assert result.exit_code == 0, result.output
    config = load_config(target)
    assert config.operator.organisation == "Bergen kommune"
    assert config.platform("lp").organisation == "Helse Bergen HF" and config.platform("ks").organisation == "KS"
    assert config.platform("ks").url == "https://laring.ks.no"
    assert (tmp_path / "var" / "ledger.db").exists()
    assert "# your platform" in target.read_text(encoding="utf-8").split("[platforms.ks]")[1].split("\n")[0]


def test_init_ledger_only_makes_the_ledger_a_configuration_names(sandbox: Sandbox, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(sandbox, tmp_path, monkeypatch, ledger=False)
    missing = CliRunner().invoke(cli, ["--config", str(config), "share", "list"])
    assert missing.exit_code == 2 and "there is no ledger" not in missing.output  # in the user's language
    assert "det finnes ingen hovedbok" in missing.output and not (tmp_path / "ledger.db").exists()
    assert invoke("--config", str(config), "init", "--ledger-only").exit_code == 0
    assert (tmp_path / "ledger.db").exists()
    assert CliRunner().invoke(cli, ["--config", str(config), "share", "list"]).exit_code == 0


# --- sandbox serve --write-config ---------------------------------------------------------------------------


def test_sandbox_serve_writes_a_configuration_that_passes_doctor(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "try" / "lmsbridge.toml"
    seen: list[Result] = []
    monkeypatch.setattr(sandbox_cli, "wait_until_interrupted",
                        lambda: seen.append(invoke("--config", str(target), "doctor")))  # while the sites serve
    served = invoke("sandbox", "serve", "--write-config", str(target))
    assert served.exit_code == 0, served.output
    assert f"A configuration for these sites: {target}" in served.output
    assert seen[0].exit_code == 0, seen[0].output
    assert "All good." in seen[0].output
    for secret in ("ks.token", "lp.token", "pseudonym.secret"):
        assert (target.parent / secret).stat().st_mode & 0o077 == 0
    # served again: the addresses and tokens change, and the file it wrote is written anew
    assert invoke("sandbox", "serve", "--write-config", str(target)).exit_code == 0
    mine = tmp_path / "mine.toml"
    mine.write_text("# someone's own\n", encoding="utf-8")
    refused = invoke("sandbox", "serve", "--write-config", str(mine))
    assert refused.exit_code == 2 and mine.read_text(encoding="utf-8") == "# someone's own\n"


# --- config show --------------------------------------------------------------------------------------------


def test_config_show_says_where_each_value_came_from_and_hides_secrets(sandbox: Sandbox, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(sandbox, tmp_path, monkeypatch)
    monkeypatch.setenv("LMSBRIDGE_SYNC__PAGE_SIZE", "50")
    monkeypatch.setenv("LMSBRIDGE_PLATFORMS__KS__URL", "https://kari:hemmelig@ks.example")
    monkeypatch.setenv("LMSBRIDGE_CONFIG", str(config))
    monkeypatch.setenv("LMSBRIDGE_SOMETHING_ELSE", "x")
    result = invoke("config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["found_by"] == "env" and shown["file"] == str(config.resolve())
    values = shown["values"]
    assert values["sync.page_size"] == {"value": 50, "origin": "env:LMSBRIDGE_SYNC__PAGE_SIZE"}
    assert values["ledger"]["origin"] == f"file:{config.resolve()}"
    assert values["sync.overlap_minutes"] == {"value": 10, "origin": "default"}
    assert values["platforms.ks.url"]["value"] == "https://ks.example"
    assert values["platforms.ks.url_credentials"]["value"] == "(user and password in the address, hidden)"
    assert "hemmelig" not in result.output and sandbox["ks"].token not in result.output
    assert shown["warnings"] == ["$LMSBRIDGE_SOMETHING_ELSE is not a configuration key and is not used"]
    text = invoke("config", "show")
    assert text.exit_code == 0
    assert f"Configuration: {config} (found by $LMSBRIDGE_CONFIG)" in text.output
    assert 'sync.page_size' in text.output and "= 50  # $LMSBRIDGE_SYNC__PAGE_SIZE" in text.output


def test_config_show_names_every_problem_of_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "lmsbridge.toml"
    path.write_text('ledgr = "x"\n[platform.ks]\nurl = "x"\n', encoding="utf-8")
    result = invoke("--config", str(path), "config", "show")
    assert result.exit_code == 2
    assert "3 problems in the configuration" in result.output
    for line in ("ledgr: unknown key; did you mean «ledger»?", "platform: unknown key; did you mean «platforms»?",
                 "platforms: no platform is configured"):
        assert line in result.output


def test_a_config_init_writes_is_valid_toml_with_every_section_commented(tmp_path: Path) -> None:
    target = tmp_path / "lmsbridge.toml"
    assert invoke("init", str(target), "--organisation", "Helse Bergen HF", "--lp-url", "https://lp.example").exit_code == 0
    data = tomllib.loads(target.read_text(encoding="utf-8"))
    assert set(data) == {"ledger", "outbox", "agreement", "operator", "login", "platforms", "sync"}
    assert data["sync"]["pseudonym_secret_env"] == "LMSBRIDGE_PSEUDONYM_SECRET"
    assert "# [smtp]" in target.read_text(encoding="utf-8")


# --- one condition, one exit code ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["doctor"],
    ["validate", "--platform", "lp", "--course", "HBHF-SMITTE-01"],
    ["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01"],
])
def test_a_token_the_platform_does_not_know_is_configuration_in_every_command(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    renewed = ", ".join(d.isoformat() for d in renewals_until(date.today()))
    config = write_config(sandbox, tmp_path, monkeypatch, extra=f"[agreement]\nrenewals = [{renewed}]")
    monkeypatch.setenv("TOKEN_LP", "0" * 32)
    result = invoke("--config", str(config), *command)
    assert result.exit_code == 2, result.output
    assert "invalidtoken" in result.output
