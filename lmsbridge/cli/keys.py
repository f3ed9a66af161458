"""``lmsbridge login`` / ``logout``: each person's own key to a platform, for the acts only they may make."""

from __future__ import annotations

import sys

import click
from pydantic import SecretStr

from lmsbridge import i18n
from lmsbridge.cli.context import app
from lmsbridge.errors import InputError
from lmsbridge.i18n import Message
from lmsbridge.workflows.acting import who_holds

EXAMPLES = """\b
Examples:
  lmsbridge login --platform lp                      # paste your key (Moodle: Preferences > Security keys)
  lmsbridge login --platform ks --token-stdin < key.txt
  lmsbridge logout --platform lp
  LMSBRIDGE_LOGIN__STORE=file lmsbridge login --platform lp   # a 0600 file instead of the OS keyring
"""


@click.command(name="login", epilog=EXAMPLES)
@click.option("--platform", "platform", required=True, help="The platform (a key of [platforms] in the config).")
@click.option("--token-stdin", is_flag=True, help="Read the key from standard input (one line) instead of a prompt.")
@click.pass_context
def login(ctx: click.Context, platform: str, token_stdin: bool) -> None:
    """Store your own key (personal web-service token for the lmsbridge service) for PLATFORM.

    Approve, reject, withdraw, publish, revoke and labels audit --fix are made with it: the platform says who
    you are and what you may do on the course. Make the key in Moodle under Preferences > Security keys
    («Sikkerhetsnøkler»), or ask the site admin for one (works for ID-porten/HelseID users). The key is checked
    against the platform, then kept in the OS keyring, or in a 0600 file where there is none ([login] store).
    """
    context = app(ctx)
    profile = context.config().platform(platform)
    if token_stdin:
        text = sys.stdin.readline().strip()
    else:
        text = str(click.prompt(i18n.t("keys.prompt", title=profile.title), hide_input=True)).strip()
    if not text:
        raise InputError(Message("keys.empty"))
    token = SecretStr(text)
    keys = context.keys()
    actor = who_holds(context.client(platform, token=token), platform)
    keys.not_the_service(actor).require()
    store = keys.store
    store.set(profile.url, token)
    click.echo(i18n.t("keys.logged_in", title=profile.title, who=actor.label, where=store.where))


@click.command(name="logout", epilog=EXAMPLES)
@click.option("--platform", "platforms", multiple=True, help="Only this platform (repeatable; default: all).")
@click.pass_context
def logout(ctx: click.Context, platforms: tuple[str, ...]) -> None:
    """Forget your own key for each platform (or those named)."""
    context = app(ctx)
    config = context.config()
    store = context.key_store()
    for name in platforms or tuple(config.platforms):
        profile = config.platform(name)
        if store.delete(profile.url):
            click.echo(i18n.t("keys.logged_out", title=profile.title, where=store.where))
        else:
            click.echo(i18n.t("keys.no_key", title=profile.title, where=store.where))


commands = [login, logout]
