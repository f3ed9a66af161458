"""The configuration file (TOML), where it is found, and its environment overrides.

Where: ``--config FILE``, else ``$LMSBRIDGE_CONFIG``, else the first that exists of ``./lmsbridge.toml``,
``~/.config/lmsbridge/lmsbridge.toml`` (``$XDG_CONFIG_HOME``) and ``/etc/lmsbridge/lmsbridge.toml``
(``find_config``). A file or variable that is named but missing is an error, never a reason to look further.

Any value can be overridden from the environment with ``LMSBRIDGE_`` and ``__`` between levels, e.g.
``LMSBRIDGE_PLATFORMS__KS__URL=https://…`` or ``LMSBRIDGE_LEDGER=/var/lib/lmsbridge/ledger.db``; a list or a
table is written as JSON. An override changes a platform or certificate course the file has, never adds one.
Tokens and secrets are never in the file: it names the environment variable or file holding them.

Strict: a key the schema does not have, anywhere in the file, is an error naming the file, the key and the
nearest valid key; so is a variable that addresses into the configuration but matches no key
(``LMSBRIDGE_PLATFORMS__KS__URLL``) or whose name is a near miss of a top-level key (``LMSBRIDGE_LEDGR``): the
operator meant an override that would otherwise silently not happen. A variable that is neither (another
tool's, a token named by no platform) is only a warning (``Config.warnings``, shown by ``doctor`` and
``config show``), since the prefix is shared. Every problem of a file is reported at once (``ConfigError``'s
``problems``). A file must configure at least one platform. Each value remembers where it came from
(``Config.origin``): the file, a variable, or the default.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import sys
import tomllib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from lmsbridge import i18n
from lmsbridge.adapters.profile import PlatformProfile
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import ConfigError, ConfigProblem, LedgerError, SecretError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger.database import parse_location, redact

DEFAULT_CONFIG_NAME = "lmsbridge.toml"
MAX_CONFIG_BYTES = 1_000_000
#: The system-wide configuration, the last place looked.
SYSTEM_CONFIG = Path("/etc/lmsbridge") / DEFAULT_CONFIG_NAME

ENV_PREFIX = "LMSBRIDGE_"
ENV_DELIMITER = "__"
#: lmsbridge's own variables that are not configuration keys (the CLI's, the report's browser, the tests' and
#: CI's): never flagged as typos.
NON_CONFIG_VARIABLES = frozenset({"LMSBRIDGE_CONFIG", "LMSBRIDGE_LANG", "LMSBRIDGE_CHROMIUM",
                                  "LMSBRIDGE_REQUIRE_BROWSER"})
NON_CONFIG_PREFIXES = ("LMSBRIDGE_TEST_", "LMSBRIDGE_CI_")
#: How alike a variable's first part and a top-level key must be for the variable to count as a mistyped
#: override (difflib's ratio): LEDGR/ledger is 0.91, LP_TOKEN/login 0.46. A whole name counts when it is even
#: closer to a configuration variable's (OPERATOR_NAME/OPERATOR__NAME: 0.96).
NEAR_MISS = 0.8

# pydantic error type -> (message code, the context value shown as {limit}/{expected})
_PROBLEMS: dict[str, tuple[str, str | None]] = {
    "missing": (N_("config.problem.missing"), None),
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
    "tuple_type": (N_("config.problem.list"), None),
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
    #: A learner with no account on the owner (policy skip) is looked up there again only this long after the
    #: last try (``--full`` looks again at once): not on every run (issue 15 item 5).
    unmatched_retry_hours: float = Field(default=24.0, ge=0, le=24 * 365)
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


@dataclass(frozen=True)
class Origin:
    """Where a value came from: the configuration file, an environment variable, or the default."""

    kind: Literal["file", "env", "default"]
    #: The file's path or the variable's name ("" for the default).
    name: str = ""

    def message(self) -> Message:
        if self.kind == "env":
            return Message("config.origin.env", name=self.name)
        if self.kind == "file":
            return Message("config.origin.file", path=self.name)
        return Message("config.origin.default")

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agreement: AgreementConfig = Field(default_factory=AgreementConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    login: LoginConfig = Field(default_factory=LoginConfig)
    ledger: str | None = Field(
        default=None, description="SQLite path (relative to this file) or postgresql:// URL. Required by every "
        "command that reads or writes the ledger; `lmsbridge init` creates it.")
    outbox: Path = Field(default=Path("outbox"), description="Folder for .eml files of requests and notices.")
    smtp: SmtpConfig | None = None
    platforms: dict[str, PlatformProfile] = Field(default_factory=dict)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    certificates: dict[str, CertificateCourse] = Field(default_factory=dict)

    #: Where the config was read from (relative paths are resolved against its folder).
    _source: Path | None = PrivateAttr(default=None)
    #: Dotted key → the variable that set it.
    _from_env: dict[str, str] = PrivateAttr(default_factory=dict)
    #: Dotted keys the file sets.
    _from_file: frozenset[str] = PrivateAttr(default=frozenset())
    _warnings: tuple[Message, ...] = PrivateAttr(default=())

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def warnings(self) -> tuple[Message, ...]:
        """What was ignored but may be a mistake (a variable with the prefix that is no configuration key)."""
        return self._warnings

    def origin(self, key: str) -> Origin:
        """Where the value of dotted ``key`` (``ledger``, ``platforms.ks.url``) came from."""
        parts = key.split(".")
        prefixes = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
        for prefix in prefixes:
            if prefix in self._from_env:
                return Origin("env", self._from_env[prefix])
        if any(prefix in self._from_file for prefix in prefixes) and self._source is not None:
            return Origin("file", str(self._source))
        return Origin("default")

    def key_label(self, key: str) -> str:
        """``key`` as an error names it: the variable too when one set it."""
        found = self.origin(key)
        return f"${found.name} ({key})" if found.kind == "env" else key

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

    def ledger_url(self, *, create: bool = False) -> str:
        """The ledger's address. No ``ledger`` configured, or (unless ``create``: the commands that begin a
        record) a SQLite file that does not exist, is a configuration error naming where the path came from:
        a mistyped path must not become a new, empty ledger that every later run silently agrees with."""
        where = str(self.source) if self.source else None
        if not (self.ledger or "").strip():
            raise ConfigError(Message("config.no_ledger"), path=where, key="ledger")
        ledger = str(self.ledger)
        url = ledger if "://" in ledger or ledger == ":memory:" else str(self.resolve(Path(ledger).expanduser()))
        try:
            location = parse_location(url)
        except LedgerError as exc:
            raise ConfigError(exc.message, path=where, key=self.key_label("ledger")) from None
        missing = location.dialect == "sqlite" and not location.is_memory and not Path(location.target).exists()
        if missing and not create:
            raise ConfigError(Message("config.ledger_missing", path=location.target,
                                      origin=self.origin("ledger").message()),
                              path=where, key=self.key_label("ledger"))
        return url

    def outbox_dir(self) -> Path:
        return self.resolve(self.outbox)


# --- where the file is ---------------------------------------------------------------------------


def user_config_dir(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> Path:
    """The user's configuration folder: %APPDATA% on Windows, ~/Library/Application Support on macOS,
    $XDG_CONFIG_HOME or ~/.config elsewhere."""
    values = os.environ if env is None else env
    if platform.startswith("win") and values.get("APPDATA"):
        return Path(values["APPDATA"])
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    xdg = values.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if xdg else Path.home() / ".config"


#: How a configuration file was found, in the order they are tried.
FoundBy = Literal["option", "env", "cwd", "user", "system"]


@dataclass(frozen=True)
class FoundConfig:
    path: Path
    found_by: FoundBy
    #: Files further down the order that exist but are not read.
    shadowed: tuple[Path, ...] = ()

    def message(self) -> Message:
        return Message(f"config.found.{self.found_by}")


N_("config.found.option"), N_("config.found.env"), N_("config.found.cwd"), N_("config.found.user")
N_("config.found.system")


def search_path() -> list[tuple[FoundBy, Path]]:
    """The places looked in when neither ``--config`` nor ``$LMSBRIDGE_CONFIG`` names a file, in order."""
    return [("cwd", Path.cwd() / DEFAULT_CONFIG_NAME),
            ("user", user_config_dir() / "lmsbridge" / DEFAULT_CONFIG_NAME),
            ("system", SYSTEM_CONFIG)]


def find_config(explicit: str | os.PathLike[str] | None = None, *, found_by: FoundBy = "option") -> FoundConfig | None:
    """The configuration file to read: ``explicit`` (``--config``; ``found_by`` says whether the CLI had it from
    the option or from ``$LMSBRIDGE_CONFIG``), else ``$LMSBRIDGE_CONFIG``, else the first of ``search_path()``
    that exists. None when there is none."""
    if explicit:
        return FoundConfig(Path(explicit), found_by)
    env = os.environ.get("LMSBRIDGE_CONFIG")
    if env:
        return FoundConfig(Path(env), "env")
    existing = [(how, path) for how, path in search_path() if path.is_file()]
    if not existing:
        return None
    (how, path), rest = existing[0], existing[1:]
    return FoundConfig(path, how, tuple(p for _, p in rest))


# --- reading and checking ------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file (``find_config(path)``); environment variables override its
    values. Every problem of the file and the environment in one ``ConfigError``."""
    found = find_config(path)
    if found is None:
        raise ConfigError(Message("config.none", places=tuple(str(p) for _, p in search_path())))
    data = read_config_file(found.path)
    return parse_config(data, source=found.path.resolve(), require_platform=True)


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML table of the file at ``path`` (bounded, UTF-8, valid TOML), or a ``ConfigError`` naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(Message("config.unreadable", reason=i18n.os_reason(exc)), path=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(Message("config.too_large", limit=MAX_CONFIG_BYTES), path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(Message("config.not_utf8"), path=str(path)) from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Message("config.bad_toml", detail=exc), path=str(path)) from None
    return data


def parse_config(data: Mapping[str, Any], *, source: Path | None = None, environ: Mapping[str, str] | None = None,
                 require_platform: bool = False) -> Config:
    """Validate config data (already read from TOML) with the environment's overrides; every bad key in the
    error. ``require_platform``: a configuration without any platform is an error (the CLI's files)."""
    data = _named_platforms(dict(data))
    file_keys = frozenset(key for key in _dotted_keys(data, leaves=True) if not _filled_in(key))
    overlay = _EnvironmentOverlay(data, os.environ if environ is None else environ)
    merged = overlay.apply()
    problems = list(overlay.problems)
    config: Config | None = None
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        # in the order of the file (pydantic names unknown keys last)
        order = {key: index for index, key in enumerate(_dotted_keys(merged))}
        errors = sorted(exc.errors(include_url=False), key=lambda error: _rank(error, order))
        problems[:0] = [_problem(error, overlay.origins) for error in errors]
    if require_platform and not merged.get("platforms") and not any(p.key.startswith("platforms") for p in problems):
        problems.append(ConfigProblem("platforms", Message("config.no_platforms_configured")))
    problems += _username_pair_problems(merged, overlay.origins)
    if problems or config is None:
        raise ConfigError(path=str(source) if source else None, problems=problems)
    config._source = source
    config._from_env = dict(overlay.origins)
    config._from_file = file_keys
    config._warnings = tuple(overlay.warnings)
    return config


def _username_pair_problems(data: Mapping[str, Any], from_env: Mapping[str, str]) -> list[ConfigProblem]:
    """``[sync] username_pairs`` name two different platforms the configuration has (checked on the data, so
    that its problem is told together with every other one of the file)."""
    sync = data.get("sync")
    pairs = sync.get("username_pairs") if isinstance(sync, Mapping) else None
    platforms = data.get("platforms")
    names = sorted(str(name) for name in platforms) if isinstance(platforms, Mapping) else []
    key = "sync.username_pairs"
    label = f"${from_env[key]} ({key})" if key in from_env else key
    found = []
    for pair in pairs if isinstance(pairs, list) else ():
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(n, str) for n in pair)):
            continue  # the schema's problem, told already
        if pair[0] == pair[1] or any(name not in names for name in pair):
            known: str | Message = ", ".join(names) or Message("config.no_platforms")
            found.append(ConfigProblem(label, Message("config.username_pair", pair=" & ".join(pair), known=known)))
    return found


