"""The JSON Schemas in schemas/ are current and describe the course files we ship."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lmsbridge.cli.main import cli
from tests.readers.builders import EXAMPLES, ROOT

SCHEMAS = ROOT / "schemas"


def test_the_checked_in_schemas_are_current() -> None:
    result = CliRunner().invoke(cli, ["schemas", "--check", "--out", str(SCHEMAS)])
    assert result.exit_code == 0, f"stale schema: run `lmsbridge schemas` ({result.output})"


def load_example(name: str) -> dict[str, Any]:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text) if name.endswith(".toml") else yaml.safe_load(text)
    return data


@pytest.mark.parametrize("name", ["course.toml", "course-incomplete.yaml"])
def test_examples_use_only_what_the_schema_offers(name: str) -> None:
    schema = json.loads((SCHEMAS / "course-info.schema.json").read_text(encoding="utf-8"))
    data = load_example(name)
    assert set(data) <= set(schema["properties"])
    description = data.get("description")
    if isinstance(description, dict):
        assert set(description) <= set(schema["$defs"]["CourseDescription"]["properties"])


def test_the_examples_point_editors_at_the_schema() -> None:
    assert (EXAMPLES / "course.toml").read_text(encoding="utf-8").startswith("#:schema ../schemas/course-info.schema.json")
    assert "yaml-language-server: $schema=../schemas/course-info.schema.json" in (
        EXAMPLES / "course-incomplete.yaml").read_text(encoding="utf-8")
