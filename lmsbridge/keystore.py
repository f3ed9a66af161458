"""Where each person's own key to a platform is kept: the OS keyring, or a 0600 file where there is none.

``lmsbridge login --platform lp`` stores the person's personal web-service token for the lmsbridge service on
that platform (Moodle: «Sikkerhetsnøkler» in the user's preferences, or made for them by the site admin; works
for SSO users such as ID-porten/HelseID, who have no password to give); ``lmsbridge logout`` removes it. The
owner's acts are made with it, so the platform says who acts and what they may do.

The place is chosen by ``[login] store`` (``LMSBRIDGE_LOGIN__STORE``): ``keyring`` (the ``keyring`` library:
Secret Service, macOS Keychain, Windows Credential Locker), ``file`` (``[login] file``, default
``<user config dir>/lmsbridge/personal-tokens.json``, mode 0600 in a 0700 folder, refused when others may read
it), or ``auto``: the keyring when it has a real backend, else the file. Keys are kept per site URL; a value is
never printed (``SecretStr``), and messages name the place, never the key.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import keyring
import keyring.errors
from pydantic import SecretStr

from lmsbridge import i18n
from lmsbridge.config import Config, LoginConfig, user_config_dir
from lmsbridge.errors import ConfigError, SecretError
from lmsbridge.i18n import Message

#: The keyring's "service" under which lmsbridge keeps keys (the "username" is the site URL).
KEYRING_SERVICE = "lmsbridge"
FILE_NAME = "personal-tokens.json"


class KeyStore(Protocol):
    """A place that keeps one key per site URL."""

    @property
    def where(self) -> Message: ...

    def get(self, site: str) -> SecretStr | None: ...

    def set(self, site: str, token: SecretStr) -> None: ...

    def delete(self, site: str) -> bool: ...


def _site(url: str) -> str:
    return url.rstrip("/")


class KeyringStore:
    """The OS keyring, through the ``keyring`` library."""

    def __init__(self, backend: Any | None = None) -> None:
        self.backend = backend if backend is not None else keyring.get_keyring()

    @property
    def where(self) -> Message:
        return Message("keys.where.keyring", backend=type(self.backend).__name__)

    def _fail(self, exc: Exception) -> SecretError:
        return SecretError(Message("keys.keyring_failed", backend=type(self.backend).__name__,
                                   reason=exc.__class__.__name__))

    def get(self, site: str) -> SecretStr | None:
        try:
            value = self.backend.get_password(KEYRING_SERVICE, _site(site))
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None
        return SecretStr(value) if value else None

    def set(self, site: str, token: SecretStr) -> None:
        try:
            self.backend.set_password(KEYRING_SERVICE, _site(site), token.get_secret_value())
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None

    def delete(self, site: str) -> bool:
        if self.get(site) is None:
            return False
        try:
            self.backend.delete_password(KEYRING_SERVICE, _site(site))
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None
        return True


class FileStore:
    """A JSON file readable by its owner only: ``{"keys": {site URL: token}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> Message:
        return Message("keys.where.file", path=self.path)

    def _read(self) -> dict[str, str]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretError(Message("keys.file_unreadable", path=self.path, reason=i18n.os_reason(exc))) from None
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # like ssh with a private key: a key others may read is not kept as a secret
            raise SecretError(Message("keys.file_open", path=self.path, mode=f"{stat.S_IMODE(info.st_mode):o}"))
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SecretError(Message("keys.file_broken", path=self.path)) from None
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, dict):
            raise SecretError(Message("keys.file_broken", path=self.path))
        return {str(k): str(v) for k, v in keys.items()}

    def _write(self, keys: dict[str, str]) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")  # created 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"keys": keys}, handle, indent=1, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise SecretError(Message("keys.file_unwritable", path=self.path, reason=i18n.os_reason(exc))) from None

    def get(self, site: str) -> SecretStr | None:
        value = self._read().get(_site(site))
        return SecretStr(value) if value else None

    def set(self, site: str, token: SecretStr) -> None:
        keys = self._read()
        keys[_site(site)] = token.get_secret_value()
        self._write(keys)

    def delete(self, site: str) -> bool:
        keys = self._read()
        if keys.pop(_site(site), None) is None:
            return False
        self._write(keys)
        return True


def keyring_usable(backend: Any) -> bool:
    """A backend that keeps secrets: not keyring's "fail" or "null" stand-ins (priority 0 or less), and not a
    chain of no backends."""
    try:
        priority = float(type(backend).priority)
    except Exception:
        return False
    if priority <= 0:
        return False
    chained = getattr(backend, "backends", None)
    return chained is None or bool(chained)


def default_file(config: LoginConfig, base: Path | None) -> Path:
    if config.file is not None:
        return config.file if config.file.is_absolute() or base is None else base / config.file
    return user_config_dir() / "lmsbridge" / FILE_NAME


def open_store(config: Config, *, backend: Callable[[], Any] = keyring.get_keyring) -> KeyStore:
    """The place ``[login] store`` names (``auto``: the keyring when it has a real backend, else the file)."""
    login = config.login
    base = config.source.parent if config.source else None
    if login.store == "file":
        return FileStore(default_file(login, base))
    found = backend()
    if keyring_usable(found):
        return KeyringStore(found)
    if login.store == "keyring":
        raise ConfigError(Message("keys.no_keyring", backend=type(found).__name__), key="login.store")
    return FileStore(default_file(login, base))


__all__ = ["FileStore", "KeyStore", "KeyringStore", "keyring_usable", "open_store", "user_config_dir"]