def _named_platforms(data: dict[str, Any]) -> dict[str, Any]:
    """Each ``[platforms.<name>]`` gets its ``name`` from its key."""
    platforms = data.get("platforms")
    if isinstance(platforms, dict):
        data["platforms"] = {name: ({"name": name, **platform} if isinstance(platform, dict) else platform)
                             for name, platform in platforms.items()}
    return data


def _dotted_keys(data: Mapping[str, Any], prefix: str = "", *, leaves: bool = False) -> Iterator[str]:
    """Every key of ``data`` in its order, dotted (with ``leaves``: only those that hold a value, not a table)."""
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if not (leaves and isinstance(value, Mapping) and value):
            yield dotted
        if isinstance(value, Mapping):
            yield from _dotted_keys(value, dotted + ".", leaves=leaves)



def _filled_in(key: str) -> bool:
    """A key the loader fills in itself: a platform's name (its key)."""
    parts = key.split(".")
    return len(parts) == 3 and parts[0] == "platforms" and parts[2] == "name"


def _rank(error: ErrorDetails, order: Mapping[str, int]) -> int:
    """Where the error's key (or the table it belongs in) is in the file."""
    loc = [str(part) for part in error.get("loc", ())]
    return next((order[".".join(loc[:n])] for n in range(len(loc), 0, -1) if ".".join(loc[:n]) in order), len(order))


