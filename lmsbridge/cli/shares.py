"""``lmsbridge share …`` and ``lmsbridge ledger …``: the share workflows and the ledger they write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, PlannedCall
from lmsbridge.cli.command import Example, group
from lmsbridge.cli.context import AppContext, app, echo_json
from lmsbridge.cli.output import chosen, emit, output_options
from lmsbridge.cli.witness import echo_act, echo_undelivered
from lmsbridge.domain import ShareFlow
from lmsbridge.errors import ConfigError, ExitCode
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Event, Ledger, Share
from lmsbridge.mail import Mailer
from lmsbridge.sync import SyncOptions, run_sync
from lmsbridge.workflows.shares import ActResult, LastSync, ShareService
from lmsbridge.workflows.witnesses import Delivered


@contextmanager
def service(ctx: click.Context, *, create: bool = False) -> Iterator[ShareService]:
    """The share workflows on the configured ledger; only ``create`` (a request: the first act) may begin one."""
    context: AppContext = app(ctx)
    config = context.config()
    ledger = Ledger.open(config.ledger_url(create=create))
    cache: dict[tuple[str, bool], MoodleClient] = {}

    def client_for(name: str, dry_run: bool) -> MoodleClient:
        if (name, dry_run) not in cache:
            cache[(name, dry_run)] = context.client(name, dry_run=dry_run)
        return cache[(name, dry_run)]

    try:
        yield ShareService(config=config, ledger=ledger, client_for=client_for,
                           mailer=Mailer(config.outbox_dir(), config.smtp, operator_name=config.operator.name,
                                         operator_email=config.operator.email),
                           keys=context.keys({name: client for (name, dry), client in cache.items() if not dry}))
    finally:
        ledger.close()


def _share_dict(share: Share) -> dict[str, Any]:
    return share.model_dump(mode="json")


def _print_planned(planned: list[PlannedCall]) -> None:
    click.echo(i18n.t("share.dry_run"))
    for call in planned:
        click.echo(f"  {call.wsfunction} {dict(call.params)}")


#: The workflow, in the group's help.
EXAMPLES: list[Example] = [
    ("lmsbridge share request --flow hospital-to-ks --course HBHF-SMITTE-01", None),
    ("lmsbridge login --platform lp", N_("help.share.example.login")),
    ("lmsbridge share approve S-0001", None),
    ("lmsbridge share publish S-0001 --dry-run", None),
    ("lmsbridge share publish S-0001", None),
    ("lmsbridge share revoke S-0001 --reason \"Kurset er erstattet\"", N_("help.share.example.last_sync")),
    ("lmsbridge share withdraw S-0002 --reason \"Skal revideres\"", N_("help.share.example.withdraw")),
    ("lmsbridge share list --json", None),
]
#: What an act on a share may end with besides 0 and 2: refused (a rule, the platform's answer), unreachable.
ACT_EXITS = (ExitCode.FAILED, ExitCode.UNREACHABLE)
_SHARE = N_("metavar.share")


@group(name="share", help=N_("help.share"), examples=EXAMPLES)
def share_group() -> None:
    pass


@share_group.command(name="request", help=N_("help.share.request"), exits=ACT_EXITS, examples=[
    ('lmsbridge share request --flow hospital-to-ks --course HBHF-SMITTE-01 --reason "Kommunene ønsker kurset"', None),
    ("lmsbridge share request --flow hospital-shares-ks-course --course KSL-VELFERD-01", None),
])
@click.option("--flow", type=click.Choice([f.value for f in ShareFlow]), required=True,
              help=N_("help.share.request.flow"))
@click.option("--course", required=True, metavar=N_("metavar.course"), help=N_("help.share.request.course"))
@click.option("--owner", "owner_platform", metavar=N_("metavar.platform"), help=N_("help.share.request.owner"))
@click.option("--borrower", "borrower_platform", metavar=N_("metavar.platform"),
              help=N_("help.share.request.borrower"))
@click.option("--reason", default="", help=N_("help.share.request.reason"))
@click.pass_context
def share_request(ctx: click.Context, flow: str, course: str, owner_platform: str | None,
                  borrower_platform: str | None, reason: str) -> None:
    as_json = app(ctx).json
    with service(ctx, create=True) as svc:
        result = svc.request(flow=ShareFlow(flow), course=course, owner_platform=owner_platform,
                             borrower_platform=borrower_platform, reason=reason)
    if as_json:
        echo_json({"share": _share_dict(result.share), "created": result.created, "reopened": result.reopened,
                   "email": result.email_path, "findings": [f.as_dict() for f in result.findings],
                   "receipt": _receipt(result.witnessed, result.share.id)})
        echo_undelivered(result.witnessed)
        return
    if result.created:
        click.echo(i18n.t("share.requested", id=result.share.id, flow=flow, path=result.email_path))
    elif result.reopened:
        click.echo(i18n.t("share.reopened", id=result.share.id, path=result.email_path))
    else:
        click.echo(i18n.t("share.already", id=result.share.id, state=result.share.state))
    echo_undelivered(result.witnessed)
    for finding in [] if as_json else [f for f in result.findings if f.severity == "warning"]:
        click.echo(i18n.t("share.warning", message=finding.message.render()), err=True)


def _receipt(witnessed: Delivered | None, share_id: str) -> str | None:
    receipt = witnessed.receipts.get(share_id) if witnessed else None
    return receipt.text if receipt else None


def _act_json(result: ActResult) -> dict[str, Any]:
    return {"share": _share_dict(result.share), "by": result.actor.as_data(),
            "event": result.event.seq if result.event else None, "already": result.event is None,
            "email": result.email_path, "receipt": _receipt(result.witnessed, result.share.id)}


#: What an act says when the share was already where the act would take it (nothing recorded, nothing sent).
ALREADY = {
    "share.approved": N_("share.approved.already"),
    "share.rejected": N_("share.rejected.already"),
    "share.withdrawn": N_("share.withdrawn.already"),
    "share.revoked": N_("share.revoked.already"),
}


def _done(result: ActResult, code: str, as_json: bool) -> None:
    if as_json:
        echo_json(_act_json(result))
        echo_undelivered(result.witnessed)
        return
    click.echo(i18n.t(ALREADY[code] if result.event is None else code, id=result.share.id))
    echo_act(result)


def _decision(name: str, done: str, help_code: str, *, reason_required: bool) -> click.Command:
    """``share approve|reject|withdraw ID``: one act on a request, with the acting person's own key."""
    example = f"lmsbridge share {name} S-0001" + ("" if not reason_required else ' --reason "Kurset er utdatert"')

    @share_group.command(name=name, help=help_code, exits=ACT_EXITS, examples=[example])
    @click.argument("share_id", metavar=_SHARE)
    @click.option("--reason", required=reason_required, default=None if reason_required else "",
                  help=N_("help.share.decision.reason"))
    @click.pass_context
    def command(ctx: click.Context, share_id: str, reason: str) -> None:
        with service(ctx) as svc:
            result: ActResult = getattr(svc, name)(share_id, reason=reason)
        _done(result, done, app(ctx).json)

    return command


