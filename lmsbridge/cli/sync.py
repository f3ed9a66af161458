"""``lmsbridge sync run|status``: completions of shared courses back to the owner (cron or a systemd timer)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lmsbridge import i18n
from lmsbridge.adapters import MoodleClient
from lmsbridge.certificates import CertificatesRun, group_after_sync
from lmsbridge.cli.context import app, echo_json, is_terminal, table
from lmsbridge.cli.output import chosen, emit, output_options
from lmsbridge.cli.witness import echo_undelivered
from lmsbridge.config import Config
from lmsbridge.errors import ExitCode, combined_exit_code
from lmsbridge.i18n import N_
from lmsbridge.ledger import LEARNER_FAILURE_KINDS, FailedItem, Ledger, LockedError
from lmsbridge.sync import ShareOutcome, SyncOptions, SyncStatus, SyncSummary, pseudonym_secret, run_sync, sync_status
from lmsbridge.sync.check import check_completions
from lmsbridge.sync.identity import Person
from lmsbridge.sync.outcome import FAILING_KINDS, shown_key
from lmsbridge.sync.secret import MAX_USER_ID, check_secret, old_pseudonym_secret
from lmsbridge.sync.status import reveal
from lmsbridge.workflows.witnesses import Witnesses

EXAMPLES = """\b
Examples:
  lmsbridge sync run                       # one incremental run (what cron or the timer calls)
  lmsbridge sync run --quiet               # print only when something needs attention
  lmsbridge sync run --full                # reconcile everything (catches completions set without a visit)
  lmsbridge sync run --dry-run             # print the writes that would be made; change nothing
  lmsbridge sync run --every 15m           # run in the foreground every 15 minutes (Ctrl-C stops)
  lmsbridge sync run --concurrency 8 --json
  lmsbridge sync run --rotate-secret --old-secret-env OLD_SECRET   # re-key the ledger to a new secret
  lmsbridge sync check                     # the platforms against each other: what the owner lacks, and the reverse
  lmsbridge sync check --json --no-record
  lmsbridge sync status
  lmsbridge sync status --reveal           # who the failed learners are (reads the borrower courses live)
"""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: Replaced in tests (no sleeps); returns True when interrupted.
wait: Callable[[float], bool] = threading.Event().wait


def parse_every(value: str) -> float:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value or "")
    if not found:
        raise click.BadParameter(i18n.t("sync.bad_every", value=value))
    seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if seconds < 10:
        raise click.BadParameter(i18n.t("sync.bad_every", value=value))
    return seconds


class RichProgress:
    """A progress bar on the terminal (stderr): shares done, learners read."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._shares = self._progress.add_task(i18n.t("sync.progress.shares"), total=None)
        self._learners = self._progress.add_task(i18n.t("sync.progress.learners"), total=None)

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def shares(self, total: int) -> None:
        self._progress.update(self._shares, total=total)

    def share_done(self, outcome: ShareOutcome) -> None:
        self._progress.advance(self._shares)

    def learner_read(self) -> None:
        self._progress.advance(self._learners)


@contextmanager
def _progress(enabled: bool) -> Iterator[RichProgress | None]:
    if not enabled:
        yield None
        return
    with RichProgress() as bar:
        yield bar


def console() -> Console:
    """stdout; wide when it is not a terminal (cron mail, journal), so table rows are not wrapped."""
    out = Console(soft_wrap=True)
    return out if out.is_terminal else Console(soft_wrap=True, width=200)


def _today() -> date:
    try:
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo("Europe/Oslo")).date()
    except Exception:  # no tz database: the local date is close enough
        return date.today()


