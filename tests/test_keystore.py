"""Where each person's own key is kept (``lmsbridge login``): the OS keyring, or a 0600 file where there is none.

The choice is explicit ([login] store) and tested here: CI and the tests have no keyring backend (keyring's
«fail» backend), so ``auto`` must pick the file there, and a real backend when there is one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.backends.fail
import pytest
from pydantic import SecretStr

from lmsbridge.config import parse_config
from lmsbridge.errors import ConfigError, SecretError
from lmsbridge.keystore import FileStore, KeyringStore, keyring_usable, open_store, user_config_dir

SITE = "https://laringsportal.helse-bergen.no"
TOKEN = "5b7f3c9e21d04a6e8f1b2c3d4e5f6a70"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps passwords in a dict (a real one, as far as lmsbridge can tell)."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.kept:
            raise keyring.errors.PasswordDeleteError(username)
        del self.kept[(service, username)]


def config(tmp_path: Path, **login: Any) -> Any:
    return parse_config({"login": login}, source=tmp_path / "lmsbridge.toml")


def test_the_file_is_private_and_keeps_one_key_per_site(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "keys" / "personal-tokens.json")
    assert store.get(SITE) is None
    store.set(SITE + "/", SecretStr(TOKEN))
    assert store.get(SITE) == SecretStr(TOKEN)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert TOKEN not in repr(store.get(SITE)) and TOKEN not in store.where.render("en")
    assert store.delete(SITE) and not store.delete(SITE) and store.get(SITE) is None


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "personal-tokens.json")
    store.set(SITE, SecretStr(TOKEN))
    store.path.chmod(0o644)
    with pytest.raises(SecretError) as caught:
        store.get(SITE)
    assert "chmod 600" in str(caught.value) and TOKEN not in str(caught.value)


def test_auto_picks_the_file_without_a_keyring_and_the_keyring_with_one(tmp_path: Path) -> None:
    no_keyring = keyring.backends.fail.Keyring()
    assert not keyring_usable(no_keyring)
    chosen = open_store(config(tmp_path), backend=lambda: no_keyring)
    assert isinstance(chosen, FileStore)
    memory = MemoryKeyring()
    assert keyring_usable(memory)
    with_keyring = open_store(config(tmp_path), backend=lambda: memory)
    assert isinstance(with_keyring, KeyringStore)
    with_keyring.set(SITE, SecretStr(TOKEN))
    assert memory.kept == {("lmsbridge", SITE): TOKEN}
    assert with_keyring.get(SITE) == SecretStr(TOKEN) and with_keyring.delete(SITE) and memory.kept == {}


def test_the_choice_is_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = MemoryKeyring()
    assert isinstance(open_store(config(tmp_path, store="file"), backend=lambda: memory), FileStore)
    with pytest.raises(ConfigError, match=r"login\.store"):
        open_store(config(tmp_path, store="keyring"), backend=keyring.backends.fail.Keyring)
    relative = open_store(config(tmp_path, store="file", file="keys.json"))
    assert isinstance(relative, FileStore) and relative.path == tmp_path / "keys.json"  # beside the config
    monkeypatch.setenv("LMSBRIDGE_LOGIN__STORE", "file")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    default = open_store(parse_config({}), backend=lambda: memory)
    assert isinstance(default, FileStore)
    assert default.path == tmp_path / "xdg" / "lmsbridge" / "personal-tokens.json"


def test_the_user_config_dir() -> None:
    assert user_config_dir({"XDG_CONFIG_HOME": "/x"}, "linux") == Path("/x")
    assert user_config_dir({}, "linux") == Path.home() / ".config"
    assert user_config_dir({"APPDATA": "C:/Users/k/AppData/Roaming"}, "win32") == Path("C:/Users/k/AppData/Roaming")