share_approve = _decision("approve", N_("share.approved"), N_("help.share.approve"), reason_required=False)
share_reject = _decision("reject", N_("share.rejected"), N_("help.share.reject"), reason_required=True)
share_withdraw = _decision("withdraw", N_("share.withdrawn"), N_("help.share.withdraw"), reason_required=True)


@share_group.command(name="publish", help=N_("help.share.publish"), exits=ACT_EXITS, examples=[
    ("lmsbridge share publish S-0001 --dry-run", N_("help.share.example.dry_run")),
    ("lmsbridge share publish S-0001", N_("help.share.example.publish")),
    ("lmsbridge share publish S-0002 --borrower-course KSL-HBHF-SMITTE-01", N_("help.share.example.link")),
])
@click.argument("share_id", metavar=_SHARE)
@click.option("--borrower-course", metavar=N_("metavar.course"), help=N_("help.share.publish.borrower_course"))
@click.option("--dry-run", is_flag=True, help=N_("help.share.dry_run"))
@click.pass_context
def share_publish(ctx: click.Context, share_id: str, borrower_course: str | None, dry_run: bool) -> None:
    as_json = app(ctx).json
    with service(ctx) as svc:
        result = svc.publish(share_id, borrower_course=borrower_course, dry_run=dry_run)
        platform = svc.config.platform(result.share.borrower_platform).title
    if as_json:
        echo_json({"share": _share_dict(result.share), "borrower_course_id": result.borrower_course_id,
                   "created_course": result.created_course, "manual_steps": [step.render() for step in result.manual_steps],
                   "planned": [{"wsfunction": p.wsfunction, "params": p.params} for p in result.planned],
                   **({"by": result.act.actor.as_data(), "receipt": _receipt(result.act.witnessed, result.share.id)}
                      if result.act else {})})
        echo_undelivered(result.act.witnessed if result.act else None)
        return
    if dry_run:
        _print_planned(result.planned)
        return
    click.echo(i18n.t("share.published", id=result.share.id, course=result.share.borrower_course_shortname,
                      platform=platform, label=result.share.label))
    if result.manual_steps:
        click.echo(i18n.t("share.manual"))
        for step in result.manual_steps:
            click.echo(f"  - {step}")
    echo_act(result.act)


