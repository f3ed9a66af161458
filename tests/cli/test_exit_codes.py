"""One exit-code contract for every command (README «Exit codes», ``lmsbridge --help``).

Every command is run through its error paths on the sandbox: each case names the condition, and the command must
end with the code the contract gives that condition (``CONTRACT``), a code the command's own help names; with
``--json`` it ends the same way and an error is a JSON object on stdout. Every code a command's help names is seen
here (or, for the demo's whole story, in tests/cli/test_demo.py), and every command has cases.
"""

from __future__ import annotations

import functools
import json
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from lmsbridge.adapters import RetryPolicy
from lmsbridge.cli import context as context_module
from lmsbridge.cli import sandbox as sandbox_cli
from lmsbridge.cli.command import EXIT_CODES, _Rendered
from lmsbridge.cli.demo import KEY_FILES, LEARNER_KEY_FILE, write_demo_config
from lmsbridge.cli.main import cli
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import Ledger
from lmsbridge.ledger.locks import NOTIFY_LOCK, SYNC_LOCK
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.hooks import Fault
from lmsbridge.sandbox.seed import add_receipt_field

ROOT = Path(__file__).resolve().parents[2]

#: The contract: what each condition ends with, whatever the command.
CONTRACT: dict[str, int] = {
    "ok": ExitCode.OK,
    "check failed": ExitCode.FAILED,
    "refused": ExitCode.FAILED,
    "usage": ExitCode.USAGE,
    "input": ExitCode.INPUT,
    "configuration": ExitCode.CONFIG,
    "token rejected": ExitCode.CONFIG,
    "unreachable": ExitCode.UNREACHABLE,
    "partial": ExitCode.PARTIAL,
    "locked": ExitCode.LOCKED,
    "locked, quiet": ExitCode.OK,
}

#: Codes seen elsewhere (the demo's whole story takes half a minute).
ELSEWHERE = {("demo", ExitCode.OK): "tests/cli/test_demo.py", ("demo", ExitCode.FAILED): "tests/cli/test_demo.py"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class World:
    """The demo's configuration over an in-process sandbox, in ``folder`` (the current directory)."""

    sandbox: Sandbox
    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "lmsbridge.toml"

    def run(self, args: list[str], stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], input=stdin)

    def key(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")

    def ledger(self) -> Ledger:
        return Ledger.open(self.folder / "ledger.db")

    # trouble on the platforms
    def down(self) -> None:
        for site in self.sandbox.sites.values():
            site.state.fail(None, Fault.dropped())

    def rejecting_tokens(self) -> None:
        for site in self.sandbox.sites.values():
            site.state.fail(None, Fault.moodle("invalidtoken", "Invalid token - token not found"))

    def smtp_down(self) -> None:
        with self.config.open("a", encoding="utf-8") as handle:
            handle.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {closed_port()}\ntimeout_seconds = 2\n')


# --- the steps cases start from -------------------------------------------------------------------------------------

Step = Callable[[World], None]


def cli_step(*args: str, key: str | None = None) -> Step:
    def step(world: World) -> None:
        result = world.run(list(args), stdin=world.key(key) if key else None)
        assert result.exit_code == 0, (args, result.output)
    return step


REQUEST = cli_step("share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01")
LOGIN_LP = cli_step("login", "--platform", "lp", "--token-stdin", key=KEY_FILES["lp"][1])
LOGIN_KS = cli_step("login", "--platform", "ks", "--token-stdin", key=KEY_FILES["ks"][1])
LOGIN_LEARNER = cli_step("login", "--platform", "lp", "--token-stdin", key=LEARNER_KEY_FILE)
APPROVE = cli_step("share", "approve", "S-0001")
PUBLISH = cli_step("share", "publish", "S-0001", "--borrower-course", "KSL-HBHF-SMITTE-01")
APPROVED = [REQUEST, LOGIN_LP, APPROVE]
PUBLISHED = [*APPROVED, LOGIN_KS, PUBLISH]


def no_ledger(world: World) -> None:
    """The ledger the configuration names is gone (the world's setup made an empty one)."""
    (world.folder / "ledger.db").unlink(missing_ok=True)


def tamper(world: World) -> None:
    import sqlite3

    with sqlite3.connect(world.folder / "ledger.db") as raw:
        raw.execute("DROP TRIGGER IF EXISTS events_no_update")
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f"DROP TRIGGER {name}")
        raw.execute("UPDATE events SET actor = 'Mallory' WHERE seq = 1")