#: What ``label(kind, code)`` shows for the codes of a run's counts, failed items, paths and states.
LABELS: dict[str, dict[str, str]] = {
    "count": {
        "already_complete": N_("sync.count.already_complete"),
        "already_there": N_("sync.count.already_there"),
        "calls": N_("sync.count.calls"),
        "candidates": N_("sync.count.candidates"),
        "courses_checked": N_("sync.count.courses_checked"),
        "courses_repaired": N_("sync.count.courses_repaired"),
        "created": N_("sync.count.created"),
        "enrolled": N_("sync.count.enrolled"),
        "failed_items": N_("sync.count.failed_items"),
        "full": N_("sync.count.full"),
        "interrupted": N_("sync.count.interrupted"),
        "listed": N_("sync.count.listed"),
        "planned_writes": N_("sync.count.planned_writes"),
        "read": N_("sync.count.read"),
        "shares": N_("sync.count.shares"),
        "shares_failed": N_("sync.count.shares_failed"),
        "shares_ok": N_("sync.count.shares_ok"),
        "shares_skipped": N_("sync.count.shares_skipped"),
        "shares_taken": N_("sync.count.shares_taken"),
        "unmapped_activities": N_("sync.count.unmapped_activities"),
        "unmatched": N_("sync.count.unmatched"),
        "written": N_("sync.count.written"),
    },
    "kind": {
        "activity": N_("sync.kind.activity"),
        "conflict": N_("sync.kind.conflict"),
        "learner": N_("sync.kind.learner"),
        "share": N_("sync.kind.share"),
        "unmatched": N_("sync.kind.unmatched"),
    },
    "path": {
        "listing+report": N_("sync.path.listing+report"),
        "per-learner": N_("sync.path.per-learner"),
        "report": N_("sync.path.report"),
    },
    "run_status": {
        "failed": N_("sync.run_status.failed"),
        "interrupted": N_("sync.run_status.interrupted"),
        "ok": N_("sync.run_status.ok"),
        "partial": N_("sync.run_status.partial"),
        "running": N_("sync.run_status.running"),
    },
    "share_status": {
        "failed": N_("sync.share_status.failed"),
        "ok": N_("sync.share_status.ok"),
        "skipped": N_("sync.share_status.skipped"),
        "taken": N_("sync.share_status.taken"),
    },
}


def label(kind: str, code: str) -> str:
    """A code's label in the user's language (``LABELS``); the code itself when it has none."""
    key = LABELS.get(kind, {}).get(code)
    return i18n.t(key) if key else code


def counts_line(counts: dict[str, Any]) -> str:
    """A run's counts (sync_runs.counts) for people: numbers with their labels, flags only when set."""
    parts = []
    for key, value in sorted(counts.items()):
        if isinstance(value, bool):
            if value:
                parts.append(label("count", key))
        elif not isinstance(value, list | dict):
            parts.append(f"{label('count', key)} {value}")
    return ", ".join(parts)


def print_summary(summary: SyncSummary, *, quiet: bool = False) -> None:
    out = console()
    if quiet and summary.exit_code == ExitCode.OK and not summary.warnings and not summary.dry_run:
        return
    if not summary.shares:
        click.echo(i18n.t("sync.no_shares"))
    else:
        runs = table(i18n.t("table.sync_run", id=summary.run_id or "-"),
                     ["share", "course", "direction", "path", "listed", "read", "written", "already_there", "already",
                      "unmatched", "failed", "status"])
        for share in summary.shares:
            failed = sum(1 for f in share.failures if f.kind in FAILING_KINDS)
            written = str(len(share.written)) + (
                i18n.t("sync.planned_suffix", n=share.planned_writes) if share.planned_writes else "")
            status = label("share_status", share.status)
            if share.error:
                status = f"{status}: {share.error.render()}"
            runs.add_row(escape(share.share_id), escape(share.course), escape(f"{share.borrower} → {share.owner}"),
                         label("path", share.path), str(share.listed), str(share.read), written, str(share.already_there),
                         str(share.already),
                         str(share.unmatched), str(failed), escape(status))
        out.print(runs)
    for share in summary.shares:
        for failure in share.failures:
            click.echo(f"  {share.share_id} {label('kind', failure.kind)} {shown_key(failure.key)}: "
                       f"{failure.reason.render()}")
        for unmapped in share.unmapped:
            click.echo(i18n.t("sync.unmapped", share=share.share_id, cmid=unmapped.activity.cmid,
                              name=unmapped.activity.name, reason=unmapped.reason.render()))
    for platform, cause in summary.unreachable.items():
        click.echo(i18n.t("sync.unreachable", where="" if cause.placed else f"{platform}: ", cause=cause))
    for warning in summary.warnings:
        click.echo(i18n.t("sync.warning", text=warning))
    totals = summary.counts()
    click.echo(i18n.t("sync.summary", written=summary.written, already=totals.get("already_there", 0),
                      failed=summary.failed_items,
                      unmatched=totals.get("unmatched", 0), calls=totals["calls"]))
    if summary.dry_run:
        if summary.planned:
            click.echo(i18n.t("sync.dry_run"))
            for platform, call in summary.planned:
                click.echo(f"  {platform} {call.wsfunction} {dict(call.params)}")
        else:
            click.echo(i18n.t("sync.dry_run.none"))