@share_group.command(name="revoke", help=N_("help.share.revoke"), exits=ACT_EXITS, examples=[
    ('lmsbridge share revoke S-0001 --reason "Kurset er erstattet" --dry-run', N_("help.share.example.dry_run")),
    ('lmsbridge share revoke S-0001 --reason "Kurset er erstattet"', N_("help.share.example.last_sync")),
    ('lmsbridge share revoke S-0001 --reason "Kurset er erstattet" --no-sync', None),
])
@click.argument("share_id", metavar=_SHARE)
@click.option("--reason", required=True, help=N_("help.share.revoke.reason"))
@click.option("--no-sync", is_flag=True, help=N_("help.share.revoke.no_sync"))
@click.option("--dry-run", is_flag=True, help=N_("help.share.dry_run"))
@click.pass_context
def share_revoke(ctx: click.Context, share_id: str, reason: str, no_sync: bool, dry_run: bool) -> None:
    with service(ctx) as svc:

        def last_sync(share: Share) -> LastSync:
            clients = {name: svc.client_for(name, False) for name in svc.config.platforms}
            try:
                summary = run_sync(config=svc.config, clients=clients, ledger=svc.ledger,
                                   options=SyncOptions(full=True, share_ids=(share.id,)))
            except ConfigError as exc:  # no pseudonym secret, or not the ledger's: the sync cannot run
                raise ConfigError(Message("share.revoke.sync_config", share=share.id, error=exc.message)) from None
            return LastSync(summary.exit_code, written=summary.written, failed=summary.failed_items)

        result = svc.revoke(share_id, reason=reason, dry_run=dry_run, last_sync=None if no_sync else last_sync)
    synced = result.last_sync.as_data() if result.last_sync is not None else None
    if app(ctx).json:
        echo_json({**(_act_json(result.act) if result.act else {"share": _share_dict(result.share)}),
                   "last_sync": synced,
                   "planned": [{"wsfunction": p.wsfunction, "params": p.params} for p in result.planned]})
        echo_undelivered(result.act.witnessed if result.act else None)
    elif dry_run:
        _print_planned(result.planned)
    elif result.act is not None:
        if result.last_sync is not None:
            click.echo(i18n.t("share.revoke.last_sync", id=result.share.id, written=result.last_sync.written))
            if result.last_sync.failed:
                click.echo(i18n.t("share.revoke.last_sync_failed", id=result.share.id, failed=result.last_sync.failed))
        _done(result.act, N_("share.revoked"), False)


SHARE_COLUMNS = list(Share.model_fields)
EVENT_COLUMNS = ["seq", "at", "share_id", "actor", "action", "details"]
STATES = {state: f"report.state.{state}" for state in ("requested", "approved", "published", "revoked", "rejected")}
FLOWS = {flow.value: f"report.flow.{flow.value}" for flow in ShareFlow}
#: An event's act as a participle («godkjent»); a request is «forespurt».
ACTS = {"request": N_("share.show.act.request"), "approve": N_("act_notice.done.approve"),
        "reject": N_("act_notice.done.reject"), "withdraw": N_("act_notice.done.withdraw"),
        "publish": N_("act_notice.done.publish"), "revoke": N_("act_notice.done.revoke")}


def _named(table: dict[str, str], code: str) -> str:
    return i18n.t(table[code]) if code in table else code


@share_group.command(name="list", help=N_("help.share.list"), examples=[
    "lmsbridge share list", "lmsbridge share list --state requested --json",
    ("lmsbridge share list --excel > delinger.csv", N_("help.output.example.excel")),
])
@click.option("--state", type=click.Choice(["requested", "approved", "published", "revoked", "rejected"]),
              help=N_("help.share.list.state"))
@output_options
@click.pass_context
def share_list(ctx: click.Context, state: str | None, fmt: str | None, excel: bool) -> None:
    with service(ctx) as svc:
        shares = svc.ledger.list_shares(state=state)

    def as_table() -> None:
        if not shares:
            click.echo(i18n.t("share.none"))
            return
        # the id never cut: a share per two lines fits 80 columns (the courses on the second)
        for s in shares:
            click.echo(f"{s.id}  {_named(STATES, s.state)}  {_named(FLOWS, s.flow)}  «{s.label}»")
            click.echo(f"    {s.owner_platform}:{s.owner_course_shortname} → "
                       f"{s.borrower_platform}:{s.borrower_course_shortname or '-'}")

    emit(chosen(ctx, fmt, excel), [_share_dict(s) for s in shares], SHARE_COLUMNS, excel=excel, table=as_table)


def _event_text(event: Event) -> str:
    """What happened, in the user's language: the act, and the reason given or the borrower course made."""
    text = _named(ACTS, event.action)
    reason = event.details.get("reason") if isinstance(event.details, dict) else None
    if reason:
        text += " " + i18n.t("share.show.reason", reason=reason)
    return text