def rolled_back(world: World) -> None:
    """The ledger as it was before the approval, while the platforms keep the approval's receipt."""
    with world.ledger() as ledger:
        ledger.backup_to(world.folder / "before.db")
    APPROVE(world)
    shutil.copy(world.folder / "before.db", world.folder / "ledger.db")


def without_a_needed_function(world: World) -> None:
    def drop(answer: dict[str, object]) -> dict[str, object]:
        functions = answer["functions"]
        assert isinstance(functions, list)
        answer["functions"] = [f for f in functions if f["name"] != "core_completion_get_activities_completion_status"]
        return answer

    world.sandbox.sites["lp"].state.rewrite("core_webservice_get_site_info", drop)


def label_removed(world: World) -> None:
    """Someone took the label off the borrowed course's summary by hand."""
    state = world.sandbox.sites["ks"].state
    course = state.course_by_shortname("KSL-HBHF-SMITTE-01")
    assert course is not None
    with state.changing():
        course.summary = "Kurset om smittevern."


#: Moodle refuses one call: that item fails, the others go on.
REFUSED = Fault.moodle("invalidparameter", "Invalid parameter value detected")


def owner_writes_fail(world: World) -> None:
    world.sandbox.sites["lp"].state.fail("core_completion_override_activity_completion_status", REFUSED)


def receipts_fail(world: World) -> None:
    for site in world.sandbox.sites.values():
        site.state.fail("core_course_update_courses", Fault.http(503))


def groups_fail(world: World) -> None:
    world.sandbox.sites["lp"].state.fail("core_group_add_group_members", REFUSED)


def participants_refused(world: World) -> None:
    """Both platforms refuse to list a course's participants: the figures that need them cannot be read."""
    for site in world.sandbox.sites.values():
        site.state.fail("core_enrol_get_enrolled_users", REFUSED)


# --- the cases ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    command: str
    condition: str
    args: tuple[str, ...]
    before: tuple[Step, ...] = ()
    trouble: Step | None = None
    stdin: str | None = None  # a key file whose text is typed in
    around: Callable[[World], object] | None = None  # a context manager held while the command runs

    @property
    def expected(self) -> int:
        return CONTRACT[self.condition]


def cases(command: str, *given: tuple[str, list[str]] | Case, platform: list[str] | None = None,
          configured: list[str] | None = None) -> list[Case]:
    """``given`` (condition, args) or Cases; with ``platform``, those args also meet a platform that cannot be reached
    and one that rejects the token; with ``configured``, those args meet a configuration file that is not there.
    Every command gets an unknown option."""
    found = [c if isinstance(c, Case) else Case(command, c[0], tuple(c[1])) for c in given]
    if platform is not None:
        found += [Case(command, "unreachable", tuple(platform), trouble=World.down),
                  Case(command, "token rejected", tuple(platform), trouble=World.rejecting_tokens)]
    if configured is not None:
        found.append(Case(command, "configuration", (*configured, "--config", "missing.toml")))
    found.append(Case(command, "usage", (*command.split(), "--no-such-option")))
    return found