def print_certificates(run: CertificatesRun) -> None:
    for outcome in run.grouped:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(outcome.counts.items())) or "-"
        click.echo(i18n.t("sync.certificates", course=outcome.key, counts=counts, moves=outcome.changed))
        if outcome.manual:  # members who should leave a group the platform would not take them out of
            click.echo(i18n.t("certificates.manual", course=outcome.key, n=len(outcome.manual),
                              reason=outcome.manual_reason or ""))
            for userid, group in outcome.manual:
                click.echo(i18n.t("certificates.manual_step", userid=userid, group=group))
    for course, error in run.errors.items():
        click.echo(i18n.t("sync.certificates.error", course=course, error=error))


def _one_run(config: Config, ledger: Ledger, clients: dict[str, MoodleClient],
             options: SyncOptions, *, as_json: bool, quiet: bool, certificates: bool,
             rotate_from: bytes | None = None, max_user_id: int = MAX_USER_ID) -> int:
    before = max(ledger.event_refs(), default=0)
    with _progress(is_terminal() and not as_json and not quiet) as bar:
        summary = run_sync(config=config, clients=clients, ledger=ledger, options=options, progress=bar,
                           rotate_from=rotate_from, max_user_id=max_user_id)
    if summary.rotation and not as_json and not quiet:
        click.echo(summary.rotation.message.render())
    delivered = None
    if not options.dry_run:
        # the shares that got completions: their receipts on the platforms move on (issue 12)
        synced = [e.share_id for seq, e in ledger.event_refs().items() if seq > before and e.share_id]
        delivered = Witnesses(config, ledger, clients.__getitem__).write(synced)
    cert_run: CertificatesRun | None = None
    if certificates and config.certificates and summary.exit_code != ExitCode.LOCKED:
        cert_run = group_after_sync(config, clients.__getitem__, summary, today=_today())
    code = combined_exit_code(summary.exit_code, cert_run.exit_code if cert_run else ExitCode.OK)
    if quiet and code == ExitCode.LOCKED:  # other runs had every share: no error to mail
        code = ExitCode.OK
    if as_json:
        data: dict[str, Any] = summary.as_dict()
        data["certificates"] = cert_run.as_dict() if cert_run else None
        data["receipts"] = {"written": len(delivered.written) if delivered else 0,
                            "failed": [{"course": h.name, "reason": m.render()} for h, m in delivered.failed]
                            if delivered else []}
        data["exit_code"] = code
        echo_json(data)
    else:
        print_summary(summary, quiet=quiet and code == ExitCode.OK)
        if cert_run and not (quiet and code == ExitCode.OK):
            print_certificates(cert_run)
        if not quiet:  # doctor and ledger verify --witnesses report a missing receipt field as well
            echo_undelivered(delivered)
    return code


@click.group(name="sync", epilog=EXAMPLES)
def sync_group() -> None:
    """Bring completions of shared courses back to the platform that owns the course."""


@sync_group.command(name="run", epilog=EXAMPLES)
@click.option("--full", is_flag=True, help="Read every learner, not only those who visited since the last run "
              "(catches completions set by cron or a teacher without a visit).")
@click.option("--dry-run", is_flag=True, help="Print the web-service writes that would be made; change nothing, "
              "on the platforms or in the ledger (no report filter is set: it reads learner by learner).")
