"""The course-information model: every item optional, Norwegian names, «produsert av» and description parsing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from lmsbridge.sharing.courseinfo import (
    ITEMS,
    CourseDescription,
    CourseInfo,
    ProducedBy,
    parse_study_date,
    split_description,
)


def test_every_item_is_optional_and_the_model_is_frozen() -> None:
    empty = CourseInfo()
    assert all(empty.item(item) is None for item in ITEMS)
    with pytest.raises(ValidationError):
        empty.fullname = "x"  # type: ignore[misc]


def test_norwegian_names_are_the_sites_custom_field_shortnames() -> None:
    norwegian = CourseInfo.model_validate(
        {"fullt_navn": "F", "kortnavn": "S", "kursbeskrivelse": {"maal": "M", "innhold": "I", "malgrupper": "G"},
         "studiekategori": "Annet", "studiestart": "2025-03-01", "opprett_hjemmeside": "ja", "kurssammendrag": "K",
         "forutsetninger": "Ingen", "produsert_av": "A, B, C, D", "tidsbruk": "20 min", "kurskoordinator": "P",
         "lisens": "CC BY", "eier": "Helse Bergen HF", "delingsstatus": "delt fra KS"}
    )
    english = CourseInfo.model_validate(
        {"fullname": "F", "shortname": "S", "description": {"goals": "M", "content": "I", "target_groups": "G"},
         "study_category": "Annet", "study_start": date(2025, 3, 1), "create_home_page": True, "summary": "K",
         "prerequisites": "Ingen", "produced_by": {"name": "A", "position": "B", "department": "C", "hospital": "D"},
         "time_needed": "20 min", "course_coordinator": "P", "licence": "CC BY", "owner": "Helse Bergen HF",
         "label": "delt fra KS"}
    )
    assert norwegian == english
    assert english.given_items() == list(ITEMS)


def test_description_parts_may_also_sit_at_the_top_level() -> None:
    flat = CourseInfo.model_validate({"goals": "M", "innhold": "I", "målgrupper": "G"})
    assert flat.description == CourseDescription(goals="M", content="I", target_groups="G")
    assert (flat.goals, flat.content, flat.target_groups) == ("M", "I", "G")


@pytest.mark.parametrize(
    "data",
    [
        {"lisens": "CC BY", "licence": "CC BY"},
        {"goals": "a", "maal": "b"},
        {"goals": "a", "description": {"goals": "b"}},
        {"produced_by": {"navn": "a", "name": "b"}},
        {"unknown_item": "x"},
        {"fullname": ["a", "list"]},
        {"create_home_page": "kanskje"},
        {"produced_by": ["a", "b", "c", "d", "e"]},
        {"produced_by": 42},
        {"description": {"goals": "a", "what": "b"}},
    ],
)
def test_refused_shapes(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CourseInfo.model_validate(data)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Kari Nordmann, fagutviklingssykepleier, Seksjon for smittevern, Haukeland universitetssjukehus",
         ("Kari Nordmann", "fagutviklingssykepleier", "Seksjon for smittevern", "Haukeland universitetssjukehus")),
        ("Per Olsen, overlege", ("Per Olsen", "overlege", "", "")),
        ("A; B; C; D", ("A", "B", "C", "D")),
        ("A, B, C, Sykehuset Innlandet, Hamar", ("A", "B", "C", "Sykehuset Innlandet, Hamar")),
        (" A ,B,  C , D ", ("A", "B", "C", "D")),
    ],
)
def test_produced_by_from_the_comma_separated_text_the_sites_store(text: str, parts: tuple[str, ...]) -> None:
    produced = ProducedBy.parse(text)
    assert produced is not None
    assert tuple(produced.parts().values()) == parts


def test_produced_by_as_object_or_list_and_back_to_text() -> None:
    as_list = CourseInfo.model_validate({"produced_by": ["Kari", "lege", "Medisinsk", "Haukeland"]}).produced_by
    as_object = CourseInfo.model_validate(
        {"produsert_av": {"navn": "Kari", "stilling": "lege", "avdeling": "Medisinsk", "sykehus": "Haukeland"}}
    ).produced_by
    assert as_list == as_object and str(as_list) == "Kari, lege, Medisinsk, Haukeland"
    assert CourseInfo.model_validate({"produced_by": "  "}).produced_by is None


def test_a_description_written_as_one_text_is_split_by_its_headings() -> None:
    text = "Kort innføring.\nMål: kunne X.\nInnhold: Y og Z.\nMålgrupper: Sykepleiere"
    assert split_description(text) == {"goals": "kunne X.", "content": "Y og Z.", "target_groups": "Sykepleiere",
                                       "text": "Kort innføring."}
    html = "<p>Kort</p><h3>Læringsmål</h3><p>kunne X</p><h3>Innhold</h3><ul><li>a</li><li>b</li></ul>" \
           "<p><strong>Målgruppe:</strong> Leger</p>"
    assert split_description(html) == {"goals": "kunne X", "content": "a\nb", "target_groups": "Leger", "text": "Kort"}
    english = split_description("Goals: be able to X\nContent: Y\nTarget groups: nurses")
    assert english["target_groups"] == "nurses" and english["text"] is None
    assert split_description("Et kurs om smittevern.")["goals"] is None
    assert split_description("Målet er å lære.")["goals"] is None  # a word, not a heading


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025-01-06", date(2025, 1, 6)), ("06.01.2025", date(2025, 1, 6)), ("6.1.2025", date(2025, 1, 6)),
     ("06/01/2025", date(2025, 1, 6)), ("2025-01-06T08:00:00+01:00", date(2025, 1, 6)), ("2025-02-30", None),
     ("31.02.2025", None), ("snart", None)],
)
def test_study_dates(value: str, expected: date | None) -> None:
    assert parse_study_date(value) == expected


def test_an_unreadable_date_is_kept_for_the_checks_not_refused() -> None:
    assert CourseInfo.model_validate({"study_start": "2025-02-30"}).study_start == "2025-02-30"
    assert CourseInfo.model_validate({"study_start": ""}).study_start is None


def test_numbers_from_yaml_or_toml_are_text_and_a_bare_time_is_minutes() -> None:
    info = CourseInfo.model_validate({"shortname": 2025, "time_needed": 45})
    assert info.shortname == "2025" and info.time_needed == "45 min"


def test_merged_takes_what_the_other_gives_part_by_part() -> None:
    manifest = CourseInfo.model_validate({"fullname": "Fra manifestet", "summary": "S", "description": {"goals": "M"}})
    course_file = CourseInfo.model_validate({"fullname": "Fra kursfilen", "description": {"content": "I"}})
    merged = manifest.merged(course_file)
    assert merged.fullname == "Fra kursfilen" and merged.summary == "S"
    assert merged.description == CourseDescription(goals="M", content="I")


def test_from_items_takes_the_profiles_flat_item_names() -> None:
    info = CourseInfo.from_items({"goals": "M", "target_groups": "G", "summary": None, "owner": "Helse Bergen HF"})
    assert info.goals == "M" and info.target_groups == "G" and info.summary is None and info.owner == "Helse Bergen HF"


def test_the_schema_offers_both_names_for_editors() -> None:
    schema = CourseInfo.model_json_schema()
    props = schema["properties"]
    for english, norwegian in [("study_category", "studiekategori"), ("time_needed", "tidsbruk"),
                               ("produced_by", "produsert_av"), ("description", "kursbeskrivelse")]:
        assert english in props and norwegian in props
    assert {"goals", "maal", "$schema"} <= set(props)
    assert {"navn", "stilling", "avdeling", "sykehus"} <= set(schema["$defs"]["ProducedBy"]["properties"])
    assert schema["additionalProperties"] is False
    assert CourseInfo.model_validate({"$schema": "../schemas/course-info.schema.json"}) == CourseInfo()
