"""JSON Schemas generated from the pydantic models, checked in under ``schemas/``.

Editors use them for autocompletion of course files and the config; ``tests/test_schemas.py`` fails
when a checked-in schema is stale. Regenerate with ``python -m lmsbridge.schemas``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lmsbridge.config import Config
from lmsbridge.sharing.courseinfo import CourseInfo

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"


def course_info_schema() -> dict[str, Any]:
    schema = CourseInfo.model_json_schema(mode="validation")
    schema["$id"] = "https://lmsbridge.example/schemas/course-info.schema.json"
    schema["title"] = "lmsbridge course information (Krav til kursinfo i KS Læring)"
    return schema


def config_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("source", None)
    schema["$id"] = "https://lmsbridge.example/schemas/config.schema.json"
    schema["title"] = "lmsbridge configuration file"
    return schema


SCHEMAS = {"course-info.schema.json": course_info_schema, "config.schema.json": config_schema}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in SCHEMAS.items():
        target = directory / name
        target.write_text(render(build()), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":  # pragma: no cover
    for path in write():
        sys.stdout.write(f"{path}\n")
