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
    ("text", "key", "words"),
    [
        (MINIMAL.replace('role = "municipal"', 'role = "school"'), "platforms.ks.role", "municipal"),
        (MINIMAL.replace("https://ks.example", "ks.example"), "platforms.ks.url", "http"),
        (MINIMAL + 'colour = "blue"\n', "platforms.ks.colour", "Extra"),
        (MINIMAL.replace('organisation = "KS"\n', ""), "platforms.ks.organisation", "required"),
        (MINIMAL + "[agreement]\nstart = 2016-13-01\n", None, "TOML"),
        ("[agreement]\nterm_months = 0\n", "agreement.term_months", "greater"),
    ],
)
def test_broken_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str | None, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    if key:
        assert key in message
    assert words.lower() in message.lower()


def test_missing_config_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config(None)
    with pytest.raises(ConfigError, match="cannot read"):
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
    with pytest.raises(SecretError, match="KS_TOKEN"):
        platform_token(config, config.platform("ks"))
    monkeypatch.setenv("KS_TOKEN", "s3cr3t-token")
    token = platform_token(config, config.platform("ks"))
    assert token.get_secret_value() == "s3cr3t-token"
    assert "s3cr3t" not in repr(token) and "s3cr3t" not in str(token)

    (tmp_path / "lp.token").write_text("file-token\n")
    cfg2 = load_config(write(tmp_path, MINIMAL.replace('token_env = "KS_TOKEN"', 'token_file = "lp.token"')))
    assert platform_token(cfg2, cfg2.platform("ks")).get_secret_value() == "file-token"


def test_token_in_both_env_and_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        load_config(write(tmp_path, MINIMAL + 'token_file = "x"\n'))


def test_unknown_platform_lists_known_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="configured: ks"):
        config.platform("lp")
