"""The checked-in JSON Schemas match the models (regenerate with ``python -m lmsbridge.schemas``)."""

from __future__ import annotations

import json

import pytest

from lmsbridge.schemas import SCHEMA_DIR, SCHEMAS, render
from lmsbridge.sharing.courseinfo import DESCRIPTION_PARTS, REQUIRED_ITEMS


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_current(name: str) -> None:
    checked_in = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert checked_in == render(SCHEMAS[name]()), f"schemas/{name} is stale: run python -m lmsbridge.schemas"


def test_course_schema_names_the_required_items_and_norwegian_aliases() -> None:
    schema = json.loads((SCHEMA_DIR / "course-info.schema.json").read_text(encoding="utf-8"))
    props = schema["properties"]
    # Every item of the agreement under its English name, and the Norwegian names people write, so an editor
    # completes both.
    assert set(REQUIRED_ITEMS) - set(DESCRIPTION_PARTS) <= set(props)
    assert {"goals", "content", "target_groups"} <= set(props)
    assert {"maal", "mål", "innhold", "målgrupper", "produsert_av", "tidsbruk", "studiekategori", "kurskoordinator",
            "kurssammendrag", "forutsetninger", "studiestart", "opprett_hjemmeside"} <= set(props)
