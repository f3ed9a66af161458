"""The config file: a broken one names the file, every bad key and its problem (with the nearest valid key);
where it is found; env overrides, and mistyped variables; secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsbridge import config as config_module
from lmsbridge.config import Config, find_config, load_config, platform_token
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
        (MINIMAL + "[sync]\nunmatched = \"x\"\noverlap_minutes = -1\n", "sync.overlap_minutes",
         "2 feil i konfigurasjonen", "2 problems in the configuration"),
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
    with pytest.raises(ConfigError, match="ingen konfigurasjonsfil: oppgi --config FIL") as caught:
        load_config(None)
    assert str(tmp_path / "lmsbridge.toml") in str(caught.value)  # where it looked
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
    assert config.ledger_url(create=True) == "/var/lib/lmsbridge/ledger.db"
    assert str(config.origin("ledger")) == "env:LMSBRIDGE_LEDGER"
    assert str(config.origin("platforms.ks.title")) == f"file:{tmp_path.resolve() / 'lmsbridge.toml'}"
    assert str(config.origin("sync.page_size")) == "default"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'ledger = "lmsbridge.db"\n' + MINIMAL))
    assert config.ledger_url(create=True) == str(tmp_path.resolve() / "lmsbridge.db")
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


# --- strict: every unknown key, with the nearest valid one, all at once ---------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "near"),
    [
        ('[platform.ks]\ntitle = "KS"\n' + MINIMAL, "platform", "platforms"),
        ('ledgr = "ledger.db"\n' + MINIMAL, "ledgr", "ledger"),
        (MINIMAL.replace("token_env", "token_evn"), "platforms.ks.token_evn", "token_env"),
        (MINIMAL + "[sync]\noverlap_minute = 5\n", "sync.overlap_minute", "overlap_minutes"),
        (MINIMAL + "[agreement]\nrenewal = [2017-07-01]\n", "agreement.renewal", "renewals"),
        (MINIMAL + "[certificates.C1]\ndue = 2026-12-31\ngrace = 3\n", "certificates.C1.grace", "grace_days"),
    ],
)
def test_a_mistyped_key_anywhere_is_an_error_naming_the_nearest_valid_key(
        tmp_path: Path, text: str, key: str, near: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == 2
    assert f"{key}: ukjent nøkkel; mente du «{near}»?" in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


def test_an_unknown_key_with_nothing_near_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"zebra: ukjent nøkkel \(gyldige her: agreement, operator, login, ledger"):
        load_config(write(tmp_path, "zebra = 1\n" + MINIMAL))


def test_a_mistyped_course_information_item_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"platforms\.ks\.fields: ukjent kursinformasjon «goal»; mente du «goals»\?"):
        load_config(write(tmp_path, MINIMAL + '[platforms.ks.fields]\ngoal = "maal"\n'))


def test_every_problem_of_a_file_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four mistakes, four lines: never «og 3 feil til»."""
    monkeypatch.setenv("LMSBRIDGE_LANG", "en")
    text = ('ledgr = "x.db"\n' + MINIMAL.replace('role = "municipal"', 'role = "school"')
            + "[sync]\nunmatched = \"maybe\"\noverlap_minutes = -1\nusername_pairs = [[\"ks\", \"lq\"]]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    lines = str(caught.value).splitlines()
    assert lines[0].endswith(": 5 problems in the configuration:")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "ledgr", "platforms.ks.role", "sync.unmatched", "sync.overlap_minutes", "sync.username_pairs"]
    assert lines[-1].strip() == "sync.username_pairs: ks & lq is not two different platforms here (known: ks)"
    assert "more" not in str(caught.value)
    assert [p.key for p in caught.value.problems] == ["ledgr", "platforms.ks.role", "sync.unmatched",
                                                      "sync.overlap_minutes", "sync.username_pairs"]


@pytest.mark.parametrize("text", ["", "[agreement]\nterm_months = 12\n", '[platform.ks]\ntitle = "KS"\n'])
def test_a_file_without_any_platform_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="platforms: ingen plattform er konfigurert") as caught:
        load_config(write(tmp_path, text))
    assert caught.value.exit_code == 2


def test_the_ledger_must_be_configured_and_exist_for_the_commands_that_read_it(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="ledger: ingen hovedbok er konfigurert"):
        config.ledger_url()
    config = load_config(write(tmp_path, 'ledger = "data/ledger.db"\n' + MINIMAL))
    where = tmp_path.resolve() / "data" / "ledger.db"
    with pytest.raises(ConfigError, match=f"det finnes ingen hovedbok i {where} \\(stien kommer fra {tmp_path.resolve()}"):
        config.ledger_url()
    assert config.ledger_url(create=True) == str(where)  # share request begins the record
    monkeypatch.setenv("LMSBRIDGE_LEDGER", str(tmp_path / "typo.db"))
    with pytest.raises(ConfigError, match=r"\$LMSBRIDGE_LEDGER \(ledger\): det finnes ingen hovedbok .* fra \$LMSBRIDGE_LEDGER"):
        load_config(tmp_path / "lmsbridge.toml").ledger_url()


# --- where the file is found ----------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The five places, each with its own file (the working folder, the user's, the system's)."""
    found = {"option": tmp_path / "given.toml", "env": tmp_path / "from-env.toml",
             "cwd": tmp_path / "work" / "lmsbridge.toml", "user": tmp_path / "xdg" / "lmsbridge" / "lmsbridge.toml",
             "system": tmp_path / "etc" / "lmsbridge.toml"}
    for name, path in found.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MINIMAL.replace('title = "KS Læring"', f'title = "{name}"'), encoding="utf-8")
    monkeypatch.chdir(found["cwd"].parent)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", found["system"])
    return found


