"""The config file: a broken one names the file, the key and the problem; env overrides; secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsbridge.config import load_config, platform_token
from lmsbridge.errors import ConfigError, SecretError

EXAMPLE = Path(__file__).parent.parent / "examples" / "lmsbridge.toml"

MINIMAL = """
[platforms.ks]
title = "KS Læring"
url = "https://ks.example"
role = "municipal"
organisation = "KS"
token_env = "KS_TOKEN"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lmsbridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_both_profiles() -> None:
    config = load_config(EXAMPLE)
    assert {p.role.value for p in config.platforms.values()} == {"municipal", "hospital"}
    assert config.platform("ks").fields["study_category"] == "studiekategori"
    assert config.agreement.contact_point == "kslaring@ks.no"


@pytest.mark.parametrize(
    ("text", "key", "nb", "en"),
    [
        (MINIMAL.replace('role = "municipal"', 'role = "school"'), "platforms.ks.role",
         "må være en av «municipal» eller «hospital»", "must be one of «municipal» or «hospital»"),
        (MINIMAL.replace("https://ks.example", "ks.example"), "platforms.ks.url",
         "må begynne med http:// eller https://", "must start with http:// or https://"),
        (MINIMAL + 'colour = "blue"\n', "platforms.ks.colour", "ukjent nøkkel", "unknown key"),
        (MINIMAL.replace('organisation = "KS"\n', ""), "platforms.ks.organisation", "mangler (må oppgis)",
         "missing (required)"),
        (MINIMAL + "[agreement]\nstart = 2016-13-01\n", None, "ikke gyldig TOML", "not valid TOML"),
        ("[agreement]\nterm_months = 0\n", "agreement.term_months", "må være minst 1", "must be at least 1"),
        ("[agreement]\nstart = \"1. juli\"\n", "agreement.start", "må være en dato (ÅÅÅÅ-MM-DD)",
         "must be a date (YYYY-MM-DD)"),
        ("[sync]\nunmatched = \"x\"\noverlap_minutes = -1\n", "sync.", "(og 1 feil til)", "(and 1 more)"),
        ("platforms = 3\n", "platforms", "må være en tabell", "must be a table"),
    ],
)
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_broken_config_names_file_key_and_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str | None, nb: str, en: str, lang: str
) -> None:
    monkeypatch.setenv("LMSBRIDGE_LANG", lang)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    if key:
        assert key in message
    assert (nb if lang == "nb" else en) in message


def test_missing_config_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="ingen konfigurasjonsfil: oppgi --config FIL"):
        load_config(None)
    with pytest.raises(ConfigError, match="konfigurasjonsfilen kan ikke leses \\(finnes ikke\\)"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("LMSBRIDGE_LANG", "en")
    with pytest.raises(ConfigError, match="no configuration file: give --config FILE"):
        load_config(None)
    with pytest.raises(ConfigError, match="cannot read the configuration file \\(no such file or folder\\)"):
        load_config(tmp_path / "nope.toml")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSBRIDGE_PLATFORMS__KS__URL", "https://override.example/")
    monkeypatch.setenv("LMSBRIDGE_LEDGER", "/var/lib/lmsbridge/ledger.db")
    monkeypatch.setenv("LMSBRIDGE_CONFIG", str(write(tmp_path, MINIMAL)))
    config = load_config()
    assert config.platform("ks").url == "https://override.example"
    assert config.platform("ks").title == "KS Læring"
    assert config.ledger_url() == "/var/lib/lmsbridge/ledger.db"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.ledger_url() == str(tmp_path.resolve() / "lmsbridge.db")
    assert config.outbox_dir() == tmp_path.resolve() / "outbox"


def test_token_from_env_or_file_and_never_in_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(SecretError, match="nøkkelen til plattformen «ks»: miljøvariabelen KS_TOKEN er ikke satt"):
        platform_token(config, config.platform("ks"))
    monkeypatch.setenv("KS_TOKEN", "s3cr3t-token")
    token = platform_token(config, config.platform("ks"))
    assert token.get_secret_value() == "s3cr3t-token"
    assert "s3cr3t" not in repr(token) and "s3cr3t" not in str(token)

    (tmp_path / "lp.token").write_text("file-token\n")
    cfg2 = load_config(write(tmp_path, MINIMAL.replace('token_env = "KS_TOKEN"', 'token_file = "lp.token"')))
    assert platform_token(cfg2, cfg2.platform("ks")).get_secret_value() == "file-token"


def test_token_in_both_env_and_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ikke begge"):
        load_config(write(tmp_path, MINIMAL + 'token_file = "x"\n'))


def test_unknown_platform_lists_known_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="ingen plattform heter «lp» \\(konfigurert: ks\\)"):
        config.platform("lp")