def _problem(error: ErrorDetails, from_env: Mapping[str, str]) -> ConfigProblem:
    """One pydantic error as a problem: its key (with the variable that set it) and what is wrong."""
    loc = [str(part) for part in error.get("loc", ())]
    key = ".".join(loc)
    variable = next((from_env[".".join(loc[:n])] for n in range(len(loc), 0, -1) if ".".join(loc[:n]) in from_env),
                    None)
    label = f"${variable} ({key})" if variable else key
    if error.get("type") == "extra_forbidden":
        return ConfigProblem(label, _unknown_key(loc[-1], valid_keys(loc[:-1])))
    return ConfigProblem(label, _describe(error))


def _unknown_key(key: str, valid: list[str]) -> Message:
    near = nearest(key, valid)
    if near:
        return Message("config.problem.unknown_near", near=near)
    return Message("config.problem.unknown", valid=", ".join(valid))


def nearest(word: str, candidates: list[str], cutoff: float = 0.6) -> str | None:
    """The candidate most like ``word`` (difflib), or None when none is alike enough."""
    found = difflib.get_close_matches(word.casefold(), [c.casefold() for c in candidates], n=1, cutoff=cutoff)
    return next((c for c in candidates if found and c.casefold() == found[0]), None)


def _describe(error: ErrorDetails) -> Message:
    """The problem of one pydantic error, as a message.

    Our own validators raise ``ValueError(Message)``; pydantic's text stays (English) only for an error type
    not in ``_PROBLEMS``."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "value_error":
        raised = context.get("error")
        own = raised.args[0] if isinstance(raised, ValueError) and raised.args else None
        if isinstance(own, Message):
            return own
        return Message.text(str(error.get("msg", kind)).removeprefix("Value error, "))
    known = _PROBLEMS.get(kind)
    if known is None:
        return Message.text(str(error.get("msg", kind)))
    code, context_key = known
    value = context.get(context_key) if context_key else None
    if context_key == "expected" and isinstance(value, str):
        value = _alternatives(value)
    return Message(code, expected=value, limit=value)


def _alternatives(expected: str) -> str | Message:
    """pydantic's "'skip' or 'create'" → «skip» eller «create» (the values stay as they are written)."""
    values = re.findall(r"'([^']*)'", expected)
    if len(values) < 2:
        return expected
    quoted = [f"«{v}»" for v in values]
    return Message("config.alternatives", some=", ".join(quoted[:-1]), last=quoted[-1])