@click.option("--concurrency", type=click.IntRange(1, 32), help="Calls in flight per platform "
              "(default: each platform profile's concurrency, 4).")
@click.option("--share", "share_ids", multiple=True, help="Sync only this share (repeatable).")
@click.option("--every", "every", help="Run again every interval (15m, 1h, 900s) in the foreground until Ctrl-C.")
@click.option("--no-certificates", is_flag=True, help="Do not update the certificate groups after the sync.")
@click.option("--no-report", is_flag=True, help="Do not use the platforms' completion reports (read learner by learner).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when everything went through (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--rotate-secret", is_flag=True, help="First re-key the ledger's pseudonyms from the old secret "
              "(--old-secret-env or --old-secret-file) to the configured one, in one transaction (README).")
@click.option("--old-secret-env", metavar=N_("metavar.variable"), help="With --rotate-secret: the environment variable holding the "
              "secret the ledger was written with.")
@click.option("--old-secret-file", type=click.Path(dir_okay=False, path_type=Path),
              help="With --rotate-secret: the file holding the secret the ledger was written with.")
@click.option("--max-user-id", type=click.IntRange(1), default=MAX_USER_ID, show_default=True,
              help="With --rotate-secret: the highest user id tried to find each pseudonym again.")
@click.option("--max-runs", type=int, default=0, hidden=True)
@click.pass_context
def sync_run(ctx: click.Context, full: bool, dry_run: bool, concurrency: int | None, share_ids: tuple[str, ...],
             every: str | None, no_certificates: bool, no_report: bool, quiet: bool, as_json: bool,
             rotate_secret: bool, old_secret_env: str | None, old_secret_file: Path | None, max_user_id: int,
             max_runs: int) -> None:
    """Sync completions of every published share back to the owner (one run; cron or a timer calls it).

    Reads who is enrolled in each borrowed course, reads the completion of the learners who may have
    changed, and writes each new completion to the owner's course (enrolling the learner there first when
    allowed). Every completion brought back is logged in the ledger under a pseudonym. Exit 0 when all went
    through, 4 when some items failed (they are retried next run), 3 when a platform could not be reached,
    2 for configuration errors (a pseudonym secret that is not the ledger's among them: --rotate-secret
    re-keys the ledger). A second run while one is running stops at once with exit 75 (with --quiet: exit 0
    and no output).
    """
    interval = parse_every(every) if every else None
    if rotate_secret != bool(old_secret_env or old_secret_file) or (old_secret_env and old_secret_file):
        raise click.UsageError(i18n.t("sync.secret.rotate_usage"))
    context = app(ctx)
    config = context.config()
    rotate_from = old_pseudonym_secret(env=old_secret_env, file=old_secret_file) if rotate_secret else None
    options = SyncOptions(full=full, dry_run=dry_run, concurrency=concurrency, share_ids=share_ids,
                          use_report=not no_report)
    clients = {name: context.client(name, dry_run=dry_run) for name in config.platforms}
    with Ledger.open(config.ledger_url(), read_only=dry_run) as ledger:
        runs = 0
        code: int = ExitCode.OK
        while True:
            runs += 1
            try:
                code = _one_run(config, ledger, clients, options, as_json=as_json, quiet=quiet,
                                certificates=not no_certificates, max_user_id=max_user_id,
                                rotate_from=rotate_from if runs == 1 else None)
            except LockedError as exc:
                # Another run holds the ledger: not an error to mail from cron (--quiet: exit 0, say nothing).
                if interval is None:
                    if quiet:
                        ctx.exit(ExitCode.OK)
                    raise
                if not quiet:
                    click.echo(i18n.t("sync.locked_wait", error=str(exc)), err=True)
                code = ExitCode.LOCKED
            if interval is None or (max_runs and runs >= max_runs):
                break
            if not quiet and not as_json:
                at = datetime.now().astimezone().timestamp() + interval
                click.echo(i18n.t("sync.next_run", at=datetime.fromtimestamp(at).strftime("%H:%M:%S")), err=True)
            try:
                wait(interval)
            except KeyboardInterrupt:
                click.echo(i18n.t("sync.stopped"), err=True)
                break
    ctx.exit(code)