def acts(command: str, args: list[str], *, ok_before: list[Step], refused: Case, unreachable_before: list[Step]) -> list[Case]:
    """An act on a share: done, refused, an unknown share, a platform down or rejecting the token."""
    return [
        Case(command, "ok", tuple(args), before=tuple(ok_before)),
        refused,
        Case(command, "input", tuple(a if a != "S-0001" else "S-9999" for a in args), before=(REQUEST,)),
        Case(command, "unreachable", tuple(args), before=tuple(unreachable_before), trouble=World.down),
        Case(command, "token rejected", tuple(args), before=tuple(unreachable_before), trouble=World.rejecting_tokens),
        Case(command, "configuration", (*args, "--config", "missing.toml")),
        Case(command, "usage", (*command.split(), "--no-such-option")),
    ]


def held_lock(name: str) -> Callable[[World], object]:
    """Another run holding the ledger's lock ``name`` while the command runs."""
    import contextlib

    def around(world: World) -> object:
        @contextlib.contextmanager
        def hold() -> Iterator[None]:
            with world.ledger() as ledger, ledger.acquire_lock(name):
                yield

        return hold()

    return around


held_sync_lock = held_lock(SYNC_LOCK)


COURSE = str(ROOT / "examples" / "course.toml")
INCOMPLETE = str(ROOT / "examples" / "course-incomplete.yaml")

