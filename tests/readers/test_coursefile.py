"""Source 1: course files in TOML, YAML and JSON, English or Norwegian item names."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
import yaml

from lmsbridge.errors import InputError
from lmsbridge.readers import DEFAULT_MAPPING, SourceKind, load_course_file, load_path, study_categories
from lmsbridge.sharing.requirements import check_course_info, passes
from tests.readers.builders import EXAMPLES

CATEGORIES = study_categories(DEFAULT_MAPPING)


def test_the_shipped_example_passes_and_the_incomplete_one_does_not() -> None:
    good = load_course_file(EXAMPLES / "course.toml")
    assert good.shortname == "HBHF-SMITTE-01" and good.study_start == date(2025, 1, 6)
    assert check_course_info(good, categories=CATEGORIES) == []
    bad = load_course_file(EXAMPLES / "course-incomplete.yaml")
    codes = [f.code for f in check_course_info(bad, categories=CATEGORIES)]
    assert codes == ["placeholder.content", "missing.target_groups", "category.unknown", "study_start.invalid",
                     "missing.create_home_page", "missing.summary", "missing.prerequisites", "produced_by.incomplete",
                     "time_needed.unparseable", "missing.course_coordinator", "licence.missing"]
    assert not passes(check_course_info(bad, categories=CATEGORIES))


def test_the_same_course_in_three_formats(tmp_path: Path) -> None:
    data = tomllib.loads((EXAMPLES / "course.toml").read_text(encoding="utf-8"))
    data["study_start"] = "2025-01-06"
    (tmp_path / "c.json").write_text(json.dumps({"$schema": "../schemas/course-info.schema.json", **data}),
                                     encoding="utf-8")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "c.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    toml = load_course_file(EXAMPLES / "course.toml")
    for name in ("c.json", "c.yaml", "c.yml"):
        assert load_course_file(tmp_path / name) == toml, name


def test_the_format_is_sniffed_when_the_name_does_not_tell(tmp_path: Path) -> None:
    for name, text in [("a", '{"kortnavn": "A"}'), ("b", 'kortnavn = "B"'), ("c.txt", "kortnavn: C\n")]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        source = load_path(tmp_path / name)
        assert source.kind is SourceKind.COURSE_FILE and source.info.shortname == name[0].upper()


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_bytes(b"\xef\xbb\xbf" + b'kortnavn = "A"\n')
    assert load_course_file(tmp_path / "c.toml").shortname == "A"


def test_yaml_is_read_as_yaml_1_2_values(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "kortnavn: NO\nopprett_hjemmeside: ja\nstudiestart: 2025-02-30\ntidsbruk: 1:30\n", encoding="utf-8"
    )
    info = load_course_file(tmp_path / "c.yaml")
    assert info.shortname == "NO" and info.create_home_page is True
    assert info.study_start == "2025-02-30"  # not a crash: the check reports it
    assert info.time_needed == "1:30"  # not base 60


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", 'studiekategorie = "Annet"\n', "ukjent punkt «studiekategorie» (mente du «studiekategori»?)"),
        ("c.toml", 'tekst = "x"\n', "ukjent punkt «tekst» (mente du «description.text»?)"),
        ("c.toml", '[produced_by]\nnavn = "A"\nstiling = "B"\n', "«produced_by.stiling» (mente du «produced_by.stilling»?)"),
        ("c.json", '{"fullname": ["a"]}', "fullname: skal være tekst"),
        ("c.json", '{"lisens": "CC BY", "licence": "CC BY"}', "«lisens» og «licence» er samme punkt (licence)"),
        ("c.yaml", "opprett_hjemmeside: kanskje\n", "opprett_hjemmeside (create_home_page) er ja eller nei"),
        ("c.json", '{"maal": "a", "goals": "b"}', "description.goals er oppgitt to ganger («goals»)"),
        ("c.toml", 'maal = "a"\n[description]\ngoals = "b"\n', "oppgitt to ganger (øverst og i beskrivelsen)"),
        ("c.json", '{"produced_by": ["a", "b", "c", "d", "e"]}', "har høyst fire tekster"),
        ("c.json", '{"produced_by": 3}', "er en tekst «navn, stilling, avdeling, sykehus» eller et objekt"),
        ("c.yaml", "- a\n- b\n", "en kursfil skal inneholde kursinformasjon"),
        ("c.yaml", "a: &x [1]\nb: *x\n", "YAML-ankre og -aliaser"),
        ("c.yaml", "!!python/object:os.system {}\n", "ikke gyldig YAML"),
        ("c.toml", "fullname = \n", "ikke gyldig TOML"),
        ("c.json", "{", "ikke gyldig JSON"),
        ("c.json", "[" * 100_000, "ikke gyldig JSON"),
        ("c.toml", "\x00\x01binary", "ikke en tekstfil"),
        ("weird", ": : :\n\t- [", "kan ikke leses som TOML, YAML eller JSON"),
    ],
)
def test_a_file_that_breaks_the_schema_is_one_clear_input_error(tmp_path: Path, name: str, text: str,
                                                                message: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_path(tmp_path / name)
    assert message in str(caught.value)
    assert str(tmp_path / name) in str(caught.value)
    assert caught.value.exit_code == 2