def test_discovery_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """--config, $LMSBRIDGE_CONFIG, ./lmsbridge.toml, ~/.config/lmsbridge/lmsbridge.toml, /etc/lmsbridge/lmsbridge.toml."""
    def title() -> str:
        return load_config(places.get("option")).platform("ks").title

    monkeypatch.setenv("LMSBRIDGE_CONFIG", str(places["env"]))
    assert title() == "option"
    del places["option"]
    assert title() == "env"
    monkeypatch.delenv("LMSBRIDGE_CONFIG")
    assert title() == "cwd"
    found = find_config()
    assert found is not None and found.found_by == "cwd" and found.shadowed == (places["user"], places["system"])
    places.pop("cwd").unlink()
    assert title() == "user"
    places.pop("user").unlink()
    assert title() == "system"
    places.pop("system").unlink()
    assert find_config() is None


def test_a_named_file_that_is_missing_is_an_error_not_a_reason_to_look_further(
        places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kan ikke leses"):
        load_config(tmp_path / "typo.toml")
    monkeypatch.setenv("LMSBRIDGE_CONFIG", str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigError, match="kan ikke leses"):
        load_config()


# --- the environment ----------------------------------------------------------------------------------------


def load_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **variables: str) -> Config:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_config(write(tmp_path, MINIMAL + 'token_file = "x"\n'.replace('token_file = "x"\n', "")))


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("LMSBRIDGE_LEDGR", "$LMSBRIDGE_LEDGER"),
        ("LMSBRIDGE_OUTBOXX", "$LMSBRIDGE_OUTBOX"),
        ("LMSBRIDGE_PLATFORMS__KS__URLL", "$LMSBRIDGE_PLATFORMS__KS__URL"),
        ("LMSBRIDGE_PLATFORM__KS__URL", "$LMSBRIDGE_PLATFORMS__KS__URL"),
        ("LMSBRIDGE_SYNC__OVERLAP", "$LMSBRIDGE_SYNC__OVERLAP_MINUTES"),
        ("LMSBRIDGE_OPERATOR_NAME", "$LMSBRIDGE_OPERATOR__NAME"),
        ("LMSBRIDGE_LEDGER__PATH", "$LMSBRIDGE_LEDGER"),
    ],
)
def test_a_mistyped_override_is_an_error_naming_the_variable_and_the_nearest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, suggested: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_with(tmp_path, monkeypatch, **{name: "/var/lib/lmsbridge/x"})
    assert f"${name}: ingen konfigurasjonsnøkkel har dette navnet" in str(caught.value)
    assert f"mente du {suggested}?" in str(caught.value)


def test_an_override_changes_a_platform_the_file_has_never_adds_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"filen har ingen «kss» under \[platforms\] .*mente du «ks»"):
        load_with(tmp_path, monkeypatch, LMSBRIDGE_PLATFORMS__KSS__URL="https://x.example")


def test_lists_and_tables_in_variables_are_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_with(tmp_path, monkeypatch, LMSBRIDGE_SYNC__IDENTITY_KEYS='["email"]',
                       LMSBRIDGE_AGREEMENT__RENEWALS='["2017-07-01"]', LMSBRIDGE_SYNC__PAGE_SIZE="50")
    assert config.sync.identity_keys == ["email"] and config.sync.page_size == 50
    assert [d.isoformat() for d in config.agreement.renewals] == ["2017-07-01"]
    with pytest.raises(ConfigError, match=r"SYNC__IDENTITY_KEYS \(sync\.identity_keys\): en liste eller tabell"):
        load_with(tmp_path, monkeypatch, LMSBRIDGE_SYNC__IDENTITY_KEYS="email")
    with pytest.raises(ConfigError, match=r"\$LMSBRIDGE_SYNC__PAGE_SIZE \(sync.page_size\): må være et heltall"):
        load_with(tmp_path, monkeypatch, LMSBRIDGE_SYNC__PAGE_SIZE="many")


def test_variables_that_are_not_configuration_are_left_alone_or_only_warned_about(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lmsbridge's own variables, the tests', and the secrets the file names are not typos; a variable that is like
    no key (another tool's, a token no platform names now) is a warning (doctor and config show say it), since
    refusing to run for it would stop a cron job over something harmless."""
    config = load_with(tmp_path, monkeypatch, LMSBRIDGE_LANG="nb", LMSBRIDGE_CONFIG=str(tmp_path / "lmsbridge.toml"),
                       LMSBRIDGE_TEST_PG_URL="postgresql://x", LMSBRIDGE_PSEUDONYM_SECRET="s" * 20,
                       LMSBRIDGE_CHROMIUM="/usr/bin/chromium", LMSBRIDGE_LP_TOKEN="t", LMSBRIDGE_LANGUAGE="en")
    warnings = [m.render("en") for m in config.warnings]
    assert warnings == [
        "$LMSBRIDGE_LANGUAGE is not a configuration key and is not used; did you mean $LMSBRIDGE_LANG?",
        "$LMSBRIDGE_LP_TOKEN is not a configuration key and is not used"]
    monkeypatch.setenv("KS_TOKEN", "x")  # named by the file: not even a warning when it has the prefix
    text = MINIMAL.replace('token_env = "KS_TOKEN"', 'token_env = "LMSBRIDGE_KS_TOKEN"')
    monkeypatch.setenv("LMSBRIDGE_KS_TOKEN", "x")
    monkeypatch.delenv("LMSBRIDGE_LP_TOKEN")
    monkeypatch.delenv("LMSBRIDGE_LANGUAGE")
    assert load_config(write(tmp_path, text)).warnings == ()
