"""What every command may need, built lazily: the config, a client per platform, the output mode."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from rich.table import Table

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.config import Config, load_config, platform_token


@dataclass
class AppContext:
    config_path: str | None = None
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def use_config(self, config: Config) -> None:
        """Install an already-built config (the demo and tests do this)."""
        self._config = config

    def ledger_url(self) -> str:
        return self.config().ledger_url()

    def client(self, platform: str, *, dry_run: bool = False, retry: RetryPolicy | None = None) -> MoodleClient:
        config = self.config()
        profile = config.platform(platform)
        transport = MoodleTransport(
            profile.url,
            platform_token(config, profile),
            fmt=profile.format,
            timeout=(min(10.0, profile.timeout_seconds), profile.timeout_seconds),
            retry=retry or RetryPolicy(attempts=profile.retry_attempts, max_time=profile.retry_max_seconds),
            name=profile.name,
        )
        return MoodleClient(transport, dry_run=dry_run)

    def clients(self, *, dry_run: bool = False) -> dict[str, MoodleClient]:
        return {name: self.client(name, dry_run=dry_run) for name in self.config().platforms}


def app(ctx: click.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked without the root group (tests)
        obj = AppContext()
        ctx.obj = obj
    return obj


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def is_terminal() -> bool:
    return sys.stderr.isatty()


# Column headers and titles of the CLI's tables (the JSON and CSV keys stay English and stable).
i18n.register(
    {
        "col.share": {"nb": "deling", "en": "share"},
        "col.course": {"nb": "kurs", "en": "course"},
        "col.direction": {"nb": "låner → eier", "en": "borrower → owner"},
        "col.path": {"nb": "vei", "en": "path"},
        "col.listed": {"nb": "listet", "en": "listed"},
        "col.read": {"nb": "lest", "en": "read"},
        "col.written": {"nb": "skrevet", "en": "written"},
        "col.already": {"nb": "fra før", "en": "already"},
        "col.unmatched": {"nb": "uten konto", "en": "unmatched"},
        "col.failed": {"nb": "feilet", "en": "failed"},
        "col.status": {"nb": "status", "en": "status"},
        "col.cursor": {"nb": "markør", "en": "cursor"},
        "col.completions": {"nb": "fullføringer", "en": "completions"},
        "col.kind": {"nb": "type", "en": "kind"},
        "col.item": {"nb": "element", "en": "item"},
        "col.attempts": {"nb": "forsøk", "en": "attempts"},
        "col.last_failed": {"nb": "sist feilet", "en": "last failed"},
        "col.reason": {"nb": "årsak", "en": "reason"},
        "col.name": {"nb": "navn", "en": "name"},
        "col.group": {"nb": "gruppe", "en": "group"},
        "col.done": {"nb": "fullført", "en": "done"},
        "col.points": {"nb": "poeng", "en": "points"},
        "col.manual": {"nb": "for hånd", "en": "manual"},
        "col.missing": {"nb": "mangler", "en": "missing"},
        "table.sync_run": {"nb": "synkronisering {id}", "en": "sync run {id}"},
        "table.shares": {"nb": "delinger", "en": "shares"},
        "table.failed_items": {"nb": "feilede elementer", "en": "failed items"},
        "table.certificates": {"nb": "kursbevis", "en": "course certificates"},
        "sync.planned_suffix": {"nb": " (+{n} planlagt)", "en": " (+{n} planned)"},
    }
)

NUMERIC_COLUMNS = frozenset({"listed", "read", "written", "already", "unmatched", "failed", "completions", "attempts"})


def table(title: str, columns: list[str]) -> Table:
    """A rich table with the columns' headers in the user's language (``columns`` are ``col.*`` codes)."""
    out = Table(title=title)
    for column in columns:
        out.add_column(i18n.t(f"col.{column}"), justify="right" if column in NUMERIC_COLUMNS else "left")
    return out
