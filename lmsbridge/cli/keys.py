"""``lmsbridge login`` / ``logout``: each person's own key to a platform, for the acts only they may make."""

from __future__ import annotations

import sys

import click
from pydantic import SecretStr

from lmsbridge import i18n
from lmsbridge.cli.command import Example, command
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import ExitCode, InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.workflows.acting import who_holds

EXAMPLES: list[Example] = [
    ("lmsbridge login --platform lp", N_("help.login.example.paste")),
    ("lmsbridge login --platform ks --token-stdin < key.txt", None),
    ("lmsbridge logout --platform lp", None),
    ("LMSBRIDGE_LOGIN__STORE=file lmsbridge login --platform lp", N_("help.login.example.file")),
]


@command(name="login", help=N_("help.login"), exits=(ExitCode.FAILED, ExitCode.UNREACHABLE), examples=EXAMPLES)
@click.option("--platform", "platform", required=True, metavar=N_("metavar.platform"), help=N_("help.login.platform"))
@click.option("--token-stdin", is_flag=True, help=N_("help.login.token_stdin"))
@click.pass_context
def login(ctx: click.Context, platform: str, token_stdin: bool) -> None:
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
    if context.json:
        echo_json({"platform": platform, "by": actor.as_data(), "store": store.where})
        return
    click.echo(i18n.t("keys.logged_in", title=profile.title, who=actor.label, where=store.where))


@command(name="logout", help=N_("help.logout"), examples=EXAMPLES)
@click.option("--platform", "platforms", multiple=True, metavar=N_("metavar.platform"), help=N_("help.logout.platform"))
@click.pass_context
def logout(ctx: click.Context, platforms: tuple[str, ...]) -> None:
    context = app(ctx)
    config = context.config()
    store = context.key_store()
    forgotten = {name: store.delete(config.platform(name).url) for name in platforms or tuple(config.platforms)}
    if context.json:
        echo_json({"store": store.where, "logged_out": [name for name, done in forgotten.items() if done],
                   "no_key": [name for name, done in forgotten.items() if not done]})
        return
    for name, done in forgotten.items():
        title = config.platform(name).title
        if done:
            click.echo(i18n.t("keys.logged_out", title=title, where=store.where))
        else:
            click.echo(i18n.t("keys.no_key", title=title, where=store.where))


commands = [login, logout]
