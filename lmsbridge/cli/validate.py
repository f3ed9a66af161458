"""``lmsbridge validate``: check course information against the agreement before publishing.

Thin: parse the options, read the sources (``lmsbridge.readers``), run the checks
(``lmsbridge.sharing.requirements.check_course_info``), print. Also ``lmsbridge schemas``, which writes
the JSON Schemas of course files and of the configuration for editors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lmsbridge import i18n
from lmsbridge.cli.command import command
from lmsbridge.cli.context import app, echo_json
from lmsbridge.cli.output import chosen, emit, output_options
from lmsbridge.errors import ExitCode, LmsbridgeError
from lmsbridge.i18n import N_
from lmsbridge.readers import DEFAULT_MAPPING, FieldMapping, Source, live_sources, load_path, study_categories
from lmsbridge.readers.coursefile import COURSE_FILE_SUFFIXES
from lmsbridge.readers.mapping import OSLO
from lmsbridge.sharing.requirements import Finding, check_course_info, errors, passes, warnings
from lmsbridge.workflows.coursechecks import course_findings, offered_for_sharing


@dataclass(frozen=True)
class Checked:
    source: Source
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return passes(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "kind": str(self.source.kind),
            **self.source.details,
            "shortname": self.source.info.shortname,
            "fullname": self.source.info.fullname,
            "ok": self.ok,
            "errors": len(errors(self.findings)),
            "warnings": len(warnings(self.findings)),
            "findings": [f.as_dict() for f in self.findings],
            "info": self.source.info.model_dump(mode="json"),
        }


@dataclass(frozen=True)
class Unreadable:
    """A file of a batch that could not be read: reported in its place, the others are checked all the same."""

    path: Path
    error: LmsbridgeError

    ok = False

    def as_dict(self) -> dict[str, Any]:
        return {"source": str(self.path), "ok": False,
                "error": {"code": self.error.code, "message": self.error.message.render(),
                          "exit_code": int(self.error.exit_code)}}


def _summary(entries: Sequence[Checked | Unreadable]) -> dict[str, int]:
    results = [r for r in entries if isinstance(r, Checked)]
    passed = sum(r.ok for r in results)
    return {
        "total": len(entries),
        "passed": passed,
        "failed": len(results) - passed,
        "unreadable": len(entries) - len(results),
        "errors": sum(len(errors(r.findings)) for r in results),
        "warnings": sum(len(warnings(r.findings)) for r in results),
    }


ROW_COLUMNS = ["source", "kind", "shortname", "fullname", "ok", "errors", "warnings", "codes", "error"]


def _row(entry: Checked | Unreadable) -> dict[str, Any]:
    """One course as one row (``-o jsonl|csv``): its verdict and the codes of its errors."""
    if isinstance(entry, Unreadable):
        return {"source": str(entry.path), "ok": False, "error": entry.error.message.render()}
    data = entry.as_dict()
    return {**{key: data.get(key) for key in ROW_COLUMNS[:7]},
            "codes": " ".join(f.code for f in errors(entry.findings))}


def _load(paths: list[Path], *, mapping: FieldMapping, course_file: Path | None,
          one_by_one: bool) -> list[Source | Unreadable]:
    """Each file's course information; with ``one_by_one`` (a batch) a file that cannot be read is kept as
    ``Unreadable`` and the others are read all the same, else its error ends the command."""
    loaded: list[Source | Unreadable] = []
    for path in paths:
        try:
            loaded.append(load_path(path, mapping=mapping, course_file=course_file))
        except LmsbridgeError as exc:
            if not one_by_one or exc.exit_code != ExitCode.INPUT:
                raise
            loaded.append(Unreadable(path, exc))
    return loaded


def _without_companions(paths: tuple[Path, ...], course_file: Path | None) -> list[Path]:
    """A package's course file (``kurs.toml`` beside ``kurs.zip``, or --course-file) is read with the package,
    not checked again on its own when it is listed too."""
    given = {path.absolute() for path in paths}
    companions = {course_file.absolute()} if course_file else set()
    for path in given:
        if path.suffix.casefold() == ".zip":
            companions |= {path.with_suffix(suffix) for suffix in COURSE_FILE_SUFFIXES}
    return [path for path in paths if path.absolute() not in companions]


_COUNTS = {
    "errors": (N_("validate.errors.one"), N_("validate.errors.many")),
    "warnings": (N_("validate.warnings.one"), N_("validate.warnings.many")),
}
_SEVERITIES = {"error": N_("validate.sev.error"), "warning": N_("validate.sev.warning")}


def _count(kind: str, n: int) -> str:
    one, many = _COUNTS[kind]
    return i18n.t(one if n == 1 else many, n=n)


def _print(results: Sequence[Checked | Unreadable], *, quiet: bool = False) -> None:
    """Each course's verdict and findings; ``quiet``: only the courses that fail or cannot be read, and the
    summary."""
    console = Console(highlight=False, width=None if Console().is_terminal else 120)
    for result in results:
        if isinstance(result, Unreadable):
            console.print(Text.assemble(("✘ ", "red"), result.error.message.render()))  # it names the file
            continue
        if quiet and result.ok:
            continue
        name = result.source.title()
        count_errors = _count("errors", len(errors(result.findings)))
        count_warnings = _count("warnings", len(warnings(result.findings)))
        if not result.findings:
            console.print(Text.assemble(("✔ ", "green"), i18n.t("validate.pass", name=name)))
            continue
        if result.ok:
            line = Text.assemble(("✔ ", "green"), i18n.t("validate.pass_warnings", name=name, warnings=count_warnings))
        else:
            line = Text.assemble(("✘ ", "red"), i18n.t("validate.fail", name=name, errors=count_errors,
                                                       warnings=count_warnings))
        console.print(line)
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2), pad_edge=True)
        table.add_column(i18n.t("validate.col.severity"), no_wrap=True)
        table.add_column(i18n.t("validate.col.message"), ratio=1)
        table.add_column(i18n.t("validate.col.code"), style="dim", no_wrap=True)
        for finding in result.findings:
            style = "red" if finding.severity == "error" else "yellow"
            table.add_row(Text(i18n.t(_SEVERITIES[str(finding.severity)]), style=style), Text(finding.message.render()),
                          Text(finding.code))
        console.print(table)
    if len(results) > 1 or quiet:
        summary = _summary(results)
        summary_line = i18n.t("validate.summary", total=summary["total"], passed=summary["passed"],
                              failed=summary["failed"], errors=_count("errors", summary["errors"]),
                              warnings=_count("warnings", summary["warnings"]))
        if summary["unreadable"]:
            summary_line += i18n.t("validate.summary.unreadable", n=summary["unreadable"])
        console.print(summary_line)


@command(
    help=N_("help.validate"),
    notes=N_("help.validate.notes"),
    exits=(ExitCode.FAILED, ExitCode.UNREACHABLE),
    examples=[
        ("lmsbridge validate examples/course.toml", N_("help.validate.example.file")),
        ("lmsbridge validate kurs.zip backup-HBHF-SMITTE-01.mbz", N_("help.validate.example.packages")),
        ("lmsbridge validate --platform lp --course HBHF-SMITTE-01", N_("help.validate.example.course")),
        ("lmsbridge validate --platform lp --category 3", N_("help.validate.example.category")),
        ("lmsbridge validate --platform ks --all --json", N_("help.validate.example.all")),
        ("LMSBRIDGE_LANG=en lmsbridge validate examples/course-incomplete.yaml", None),
    ],
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar=N_("metavar.files"))
@click.option("--platform", metavar=N_("metavar.platform"), help=N_("help.validate.platform"))
@click.option("--course", "courses", multiple=True, metavar=N_("metavar.course"), help=N_("help.validate.course"))
@click.option("--category", type=int, metavar="ID", help=N_("help.validate.category"))
@click.option("--all", "everything", is_flag=True, help=N_("help.validate.all"))
@click.option("--course-file", type=click.Path(path_type=Path), metavar=N_("metavar.file"),
              help=N_("help.validate.course_file"))
@click.option("-q", "--quiet", is_flag=True, help=N_("help.validate.quiet"))
@output_options
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    platform: str | None,
    courses: tuple[str, ...],
    category: int | None,
    everything: bool,
    course_file: Path | None,
    quiet: bool,
    fmt: str | None,
    excel: bool,
) -> None:
    selects_live = bool(courses) or category is not None or everything
    if selects_live and not platform:
        raise click.UsageError(i18n.t("validate.needs_platform"))
    if not paths and not selects_live:
        raise click.UsageError(i18n.t("validate.nothing"))
    if course_file is not None and len(paths) != 1:
        raise click.UsageError(i18n.t("validate.course_file_one"))

    mapping: FieldMapping = DEFAULT_MAPPING
    if platform:
        mapping = app(ctx).config().platform(platform)
    files = _without_companions(paths, course_file)
    loaded = _load(files, mapping=mapping, course_file=course_file, one_by_one=len(files) > 1 or selects_live)
    sources = [entry for entry in loaded if isinstance(entry, Source)]
    if platform and selects_live:
        client = app(ctx).client(platform)
        sources.extend(live_sources(client, mapping, platform=platform, keys=courses, category=category,
                                    everything=everything))
    if not sources and not loaded:
        raise click.UsageError(i18n.t("validate.nothing"))

    today = datetime.now(OSLO).date()
    if platform:
        # The same check as ``share request`` (workflows.coursechecks): KS Læring's study categories, and
        # the platform's own rules (course length, coordinators, Creative Commons marking).
        config = app(ctx).config()
        profile = config.platform(platform)
        results = [Checked(source, course_findings(source.info, config=config, profile=profile, today=today,
                                                   offered_for_sharing=offered_for_sharing(source.info)))
                   for source in sources]
    else:
        categories = study_categories(mapping)
        results = [Checked(source, check_course_info(source.info, categories=categories, today=today))
                   for source in sources]
    # in the order given, the files that could not be read in their place
    checked = iter(results)
    entries: list[Checked | Unreadable] = [entry if isinstance(entry, Unreadable) else next(checked)
                                           for entry in loaded]
    entries.extend(checked)
    emit(chosen(ctx, fmt, excel), [_row(r) for r in entries], ROW_COLUMNS, excel=excel,
         as_json={"ok": all(r.ok for r in entries), "summary": _summary(entries),
                  "courses": [r.as_dict() for r in entries]},
         table=lambda: _print(entries, quiet=quiet))
    if any(isinstance(r, Unreadable) for r in entries):
        ctx.exit(ExitCode.INPUT)
    if not all(r.ok for r in entries):
        ctx.exit(ExitCode.FAILED)


@command(
    help=N_("help.schemas"),
    notes=N_("help.schemas.notes"),
    exits=(ExitCode.FAILED,),
    examples=[
        ("lmsbridge schemas", N_("help.schemas.example.write")),
        ("lmsbridge schemas --check", N_("help.schemas.example.check")),
        ("lmsbridge schemas --out ~/.config/lmsbridge", None),
    ],
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"), show_default=True,
              metavar=N_("metavar.folder"), help=N_("help.schemas.out"))
@click.option("--check", is_flag=True, help=N_("help.schemas.check"))
@click.pass_context
def schemas(ctx: click.Context, out: Path, check: bool) -> None:
    from lmsbridge.schemas import SCHEMAS, render

    as_json = app(ctx).json
    files: list[dict[str, object]] = []
    for name, build in SCHEMAS.items():
        target = out / name
        text = render(build())
        if check:
            try:
                current = target.read_text(encoding="utf-8") == text
            except OSError:
                current = False
            files.append({"path": str(target), "current": current})
            if not as_json:
                click.echo(i18n.t("schemas.current", path=target) if current else i18n.t("schemas.stale", path=target))
            continue
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        files.append({"path": str(target), "written": True})
        if not as_json:
            click.echo(i18n.t("schemas.written", path=target))
    stale = any(f.get("current") is False for f in files)
    if as_json:
        echo_json({"ok": not stale, "schemas": files})
    if stale:
        ctx.exit(ExitCode.FAILED)


commands = [validate, schemas]
