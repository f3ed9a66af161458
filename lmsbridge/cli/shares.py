"""``lmsbridge share …`` and ``lmsbridge ledger …``: the share workflows and the ledger they write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient, PlannedCall
from lmsbridge.cli.context import AppContext, app, echo_json
from lmsbridge.cli.witness import echo_act, echo_undelivered
from lmsbridge.domain import ShareFlow
from lmsbridge.errors import ConfigError, ExitCode
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger, Share
from lmsbridge.mail import Mailer
from lmsbridge.sync import SyncOptions, run_sync
from lmsbridge.workflows.shares import ActResult, LastSync, ShareService
from lmsbridge.workflows.witnesses import Delivered


@contextmanager
def service(ctx: click.Context) -> Iterator[ShareService]:
    context: AppContext = app(ctx)
    config = context.config()
    ledger = Ledger.open(config.ledger_url())
    cache: dict[tuple[str, bool], MoodleClient] = {}

    def client_for(name: str, dry_run: bool) -> MoodleClient:
        if (name, dry_run) not in cache:
            cache[(name, dry_run)] = context.client(name, dry_run=dry_run)
        return cache[(name, dry_run)]

    try:
        yield ShareService(config=config, ledger=ledger, client_for=client_for,
                           mailer=Mailer(config.outbox_dir(), config.smtp),
                           keys=context.keys({name: client for (name, dry), client in cache.items() if not dry}))
    finally:
        ledger.close()


def _share_dict(share: Share) -> dict[str, Any]:
    return share.model_dump(mode="json")


def _print_planned(planned: list[PlannedCall]) -> None:
    click.echo(i18n.t("share.dry_run"))
    for call in planned:
        click.echo(f"  {call.wsfunction} {dict(call.params)}")


EXAMPLES = """\b
Examples:
  lmsbridge share request --flow hospital-to-ks --course HBHF-SMITTE-01
  lmsbridge login --platform lp                 # the owner's acts are made with your own key
  lmsbridge share approve S-0001
  lmsbridge share publish S-0001 --dry-run
  lmsbridge share publish S-0001
  lmsbridge share revoke S-0001 --reason "Kurset er erstattet"   # after a last sync of S-0001
  lmsbridge share withdraw S-0002 --reason "Skal revideres"     # approved, not yet published
  lmsbridge share list --json
