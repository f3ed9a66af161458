"""``lmsbridge demo``: the whole mission on two built-in sandbox sites, told the way a coordinator works.

The demo starts the sandbox (``lmsbridge.sandbox``: two Moodle-4.5-compatible sites on loopback, seeded
like the recorded lab sites), writes a real configuration, ledger and outbox into a folder, and then runs
the same ``lmsbridge`` commands a coordinator would type, each shown with its output. Between the
commands the story says what the people on the platforms do (learners completing activities). Every
command has an expected exit code; the demo stops at the first surprise and exits 1.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click

from lmsbridge import i18n
from lmsbridge.cli.command import command
from lmsbridge.cli.config import write_secret_file
from lmsbridge.cli.context import AppContext, app, echo_json
from lmsbridge.config import renewals_until
from lmsbridge.errors import ExitCode, InputError, LmsbridgeError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox, SiteHandle
from lmsbridge.sandbox.seed import add_receipt_field
from lmsbridge.sharing.labels import labels_in
from lmsbridge.workflows.shares import field_label

# The story's cast, from the sandbox seed (lmsbridge/sandbox/data/sites.json; the recorded lab sites).
KS_COURSE = "KSL-VELFERD-01"  # ks: a KS Læring course a hospital links in its Læringsportal
OWNER_COURSE = "HBHF-SMITTE-01"  # lp: complete course information, the course that is shared
INCOMPLETE_COURSE = "HBHF-LEGEMID-02"  # lp: course information missing (refused)
BORROWER_COURSE = "KSL-HBHF-SMITTE-01"  # ks: the course KS Læring filled with the content
# The people who act, each with their own key (sandbox seed «staff», and the recorded learner u01): the
# e-læringsansvarlige of Helse Bergen HF (manager of its course category on lp) and of KS Læring (manager of
# «Helse og velferd» on ks), and a learner on lp who has no rights on the course.
KEY_FILES = {"lp": ("ingrid.hauge", "ingrid-hauge.token"), "ks": ("kari.as@ks.no", "kari-as.token")}
LEARNER_KEY_FILE = "kari-nordmann.token"
#: The ledger as it was before the revoke: a backup someone puts back (the witnesses catch it).
BACKUP = "ledger-backup.db"
# (ks username, activity name): learners who act in the borrowed course during the demo. Ola Hansen does
# everything; Hilde Berg has no idnumber on KS Læring (matched by e-mail); Nils Kristiansen's e-mail
# differs in case between the sites; Eva Rønning is a municipal employee without a hospital account.
LATER_ACTIVITY: tuple[tuple[str, str], ...] = (
    ("ola.hansen@helse-bergen.no", "Håndhygiene"),
    ("ola.hansen@helse-bergen.no", "Smittemåter og barrierer"),
    ("hilde.berg@helse-bergen.no", "Håndhygiene"),
    ("nils.kristiansen@helse-bergen.no", "Smittemåter og barrierer"),
    ("eva.ronning@bergen.kommune.no", "Smittemåter og barrierer"),
)


@dataclass
class CommandRun:
    args: list[str]
    expected: int
    exit_code: int
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == self.expected


@dataclass
class Story:
    """Runs the commands of the story and keeps what happened."""

    root: click.Command
    config_path: Path
    lang: str
    capture: bool
    runs: list[CommandRun] = field(default_factory=list)
    step_no: int = 0

    def say(self, text: str = "") -> None:
        if not self.capture:
            click.echo(text)

    def step(self, title_code: str, story_code: str | None = None) -> None:
        self.step_no += 1
        self.say("")
        self.say(click.style(i18n.t("demo.step", n=self.step_no, title=i18n.t(title_code)), bold=True))
        if story_code:
            self.say(i18n.t(story_code))

    def run(self, *args: str, expect: int = 0, env: Mapping[str, str] | None = None,
            stdin: Path | None = None) -> CommandRun:
        """Run ``lmsbridge ARGS`` (with ``env`` set for it, as a user would prefix the command; ``stdin`` read
        from a file, as ``< FILE``)."""
        prefix = "".join(f"{name}={_quote(value)} " for name, value in (env or {}).items())
        suffix = f" < {stdin.name}" if stdin is not None else ""
        self.say("")
        self.say(click.style(f"$ {prefix}lmsbridge {' '.join(_quote(a) for a in args)}{suffix}", fg="cyan"))
        full = ["--config", str(self.config_path), "--lang", self.lang, *args]
        with _environment(env or {}), _stdin(stdin):
            if self.capture:
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    code = _invoke(self.root, full)
                run = CommandRun(list(args), expect, code, buffer.getvalue())
            else:
                # the commands' errors go to stderr; in the story they belong in order with the rest
                with contextlib.redirect_stderr(sys.stdout):
                    run = CommandRun(list(args), expect, _invoke(self.root, full))
        self.runs.append(run)
        if not run.ok:
            raise _Surprise(run)
        if expect != 0:
            self.say(i18n.t("demo.expected_refusal"))
        return run


class _Surprise(Exception):
    def __init__(self, run: CommandRun) -> None:
        super().__init__(run.args)
        self.run = run


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _stdin(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    saved = sys.stdin
    with path.open(encoding="utf-8") as handle:
        sys.stdin = handle
        try:
            yield
        finally:
            sys.stdin = saved


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def _invoke(root: click.Command, args: Sequence[str]) -> int:
    """Run one ``lmsbridge`` command line in this process; its exit code (the root shows its errors)."""
    result = root.main(args=list(args), prog_name="lmsbridge", standalone_mode=False)
    return result if isinstance(result, int) else ExitCode.OK


def write_demo_config(folder: Path, sandbox: Sandbox, *, today: date) -> Path:
    """The demo's configuration, token files, pseudonym secret and (empty) ledger in ``folder``; the config's
    path."""
    for name, site in sandbox.sites.items():
        write_secret_file(folder / f"{name}.token", site.token)
        username, key_file = KEY_FILES[name]
        person = site.state.user_by_username(username)
        write_secret_file(folder / key_file, (site.state.token_of(person.id) if person else None) or "")
    write_secret_file(folder / LEARNER_KEY_FILE, sandbox.sites["lp"].learner_token)
    write_secret_file(folder / "pseudonym.secret", secrets.token_hex(32))
    template = resources.files("lmsbridge").joinpath("data/demo.toml").read_text(encoding="utf-8")
    text = template.format(
        ks_url=sandbox.sites["ks"].url,
        lp_url=sandbox.sites["lp"].url,
        renewals=", ".join(d.isoformat() for d in renewals_until(today)),  # the demo's agreement is in force
        # past the due date and the 30-day grace period, so all three certificate groups are in use
        due=(today - timedelta(days=45)).isoformat(),
    )
    path = folder / "lmsbridge.toml"
    path.write_text(text, encoding="utf-8")
    Ledger.open(folder / "ledger.db").close()  # as `lmsbridge init` makes it: doctor checks it first
    return path


def _email_line(outbox: Path) -> str | None:
    found = sorted(outbox.glob("*.eml"))
    if not found:
        return None
    message = email.message_from_bytes(found[-1].read_bytes(), policy=email.policy.default)
    return i18n.t("demo.request.email", to=message["To"], subject=message["Subject"])


def _show_labels(story: Story, context: AppContext, courses: Sequence[tuple[str, str]]) -> None:
    """Each course's visibility and label as its platform reports it (read over the web service)."""
    config = context.config()
    story.say(i18n.t("demo.labels.heading"))
    for platform, shortname in courses:
        profile = config.platform(platform)
        course = context.client(platform).course(shortname)
        if course is None:
            continue
        in_summary = sorted(label.value for label in labels_in(course.summary))
        in_field = field_label(profile, course)
        story.say(i18n.t(
            "demo.labels.row",
            platform=profile.title,
            shortname=shortname,
            visible=i18n.t("demo.labels.visible") if course.visible else i18n.t("demo.labels.hidden"),
            field=f"«{in_field}»" if in_field else i18n.t("demo.labels.none"),
            summary=", ".join(f"«{v}»" for v in in_summary) or i18n.t("demo.labels.none"),
        ))