# --- the schema, walked by key -------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return _unwrap(inner[0])
    return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    kind = _unwrap(annotation)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _table_of(annotation: Any) -> Any | None:
    """The value type of a ``dict[str, X]`` annotation, else None."""
    kind = _unwrap(annotation)
    return get_args(kind)[1] if get_origin(kind) is dict else None


def _annotation_at(parts: list[str]) -> Any:
    """The annotation at a key path (``["platforms", "ks"]`` → PlatformProfile); None past the schema."""
    annotation: Any = Config
    for part in parts:
        model = _model(annotation)
        if model is not None:
            field = model.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
            continue
        annotation = _table_of(annotation)
        if annotation is None:
            return None
    return annotation


def valid_keys(parts: list[str]) -> list[str]:
    """The keys a table at ``parts`` may have (its model's fields), for the nearest-key suggestion."""
    model = _model(_annotation_at(parts))
    return [name for name in model.model_fields if not (model is PlatformProfile and name == "name")] if model else []


def _is_complex(annotation: Any) -> bool:
    """A list or table: written as JSON in an environment variable."""
    kind = _unwrap(annotation)
    return _model(kind) is not None or get_origin(kind) in (list, tuple, dict)


# --- the environment -----------------------------------------------------------------------------


class _EnvironmentOverlay:
    """The ``LMSBRIDGE_…`` variables over the file's data: the values they set (and which set what), the
    problems of those that address the configuration wrongly, and warnings for those that look like none of it."""

    def __init__(self, data: dict[str, Any], environ: Mapping[str, str]) -> None:
        self.data = data
        self.environ = environ
        self.origins: dict[str, str] = {}
        self.problems: list[ConfigProblem] = []
        self.warnings: list[Message] = []

    def apply(self) -> dict[str, Any]:
        merged: dict[str, Any] = _deep_copy(self.data)
        referenced = self._referenced()
        for name in sorted(self.environ):
            upper = name.upper()
            if not upper.startswith(ENV_PREFIX) or upper in referenced or upper in NON_CONFIG_VARIABLES \
                    or upper.startswith(NON_CONFIG_PREFIXES):
                continue
            self._one(name, self.environ[name], merged)
        return merged

    def _referenced(self) -> set[str]:
        """Variables the file names as where a secret is (tokens, the SMTP password, the pseudonym secret)."""
        names = {SyncConfig().pseudonym_secret_env}
        for section, key in (("smtp", "password_env"), ("sync", "pseudonym_secret_env")):
            table = self.data.get(section)
            if isinstance(table, dict) and isinstance(table.get(key), str):
                names.add(table[key])
        platforms = self.data.get("platforms")
        for platform in platforms.values() if isinstance(platforms, dict) else ():
            if isinstance(platform, dict) and isinstance(platform.get("token_env"), str):
                names.add(platform["token_env"])
        return {name.upper() for name in names}

    def _one(self, name: str, value: str, merged: dict[str, Any]) -> None:
        parts = name[len(ENV_PREFIX):].lower().split(ENV_DELIMITER)
        top = parts[0]
        if top not in Config.model_fields:
            near = nearest(top, list(Config.model_fields), cutoff=NEAR_MISS) or self._nearest_variable(
                name, 0.9, own=False)
            suggestion = self._nearest_variable(name)
            if near is None and len(parts) == 1:
                self.warnings.append(Message("config.env.ignored", name=name, near=_near_note(suggestion)))
            else:
                self.problems.append(ConfigProblem(f"${name}", Message("config.env.unknown", near=_near_note(suggestion))))
            return
        path: list[str] = []
        node: Any = merged
        annotation: Any = Config
        for index, part in enumerate(parts):
            model = _model(annotation)
            table = _table_of(annotation) if model is None else None
            if model is not None and part in model.model_fields:
                key, annotation = part, model.model_fields[part].annotation
            elif table is not None:
                existing = [str(k) for k in node] if isinstance(node, dict) else []
                key = next((k for k in existing if k.casefold() == part), "")
                if not key and _model(table) is not None:
                    # an override changes what the file has; a new platform or course comes from the file
                    near = nearest(part, existing)
                    self.problems.append(ConfigProblem(f"${name}", Message(
                        "config.env.no_entry", entry=part, table=".".join(path),
                        near=_near_note(f"«{near}»" if near else None))))
                    return
                key = key or part
                annotation = table
            else:
                suggestion = self._nearest_variable(name)
                self.problems.append(ConfigProblem(f"${name}", Message("config.env.unknown", near=_near_note(suggestion))))
                return
            path.append(key)
            if index < len(parts) - 1:
                child = node.get(key) if isinstance(node, dict) else None
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
        self._set(name, value, node, path, annotation)

    def _set(self, name: str, value: str, node: dict[str, Any], path: list[str], annotation: Any) -> None:
        parsed: Any = value
        if _is_complex(annotation):
            try:
                parsed = json.loads(value)
            except ValueError:
                self.problems.append(ConfigProblem(f"${name} ({'.'.join(path)})", Message("config.env.not_json")))
                return
        node[path[-1]] = parsed
        self.origins[".".join(path)] = name

    def _nearest_variable(self, name: str, cutoff: float = 0.6, *, own: bool = True) -> str | None:
        """The variable most like ``name``: a configuration key's, or (``own``) one of lmsbridge's other ones."""
        candidates = sorted((NON_CONFIG_VARIABLES if own else frozenset()) | set(_variables(Config, self.data, [])))
        near = nearest(name[len(ENV_PREFIX):], [c[len(ENV_PREFIX):] for c in candidates], cutoff)
        return f"${ENV_PREFIX}{near}" if near else None


