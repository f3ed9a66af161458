"""The configuration file (TOML) and its environment overrides.

Path: ``--config`` or ``LMSBRIDGE_CONFIG``, else ``./lmsbridge.toml``. Any value can be overridden
from the environment with ``LMSBRIDGE_`` and ``__`` between levels, e.g.
``LMSBRIDGE_PLATFORMS__KS__URL=https://…`` or ``LMSBRIDGE_LEDGER=/var/lib/lmsbridge/ledger.db``.
Tokens and secrets are never in the file: it names the environment variable or file holding them.
A broken config gives one message naming the file, the key and what is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lmsbridge.adapters.profile import PlatformProfile
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import ConfigError, SecretError

DEFAULT_CONFIG_NAME = "lmsbridge.toml"
MAX_CONFIG_BYTES = 1_000_000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgreementConfig(_Section):
    """The pilot agreement's term and single contact point (seed 002)."""

    contact_point: str = Field(default="kslaring@ks.no", description="All contact with KS Læring about sharing.")
    start: date = Field(default=date(2016, 7, 1), description="The agreement took effect on this date.")
    term_months: int = Field(default=12, ge=1, le=120, description="Length of one term («ett år»).")
    renewals: list[date] = Field(default_factory=list, description="Dates on which the agreement was renewed.")


class OperatorConfig(_Section):
    """Who runs lmsbridge: recorded as the actor of every ledger event."""

    name: str = Field(default="", description="Operator's name (or set LMSBRIDGE_OPERATOR__NAME).")
    email: str = ""
    organisation: str = Field(default="", description="Operator's organisation: must own a course to approve/revoke.")


class SmtpConfig(_Section):
    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str = "lmsbridge@localhost"
    timeout_seconds: float = 30.0


IdentityKey = Literal["idnumber", "email", "username"]
DEFAULT_IDENTITY_KEYS: tuple[IdentityKey, ...] = ("idnumber", "email", "username")


class SyncConfig(_Section):
    identity_keys: list[IdentityKey] = Field(default_factory=lambda: list(DEFAULT_IDENTITY_KEYS))
    unmatched: Literal["skip", "create"] = "skip"
    enrol_missing: bool = True
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    page_size: int = Field(default=500, ge=10, le=5000)
    pseudonym_secret_env: str = "LMSBRIDGE_PSEUDONYM_SECRET"  # noqa: S105 - the variable's name
    pseudonym_secret_file: Path | None = None


class CertificateCourse(_Section):
    """Certificate settings for one owner course (keyed by shortname in the config)."""

    due: date
    grace_days: int = Field(default=30, ge=0)
    points: float = Field(default=0.0, ge=0)
    activity_points: dict[str, float] = Field(default_factory=dict)
    platform: str | None = None


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LMSBRIDGE_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    agreement: AgreementConfig = Field(default_factory=AgreementConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    ledger: str = Field(default="lmsbridge.db", description="SQLite path or postgresql:// URL.")
    outbox: Path = Field(default=Path("outbox"), description="Folder for .eml files of requests and notices.")
    smtp: SmtpConfig | None = None
    platforms: dict[str, PlatformProfile] = Field(default_factory=dict)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    certificates: dict[str, CertificateCourse] = Field(default_factory=dict)
    #: Where the config was read from (relative paths are resolved against its folder).
    source: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (the file arrives as init kwargs).
        return (env_settings, init_settings)

    def platform(self, name: str) -> PlatformProfile:
        try:
            return self.platforms[name]
        except KeyError:
            known = ", ".join(sorted(self.platforms)) or "none"
            raise ConfigError(f"no platform named {name!r} (configured: {known})", key="platforms") from None

    def platforms_by_role(self, role: PlatformRole) -> list[PlatformProfile]:
        return [p for p in self.platforms.values() if p.role == role]

    def platform_of(self, organisation: str) -> PlatformProfile | None:
        for profile in self.platforms.values():
            if profile.organisation.casefold() == organisation.casefold():
                return profile
        return None

    def resolve(self, path: Path) -> Path:
        base = self.source.parent if self.source else Path.cwd()
        return path if path.is_absolute() else base / path

    def ledger_url(self) -> str:
        if "://" in self.ledger or self.ledger == ":memory:":
            return self.ledger
        return str(self.resolve(Path(self.ledger)))

    def outbox_dir(self) -> Path:
        return self.resolve(self.outbox)


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("LMSBRIDGE_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.exists() else None


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    key = ".".join(str(part) for part in error.get("loc", ()))
    return key, str(error.get("msg", "invalid"))


def parse_config(data: dict[str, Any], *, source: Path | None = None) -> Config:
    """Validate config data (already read from TOML); names the first bad key in the error."""
    for name, platform in (data.get("platforms") or {}).items():
        if isinstance(platform, dict):
            platform.setdefault("name", name)
    try:
        return Config(**data, source=source)
    except ValidationError as exc:
        key, message = _describe(exc.errors()[0])
        extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(message + extra, path=str(source) if source else None, key=key) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file; environment variables override its values."""
    found = default_config_path(path)
    if found is None:
        raise ConfigError(
            "no configuration file: give --config FILE, set LMSBRIDGE_CONFIG, or create ./lmsbridge.toml "
            "(see examples/lmsbridge.toml)"
        )
    try:
        raw = found.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(found)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("file is too large for a configuration file", path=str(found))
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(found)) from None
    return parse_config(data, source=found.resolve())


def read_secret(*, env: str | None, file: Path | None, what: str, base: Path | None = None) -> SecretStr:
    """Read a secret from an environment variable or a file. Messages name the source, never the value."""
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise SecretError(f"{what}: environment variable {env} is not set or empty")
        return SecretStr(value)
    if file:
        target = file if file.is_absolute() or base is None else base / file
        try:
            value = target.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {target} ({exc.strerror or exc})") from None
        if not value:
            raise SecretError(f"{what}: {target} is empty")
        return SecretStr(value)
    raise SecretError(f"{what}: no token_env or token_file configured")


def platform_token(config: Config, profile: PlatformProfile) -> SecretStr:
    base = config.source.parent if config.source else None
    return read_secret(
        env=profile.token_env, file=profile.token_file, what=f"token for platform {profile.name!r}", base=base
    )
