"""``lmsbridge validate``: check course information against the agreement before publishing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lmsbridge import i18n
from lmsbridge.cli.context import app, echo_json
from lmsbridge.errors import InputError
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.requirements import Finding, check_course_info, passes
from lmsbridge.validation.files import load_any
from lmsbridge.validation.live import course_info_from_course

i18n.register(
    {
        "validate.pass": {"nb": "{name}: oppfyller kravene", "en": "{name}: meets the requirements"},
        "validate.fail": {"nb": "{name}: {errors} feil, {warnings} advarsler", "en": "{name}: {errors} errors, {warnings} warnings"},
        "validate.summary": {
            "nb": "{total} kurs kontrollert: {passed} godkjent, {failed} med feil",
            "en": "{total} courses checked: {passed} passed, {failed} with errors",
        },
        "validate.nothing": {
            "nb": "Oppgi en fil, eller --platform med --course, --category eller --all",
            "en": "Give a file, or --platform with --course, --category or --all",
        },
        "validate.col.severity": {"nb": "Alvor", "en": "Severity"},
        "validate.col.item": {"nb": "Punkt", "en": "Item"},
        "validate.col.message": {"nb": "Melding", "en": "Message"},
        "validate.sev.error": {"nb": "feil", "en": "error"},
        "validate.sev.warning": {"nb": "advarsel", "en": "warning"},
        "validate.not_found": {"nb": "Fant ikke kurset {key} på {platform}", "en": "Course {key} not found on {platform}"},
    }
)


@dataclass(frozen=True)
class Checked:
    name: str
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return passes(self.findings)

    def as_dict(self) -> dict[str, object]:
        return {"course": self.name, "ok": self.ok, "findings": [f.as_dict() for f in self.findings]}


def _print(results: list[Checked]) -> None:
    console = Console(highlight=False, width=None if Console().is_terminal else 120)
    for result in results:
        errors = sum(f.severity == "error" for f in result.findings)
        warnings = len(result.findings) - errors
        if result.ok and not warnings:
            console.print(f"[green]✔[/green] {i18n.t('validate.pass', name=result.name)}")
            continue
        mark = "[green]✔[/green]" if result.ok else "[red]✘[/red]"
        console.print(f"{mark} {i18n.t('validate.fail', name=result.name, errors=errors, warnings=warnings)}")
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column(i18n.t("validate.col.severity"))
        table.add_column(i18n.t("validate.col.item"))
        table.add_column(i18n.t("validate.col.message"))
        table.add_column("Code", style="dim")
        for finding in result.findings:
            table.add_row(i18n.t(f"validate.sev.{finding.severity}"), finding.item, finding.message, finding.code)
        console.print(table)
    if len(results) > 1:
        passed = sum(r.ok for r in results)
        console.print(i18n.t("validate.summary", total=len(results), passed=passed, failed=len(results) - passed))


@click.command(
    epilog="""\b
Examples:
  lmsbridge validate examples/course.toml
  lmsbridge validate kurs.zip kurs-backup.mbz --json
  lmsbridge validate --platform lp --course HBHF-SMITTE-01
  lmsbridge validate --platform ks --category 2
  lmsbridge validate --platform lp --all --json
"""
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--platform", help="Configured platform to read live courses from.")
@click.option("--course", "courses", multiple=True, help="Course id or shortname on --platform (repeatable).")
@click.option("--category", type=int, help="Every course of this category on --platform (one call).")
@click.option("--all", "all_courses", is_flag=True, help="Every course on --platform (one call).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    platform: str | None,
    courses: tuple[str, ...],
    category: int | None,
    all_courses: bool,
    as_json: bool,
) -> None:
    """Check course information against the agreement's requirements («Krav til kursinfo i KS Læring»).

    Sources: course files (TOML, YAML, JSON), SCORM packages (.zip), Moodle backups (.mbz), or live
    courses on a configured platform. Exit 0 when every course passes, 1 when any has an error, 2 for
    usage or input errors. Files need no configuration.
    """
    items: list[tuple[str, CourseInfo]] = []
    categories: list[str] | None = None
    for path in paths:
        items.append((str(path), load_any(path)))
    if platform:
        context = app(ctx)
        profile = context.config().platform(platform)
        client = context.client(platform)
        categories = list(profile.categories) or [o for o in (profile.options("study_category") or []) if o]
        found = []
        for key in courses:
            course = client.course(key)
            if course is None:
                raise InputError(i18n.t("validate.not_found", key=key, platform=platform))
            found.append(course)
        if category is not None:
            found.extend(client.courses_in_category(category))
        if all_courses:
            found.extend(client.all_courses())
        items.extend((c.shortname, course_info_from_course(c, profile)) for c in found)
    elif courses or category is not None or all_courses:
        raise click.UsageError("--course, --category and --all need --platform")
    if not items:
        raise click.UsageError(i18n.t("validate.nothing"))
    results = [Checked(name, check_course_info(info, categories=categories)) for name, info in items]
    if as_json:
        echo_json({"ok": all(r.ok for r in results), "courses": [r.as_dict() for r in results]})
    else:
        _print(results)
    if not all(r.ok for r in results):
        ctx.exit(1)


commands = [validate]