def _near_note(near: str | None) -> Message | str:
    return Message("config.near", near=near) if near else ""


def _variables(annotation: Any, node: Any, path: list[str]) -> Iterator[str]:
    """Every variable that names a value of the configuration (the platforms and courses the file has)."""
    model = _model(annotation)
    table = _table_of(annotation) if model is None else None
    if model is not None:
        for name, field in model.model_fields.items():
            if model is not PlatformProfile or name != "name":
                yield from _variables(field.annotation, node.get(name) if isinstance(node, dict) else None, [*path, name])
    elif table is not None and _model(table) is not None and isinstance(node, dict):
        for key, child in node.items():
            yield from _variables(table, child, [*path, str(key)])
    else:
        yield ENV_PREFIX + ENV_DELIMITER.join(path).upper()


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_copy(value) for value in data]
    return data


# --- the values as they are in effect, for `config show` ------------------------------------------


@dataclass(frozen=True)
class Setting:
    key: str
    value: object
    origin: Origin


def settings(config: Config) -> list[Setting]:
    """Every value in effect, flattened to dotted keys, with where it came from; the ledger URL's password and
    a platform URL's user and password never shown (tokens and secrets are never in the configuration)."""
    found: list[Setting] = []
    dumped = config.model_dump(mode="json")
    for key, value in _flatten(dumped):
        if key == "ledger" and isinstance(value, str) and "://" in value:
            value = redact(value)
        found.append(Setting(key, value, config.origin(key)))
    for name, profile in config.platforms.items():
        if profile.credentials is not None:
            found.append(Setting(f"platforms.{name}.url_credentials", Message("config.show.hidden"),
                                 config.origin(f"platforms.{name}.url")))
    return found


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _flatten(child, f"{prefix}.{key}" if prefix else str(key))
    elif _filled_in(prefix):
        return
    else:
        yield prefix, value


