"""What every command may need, built lazily: the config, a client per platform, the output mode."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from pydantic import SecretStr
from rich.table import Table

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.config import Config, known_secrets, load_config, platform_token
from lmsbridge.i18n import N_
from lmsbridge.keystore import KeyStore, open_store
from lmsbridge.workflows.acting import Keys


@dataclass
class AppContext:
    config_path: str | None = None
    #: ``--json``: the command prints JSON (its errors too), wherever on the line it was given.
    json: bool = False
    _config: Config | None = field(default=None, repr=False)
    _secrets: list[SecretStr] | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def use_config(self, config: Config) -> None:
        """Install an already-built config (the demo and tests do this)."""
        self._config = config

    def ledger_url(self) -> str:
        return self.config().ledger_url()

    def secrets(self) -> list[SecretStr]:
        """Every secret the configuration names (read once): no platform's answer may show one."""
        if self._secrets is None:
            self._secrets = known_secrets(self.config())
        return self._secrets

    def client(self, platform: str, *, dry_run: bool = False, retry: RetryPolicy | None = None,
               token: SecretStr | None = None) -> MoodleClient:
        """The platform's client with the lmsbridge service's token (or ``token``: a person's own)."""
        config = self.config()
        profile = config.platform(platform)
        transport = MoodleTransport(
            profile.url,
            token or platform_token(config, profile),
            fmt=profile.format,
            timeout=(min(10.0, profile.timeout_seconds), profile.timeout_seconds),
            retry=retry or RetryPolicy(attempts=profile.retry_attempts, max_time=profile.retry_max_seconds),
            name=profile.name,
            secrets=self.secrets(),
            credentials=profile.credentials,
        )
        return MoodleClient(transport, dry_run=dry_run)

    def key_store(self) -> KeyStore:
        return open_store(self.config())

    def keys(self, service: dict[str, MoodleClient] | None = None) -> Keys:
        """The acting person's keys (``lmsbridge login``), checked against the service's ``service`` clients."""
        cache = service if service is not None else {}

        def service_client(name: str) -> MoodleClient:
            if name not in cache:
                cache[name] = self.client(name)
            return cache[name]

        return Keys(store=self.key_store(), personal=lambda name, token: self.client(name, token=token),
                    service=service_client, profiles=dict(self.config().platforms))

    def clients(self, *, dry_run: bool = False) -> dict[str, MoodleClient]:
        return {name: self.client(name, dry_run=dry_run) for name in self.config().platforms}


def app(ctx: click.Context) -> AppContext:
    """The invocation's ``AppContext``, made on the outermost context the first time it is asked for (a global
    option's callback, before the root's own callback runs, asks first)."""
    obj = ctx.find_object(AppContext)
    if obj is None:
        root = ctx.find_root()
        obj = AppContext()
        if root.obj is None:
            root.obj = obj
        ctx.obj = obj
    return obj


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def is_terminal() -> bool:
    return sys.stderr.isatty()


# Column headers and titles of the CLI's tables (the JSON and CSV keys stay English and stable).

#: Column name → its header's message code.
COLUMNS: dict[str, str] = {
    "already": N_("col.already"),
    "already_there": N_("col.already_there"),
    "borrower_lacks": N_("col.borrower_lacks"),
    "learners": N_("col.learners"),
    "owner_lacks": N_("col.owner_lacks"),
    "without_owner_account": N_("col.without_owner_account"),
    "attempts": N_("col.attempts"),
    "completions": N_("col.completions"),
    "course": N_("col.course"),
    "cursor": N_("col.cursor"),
    "direction": N_("col.direction"),
    "done": N_("col.done"),
    "failed": N_("col.failed"),
    "group": N_("col.group"),
    "item": N_("col.item"),
    "kind": N_("col.kind"),
    "last_failed": N_("col.last_failed"),
    "listed": N_("col.listed"),
    "manual": N_("col.manual"),
    "missing": N_("col.missing"),
    "name": N_("col.name"),
    "path": N_("col.path"),
    "points": N_("col.points"),
    "read": N_("col.read"),
    "reason": N_("col.reason"),
    "share": N_("col.share"),
    "status": N_("col.status"),
    "unmatched": N_("col.unmatched"),
    "who": N_("col.who"),
    "written": N_("col.written"),
}

NUMERIC_COLUMNS = frozenset({"listed", "read", "written", "already", "already_there", "unmatched", "failed",
                             "completions", "attempts", "learners", "owner_lacks", "borrower_lacks",
                             "without_owner_account"})


def table(title: str, columns: list[str]) -> Table:
    """A rich table with the columns' headers in the user's language (``columns`` are keys of ``COLUMNS``)."""
    out = Table(title=title)
    for column in columns:
        out.add_column(i18n.t(COLUMNS[column]), justify="right" if column in NUMERIC_COLUMNS else "left")
    return out
