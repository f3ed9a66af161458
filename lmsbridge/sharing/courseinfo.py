"""The course information the agreement requires before a course is published in KS Læring.

Source: seed 002, «Krav til kursinfo i KS Læring» (DESIGN.md rule 7). Every item is optional here so
that a missing item becomes a finding (``requirements.check_course_info``), not a parse error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator


class ProducedBy(BaseModel):
    """«Produsert av: NAVN, STILLING, AVDELING, SYKEHUS» — all four parts are required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    position: str = ""
    department: str = ""
    hospital: str = ""

    @classmethod
    def parse(cls, value: Any) -> ProducedBy | None:
        if value is None or isinstance(value, ProducedBy):
            return value
        if isinstance(value, dict):
            return cls.model_validate(value)
        text = str(value).strip()
        if not text:
            return None
        parts = [p.strip() for p in text.split(",")]
        # The hospital's name may itself contain commas: everything after the third part is the hospital.
        head = [*parts[:3], ", ".join(parts[3:])] if len(parts) > 4 else parts + [""] * (4 - len(parts))
        return cls(name=head[0], position=head[1], department=head[2], hospital=head[3])

    def missing_parts(self) -> list[str]:
        return [part for part in ("name", "position", "department", "hospital") if not getattr(self, part).strip()]


def _alias(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class CourseInfo(BaseModel):
    """One course's information. Course files may use the English or the Norwegian item names."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    fullname: str | None = _alias("fullname", "full_name", "fullt_navn")
    shortname: str | None = _alias("shortname", "short_name", "kortnavn")
    goals: str | None = _alias("goals", "maal", "mål")
    content: str | None = _alias("content", "innhold")
    target_groups: str | None = _alias("target_groups", "malgrupper", "målgrupper")
    study_category: str | None = _alias("study_category", "studiekategori")
    study_start: date | None = _alias("study_start", "studiestart")
    create_home_page: bool | None = _alias("create_home_page", "opprett_hjemmeside")
    summary: str | None = _alias("summary", "kurssammendrag")
    prerequisites: str | None = _alias("prerequisites", "forutsetninger")
    produced_by: ProducedBy | None = _alias("produced_by", "produsert_av")
    time_needed: str | None = _alias("time_needed", "tidsbruk")
    course_coordinator: str | None = _alias("course_coordinator", "kurskoordinator")
    licence: str | None = _alias("licence", "license", "lisens")
    owner: str | None = _alias("owner", "eier")
    label: str | None = _alias("label", "delingsstatus")

    @field_validator("produced_by", mode="before")
    @classmethod
    def _produced_by(cls, value: Any) -> Any:
        return ProducedBy.parse(value)

    @field_validator("create_home_page", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("ja", "yes", "true", "1"):
                return True
            if lowered in ("nei", "no", "false", "0"):
                return False
        return value

    @field_validator("time_needed", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value