# --- secrets -------------------------------------------------------------------------------------


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
    ledger = urlsplit(config.ledger) if config.ledger and "://" in config.ledger else None
    with contextlib.suppress(ValueError):
        if ledger is not None and ledger.password:
            found.append(SecretStr(unquote(ledger.password)))
    return found


# --- a new configuration file (lmsbridge init, sandbox serve --write-config) ------------------------------

#: Where a secret is read from: an environment variable's name, or a file (relative to the config).
SecretSource = tuple[Literal["env", "file"], str]

AGREEMENT_START = date(2016, 7, 1)


@dataclass(frozen=True)
class PlatformDraft:
    name: str
    title: str
    url: str
    role: PlatformRole
    organisation: str
    token: SecretSource
    #: The operator's own platform (the other is the partner's).
    ours: bool
    contact_point: str = ""
    share_category_id: int | None = None
    completion_report_id: int | None = None


@dataclass(frozen=True)
class CertificateDraft:
    course: str
    platform: str
    due: date


@dataclass(frozen=True)
class ConfigDraft:
    """What a new configuration file says; ``render_config`` writes it with its comments."""

    platforms: tuple[PlatformDraft, ...]
    organisation: str
    today: date
    operator_name: str = ""
    operator_email: str = ""
    ledger: str = "ledger.db"
    outbox: str = "outbox"
    pseudonym: SecretSource = ("env", SyncConfig().pseudonym_secret_env)
    #: The people's own keys in this 0600 file instead of the OS keyring.
    login_file: str | None = None
    renewals: tuple[date, ...] = ()
    certificates: tuple[CertificateDraft, ...] = ()
    written_by: str = "lmsbridge init"