"""


@click.group(name="share", epilog=EXAMPLES)
def share_group() -> None:
    """Request, approve, publish and end course shares under the agreement (each step in the ledger)."""


@share_group.command(name="request", epilog=EXAMPLES)
@click.option("--flow", type=click.Choice([f.value for f in ShareFlow]), required=True,
              help="hospital-to-ks: an HF shares its course to KS Læring; ks-orders-from-hospital: a municipality "
              "orders an HF course; hospital-shares-ks-course: an HF links a KS Læring course.")
@click.option("--course", required=True, help="The owner's course: id or shortname on the owner platform.")
@click.option("--owner", "owner_platform", help="Owner platform (when several have the owner's role).")
@click.option("--borrower", "borrower_platform", help="Borrower platform (when several have that role).")
@click.option("--reason", default="", help="Why the course is shared (goes into the request).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def share_request(ctx: click.Context, flow: str, course: str, owner_platform: str | None,
                  borrower_platform: str | None, reason: str, as_json: bool) -> None:
    """Validate the course information and send the share request to the contact point (idempotent)."""
    with service(ctx) as svc:
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
            "event": result.event.seq if result.event else None, "email": result.email_path,
            "receipt": _receipt(result.witnessed, result.share.id)}


def _done(result: ActResult, code: str, as_json: bool) -> None:
    if as_json:
        echo_json(_act_json(result))
        echo_undelivered(result.witnessed)
        return
    click.echo(i18n.t(code, id=result.share.id))
    echo_act(result)


def _decision(name: str, done: str, doc: str, *, reason_required: bool) -> click.Command:
    """``share approve|reject|withdraw ID``: one act on a request, with the acting person's own key."""

    @share_group.command(name=name, epilog=EXAMPLES, help=doc)
    @click.argument("share_id")
    @click.option("--reason", required=reason_required, default=None if reason_required else "",
                  help="Why (goes into the ledger and the e-mail to the contact point).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_context
    def command(ctx: click.Context, share_id: str, reason: str, as_json: bool) -> None:
        with service(ctx) as svc:
            result: ActResult = getattr(svc, name)(share_id, reason=reason)
        _done(result, done, as_json)

    return command


share_approve = _decision("approve", N_("share.approved"), reason_required=False, doc=(
    "Approve a requested share: the owner's act, with your own key to the owner platform (it must say you may "
    "update the owner's course)."))
share_reject = _decision("reject", N_("share.rejected"), reason_required=True, doc=(
    "Reject a requested share: the owner's act, with your own key to the owner platform."))
share_withdraw = _decision("withdraw", N_("share.withdrawn"), reason_required=True, doc=(
    "Withdraw a request, or an approved share not yet published: you asked, you may update the borrower course, "
    "or (once approved) you are the owner who may update the owner's course; with your own key to that platform."))


@share_group.command(name="publish", epilog=EXAMPLES)
@click.argument("share_id")
@click.option("--borrower-course", help="Link an existing course on the borrower platform (id or shortname) "
              "instead of creating a course shell.")
@click.option("--dry-run", is_flag=True, help="Print the web-service calls that would be made; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def share_publish(ctx: click.Context, share_id: str, borrower_course: str | None, dry_run: bool, as_json: bool) -> None:
    """Make an approved share real on the platforms (course shell or link, labels) and record it."""
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


@share_group.command(name="revoke", epilog=EXAMPLES)
@click.argument("share_id")
@click.option("--reason", required=True, help="Why the owner ends the share.")
@click.option("--no-sync", is_flag=True, help="Do not run the last sync of the share first (completions not yet "
              "brought back to the owner are then left out; the e-mail says so).")
@click.option("--dry-run", is_flag=True, help="Print the web-service calls that would be made; change nothing.")
@click.pass_context
def share_revoke(ctx: click.Context, share_id: str, reason: str, no_sync: bool, dry_run: bool) -> None:
    """End a share: only the owner may, with your own key to the owner platform (it must say you may update
    the owner's course). A published share first gets a last sync (completions made until now reach the owner;
    when it does not go through, nothing is revoked). The borrowed course is then hidden and unlabelled;
    history is kept."""
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
    if dry_run:
        _print_planned(result.planned)
    else:
        if result.last_sync is not None:
            click.echo(i18n.t("share.revoke.last_sync", id=result.share.id, written=result.last_sync.written))
        click.echo(i18n.t("share.revoked", id=result.share.id))
        echo_act(result.act)


@share_group.command(name="list", epilog=EXAMPLES)
@click.option("--state", type=click.Choice(["requested", "approved", "published", "revoked", "rejected"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def share_list(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """List shares in the ledger."""
    with service(ctx) as svc:
        shares = svc.ledger.list_shares(state=state)
    if as_json:
        echo_json([_share_dict(s) for s in shares])
        return
    if not shares:
        click.echo(i18n.t("share.none"))
    for s in shares:
        click.echo(f"{s.id}  {s.state:<10} {s.flow:<26} {s.owner_platform}:{s.owner_course_shortname} → "
                   f"{s.borrower_platform}:{s.borrower_course_shortname or '-'}  «{s.label}»")


@share_group.command(name="show", epilog=EXAMPLES)
@click.argument("share_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def share_show(ctx: click.Context, share_id: str, as_json: bool) -> None:
    """One share with its support routing and its history (events)."""
    with service(ctx) as svc:
        share = svc.get(share_id)
        events = svc.ledger.events(share_id)
    if as_json:
        echo_json({"share": _share_dict(share), "events": [e.model_dump(mode="json") for e in events]})
        return
    for key, value in _share_dict(share).items():
        click.echo(f"{key:<26} {value}")
    click.echo("")
    for event in events:
        click.echo(f"#{event.seq} {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.action} {event.details}")


commands = [share_group]


@click.group(name="labels")
def labels_group() -> None:
    """Labels «delt til KS Læring» / «delt fra KS» on the platforms, checked against the ledger.

    \b
    Examples:
      lmsbridge labels audit
      lmsbridge labels audit --platform ks --fix
    """


@labels_group.command(name="audit", epilog="\b\nExamples:\n  lmsbridge labels audit --json\n  lmsbridge labels audit --fix")
@click.option("--platform", "platforms", multiple=True, help="Only this platform (repeatable).")
@click.option("--fix", is_flag=True, help="Repair every disagreement (apply or remove the label), with your own key "
              "to each platform (lmsbridge login): the platform must say you may update the course.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def labels_audit(ctx: click.Context, platforms: tuple[str, ...], fix: bool, as_json: bool) -> None:
    """Find every course whose label disagrees with the ledger (missing, stale, wrong text).

    Exit 0 when all agree (or all were fixed), 1 when problems remain."""
    from lmsbridge.workflows.labels import audit_labels

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
