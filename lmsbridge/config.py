"""The configuration file (TOML) and its environment overrides.

Path: ``--config`` or ``LMSBRIDGE_CONFIG``, else ``./lmsbridge.toml``. Any value can be overridden
from the environment with ``LMSBRIDGE_`` and ``__`` between levels, e.g.
``LMSBRIDGE_PLATFORMS__KS__URL=https://…`` or ``LMSBRIDGE_LEDGER=/var/lib/lmsbridge/ledger.db``.
Tokens and secrets are never in the file: it names the environment variable or file holding them.
A broken config gives one message naming the file, the key and what is wrong.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lmsbridge import i18n
from lmsbridge.adapters.profile import PlatformProfile
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import ConfigError, SecretError
from lmsbridge.i18n import N_, Message

DEFAULT_CONFIG_NAME = "lmsbridge.toml"
MAX_CONFIG_BYTES = 1_000_000

# A ConfigError puts "<file>: <key>: " in front of these.

# pydantic error type -> (message code, the context value shown as {limit}/{expected})
_PROBLEMS: dict[str, tuple[str, str | None]] = {
    "missing": (N_("config.problem.missing"), None),
    "extra_forbidden": (N_("config.problem.extra_forbidden"), None),
    "literal_error": (N_("config.problem.one_of"), "expected"),
    "enum": (N_("config.problem.one_of"), "expected"),
    "int_type": (N_("config.problem.int"), None),
    "int_parsing": (N_("config.problem.int"), None),
    "int_from_float": (N_("config.problem.int"), None),
    "float_type": (N_("config.problem.number"), None),
    "float_parsing": (N_("config.problem.number"), None),
    "bool_type": (N_("config.problem.bool"), None),
    "bool_parsing": (N_("config.problem.bool"), None),
    "string_type": (N_("config.problem.text"), None),
    "date_type": (N_("config.problem.date"), None),
    "date_parsing": (N_("config.problem.date"), None),
    "date_from_datetime_parsing": (N_("config.problem.date"), None),
    "date_from_datetime_inexact": (N_("config.problem.date"), None),
    "dict_type": (N_("config.problem.table"), None),
    "model_type": (N_("config.problem.table"), None),
    "model_attributes_type": (N_("config.problem.table"), None),
    "list_type": (N_("config.problem.list"), None),
    "greater_than_equal": (N_("config.problem.ge"), "ge"),
    "greater_than": (N_("config.problem.gt"), "gt"),
    "less_than_equal": (N_("config.problem.le"), "le"),
    "less_than": (N_("config.problem.lt"), "lt"),
}

#: Labels of the secrets other modules read (``read_secret(what=…)``): their English names, as
#: lmsbridge.sync passes them, → the message code of the label in the user's language.
_SECRET_LABELS: dict[str, str] = {"pseudonym secret": N_("secret.what.pseudonym")}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgreementConfig(_Section):
    """The pilot agreement's term and single contact point (seed 002)."""

    contact_point: str = Field(default="kslaring@ks.no", description="All contact with KS Læring about sharing.")
    start: date = Field(default=date(2016, 7, 1), description="The agreement took effect on this date.")
    term_months: int = Field(default=12, ge=1, le=120, description="Length of one term («ett år»).")
    renewals: list[date] = Field(default_factory=list, description="Dates on which the agreement was renewed.")
    warn_days: int = Field(default=60, ge=0, le=366,
                           description="Warn (doctor, share request) when fewer days than this remain of the term.")


class OperatorConfig(_Section):
    """Who signs the e-mails lmsbridge writes. Never who acted: the platforms say that (``lmsbridge login``)."""

    name: str = Field(default="", description="Name under the e-mails (or set LMSBRIDGE_OPERATOR__NAME).")
    email: str = ""
    organisation: str = Field(default="", description="Organisation under the e-mails.")


class LoginConfig(_Section):
    """Where ``lmsbridge login`` keeps each person's own key (personal token) to a platform."""

    store: Literal["auto", "keyring", "file"] = Field(
        default="auto",
        description="auto: the OS keyring when there is one, else the file; keyring or file: only that.")
    file: Path | None = Field(
        default=None,
        description="The file (mode 0600) used without a keyring. Default: <user config dir>/lmsbridge/personal-tokens.json.")


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
    #: Pairs of platforms whose usernames name the same people (one user directory behind both, e.g. one
    #: single sign-on). Usernames belong to each site: between any other two, "username" is not compared.
    username_pairs: list[tuple[str, str]] = Field(
        default_factory=list, description="Platform pairs (either direction) that share usernames; default none.")
    unmatched: Literal["skip", "create"] = "skip"
    enrol_missing: bool = True
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    page_size: int = Field(default=500, ge=10, le=5000)
    pseudonym_secret_env: str = "LMSBRIDGE_PSEUDONYM_SECRET"  # noqa: S105 - the variable's name
    pseudonym_secret_file: Path | None = None

    def usernames_shared(self, one: str, other: str) -> bool:
        """May usernames match between platforms ``one`` and ``other``? (``username_pairs``, either order)"""
        return any({one, other} == set(pair) for pair in self.username_pairs)


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
    login: LoginConfig = Field(default_factory=LoginConfig)
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

    @model_validator(mode="after")
    def _pairs_name_platforms(self) -> Config:
        for pair in self.sync.username_pairs:
            unknown = [name for name in pair if name not in self.platforms]
            if unknown or pair[0] == pair[1]:
                known: str | Message = ", ".join(sorted(self.platforms)) or Message("config.no_platforms")
                raise ValueError(Message("config.username_pair", pair=" & ".join(pair), known=known))
        return self

    def platform(self, name: str) -> PlatformProfile:
        try:
            return self.platforms[name]
        except KeyError:
            known: str | Message = ", ".join(sorted(self.platforms)) or Message("config.no_platforms")
            raise ConfigError(Message("config.no_platform", name=name, known=known), key="platforms") from None

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