def renewals_until(today: date, start: date = AGREEMENT_START) -> tuple[date, ...]:
    """A renewal on every anniversary up to today: an agreement in force."""
    return tuple(date(year, start.month, start.day) for year in range(start.year + 1, today.year + 1)
                 if date(year, start.month, start.day) <= today)


def render_config(draft: ConfigDraft) -> str:
    """The commented TOML of ``draft``: valid under the strict schema as it is written."""
    folder = resources.files("lmsbridge").joinpath("data")
    platform_template = folder.joinpath("init-platform.toml").read_text(encoding="utf-8")
    platforms = "".join(platform_template.format(
        name=p.name, whose="your platform" if p.ours else "the partner's platform", title=_toml(p.title),
        url=_toml(p.url), role=_toml(p.role.value), organisation=_toml(p.organisation),
        token=f"{_secret_line('token', p.token)}{' ' * 8}# the lmsbridge service's web-service token",
        contact_point=f"contact_point = {_toml(p.contact_point)}" if p.contact_point else
        '# contact_point = "e-laering@example.no"  # this party\'s contact point for shares and notices',
        share_category=f"share_category_id = {p.share_category_id}" if p.share_category_id else
        "# share_category_id = 3      # the category where the courses of borrowed shares are made",
        report=f"completion_report_id = {p.completion_report_id}" if p.completion_report_id else
        "# completion_report_id = 1   # the custom report «lmsbridge course completions»: a faster sync (README)",
    ) for p in draft.platforms)
    login = (f'store = "file"\nfile = {_toml(draft.login_file)}' if draft.login_file else
             'store = "auto"                   # the OS keyring when there is one, else a 0600 file; or "keyring" / "file"')
    certificates = "".join(
        f"\n[certificates.{_toml(c.course)}]  # certificate groups «Fullført 100%» / «Fullført, ikke 100%» / "
        f"«Inaktiv»\nplatform = {_toml(c.platform)}\ndue = {c.due.isoformat()}\ngrace_days = 30\n"
        for c in draft.certificates) or (
        '\n# [certificates."COURSE-SHORTNAME"]  # certificate groups «Fullført 100%» / «Fullført, ikke 100%» / '
        '«Inaktiv»\n# platform = "lp"\n# due = 2026-12-31\n# grace_days = 30\n# points = 2.0\n')
    return folder.joinpath("init.toml").read_text(encoding="utf-8").format(
        written_by=draft.written_by, today=draft.today.isoformat(), ledger=_toml(draft.ledger),
        outbox=_toml(draft.outbox), renewals=", ".join(d.isoformat() for d in draft.renewals),
        operator_name=_toml(draft.operator_name), operator_email=_toml(draft.operator_email),
        organisation=_toml(draft.organisation), login=login, platforms=platforms,
        pseudonym=_secret_line("pseudonym_secret", draft.pseudonym), certificates=certificates)


def _secret_line(key: str, source: SecretSource) -> str:
    kind, value = source
    return f"{key}_{kind} = {_toml(value)}"


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)