def _learners_act(story: Story, site: SiteHandle) -> None:
    """The people in the borrowed course do something (on the sandbox, as they would in Moodle)."""
    state = site.state
    course = state.course_by_shortname(BORROWER_COURSE)
    if course is None:
        raise InputError(Message("demo.no_course", course=BORROWER_COURSE))
    modules = {module.name: module.id for module in state.tracked_modules(course)}
    for username, activity in LATER_ACTIVITY:
        user = state.user_by_username(username)
        if user is None:
            raise InputError(Message("demo.no_user", username=username))
        state.complete_activity(user.id, modules[activity])
        state.set_last_access(user.id, course.id)
        story.say(i18n.t("demo.learn.done", name=f"{user.firstname} {user.lastname}", activity=activity))


def tell(story: Story, sandbox: Sandbox, context: AppContext, today: date, report: Path) -> None:
    """The story itself: one coordinator's day with lmsbridge."""
    story.step(N_("demo.doctor.title"), N_("demo.doctor.story"))
    story.run("doctor")

    story.step(N_("demo.validate.title"), N_("demo.validate.story"))
    story.run("validate", "--platform", "lp", "--course", OWNER_COURSE)
    story.run("validate", "--platform", "lp", "--course", INCOMPLETE_COURSE, expect=1)

    story.step(N_("demo.request.title"), N_("demo.request.story"))
    story.run("share", "request", "--flow", "hospital-to-ks", "--course", INCOMPLETE_COURSE, expect=1)
    story.run("share", "request", "--flow", "hospital-to-ks", "--course", OWNER_COURSE,
              "--reason", "Kommunene ønsker kurset")
    line = _email_line(context.config().outbox_dir())
    if line:
        story.say(line)

    share_id = _requested_share(context, OWNER_COURSE)
    folder = story.config_path.parent
    story.step(N_("demo.approve.title"), N_("demo.approve.story"))
    story.run("login", "--platform", "lp", "--token-stdin", stdin=folder / LEARNER_KEY_FILE)
    story.run("share", "approve", share_id, expect=1)  # the platform says she may not update the course
    story.run("login", "--platform", "lp", "--token-stdin", stdin=folder / KEY_FILES["lp"][1])
    story.run("share", "approve", share_id)

    story.step(N_("demo.publish.title"), N_("demo.publish.story"))
    story.run("login", "--platform", "ks", "--token-stdin", stdin=folder / KEY_FILES["ks"][1])
    story.run("share", "publish", share_id, "--borrower-course", BORROWER_COURSE, "--dry-run")
    story.run("share", "publish", share_id, "--borrower-course", BORROWER_COURSE)
    _show_labels(story, context, [("lp", OWNER_COURSE), ("ks", BORROWER_COURSE)])

    story.step(N_("demo.link.title"), N_("demo.link.story"))
    story.run("share", "request", "--flow", "hospital-shares-ks-course", "--course", KS_COURSE)
    link_id = _requested_share(context, KS_COURSE)
    story.run("share", "approve", link_id)  # with Kari Ås's key to KS Læring: KS owns the course
    story.run("share", "publish", link_id)  # with Ingrid Hauge's key to the Læringsportal
    _show_labels(story, context, [("ks", KS_COURSE), ("lp", f"KS-{KS_COURSE}")])
    story.run("labels", "audit")

    story.step(N_("demo.rules.title"), N_("demo.rules.story"))
    story.run("licence", "check", "--platform", "lp", "--course", OWNER_COURSE, "--seller", "KS", expect=1)
    story.run("licence", "check", "--platform", "ks", "--course", KS_COURSE, "--seller", "Helse Bergen HF")
    upgrade_day = today + timedelta(days=7)
    story.run("notify", "downtime", "--from", "lp", "--kind", "upgrade", "--start", f"{upgrade_day}T18:00",
              "--end", f"{upgrade_day}T22:00", "--affected", "Alle e-læringskurs")

    story.step(N_("demo.sync.title"), N_("demo.learn.story"))
    story.run("sync", "run")
    story.say("")
    story.say(i18n.t("demo.learn.more"))
    _learners_act(story, sandbox.sites["ks"])
    story.say(i18n.t("demo.learn.again"))
    story.run("sync", "run")
    story.run("sync", "run")

    story.step(N_("demo.certificates.title"), N_("demo.certificates.story"))
    story.run("certificates", "list")

    story.step(N_("demo.revoke.title"), N_("demo.revoke.story"))
    with Ledger.open(context.ledger_url()) as ledger:
        ledger.backup_to(folder / BACKUP)  # the ledger as it was before the revoke (see the last step)
    story.run("share", "revoke", share_id, "--reason", "Kurset erstattes av ny versjon")
    _show_labels(story, context, [("lp", OWNER_COURSE), ("ks", BORROWER_COURSE)])

    story.step(N_("demo.ledger.title"), N_("demo.ledger.story"))
    story.run("ledger", "verify", "--witnesses")
    story.run("share", "show", share_id)
    story.say("")
    story.say(i18n.t("demo.rollback.story", backup=BACKUP))
    story.run("ledger", "verify", "--ledger", BACKUP)  # consistent with itself: the chain alone cannot tell
    story.run("ledger", "verify", "--witnesses", "--ledger", BACKUP, expect=1)  # the platforms remember the revoke

    story.step(N_("demo.report.title"), N_("demo.report.story"))
    story.run("report", "--live", "--out", str(report))


