"""What every command may need, built lazily: the config, a client per platform, the output mode."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

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
