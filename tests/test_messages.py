"""User-facing messages: Norwegian bokmål by default, English with ``--lang en`` / ``LMSBRIDGE_LANG=en``.

(a) Common errors through the real CLI in both languages: one line ("Feil: …" / "Error: …"), no
    traceback, the documented exit code, never a token.
(b) A scan of the source with ast: an exception built with text of its own (a literal or an f-string
    with words) instead of a message from ``i18n.t`` fails the test with the list of places, so raw
    English cannot creep back in. Purely internal errors are listed, with the reason, in ``INTERNAL``.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import lmsbridge
from lmsbridge.cli.main import cli
from lmsbridge.sandbox import Sandbox

PACKAGE = Path(lmsbridge.__file__).parent
WRONG_TOKEN = "not-the-token-0123456789abcdef"  # a made-up token that must never be shown
PLATFORM = """
[platforms.ks]
title = "KS Læring"
url = "{url}"
role = "municipal"
organisation = "KS"
token_env = "KS_TOKEN"
retry_attempts = 1
"""


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / "lmsbridge.toml"
    path.write_text(PLATFORM.format(url=url) + extra, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Case:
    """One error: the command line (after ``--config``), the exit code, and the line in each language."""

    args: tuple[str, ...]
    exit_code: int
    nb: str
    en: str


def one_error_line(result: Result, lang: str, expected: str, exit_code: int) -> str:
    """The CLI printed exactly one line, on stderr, starting with the language's «Feil:» / «Error:»."""
    assert isinstance(result.exception, SystemExit), result.exception  # no uncaught exception, no traceback
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Feil: " if lang == "nb" else "Error: "), line
    assert expected in line, line
    assert "Traceback" not in result.output and WRONG_TOKEN not in result.output
    return line


def run(args: list[str], lang: str, *, how: str, env: dict[str, str] | None = None) -> Result:
    """Invoke the CLI, choosing English by ``--lang en`` or by ``LMSBRIDGE_LANG`` (``how``)."""
    env = dict(env or {})
    if lang == "en" and how == "option":
        args = ["--lang", "en", *args]
    elif lang == "en":
        env["LMSBRIDGE_LANG"] = "en"
    return CliRunner().invoke(cli, args, env=env)