def _requested_share(context: AppContext, owner_course: str) -> str:
    """The id of the share just requested for ``owner_course`` (from the demo's ledger)."""
    with Ledger.open(context.ledger_url()) as ledger:
        found = [s.id for s in ledger.list_shares(state="requested") if s.owner_course_shortname == owner_course]
    if len(found) != 1:
        raise LmsbridgeError(Message("demo.unexpected_shares", course=owner_course, n=len(found)))
    return found[0]


@contextlib.contextmanager
def _folder(keep: Path | None) -> Iterator[Path]:
    if keep is None:
        folder = Path(tempfile.mkdtemp(prefix="lmsbridge-demo-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if keep.exists() and any(keep.iterdir()):
        raise InputError(Message("demo.folder_not_empty", folder=keep))
    keep.mkdir(parents=True, exist_ok=True)
    yield keep


def report_path(keep: Path | None) -> Path:
    """Where the demo writes its quarterly report: in the kept folder, else in a folder of its own that
    outlives the demo's temporary one (the report is the demo's last word: it must still be there)."""
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="lmsbridge-demo-report-"))
    return folder / "report.html"


def run_demo(root: click.Command, *, keep: Path | None = None, capture: bool = False,
             today: Callable[[], date] = date.today,
             report: Path | None = None) -> tuple[bool, list[CommandRun], float]:
    """Tell the story; (every command as expected, the commands run, seconds). The story ends by writing
    the quarterly report to ``report`` (default: ``report_path(keep)``)."""
    begin = time.monotonic()
    with _folder(keep) as folder:
        try:
            sandbox = Sandbox.start()
        except OSError as exc:
            raise InputError(Message("demo.cannot_start", error=exc)) from exc
        with sandbox:
            day = today()
            for site in sandbox.sites.values():
                add_receipt_field(site.state)  # made by each site's admin, as README says
            config_path = write_demo_config(folder, sandbox, today=day)
            story = Story(root=root, config_path=config_path, lang=i18n.language(), capture=capture)
            story.say(i18n.t("demo.intro", ks=sandbox.sites["ks"].url, lp=sandbox.sites["lp"].url,
                             folder=folder, temporary="" if keep else i18n.t("demo.temporary")))
            context = AppContext(config_path=str(config_path))
            try:
                with contextlib.chdir(folder):  # the story's commands name the demo's files as a user in it would
                    tell(story, sandbox, context, day, report or report_path(keep))
            except _Surprise as surprise:
                click.echo(i18n.t("demo.unexpected", command=" ".join(surprise.run.args),
                                  got=surprise.run.exit_code, expected=surprise.run.expected), err=True)
                return False, story.runs, time.monotonic() - begin
        return True, story.runs, time.monotonic() - begin