CASES: list[Case] = [
    *cases("doctor", ("ok", ["doctor"]), Case("doctor", "check failed", ("doctor",), trouble=without_a_needed_function),
           platform=["doctor"], configured=["doctor"]),
    *cases("validate", ("ok", ["validate", COURSE]), ("check failed", ["validate", INCOMPLETE]),
           ("input", ["validate", "no-such-file.toml"]), ("input", ["validate", COURSE, "no-such-file.toml"]),
           ("usage", ["validate"]),
           platform=["validate", "--platform", "ks", "--all"], configured=["validate", "--platform", "ks", "--all"]),
    *cases("schemas", ("ok", ["schemas", "--out", "schemas"]), ("check failed", ["schemas", "--check", "--out", "none"])),
    *cases("licence check", ("ok", ["licence", "check", "--platform", "ks", "--course", "KSL-VELFERD-01", "--seller", "HF"]),
           ("refused", ["licence", "check", "--platform", "lp", "--course", "HBHF-SMITTE-01", "--seller", "KS"]),
           ("input", ["licence", "check", "--platform", "ks", "--course", "NO-SUCH-COURSE", "--seller", "KS"]),
           ("usage", ["licence", "check", "--seller", "KS"]),
           platform=["licence", "check", "--platform", "ks", "--course", "KSL-VELFERD-01", "--seller", "HF"],
           configured=["licence", "check", "--platform", "ks", "--course", "KSL-VELFERD-01", "--seller", "HF"]),
    *cases("notify downtime",
           ("ok", ["notify", "downtime", "--from", "lp", "--start", "2030-01-01T18:00", "--end", "2030-01-01T20:00"]),
           ("input", ["notify", "downtime", "--from", "lp", "--start", "2030-01-01T18:00", "--end", "2030-01-01T17:00"]),
           ("usage", ["notify", "downtime", "--from", "lp", "--start", "soon", "--end", "2030-01-01T17:00"]),
           Case("notify downtime", "unreachable", ("notify", "downtime", "--from", "lp", "--start", "2030-01-01T18:00",
                                                   "--end", "2030-01-01T20:00"), trouble=World.smtp_down),
           configured=["notify", "downtime", "--from", "lp", "--start", "2030-01-01T18:00", "--end", "2030-01-01T20:00"]),
    *cases("notify renewal", ("ok", ["notify", "renewal"]),
           Case("notify renewal", "unreachable", ("notify", "renewal"), trouble=World.smtp_down),
           configured=["notify", "renewal"]),
    *cases("login", Case("login", "ok", ("login", "--platform", "lp", "--token-stdin"), stdin=KEY_FILES["lp"][1]),
           Case("login", "refused", ("login", "--platform", "lp", "--token-stdin"), stdin="lp.token"),
           Case("login", "token rejected", ("login", "--platform", "lp", "--token-stdin"), stdin="pseudonym.secret"),
           Case("login", "unreachable", ("login", "--platform", "lp", "--token-stdin"), stdin=KEY_FILES["lp"][1],
                trouble=World.down),
           configured=["login", "--platform", "lp"]),
    *cases("logout", Case("logout", "ok", ("logout",), before=(LOGIN_LP,)), configured=["logout"]),
    *cases("share request", ("ok", ["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01"]),
           ("refused", ["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-LEGEMID-02"]),
           ("input", ["share", "request", "--flow", "hospital-to-ks", "--course", "NO-SUCH-COURSE"]),
           ("usage", ["share", "request", "--flow", "nowhere", "--course", "HBHF-SMITTE-01"]),
           platform=["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01"],
           configured=["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01"]),
    *acts("share approve", ["share", "approve", "S-0001"], ok_before=[REQUEST, LOGIN_LP],
          refused=Case("share approve", "refused", ("share", "approve", "S-0001"), before=(REQUEST, LOGIN_LEARNER)),
          unreachable_before=[REQUEST, LOGIN_LP]),
    *acts("share reject", ["share", "reject", "S-0001", "--reason", "Nei"], ok_before=[REQUEST, LOGIN_LP],
          refused=Case("share reject", "refused", ("share", "reject", "S-0001", "--reason", "Nei"),
                       before=tuple(APPROVED)),
          unreachable_before=[REQUEST, LOGIN_LP]),
    *acts("share withdraw", ["share", "withdraw", "S-0001", "--reason", "Feil kurs"],
          ok_before=[LOGIN_LP, cli_step("share", "request", "--flow", "hospital-shares-ks-course", "--course",
                                        "KSL-VELFERD-01")],
          refused=Case("share withdraw", "refused", ("share", "withdraw", "S-0001", "--reason", "Feil kurs"),
                       before=(REQUEST, LOGIN_KS)),
          unreachable_before=[REQUEST, LOGIN_KS]),
    *acts("share publish", ["share", "publish", "S-0001", "--borrower-course", "KSL-HBHF-SMITTE-01"],
          ok_before=[*APPROVED, LOGIN_KS],
          refused=Case("share publish", "refused", ("share", "publish", "S-0001"), before=(REQUEST, LOGIN_KS)),
          unreachable_before=[*APPROVED, LOGIN_KS]),
    *acts("share revoke", ["share", "revoke", "S-0001", "--reason", "Erstattet"], ok_before=PUBLISHED,
          refused=Case("share revoke", "refused", ("share", "revoke", "S-0001", "--reason", "Erstattet"),
                       before=(REQUEST, LOGIN_LP)),
          unreachable_before=PUBLISHED),
    *cases("share list", ("ok", ["share", "list"]), ("usage", ["share", "list", "--state", "nope"]),
           configured=["share", "list"]),
    *cases("share show", Case("share show", "ok", ("share", "show", "S-0001"), before=(REQUEST,)),
           ("input", ["share", "show", "S-9999"]), ("usage", ["share", "show"]), configured=["share", "show", "S-0001"]),
    *cases("labels audit", Case("labels audit", "ok", ("labels", "audit"), before=tuple(PUBLISHED)),
           Case("labels audit", "check failed", ("labels", "audit"), before=tuple(PUBLISHED), trouble=label_removed),
           platform=["labels", "audit"], configured=["labels", "audit"]),
    *cases("ledger verify", Case("ledger verify", "ok", ("ledger", "verify"), before=(REQUEST,)),
           Case("ledger verify", "check failed", ("ledger", "verify"), before=(REQUEST,), trouble=tamper),
           ("input", ["ledger", "verify", "--ledger", "no-such-ledger.db"]),
           Case("ledger verify", "unreachable", ("ledger", "verify", "--witnesses"), before=(REQUEST,),
                trouble=World.down)),
    *cases("ledger witness", Case("ledger witness", "ok", ("ledger", "witness"), before=(REQUEST,)),
           Case("ledger witness", "refused", ("ledger", "witness"), before=(REQUEST, LOGIN_LP), trouble=rolled_back),
           Case("ledger witness", "partial", ("ledger", "witness"), before=(receipts_fail, REQUEST)),
           ("input", ["ledger", "witness", "--ledger", "no-such-ledger.db"])),
    *cases("ledger events", Case("ledger events", "ok", ("ledger", "events"), before=(REQUEST,)),
           ("input", ["ledger", "events", "--ledger", "no-such-ledger.db"])),
    *cases("sync run", Case("sync run", "ok", ("sync", "run"), before=tuple(PUBLISHED)),
           Case("sync run", "partial", ("sync", "run"), before=tuple(PUBLISHED), trouble=owner_writes_fail),
           Case("sync run", "locked", ("sync", "run"), before=tuple(PUBLISHED), around=held_sync_lock),
           Case("sync run", "locked, quiet", ("sync", "run", "--quiet"), before=tuple(PUBLISHED),
                around=held_sync_lock),
           Case("sync run", "unreachable", ("sync", "run"), before=tuple(PUBLISHED), trouble=World.down),
           Case("sync run", "token rejected", ("sync", "run"), before=tuple(PUBLISHED), trouble=World.rejecting_tokens),
           configured=["sync", "run"]),
    *cases("sync status", ("ok", ["sync", "status"]), configured=["sync", "status"]),
    *cases("sync check", Case("sync check", "ok", ("sync", "check"), before=(REQUEST,)),  # nothing published yet
           # the nurses' completions on KS Læring are not on the owner yet: the two sides differ
           Case("sync check", "check failed", ("sync", "check"), before=tuple(PUBLISHED)),
           Case("sync check", "partial", ("sync", "check"), before=tuple(PUBLISHED), trouble=participants_refused),
           Case("sync check", "unreachable", ("sync", "check"), before=tuple(PUBLISHED), trouble=World.down),
           Case("sync check", "token rejected", ("sync", "check"), before=tuple(PUBLISHED),
                trouble=World.rejecting_tokens),
           configured=["sync", "check"]),
    *cases("config show", ("ok", ["config", "show"]), configured=["config", "show"]),
    *cases("init", ("ok", ["init", "new.toml", "--side", "hospital", "--organisation", "Helse Bergen HF",
                           "--lp-url", "https://laringsportal.helse-bergen.no", "--no-input"]),
           ("input", ["init", "lmsbridge.toml", "--side", "hospital", "--organisation", "Helse Bergen HF",
                      "--lp-url", "https://laringsportal.helse-bergen.no", "--no-input"])),  # the file is there
    *cases("certificates group", Case("certificates group", "ok", ("certificates", "group"), before=tuple(PUBLISHED)),
           Case("certificates group", "partial", ("certificates", "group"), before=tuple(PUBLISHED), trouble=groups_fail),
           platform=["certificates", "group"], configured=["certificates", "group"]),
    *cases("certificates list", Case("certificates list", "ok", ("certificates", "list"), before=tuple(PUBLISHED)),
           Case("certificates list", "partial", ("certificates", "list"), before=tuple(PUBLISHED),
                trouble=participants_refused),
           platform=["certificates", "list"], configured=["certificates", "list"]),
    *cases("certificates notify", Case("certificates notify", "ok", ("certificates", "notify"), before=tuple(PUBLISHED)),
           Case("certificates notify", "partial", ("certificates", "notify"), before=tuple(PUBLISHED),
                trouble=participants_refused),
           Case("certificates notify", "locked", ("certificates", "notify"), before=tuple(PUBLISHED),
                around=held_lock(NOTIFY_LOCK)),
           Case("certificates notify", "locked, quiet", ("certificates", "notify", "--quiet"), before=tuple(PUBLISHED),
                around=held_lock(NOTIFY_LOCK)),
           platform=["certificates", "notify"], configured=["certificates", "notify"]),
    *cases("report", Case("report", "ok", ("report", "--out", "report.html"), before=(REQUEST,)),
           ("usage", ["report", "--quarter", "2026Q9"]),
           Case("report", "input", ("report",), before=(no_ledger,)),  # the configuration's ledger is not there
           Case("report", "unreachable", ("report", "--live", "--out", "report.html"), before=(REQUEST,),
                trouble=World.down),
           Case("report", "partial", ("report", "--live", "--out", "report.html"), before=tuple(PUBLISHED),
                trouble=participants_refused),
           configured=["report"]),
    *cases("sandbox serve", ("ok", ["sandbox", "serve"])),
    *cases("demo", ("input", ["demo", "--keep", "."])),
]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sandbox_cli, "wait_until_interrupted", lambda: None)
    # the transport's retries as configured, without their waits
    monkeypatch.setattr(context_module, "RetryPolicy", functools.partial(RetryPolicy, sleep=lambda _: None))
    with Sandbox.in_process() as sandbox:
        for site in sandbox.sites.values():
            add_receipt_field(site.state)
        write_demo_config(tmp_path, sandbox, today=date.today())
        yield World(sandbox, tmp_path)