LANGUAGES = [("nb", "default"), ("en", "option"), ("en", "environment")]


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_no_configuration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, how: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(["doctor"], lang, how=how)
    expected = {
        "nb": "Feil: ingen konfigurasjonsfil: oppgi --config FIL, sett LMSBRIDGE_CONFIG, eller lag ./lmsbridge.toml",
        "en": "Error: no configuration file: give --config FILE, set LMSBRIDGE_CONFIG, or create ./lmsbridge.toml",
    }[lang]
    one_error_line(result, lang, expected, 2)


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_unreadable_configuration_file(tmp_path: Path, lang: str, how: str) -> None:
    missing = tmp_path / "nonexistent.toml"
    result = run(["--config", str(missing), "doctor"], lang, how=how)
    expected = {
        "nb": f"Feil: {missing}: konfigurasjonsfilen kan ikke leses (finnes ikke)",
        "en": f"Error: {missing}: cannot read the configuration file (no such file or folder)",
    }[lang]
    one_error_line(result, lang, expected, 2)


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_configuration_that_is_not_toml(tmp_path: Path, lang: str, how: str) -> None:
    path = tmp_path / "lmsbridge.toml"
    path.write_text("[platforms.ks\nurl = ", encoding="utf-8")
    result = run(["--config", str(path), "doctor"], lang, how=how)
    # tomllib's own detail (line and column) stays as it is, inside the translated frame
    expected = {"nb": f"Feil: {path}: ikke gyldig TOML: ", "en": f"Error: {path}: not valid TOML: "}[lang]
    assert "line 1" in one_error_line(result, lang, expected, 2)


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_configuration_with_a_bad_value(tmp_path: Path, lang: str, how: str) -> None:
    path = write_config(tmp_path, "laring.ks.no")
    result = run(["--config", str(path), "doctor"], lang, how=how)
    expected = {
        "nb": f"Feil: {path.resolve()}: platforms.ks.url: må begynne med http:// eller https://",
        "en": f"Error: {path.resolve()}: platforms.ks.url: must start with http:// or https://",
    }[lang]
    one_error_line(result, lang, expected, 2)


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_token_not_set(tmp_path: Path, lang: str, how: str) -> None:
    path = write_config(tmp_path, "https://laring.ks.no")
    result = run(["--config", str(path), "validate", "--platform", "ks", "--all"], lang, how=how)
    expected = {
        "nb": "Feil: nøkkelen til plattformen «ks»: miljøvariabelen KS_TOKEN er ikke satt eller er tom",
        "en": "Error: the token for platform «ks»: the environment variable KS_TOKEN is not set or empty",
    }[lang]
    one_error_line(result, lang, expected, 2)


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_platform_that_cannot_be_reached(tmp_path: Path, lang: str, how: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    path = write_config(tmp_path, url)
    result = run(["--config", str(path), "validate", "--platform", "ks", "--all"], lang, how=how,
                 env={"KS_TOKEN": WRONG_TOKEN})
    expected = {
        "nb": f"Feil: ks: core_course_get_courses_by_field: kan ikke nå {url} (tilkoblingen feilet): "
        "sjekk adressen (url) i konfigurasjonen, nettverket, og at plattformen er oppe",
        "en": f"Error: ks: core_course_get_courses_by_field: could not reach {url} (the connection failed): "
        "check the address (url) in the configuration, the network, and that the platform is up",
    }[lang]
    one_error_line(result, lang, expected, 3)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_invalid_token_against_the_sandbox(tmp_path: Path, sandbox: Sandbox, lang: str, how: str) -> None:
    path = write_config(tmp_path, sandbox["ks"].url)
    result = run(["--config", str(path), "validate", "--platform", "ks", "--all"], lang, how=how,
                 env={"KS_TOKEN": WRONG_TOKEN})
    # Moodle's own text stays as Moodle sent it; the frame and the advice are in the user's language
    expected = {
        "nb": "Feil: ks: core_course_get_courses_by_field: plattformen godtar ikke nøkkelen: "
        "«Invalid token - token not found» [invalidtoken]. Sjekk nøkkelen",
        "en": "Error: ks: core_course_get_courses_by_field: the platform does not accept the token: "
        "«Invalid token - token not found» [invalidtoken]. Check the token",
    }[lang]
    one_error_line(result, lang, expected, 2)  # a rejected token: configuration


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_course_not_found_on_the_sandbox(tmp_path: Path, sandbox: Sandbox, lang: str, how: str) -> None:
    path = write_config(tmp_path, sandbox["ks"].url)
    result = run(["--config", str(path), "licence", "check", "--platform", "ks", "--course", "NO-SUCH-COURSE",
                  "--seller", "KS"], lang, how=how, env={"KS_TOKEN": sandbox["ks"].token})
    expected = {
        "nb": "Feil: Fant ikke kurset «NO-SUCH-COURSE» på ks",
        "en": "Error: Course «NO-SUCH-COURSE» not found on ks",
    }[lang]
    line = one_error_line(result, lang, expected, 2)
    assert sandbox["ks"].token not in line


@pytest.mark.parametrize(("lang", "how"), LANGUAGES)
def test_http_503_from_the_platform(tmp_path: Path, lang: str, how: str) -> None:
    with Sandbox.start(fault_rate=1.0, fault_mode="503") as faulty:
        path = write_config(tmp_path, faulty["ks"].url)
        result = run(["--config", str(path), "validate", "--platform", "ks", "--all"], lang, how=how,
                     env={"KS_TOKEN": faulty["ks"].token})
    expected = {
        "nb": "Feil: ks: core_course_get_courses_by_field: plattformen svarte HTTP 503 (feil eller vedlikehold "
        "hos plattformen): prøv igjen senere",
        "en": "Error: ks: core_course_get_courses_by_field: the platform answered HTTP 503 (a fault or maintenance "
        "on the platform): try again later",
    }[lang]
    one_error_line(result, lang, expected, 3)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_real_process_prints_one_line(tmp_path: Path, lang: str) -> None:
    """``python -m lmsbridge`` itself (not the test runner): stderr is one line, the exit code is right."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSBRIDGE_")}
    env["LMSBRIDGE_LANG"] = lang
    env["KS_TOKEN"] = WRONG_TOKEN
    url = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / "elsewhere").mkdir()
    config = write_config(tmp_path / "elsewhere", url)
    cases = [
        (["doctor"], 2, {"nb": "Feil: ingen konfigurasjonsfil", "en": "Error: no configuration file"}),
        (["--config", str(config), "validate", "--platform", "ks", "--all"], 3,
         {"nb": f"kan ikke nå {url}", "en": f"could not reach {url}"}),
    ]
    for args, exit_code, texts in cases:
        done = subprocess.run([sys.executable, "-m", "lmsbridge", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == exit_code, done.stderr
        assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
        assert texts[lang] in done.stderr and "Traceback" not in done.stderr and WRONG_TOKEN not in done.stderr


# --- (b) the scan -----------------------------------------------------------------------------------

#: Not scanned: the sandbox imitates Moodle's own English error texts (they must stay as recorded).
SKIPPED = ("sandbox/",)

#: Errors that never reach a user as they are: programming errors (a caller broke an internal contract)
#: or details that a translated message replaces. Keyed by (file, enclosing function, exception class).
INTERNAL: dict[tuple[str, str, str], str] = {
    ("i18n.py", "Message.__setattr__", "AttributeError"): "a programming error: messages are immutable",
    ("i18n.py", "Message.__get_pydantic_core_schema__.validate", "ValueError"):
        "a stored message that is not one: the ledger reports the row as unreadable in its own words",
    ("adapters/models.py", "CustomField.parse", "ValueError"):
        "a Moodle answer's shape; the user sees client.bad_shape (only the count of problems)",
    ("adapters/models.py", "_custom_fields", "ValueError"):
        "a Moodle answer's shape; the user sees client.bad_shape (only the count of problems)",
    **dict.fromkeys([("adapters/bounds.py", "bounded_int", "TypeError"), ("adapters/bounds.py", "bounded_int", "ValueError"),
                     ("adapters/bounds.py", "percent_value", "TypeError")],
                    "not a number at all: the models leave it to pydantic, the user sees client.bad_shape"),
    ("ledger/chain.py", "_plain", "TypeError"): "json.dumps hook; caught and re-raised by details_text",
    ("ledger/chain.py", "details_text", "LedgerError"):
        "event details are built by lmsbridge's code, never from user input: a programming error",
    ("ledger/locks.py", "check_lock_name", "LedgerError"): "lock names are constants in the code",
    ("ledger/base.py", "LedgerBase.backup_to", "LedgerError"): "a backup taken inside a transaction: a programming error",
    ("workflows/labels.py", "audit_labels", "ValueError"): "the CLI always passes the keys with --fix",
    ("ledger/lockstate.py", "LockState.acquire_lock", "LedgerError"):
        "a shared lock asked of SQLite: the sync asks for one only where the ledger supports it",
    ("ledger/migrations.py", "m0006_row_digests", "LedgerError"): "a migration called outside migrate()",
    ("ledger/rows.py", "parse_stamps", "ValueError"): "caught by the ledger: the user sees ledger.unreadable_event",
    ("ledger/base.py", "_ts", "LedgerError"): "a naive datetime passed by lmsbridge's code",
    ("ledger/base.py", "LedgerBase.migrate", "LedgerError"): "migrate() called inside a transaction",
    ("ledger/record.py", "AgreementRecord.update_share_state", "LedgerError"): "an unknown state or field from the code",
    ("ledger/base.py", "LedgerBase.append_event", "LedgerError"): "an event without actor/action from the code",
    ("ledger/syncstate.py", "SyncState.record_failure", "LedgerError"): "an unknown failure kind from the code",
    ("ledger/syncstate.py", "SyncState.finish_run", "LedgerError"): "an unknown run status from the code",
    ("sharing/term.py", "terms_of", "ValueError"): "term_months comes from the config, validated there (ge=1)",
    ("report/render.py", "Texts.__call__", "LmsbridgeError"):
        "a template's text code missing from TEXTS: a programming error the report's tests catch",
}

EXCEPTION_SUFFIXES = ("Error", "Exception", "Violation", "Warning")
CLICK_EXCEPTIONS = frozenset({"BadParameter", "BadOptionUsage", "BadArgumentUsage", "UsageError", "ClickException"})


def _is_exception(call: ast.Call) -> str | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name[:1].isupper() and (name.endswith(EXCEPTION_SUFFIXES) or name in CLICK_EXCEPTIONS):
        return name
    return None


def _is_i18n(node: ast.AST) -> bool:
    """``i18n.t(...)`` (or ``t(...)``, ``i18n.os_reason(...)``): text from the catalogue."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "i18n":
        return True
    return isinstance(func, ast.Name) and func.id == "t"


def _own_words(node: ast.AST) -> bool:
    """Does this message expression put text of its own (a literal with letters) into the message?

    Text positions only: the expression itself, an f-string's literal parts, the operands of ``+``/``%``,
    the template of ``.format``, either side of ``or``/``if-else``. A literal inside another call
    (``data.get("error")``) is a key, not text; ``i18n.t(...)`` is text from the catalogue."""
    if _is_i18n(node):
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_own_words(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _own_words(node.left) or _own_words(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _own_words(node.func.value)
    if isinstance(node, ast.BoolOp):
        return any(_own_words(value) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _own_words(node.body) or _own_words(node.orelse)
    return False


def _message_args(call: ast.Call) -> list[ast.expr]:
    args: list[ast.expr] = list(call.args[:1])
    args += [kw.value for kw in call.keywords if kw.arg in ("message", "text", "msg")]
    return args


class _Finder(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.scope: list[str] = []
        self.found: list[tuple[str, str, str, int]] = []

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope
    visit_ClassDef = _visit_scope

    def visit_Call(self, node: ast.Call) -> None:
        name = _is_exception(node)
        if name and any(_own_words(arg) for arg in _message_args(node)):
            self.found.append((self.rel, ".".join(self.scope), name, node.lineno))
        self.generic_visit(node)


def raw_messages() -> list[tuple[str, str, str, int]]:
    """Every exception built with words of its own: (file, function, class, line)."""
    found: list[tuple[str, str, str, int]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(SKIPPED):
            continue
        finder = _Finder(rel)
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(finder.found)
    return found


def test_every_user_facing_error_message_comes_from_the_catalogue() -> None:
    untranslated = [f"lmsbridge/{rel}:{line}: {name} in {scope or '<module>'}"
                    for rel, scope, name, line in raw_messages() if (rel, scope, name) not in INTERNAL]
    assert not untranslated, (
        "error messages with their own (English) text; add them to the catalogue (scripts/messages add) and raise "
        "with Message(code, …), or list a purely internal error in INTERNAL with the reason:\n  " + "\n  ".join(untranslated)
    )


def test_the_allow_list_has_no_stale_entries() -> None:
    found = {(rel, scope, name) for rel, scope, name, _ in raw_messages()}
    stale = sorted(set(INTERNAL) - found)
    assert not stale, f"INTERNAL lists errors that are gone (remove them): {stale}"


def test_the_scan_sees_what_it_should() -> None:
    """The scan itself: a raw message, an f-string with words and a concatenation are found; i18n.t and
    word-less glue are not."""
    source = '''
def f(exc, where):
    raise ConfigError("no such platform")
    raise InputError(f"cannot read {exc}")
    raise LedgerError("event " + str(exc))
    raise click.UsageError("give --platform")
    raise ProtocolError(i18n.t("wire.html", where=where))
    raise ConfigError(i18n.t("config.none") + i18n.t("config.more", n=1), key="platforms")
    raise NotFoundError("", text=i18n.t("course.not_found", key=1, platform="ks"))
    raise MoodleWarningsError(warnings)
    raise ValueError(f"{where}{exc}")
    raise LoginError(str(exc.get("error") or ""), errorcode="x")
    error = RecordError("{n} items failed".format(n=3))
    raise TransportError(where or "platform down")
    return InputError("not a course file: %s" % exc)
'''
    finder = _Finder("example.py")
    finder.visit(ast.parse(source))
    assert [(name, line) for _, _, name, line in finder.found] == [
        ("ConfigError", 3), ("InputError", 4), ("LedgerError", 5), ("UsageError", 6),
        ("RecordError", 13), ("TransportError", 14), ("InputError", 15),
    ]