@command(
    "demo",
    help=N_("help.demo"),
    notes=N_("help.demo.notes"),
    exits=(ExitCode.FAILED,),
    examples=[
        ("lmsbridge demo", N_("help.demo.example.nb")),
        ("lmsbridge demo --lang en", N_("help.demo.example.en")),
        ("lmsbridge demo --keep demo-files", N_("help.demo.example.keep")),
        ("lmsbridge demo --report rapport.html", N_("help.demo.example.report")),
        ("lmsbridge demo --json", N_("help.demo.example.json")),
    ],
)
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), metavar=N_("metavar.folder"),
              help=N_("help.demo.keep"))
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), metavar=N_("metavar.file"),
              help=N_("help.demo.report"))
@click.pass_context
def demo(ctx: click.Context, keep: Path | None, report: Path | None) -> None:
    as_json = app(ctx).json
    target = (report or report_path(keep)).resolve()
    ok, runs, seconds = run_demo(ctx.find_root().command, keep=keep, capture=as_json, report=target)
    if as_json:
        data: dict[str, Any] = {
            "ok": ok,
            "seconds": round(seconds, 2),
            "report": str(target) if ok else None,
            "commands": [{"command": ["lmsbridge", *r.args], "expected_exit": r.expected, "exit": r.exit_code,
                          "output": r.output} for r in runs],
        }
        echo_json(data)
    else:
        click.echo("")
        if ok:
            click.echo(click.style(i18n.t("demo.done", commands=len(runs), seconds=seconds), bold=True))
            click.echo(i18n.t("demo.report.path", path=target))
        if keep is not None:
            click.echo(i18n.t("demo.kept", folder=keep))
    ctx.exit(ExitCode.OK if ok else ExitCode.FAILED)


commands = [demo]