def run_case(world: World, case: Case, *extra: str) -> Result:
    for step in case.before:
        step(world)
    if case.trouble is not None:
        case.trouble(world)
    stdin = world.key(case.stdin) if case.stdin else None
    if case.around is None:
        return world.run([*case.args, *extra], stdin=stdin)
    with case.around(world):  # type: ignore[attr-defined]
        return world.run([*case.args, *extra], stdin=stdin)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.command}: {c.condition}")
def test_each_condition_ends_with_its_code(world: World, case: Case) -> None:
    result = run_case(world, case)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == case.expected, f"{case.args}: {result.exit_code}\n{result.output}"
    command = command_at(case.command)
    assert result.exit_code in command.exits, f"{case.command} ends with {result.exit_code}, its help says {command.exits}"


@pytest.mark.parametrize("case", [c for c in CASES if c.condition not in ("ok", "usage")],
                         ids=lambda c: f"{c.command}: {c.condition}")
def test_with_json_the_same_code_and_an_error_is_an_object(tmp_path: Path, world: World, case: Case) -> None:
    if case.command == "sandbox serve":
        pytest.skip("serves in the foreground")
    result = run_case(world, case, "--json")
    assert result.exit_code == case.expected, result.output
    if case.condition == "locked, quiet":  # --quiet: nothing to mail from cron, nothing printed
        assert result.stdout == ""
        return
    data = json.loads(result.stdout)
    if "error" in data:
        assert data["error"]["exit_code"] == case.expected and data["error"]["message"]


