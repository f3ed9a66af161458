"""Course-level steps of a share on the platforms, each idempotent so that a re-run completes a share
that an interrupted run left half done.

A borrower course that lmsbridge creates carries ``idnumber = lmsbridge-<share id>``: a re-run finds it
instead of creating a second one. Custom fields are copied item by item through both platforms'
profiles (select fields travel as option text and are turned back into the target's 1-based index).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from lmsbridge.adapters import MoodleClient, PlatformProfile
from lmsbridge.adapters.models import Course
from lmsbridge.domain import Label
from lmsbridge.errors import NotFoundError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.sharing.labels import apply_label, label_field_value, remove_labels

LINK_CLASS = "lmsbridge-link"


def borrower_idnumber(share_id: str) -> str:
    return f"lmsbridge-{share_id}"


def find_course(client: MoodleClient, key: int | str) -> Course:
    course = client.course(key)
    if course is None:
        raise NotFoundError(
            "",
            errorcode="invalidrecord",
            site=client.name,
            text=Message("course.not_found", key=key, platform=client.name),
        )
    return course


def find_by_idnumber(client: MoodleClient, idnumber: str) -> Course | None:
    found = client.courses_by_field("idnumber", idnumber)
    return found[0] if found else None


def copied_fields(source: Course, source_profile: PlatformProfile, target_profile: PlatformProfile) -> list[dict[str, Any]]:
    """Custom field values of ``source`` as ``customfields`` entries for the target site."""
    out: list[dict[str, Any]] = []
    for item, source_short in source_profile.fields.items():
        target_short = target_profile.shortname(item)
        custom = source.field(source_short)
        if not target_short or custom is None or item == "label":
            continue
        if source_short in source_profile.select_options:
            text = source_profile.option_text(item, custom.raw_int)
            if text is None:
                continue
            try:
                value: Any = target_profile.option_index(item, text)
            except KeyError:
                continue  # the target site has no such option: left for the validation to report
        elif custom.type == "date":
            value = custom.raw_int
        else:
            value = custom.raw_text
        if value in ("", 0):
            continue
        out.append({"shortname": target_short, "value": value})
    return out


def label_fields(profile: PlatformProfile, label: Label | None, *, owner: str | None = None) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    label_short = profile.shortname("label")
    if label_short:
        fields.append({"shortname": label_short, "value": label_field_value(label, profile.options("label") or [])
                       if label else 0})
    owner_short = profile.shortname("owner")
    if owner and owner_short:
        fields.append({"shortname": owner_short, "value": owner})
    return fields


def link_paragraph(url: str, text: str) -> str:
    return f'<p class="{LINK_CLASS}"><a href="{html.escape(url, quote=True)}">{html.escape(text)}</a></p>'


def remove_link(summary: str, url: str, text: str) -> str:
    return summary.replace(link_paragraph(url, text), "")


@dataclass(frozen=True)
class CourseShell:
    """What a borrower course should look like."""

    fullname: str
    shortname: str
    idnumber: str
    categoryid: int
    summary: str
    customfields: list[dict[str, Any]]


def ensure_course(client: MoodleClient, shell: CourseShell) -> tuple[int | None, bool]:
    """Find the borrower course by idnumber or create it. Returns (course id, created).

    In dry-run the creation is only planned and the id is None. A course that already has the shell's
    shortname but not its idnumber was made by someone else (on the recorded KS Læring: a copy made by
    hand): Moodle would refuse the creation (``shortnametaken``), so it is refused here, before anything is
    written and in a dry run too, and the operator decides whether to link that course instead.
    """
    existing = find_by_idnumber(client, shell.idnumber)
    if existing is not None:
        return existing.id, False
    taken = client.courses_by_field("shortname", shell.shortname)
    if taken:
        other = taken[0]
        raise RecordError(Message("share.shortname_taken", platform=client.name, shortname=other.shortname,
                                 id=other.id, idnumber=other.idnumber or ""))
    created = client.create_courses(
        [
            {
                "fullname": shell.fullname,
                "shortname": shell.shortname,
                "idnumber": shell.idnumber,
                "categoryid": shell.categoryid,
                "summary": shell.summary,
                "summaryformat": 1,
                "visible": 1,
                "enablecompletion": 1,
                "customfields": shell.customfields,
            }
        ]
    )
    if not created:
        if client.dry_run:
            return None, True
        raise RecordError(Message("course.not_created", platform=client.name, shortname=shell.shortname))
    return created[0].id, True


def set_label(
    client: MoodleClient,
    profile: PlatformProfile,
    course: Course,
    label: Label | None,
    *,
    owner: str | None = None,
    extra_summary: str = "",
    visible: bool | None = None,
    strip_summary: str = "",
) -> bool:
    """Make the course's label field and summary line say ``label`` (None = no label). Returns True
    when something had to change (nothing is written when the course already agrees)."""
    summary = course.summary
    if strip_summary:
        summary = summary.replace(strip_summary, "")
    summary = apply_label(summary, label) if label else remove_labels(summary)
    if extra_summary and extra_summary not in summary:
        summary = summary + extra_summary
    update: dict[str, Any] = {"id": course.id}
    if summary != course.summary:
        update["summary"] = summary
        update["summaryformat"] = 1
    wanted = label_fields(profile, label, owner=owner)
    changed_fields = []
    for entry in wanted:
        current = course.field(entry["shortname"])
        current_value: Any = None
        if current is not None:
            current_value = current.raw_int if entry["shortname"] in profile.select_options else current.raw_text
        if current is None or current_value != entry["value"]:
            changed_fields.append(entry)
    if changed_fields:
        update["customfields"] = changed_fields
    if visible is not None and course.visible != visible:
        update["visible"] = 1 if visible else 0
    if len(update) == 1:
        return False
    client.update_courses([update])
    return True