def _describe(error: Mapping[str, Any]) -> tuple[str, Message]:
    """The key and the problem of one pydantic error, as a message.

    Our own validators raise ``ValueError(Message)``; pydantic's text stays (English) only for an error type
    not in ``_PROBLEMS``."""
    key = ".".join(str(part) for part in error.get("loc", ()))
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "value_error":
        raised = context.get("error")
        own = raised.args[0] if isinstance(raised, ValueError) and raised.args else None
        if isinstance(own, Message):
            return key, own
        return key, Message.text(str(error.get("msg", kind)).removeprefix("Value error, "))
    known = _PROBLEMS.get(kind)
    if known is None:
        return key, Message.text(str(error.get("msg", kind)))
    code, context_key = known
    value = context.get(context_key) if context_key else None
    if context_key == "expected" and isinstance(value, str):
        value = _alternatives(value)
    return key, Message(code, expected=value, limit=value)


def _alternatives(expected: str) -> str | Message:
    """pydantic's "'skip' or 'create'" → «skip» eller «create» (the values stay as they are written)."""
    values = re.findall(r"'([^']*)'", expected)
    if len(values) < 2:
        return expected
    quoted = [f"«{v}»" for v in values]
    return Message("config.alternatives", some=", ".join(quoted[:-1]), last=quoted[-1])


def parse_config(data: dict[str, Any], *, source: Path | None = None) -> Config:
    """Validate config data (already read from TOML); names the first bad key in the error."""
    platforms = data.get("platforms")
    for name, platform in (platforms.items() if isinstance(platforms, dict) else ()):
        if isinstance(platform, dict):
            platform.setdefault("name", name)
    try:
        return Config(**data, source=source)
    except ValidationError as exc:
        key, problem = _describe(exc.errors(include_url=False)[0])
        if exc.error_count() > 1:
            problem = Message("config.and_more", problem=problem, more=Message("config.more", n=exc.error_count() - 1))
        raise ConfigError(problem, path=str(source) if source else None, key=key) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file; environment variables override its values."""
    found = default_config_path(path)
    if found is None:
        raise ConfigError(Message("config.none"))
    try:
        raw = found.read_bytes()
    except OSError as exc:
        raise ConfigError(Message("config.unreadable", reason=i18n.os_reason(exc)), path=str(found)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(Message("config.too_large", limit=MAX_CONFIG_BYTES), path=str(found))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(Message("config.not_utf8"), path=str(found)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Message("config.bad_toml", detail=exc), path=str(found)) from None
    return parse_config(data, source=found.resolve())


def read_secret(*, env: str | None, file: Path | None, what: str | Message,
                base: Path | None = None) -> SecretStr:
    """Read a secret from an environment variable or a file. Messages name the source, never the value.

    ``what`` names the secret in messages: a message, or a label of ``_SECRET_LABELS``."""
    if isinstance(what, str) and what in _SECRET_LABELS:
        what = Message(_SECRET_LABELS[what])
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise SecretError(Message("secret.env_missing", what=what, env=env))
        return SecretStr(value)
    if file:
        target = file if file.is_absolute() or base is None else base / file
        try:
            value = target.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            # never show a part of the file: it is a secret
            raise SecretError(Message("secret.not_utf8", what=what, path=target)) from None
        except OSError as exc:
            raise SecretError(
                Message("secret.unreadable", what=what, path=target, reason=i18n.os_reason(exc))
            ) from None
        if not value:
            raise SecretError(Message("secret.empty", what=what, path=target))
        return SecretStr(value)
    raise SecretError(Message("secret.none", what=what))


def platform_token(config: Config, profile: PlatformProfile) -> SecretStr:
    base = config.source.parent if config.source else None
    what = Message("secret.what.token", platform=profile.name)
    return read_secret(env=profile.token_env, file=profile.token_file, what=what, base=base)


def known_secrets(config: Config) -> list[SecretStr]:
    """Every secret the configuration names that can be read now, for the transports' redactor: each
    platform's token, the password of each platform URL, the SMTP password, the pseudonym secret and the
    ledger URL's password. Never raises: a secret that cannot be read cannot be echoed either."""
    base = config.source.parent if config.source else None
    found: list[SecretStr] = []
    for profile in config.platforms.values():
        with contextlib.suppress(SecretError):
            found.append(platform_token(config, profile))
        if profile.credentials is not None:
            found.append(profile.credentials[1])
    sources: list[tuple[str | None, Path | None]] = [
        (config.smtp.password_env if config.smtp else None, None),
        (None if config.sync.pseudonym_secret_file else config.sync.pseudonym_secret_env,
         config.sync.pseudonym_secret_file),
    ]
    for env, file in sources:
        if env or file:
            with contextlib.suppress(SecretError):
                found.append(read_secret(env=env, file=file, what="secret", base=base))
    ledger = urlsplit(config.ledger) if "://" in config.ledger else None
    with contextlib.suppress(ValueError):
        if ledger is not None and ledger.password:
            found.append(SecretStr(unquote(ledger.password)))
    return found