def command_at(path: str) -> _Rendered:
    found: click.Command = cli
    for name in path.split():
        assert isinstance(found, click.Group)
        found = found.commands[name]
    assert isinstance(found, _Rendered)
    return found


def all_paths(group: click.Group, prefix: str = "") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            paths += all_paths(command, path)
        else:
            paths.append(path)
    return paths


def test_every_command_has_cases_and_every_code_its_help_names_is_seen() -> None:
    seen: dict[str, set[int]] = {}
    for case in CASES:
        seen.setdefault(case.command, set()).add(case.expected)
    for path in all_paths(cli):
        assert path in seen, f"no exit-code cases for «lmsbridge {path}»"
        named = set(command_at(path).exits)
        unseen = {code for code in named - seen[path] if (path, code) not in ELSEWHERE}
        assert not unseen, f"«lmsbridge {path} --help» names exit codes no case sees: {sorted(unseen)}"


def test_every_exit_code_is_in_the_table_the_readme_and_the_root_help() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    root_help = CliRunner().invoke(cli, ["--help", "--lang", "en"]).output
    for code in ExitCode:
        assert code in EXIT_CODES, f"ExitCode.{code.name} has no line in cli.command.EXIT_CODES"
        assert f"| {int(code)} |" in table, f"README «Exit codes» has no row for {int(code)}"
        assert f"\n  {int(code)} " in root_help