@share_group.command(name="show", help=N_("help.share.show"), examples=[
    "lmsbridge share show S-0001", "lmsbridge share show S-0001 --json",
    "lmsbridge share show S-0001 -o csv",
])
@click.argument("share_id", metavar=_SHARE)
@output_options
@click.pass_context
def share_show(ctx: click.Context, share_id: str, fmt: str | None, excel: bool) -> None:
    with service(ctx) as svc:
        share = svc.get(share_id)
        events = svc.ledger.events(share_id)
        titles = {name: svc.config.platform(name).title for name in (share.owner_platform, share.borrower_platform)
                  if name in svc.config.platforms}

    def as_table() -> None:
        def side(platform: str, course: str | None, course_id: int | None, org: str) -> str:
            where = f"{titles.get(platform, platform)} ({platform})"
            return f"{where}: {course or '-'}" + (f" [{course_id}]" if course_id else "") + f", {org}"

        click.echo(i18n.t("share.show.title", id=share.id, state=_named(STATES, share.state)))
        rows = [
            (N_("share.show.flow"), _named(FLOWS, share.flow)),
            (N_("share.show.owner"), side(share.owner_platform, share.owner_course_shortname, share.owner_course_id,
                                      share.owner_org)),
            (N_("share.show.borrower"), side(share.borrower_platform, share.borrower_course_shortname,
                                         share.borrower_course_id, share.borrower_org)),
            (N_("share.show.label"), f"«{share.label}»"),
            (N_("share.show.licence"), share.licence_at_share or "-"),
            (N_("share.show.initiator"), share.initiator),
            (N_("share.show.contact_point"), share.contact_point),
            (N_("share.show.support"), i18n.t("share.show.support_value", owner=share.owner_support or "-",
                                          borrower=share.borrower_support or "-")),
            (N_("share.show.created"), i18n.moment(share.created_at)),
            (N_("share.show.updated"), i18n.moment(share.updated_at)),
        ]
        width = max(len(i18n.t(code)) for code, _ in rows)
        for code, value in rows:
            click.echo(f"  {i18n.t(code):<{width}}  {value}")
        click.echo("")
        click.echo(i18n.t("share.show.events"))
        for event in events:
            click.echo(f"  #{event.seq}  {i18n.moment(event.at)}  {event.actor}: {_event_text(event)}")

    emit(chosen(ctx, fmt, excel), [e.model_dump(mode="json") for e in events], EVENT_COLUMNS, excel=excel,
         as_json={"share": _share_dict(share), "events": [e.model_dump(mode="json") for e in events]},
         table=as_table)


commands = [share_group]


@group(name="labels", help=N_("help.labels"), examples=["lmsbridge labels audit",
                                                          "lmsbridge labels audit --platform ks --fix"])
def labels_group() -> None:
    pass


@labels_group.command(name="audit", help=N_("help.labels.audit"), exits=ACT_EXITS,
                      notes=N_("help.labels.audit.notes"),
                      examples=["lmsbridge labels audit --json", "lmsbridge labels audit --fix"])
@click.option("--platform", "platforms", multiple=True, metavar=N_("metavar.platform"),
              help=N_("help.labels.audit.platform"))
@click.option("--fix", is_flag=True, help=N_("help.labels.audit.fix"))
@click.pass_context
def labels_audit(ctx: click.Context, platforms: tuple[str, ...], fix: bool) -> None:
    from lmsbridge.workflows.labels import audit_labels

    as_json = app(ctx).json

    context = app(ctx)
    config = context.config()
    service_clients: dict[str, MoodleClient] = {}

    def client_for(name: str) -> MoodleClient:
        if name not in service_clients:
            service_clients[name] = context.client(name)
        return service_clients[name]

    with Ledger.open(config.ledger_url()) as ledger:
        audits = audit_labels(config, ledger, client_for, platforms=list(platforms) or None, fix=fix,
                              keys=context.keys(service_clients) if fix else None)
    if as_json:
        echo_json([{"platform": a.platform, "course_id": a.course_id, "shortname": a.shortname,
                    "expected": a.expected.value if a.expected else None, "fixed": a.fixed,
                    "refused": a.refused.render() if a.refused else None,
                    "problems": [{"code": p.code, "place": p.place, "reason": p.reason} for p in a.problems]}
                   for a in audits])
    elif not audits:
        click.echo(i18n.t("labels.ok"))
    for audit in [] if as_json else audits:
        suffix = " [" + i18n.t("labels.fixed") + "]" if audit.fixed else ""
        for problem in audit.problems:
            click.echo(f"{audit.platform}:{audit.shortname} {problem.code}: {problem.reason}{suffix}")
        if audit.refused is not None:
            click.echo(f"  {audit.refused}")
    if audits and (not fix or any(not a.fixed for a in audits)):
        ctx.exit(ExitCode.FAILED)


commands.append(labels_group)
