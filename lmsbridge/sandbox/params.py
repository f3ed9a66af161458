"""Parameter descriptions and validation, after Moodle's ``external_api::validate_parameters``.

A function declares its parameters with ``Value``, ``Single`` and ``Multiple``; ``validate`` cleans
the decoded form data or raises ``invalidparameter`` with the debuginfo Moodle gives
("courseid => Invalid parameter value detected: Invalid external api parameter: …",
"Missing required key in single structure: courseid": the ``*_debug`` fixtures).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lmsbridge.sandbox.exceptions import MoodleError, invalid_parameter

__all__ = ["DEFAULT", "OPTIONAL", "REQUIRED", "Multiple", "Single", "Value", "validate"]

REQUIRED: Final = 1
DEFAULT: Final = 0
OPTIONAL: Final = 2

_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_ALPHANUMEXT = re.compile(r"^[A-Za-z0-9_\-]*$")
_ALPHA = re.compile(r"^[A-Za-z]*$")
_ALPHANUM = re.compile(r"^[A-Za-z0-9]*$")
_PLUGIN = re.compile(r"^[a-z][a-z0-9_]*$")
_USERNAME = re.compile(r"^[a-z0-9_\-.@+]*$")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Value:
    type: str
    required: int = REQUIRED
    default: Any = None
    allownull: bool = True


@dataclass(frozen=True)
class Single:
    keys: Mapping[str, Value | Single | Multiple] = field(default_factory=dict)
    required: int = REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    content: Value | Single | Multiple
    required: int = REQUIRED
    default: Any = None


Description = Value | Single | Multiple


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def _clean(value: Any, description: Value) -> Any:
    kind = description.type
    if value is None:
        if description.allownull:
            return None
        raise invalid_parameter("Null is not allowed")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1"):
            return bool(int(value))
        raise _type_error(value, kind)
    text = _scalar_text(value)
    if kind == "int":
        if isinstance(value, int) or _INT.match(text):
            return int(text)
        raise _type_error(value, kind)
    if kind == "float":
        if isinstance(value, int | float) or _FLOAT.match(text):
            return float(text)
        raise _type_error(value, kind)
    if kind == "alphanumext" and not _ALPHANUMEXT.match(text):
        raise _type_error(value, kind)
    if kind == "alphanum" and not _ALPHANUM.match(text):
        raise _type_error(value, kind)
    if kind == "alpha" and not _ALPHA.match(text):
        raise _type_error(value, kind)
    if kind == "plugin" and text and not _PLUGIN.match(text):
        raise _type_error(value, kind)
    if kind == "username" and not _USERNAME.match(text):
        raise _type_error(value, kind)
    if kind in ("text", "notags") and _TAG.search(text):
        raise _type_error(value, kind)
    return text


def _type_error(value: Any, kind: str) -> MoodleError:
    return invalid_parameter(
        f'Invalid external api parameter: the value is "{_scalar_text(value)}", the server was expecting "{kind}" type'
    )


def _nest(key: str, error: MoodleError) -> MoodleError:
    return invalid_parameter(f"{key} => {error.message}: {error.debuginfo}")


def validate(description: Description, value: Any) -> Any:
    """Clean ``value`` against ``description`` (Moodle's order of checks and messages)."""
    if isinstance(description, Value):
        if isinstance(value, dict | list):
            raise invalid_parameter("Scalar type expected, array or object received.")
        return _clean(value, description)
    if isinstance(description, Single):
        if isinstance(value, list) and not value:
            value = {}
        if not isinstance(value, dict):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{value}'")
        remaining = dict(value)
        result: dict[str, Any] = {}
        for key, sub in description.keys.items():
            if key not in remaining:
                if sub.required == REQUIRED:
                    raise invalid_parameter(f"Missing required key in single structure: {key}")
                if sub.required == DEFAULT:
                    try:
                        result[key] = validate(sub, sub.default)
                    except MoodleError as exc:
                        raise _nest(key, exc) from None
                continue
            try:
                result[key] = validate(sub, remaining.pop(key))
            except MoodleError as exc:
                raise _nest(key, exc) from None
        if remaining:
            raise invalid_parameter(f"Unexpected keys ({', '.join(remaining)}) detected in parameter array.")
        return result
    if isinstance(value, dict) and not value:
        value = []
    if not isinstance(value, list):
        raise invalid_parameter(f"Only arrays accepted. The bad value is: '{value}'")
    return [validate(description.content, item) for item in value]
