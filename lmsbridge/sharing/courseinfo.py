"""The course information the agreement requires before a course is published in KS Læring.

Source: seed 002, «Krav til kursinfo i KS Læring» (DESIGN.md rule 7)::

    Kursbeskrivelse med mål, innhold og målgrupper · Fullt navn på kurset · Kursets kortnavn ·
    Studiekategori · Dato for studiestart · Opprett hjemmeside – JA · Kurssammendrag · Forutsetninger ·
    Produsert av: NAVN, STILLING, AVDELING, SYKEHUS · Tidsbruk · Kurskoordinator

plus the licence and the owner, which the sharing rules need (resale, ownership), and the current
sharing label. Every item is optional so that a missing item becomes a finding
(``requirements.check_course_info``), not a parse error; what a value *means* (is the time readable, is
the date real, is the category known) is also left to the checks. Only a value of the wrong shape (a
list where a text belongs, an unknown item name) is refused here.

Item names are English; each also has a Norwegian name, the same as the custom field shortnames the
recorded sites use (tests/fixtures/moodle/seed_data.json ``custom_field_ids``): ``studiekategori``,
``tidsbruk``, ``produsert_av`` … (``ALIASES``). A course file may use either, never both for one item.
The description is an object (``goals``, ``content``, ``target_groups``) or one text with headings
(«Mål:», «Innhold:», «Målgrupper:»); its parts may also be given at the top level, as the sites keep
them (``maal``, ``innhold``, ``malgrupper``). The generated JSON Schema
(``schemas/course-info.schema.json``) lists every name, so editors complete them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lmsbridge.i18n import Message
from lmsbridge.sharing.coursetext import DESCRIPTION_PARTS, HEADINGS, parse_study_date, split_description

#: The items «Krav til kursinfo i KS Læring» requires, in the agreement's order (seed 002, DESIGN.md rule 7);
#: the description's three parts come first.
REQUIRED_ITEMS: tuple[str, ...] = (
    "goals",
    "content",
    "target_groups",
    "fullname",
    "shortname",
    "study_category",
    "study_start",
    "create_home_page",
    "summary",
    "prerequisites",
    "produced_by",
    "time_needed",
    "course_coordinator",
)
#: Items the sites keep beside them: the licence (the resale rule), the owner and the sharing label.
OPTIONAL_ITEMS: tuple[str, ...] = ("licence", "owner", "label")
#: Every item a course's information has, by its flat name: also the profile's item names
#: (``PlatformProfile.fields``) and ``Finding.item``.
ITEMS: tuple[str, ...] = REQUIRED_ITEMS + OPTIONAL_ITEMS
_ITEM_SET = frozenset(ITEMS)
#: The description's parts may also be given at the top level of a course file (as the sites keep them,
#: three custom fields), under these names.
FLAT_DESCRIPTION_PARTS: dict[str, str] = {
    "goals": "goals",
    "mål": "goals",
    "maal": "goals",
    "content": "content",
    "innhold": "content",
    "target_groups": "target_groups",
    "målgrupper": "target_groups",
    "malgrupper": "target_groups",
}
PRODUCED_BY_PARTS: tuple[str, ...] = ("name", "position", "department", "hospital")

_SCHEMA_KEY = "$schema"


def _add_alias_properties(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """JSON Schema: list every Norwegian alias as a property of its own, so editors complete it too."""
    aliases: Mapping[str, str] = getattr(model, "ALIASES", {})
    properties: dict[str, Any] = schema.setdefault("properties", {})
    for alias, canonical in sorted(aliases.items()):
        if canonical in properties and alias not in properties:
            entry = dict(properties[canonical])
            entry["title"] = alias
            entry["description"] = f"Samme som «{canonical}» / same as «{canonical}». " + str(
                properties[canonical].get("description", "")
            )
            properties[alias] = entry
    if model is CourseInfo:
        properties[_SCHEMA_KEY] = {"type": "string", "description": "The JSON Schema of this file (ignored)."}
        for flat, part in sorted(FLAT_DESCRIPTION_PARTS.items()):
            properties.setdefault(flat, {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "title": flat,
                "description": f"Samme som «description.{part}» / same as «description.{part}».",
            })


class _Items(BaseModel):
    """Frozen, strict about item names; Norwegian aliases are turned into the English names first."""

    # Numbers become text (YAML/TOML may type a short name «2025»); booleans stay refused as text.
    model_config = ConfigDict(
        extra="forbid", frozen=True, coerce_numbers_to_str=True, json_schema_extra=_add_alias_properties
    )

    #: alias → canonical field name
    ALIASES: ClassVar[Mapping[str, str]] = {}
    #: keys that need more than validation (aliases, $schema, …): without them a mapping passes as it is
    _SPECIAL_KEYS: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._SPECIAL_KEYS = frozenset({*cls.ALIASES, _SCHEMA_KEY, *cls._extra_special_keys()})

    @classmethod
    def _extra_special_keys(cls) -> frozenset[str]:
        return frozenset()

    @model_validator(mode="before")
    @classmethod
    def _canonical_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if isinstance(data, dict) and cls._SPECIAL_KEYS.isdisjoint(data):
            return data  # the common case (the live mapping): nothing to rename
        out: dict[Any, Any] = {}
        given_as: dict[str, str] = {}
        for key, value in data.items():
            if key == _SCHEMA_KEY:
                continue
            name = cls.ALIASES.get(key, key) if isinstance(key, str) else key
            if isinstance(name, str) and name in given_as:
                raise ValueError(Message("courseinfo.same_item", first=given_as[name], second=key, name=name))
            if isinstance(name, str):
                given_as[name] = str(key)
            out[name] = value
        return cls._fold(out)

    @classmethod
    def _fold(cls, data: dict[Any, Any]) -> dict[Any, Any]:
        return data

    @classmethod
    def accepted_names(cls) -> list[str]:
        """Every item name a course file may use at this level."""
        return [*cls.model_fields, *cls.ALIASES, *cls._extra_special_keys()]


_PART_SEPARATOR = re.compile(r"[,;\n]")


class ProducedBy(_Items):
    """«Produsert av: NAVN, STILLING, AVDELING, SYKEHUS» — all four parts are required.

    Given as an object, a list of four, or the comma-separated text the sites store:
    ``"Kari Nordmann, fagutviklingssykepleier, Seksjon for smittevern, Haukeland universitetssjukehus"``.
    """

    ALIASES: ClassVar[Mapping[str, str]] = {
        "navn": "name",
        "stilling": "position",
        "avdeling": "department",
        "sykehus": "hospital",
    }

    name: str = Field(default="", description="Navn / name, e.g. «Kari Nordmann».")
    position: str = Field(default="", description="Stilling / position, e.g. «fagutviklingssykepleier».")
    department: str = Field(default="", description="Avdeling / department, e.g. «Seksjon for smittevern».")
    hospital: str = Field(default="", description="Sykehus / hospital, e.g. «Haukeland universitetssjukehus».")

    @classmethod
    def parse(cls, value: Any) -> ProducedBy | None:
        """Object, list or «navn, stilling, avdeling, sykehus» text → ProducedBy; blank → None."""
        if value is None or isinstance(value, ProducedBy):
            return value
        if isinstance(value, Mapping):
            return cls.model_validate(value)
        if isinstance(value, list | tuple):
            if len(value) > len(PRODUCED_BY_PARTS) or not all(isinstance(v, str) for v in value):
                raise ValueError(Message("courseinfo.produced_by_list"))
            return cls(**dict(zip(PRODUCED_BY_PARTS, (v.strip() for v in value), strict=False)))
        if not isinstance(value, str):
            raise ValueError(Message("courseinfo.produced_by_type"))
        text = value.strip()
        if not text:
            return None
        parts = [part.strip() for part in _PART_SEPARATOR.split(text)]
        # The hospital's name comes last and may itself hold a comma: the rest is the hospital.
        head = [*parts[:3], ", ".join(p for p in parts[3:] if p)] if len(parts) > 4 else parts
        return cls(**dict(zip(PRODUCED_BY_PARTS, head, strict=False)))

    def parts(self) -> dict[str, str]:
        return {part: getattr(self, part) for part in PRODUCED_BY_PARTS}

    def __str__(self) -> str:
        return ", ".join(v for v in self.parts().values() if v.strip())


# --- the description: goals, content, target groups ----------------------------------------------------

class CourseDescription(_Items):
    """«Kursbeskrivelse med mål, innhold og målgrupper».

    Given as an object with the three parts, or as one text in which each part has its heading
    («Mål:», «Innhold:», «Målgrupper:», or «Goals:», «Content:», «Target groups:»; also as HTML headings).
    """

    ALIASES: ClassVar[Mapping[str, str]] = {
        "mål": "goals",
        "maal": "goals",
        "innhold": "content",
        "målgrupper": "target_groups",
        "malgrupper": "target_groups",
        "tekst": "text",
    }

    goals: str | None = Field(default=None, description="Mål / goals: what participants will be able to do.")
    content: str | None = Field(default=None, description="Innhold / content: what the course covers.")
    target_groups: str | None = Field(
        default=None, description="Målgrupper / target groups, e.g. «Sykepleiere, helsefagarbeidere, leger»."
    )
    text: str | None = Field(default=None, description="Tekst / other text of the description (not checked).")

    @classmethod
    def parse(cls, value: Any) -> CourseDescription | None:
        if value is None or isinstance(value, CourseDescription):
            return value
        if isinstance(value, str):
            if not value.strip():
                return None
            return cls(**split_description(value))
        return cls.model_validate(value)

    def is_empty(self) -> bool:
        return not any((self.goals, self.content, self.target_groups, self.text))


# --- dates ---------------------------------------------------------------------------------------------

_YES = frozenset({"ja", "j", "yes", "y", "true", "1", "sann"})
_NO = frozenset({"nei", "n", "no", "false", "0", "usann"})
_YesNo = Literal["ja", "nei", "yes", "no", "JA", "NEI", "Ja", "Nei"]


class CourseInfo(_Items):
    """One course's information, as the agreement names it (seed 002, «Krav til kursinfo i KS Læring»).

    Build it with ``CourseInfo.model_validate(mapping)`` (English or Norwegian item names) or, from
    flat item names such as the profile's (``goals``, ``content``, ``target_groups`` …), with
    ``CourseInfo.from_items``.
    """

    ALIASES: ClassVar[Mapping[str, str]] = {
        "kursbeskrivelse": "description",
        "fullt_navn": "fullname",
        "kortnavn": "shortname",
        "studiekategori": "study_category",
        "studiestart": "study_start",
        "opprett_hjemmeside": "create_home_page",
        "kurssammendrag": "summary",
        "forutsetninger": "prerequisites",
        "produsert_av": "produced_by",
        "tidsbruk": "time_needed",
        "kurskoordinator": "course_coordinator",
        "lisens": "licence",
        "license": "licence",
        "eier": "owner",
        "delingsstatus": "label",
    }

    @classmethod
    def _extra_special_keys(cls) -> frozenset[str]:
        return frozenset(FLAT_DESCRIPTION_PARTS)

    @classmethod
    def _fold(cls, data: dict[Any, Any]) -> dict[Any, Any]:
        """Description parts given at the top level (``goals``, ``maal`` …) go into ``description``."""
        flat: dict[str, Any] = {}
        for key in [k for k in data if k in FLAT_DESCRIPTION_PARTS]:
            part = FLAT_DESCRIPTION_PARTS[key]
            if part in flat:
                raise ValueError(Message("courseinfo.part_twice", part=part, key=key))
            flat[part] = data.pop(key)
        if not flat:
            return data
        described = data.get("description")
        if isinstance(described, str):
            described = split_description(described) if described.strip() else None
        elif isinstance(described, CourseDescription):
            described = described.model_dump(exclude_none=True)
        if described is None:
            described = {}
        if not isinstance(described, Mapping):
            return data  # pydantic reports the description's wrong type
        merged = {CourseDescription.ALIASES.get(k, k): v for k, v in described.items() if v is not None}
        for part, value in flat.items():
            if part in merged:
                raise ValueError(Message("courseinfo.part_top_and_description", part=part))
            merged[part] = value
        data["description"] = merged
        return data

    description: CourseDescription | None = Field(
        default=None,
        description="Kursbeskrivelse med mål, innhold og målgrupper: an object {goals, content, target_groups} "
        "or one text with the headings «Mål:», «Innhold:», «Målgrupper:».",
    )
    fullname: str | None = Field(default=None, description="Fullt navn på kurset / full name.")
    shortname: str | None = Field(default=None, description="Kursets kortnavn / short name, e.g. «HBHF-SMITTE-01».")
    study_category: str | None = Field(
        default=None, description="Studiekategori, e.g. «Helse og velferd» or «Skolesektor» (one of the platform's)."
    )
    study_start: date | str | None = Field(
        default=None, description="Dato for studiestart / study start date: 2025-01-06 (also 06.01.2025)."
    )
    create_home_page: bool | None = Field(
        default=None, description="Opprett hjemmeside / create home page: must be yes (true, «ja»)."
    )
    summary: str | None = Field(default=None, description="Kurssammendrag / summary (text or HTML).")
    prerequisites: str | None = Field(default=None, description="Forutsetninger / prerequisites, e.g. «Ingen».")
    produced_by: ProducedBy | None = Field(
        default=None,
        description="Produsert av: «navn, stilling, avdeling, sykehus», or an object {name, position, department, "
        "hospital}.",
    )
    time_needed: str | None = Field(
        default=None, description="Tidsbruk / time needed: «30 min», «1 t 15 min», «1,5 t», «PT45M» (a number = minutes)."
    )
    course_coordinator: str | None = Field(
        default=None, description="Kurskoordinator: the local e-learning coordinator in the HF."
    )
    licence: str | None = Field(
        default=None, description="Lisens / licence: «Alle rettigheter reservert», «CC BY-SA», «CC BY» …"
    )
    owner: str | None = Field(default=None, description="Eier / owner organisation, e.g. «Helse Bergen HF».")
    label: str | None = Field(
        default=None, description="Delingsstatus / current sharing label: «delt til KS Læring» or «delt fra KS»."
    )

    @field_validator("description", mode="before", json_schema_input_type=str | CourseDescription | None)
    @classmethod
    def _description(cls, value: Any) -> Any:
        # A mapping is left to pydantic, so that an error inside it is located (description.goals).
        return value if isinstance(value, Mapping) else CourseDescription.parse(value)

    @field_validator("produced_by", mode="before", json_schema_input_type=str | list[str] | ProducedBy | None)
    @classmethod
    def _produced_by(cls, value: Any) -> Any:
        return value if isinstance(value, Mapping) else ProducedBy.parse(value)

    @field_validator("create_home_page", mode="before", json_schema_input_type=bool | _YesNo | None)
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().casefold()
            if not lowered:
                return None
            if lowered in _YES:
                return True
            if lowered in _NO:
                return False
            raise ValueError(Message("courseinfo.yes_no"))
        return value

    @field_validator("study_start", mode="before")
    @classmethod
    def _study_start(cls, value: Any) -> Any:
        # A date that cannot be read stays text: «the start date is a real date» is a check, not a parse error.
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date) or value is None:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            if not value.strip():
                return None
            return parse_study_date(value) or value.strip()
        return value

    @field_validator("time_needed", mode="before", json_schema_input_type=str | int | None)
    @classmethod
    def _minutes(cls, value: Any) -> Any:
        # A bare number is minutes (``time_needed = 30``).
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g} min"
        return value

    # -- flat access ------------------------------------------------------------------------------------

    @property
    def goals(self) -> str | None:
        return self.description.goals if self.description else None

    @property
    def content(self) -> str | None:
        return self.description.content if self.description else None

    @property
    def target_groups(self) -> str | None:
        return self.description.target_groups if self.description else None

    def item(self, name: str) -> Any:
        """The value of one item by its flat name (``ITEMS``), the description's parts included."""
        if name not in _ITEM_SET:
            raise KeyError(name)
        return getattr(self, name)

    @classmethod
    def from_items(cls, values: Mapping[str, Any]) -> CourseInfo:
        """Build from flat item names (``goals``, ``summary`` …) as a profile maps them; None = not given."""
        data: dict[str, Any] = {}
        parts: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            if name in DESCRIPTION_PARTS:
                parts[name] = value
            else:
                data[name] = value
        if parts:
            data["description"] = CourseDescription.model_validate(parts)
        return cls.model_validate(data)

    def merged(self, over: CourseInfo) -> CourseInfo:
        """This information with every item that ``over`` gives replacing ours (description part by part)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        for name in type(over).model_fields:
            value = getattr(over, name)
            if value is None:
                continue
            if name == "description" and self.description is not None:
                mine = self.description.model_dump()
                mine.update({k: v for k, v in value.model_dump().items() if v is not None})
                value = CourseDescription.model_validate(mine)
            data[name] = value
        return type(self).model_validate(data)

    def given_items(self) -> list[str]:
        """The flat items that have a value."""
        return [name for name in ITEMS if self.item(name) is not None]


__all__ = [
    "DESCRIPTION_PARTS",
    "HEADINGS",
    "ITEMS",
    "PRODUCED_BY_PARTS",
    "CourseDescription",
    "CourseInfo",
    "ProducedBy",
    "parse_study_date",
    "split_description",
]