@sync_group.command(name="status", epilog=EXAMPLES)
@click.option("--reveal", "reveal_learners", is_flag=True,
              help="Name each failed learner (the ledger keeps pseudonyms only): reads the borrower courses' "
              "participants live, so it needs the pseudonym secret and the platforms' tokens. Shown here, stored "
              "nowhere.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@output_options
@click.pass_context
def sync_status_command(ctx: click.Context, reveal_learners: bool, as_json: bool, fmt: str | None,
                        excel: bool) -> None:
    """Show the last sync run, each published share's cursor, and the failed items waiting for a retry.

    A failed learner is shown by the first digits of its pseudonym, with the borrower platform and course;
    --reveal says who it is (and, for an identity conflict, which owner accounts its key finds).
    """
    context = app(ctx)
    config = context.config()
    with Ledger.open(config.ledger_url()) as ledger:
        status = sync_status(ledger)
        if reveal_learners:
            clients: dict[str, MoodleClient] = {}
            secret = pseudonym_secret(config.sync, config.source.parent if config.source else None)
            check_secret(ledger, secret, adopt=False)
            reveal(status, ledger, lambda name: clients.get(name) or clients.setdefault(name, context.client(name)),
                   secret, page_size=config.sync.page_size)
    shown = chosen(ctx, fmt, excel) if (fmt or excel) else ("json" if as_json else "table")
    if shown != "table":  # the failed items as rows (json: the whole status)
        rows = [{**row, "course": status.borrower_of(failure)}
                for row, failure in zip(status.failure_dicts(), status.failures, strict=True)]
        emit(shown, rows, ["share_id", "course", "item_kind", "item_key", "attempts", "last_failed_at", "reason",
                           *(["revealed"] if reveal_learners else [])],
             excel=excel, as_json=status.as_dict(), table=lambda: None)
        return
    out = console()
    last = status.last_run
    if last is None:
        click.echo(i18n.t("sync.status.never"))
    else:
        click.echo(i18n.t("sync.status.last_run", id=last["id"], status=label("run_status", str(last["status"])),
                          started=last["started_at"], finished=last["finished_at"] or "-"))
        counts = last.get("counts") or {}
        if counts:
            click.echo("  " + counts_line(counts))
    if status.shares:
        cursors = table(i18n.t("table.shares"), ["share", "course", "direction", "cursor", "completions",
                                                 "without_owner_account"])
        for share in status.shares:
            cursors.add_row(escape(share.share_id), escape(share.course), escape(f"{share.borrower} → {share.owner}"),
                            share.cursor.isoformat() if share.cursor else "-", str(share.completions),
                            str(share.without_owner_account))
        out.print(cursors)
    if status.failures:
        columns = ["share", "course", "kind", "item", "attempts", "last_failed", "reason"]
        failures = table(i18n.t("table.failed_items"), [*columns, *(["who"] if reveal_learners else [])])
        for failure in status.failures:
            row = [escape(failure.share_id), escape(status.borrower_of(failure)), label("kind", str(failure.item_kind)),
                   escape(shown_key(failure.item_key)), str(failure.attempts), failure.last_failed_at.isoformat(),
                   escape(status.reason(failure).render())]
            if reveal_learners:
                row.append(escape(_who(status, failure)))
            failures.add_row(*row)
        out.print(failures)
    else:
        click.echo(i18n.t("sync.status.no_failures"))
    if status.unmatched:  # not failures: kept, and tried again after [sync] unmatched_retry_hours
        columns = ["share", "course", "item", "attempts", "last_failed", "reason"]
        waiting = table(i18n.t("table.without_owner_account"), [*columns, *(["who"] if reveal_learners else [])])
        for item in status.unmatched:
            row = [escape(item.share_id), escape(status.borrower_of(item)), escape(shown_key(item.item_key)),
                   str(item.attempts), item.last_failed_at.isoformat(), escape(status.reason(item).render())]
            if reveal_learners:
                row.append(escape(_who(status, item)))
            waiting.add_row(*row)
        out.print(waiting)


@sync_group.command(name="check", epilog=EXAMPLES)
@click.option("--share", "share_ids", multiple=True, help="Check only this share (repeatable).")
@click.option("--items", is_flag=True, help="List each completion that differs (learner pseudonym, activities).")
@click.option("--no-record", is_flag=True, help="Write nothing at all: no sync.check event in the ledger (it is "
              "then opened read-only).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every difference included).")
@click.pass_context
def sync_check_command(ctx: click.Context, share_ids: tuple[str, ...], items: bool, no_record: bool,
                       as_json: bool) -> None:
    """Compare the completions on the two platforms of each published share, whatever the ledger remembers.

    Per share: completions the borrower shows and the owner lacks (sync run --full writes them), and
    completions the owner shows and the borrower lacks. Only reads on the platforms (no report filter is set
    or reset); the ledger gets one sync.check event with the counts (for the quarterly report) unless
    --no-record. Exit 0 when both sides agree, 1 when they differ, 3 when a platform could not be reached,
    4 when a share could not be checked.
    """
    context = app(ctx)
    config = context.config()
    clients = {name: context.client(name, dry_run=True) for name in config.platforms}
    with Ledger.open(config.ledger_url(), read_only=no_record) as ledger:
        result = check_completions(config=config, clients=clients, ledger=ledger, share_ids=share_ids,
                                   record=not no_record)
    if as_json:
        echo_json({**result.as_dict(), "exit_code": int(result.exit_code)})
        ctx.exit(result.exit_code)
    if not result.shares:
        click.echo(i18n.t("sync.no_shares"))
    else:
        rows = table(i18n.t("table.sync_check"), ["share", "course", "direction", "learners", "owner_lacks",
                                                  "borrower_lacks", "without_owner_account", "status"])
        for share in result.shares:
            status = share.error.render() if share.error else (
                i18n.t("sync.check.equal") if not share.drift else i18n.t("sync.check.differ"))
            rows.add_row(escape(share.share_id), escape(share.course), escape(f"{share.borrower} → {share.owner}"),
                         str(share.learners), str(len(share.owner_lacks)), str(len(share.borrower_lacks)),
                         str(share.without_owner_account), escape(status))
        console().print(rows)
    if items:
        for share in result.shares:
            for gap in share.owner_lacks:
                click.echo(i18n.t("sync.check.owner_lacks", share=share.share_id, learner=shown_key(gap.learner),
                                  borrower_cmid=gap.borrower_cmid, owner_cmid=gap.owner_cmid))
            for gap in share.borrower_lacks:
                click.echo(i18n.t("sync.check.borrower_lacks", share=share.share_id, learner=shown_key(gap.learner),
                                  borrower_cmid=gap.borrower_cmid, owner_cmid=gap.owner_cmid))
    click.echo(i18n.t("sync.check.summary", checked=result.checked, drift=result.drift,
                      owner_lacks=sum(len(s.owner_lacks) for s in result.shares),
                      borrower_lacks=sum(len(s.borrower_lacks) for s in result.shares)))
    ctx.exit(result.exit_code)


def _who(status: SyncStatus, failure: FailedItem) -> str:
    """A failed learner as ``--reveal`` names it (and the owner accounts of an identity conflict)."""
    if str(failure.item_kind) not in LEARNER_FAILURE_KINDS:
        return ""
    found = status.who(failure)
    if found is None:
        return i18n.t("sync.status.not_found")
    text = _person(found.learner)
    if found.owner_accounts:
        text += " ↔ " + "; ".join(f"{_person(p)} #{p.id}" for p in found.owner_accounts)
    return text


def _person(person: Person) -> str:
    name = person.fullname or f"{person.firstname} {person.lastname}".strip()
    keys = ", ".join(value for value in (person.username, person.idnumber, person.email) if value)
    return f"{name} ({keys})" if keys else name


commands = [sync_group]
