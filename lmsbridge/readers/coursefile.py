"""Course files: the course information written by hand, as TOML, YAML or JSON.

The items sit at the top level of the file (``schemas/course-info.schema.json``; ``examples/course.toml``),
under their English names or their Norwegian ones (``studiekategori``, ``tidsbruk``, ``produsert_av`` …,
the custom field shortnames of the sites), e.g.::

    fullname = "Smittevern – basale rutiner"
    shortname = "HBHF-SMITTE-01"
    studiekategori = "Helse og velferd"
    produced_by = "Kari Nordmann, fagutviklingssykepleier, Seksjon for smittevern, Haukeland universitetssjukehus"

    [description]
    goals = "…"

The format follows the extension (.toml, .yaml/.yml, .json); any other name is tried as JSON, TOML,
then YAML. A JSON/YAML file may carry a ``$schema`` key for editors. A file that is not valid for the
schema (unknown item, a list where a text belongs) is an ``InputError``; a value that is present but
wrong (unreadable time, unknown category) is left for the checks to report.

Bounded before parsing: a course file is a few kB, and the TOML and YAML parsers are pure Python (a 5 MB
YAML list took a minute and 1.5 GB), so a file over ``MAX_COURSE_FILE`` is refused unread, and a YAML file
is first walked as a stream of events (libyaml's parser when PyYAML has it) that stops at an anchor or alias
or past ``MAX_YAML_NODES`` values, before anything is built from it.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lmsbridge.errors import InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.readers.untrusted import input_error, read_file, size_text
from lmsbridge.sharing.courseinfo import DESCRIPTION_PARTS, CourseDescription, CourseInfo, ProducedBy

FORMATS = {".toml": "TOML", ".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}
COURSE_FILE_SUFFIXES = tuple(FORMATS)


_PROBLEMS = {
    "string_type": N_("input.problem.text"),
    "model_type": N_("input.problem.table"),
    "model_attributes_type": N_("input.problem.table"),
    "dict_type": N_("input.problem.table"),
    "bool_type": N_("input.problem.yes_no"),
    "bool_parsing": N_("input.problem.yes_no"),
}


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors/aliases (a «billion laughs» of aliases cannot blow up)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise _AliasRefused
        return super().compose_node(parent, index)


class _AliasRefused(Exception):
    pass


class _TooManyNodes(Exception):
    pass


#: A course file is a few kB; this keeps the pure-Python TOML and YAML parsers to a second or two.
MAX_COURSE_FILE = 256 * 1024
#: Values (scalars, lists, tables) in a YAML course file: a course file has a few dozen.
MAX_YAML_NODES = 5_000


# YAML 1.2-style scalars: dates stay text (a wrong date becomes a finding, not a crash), only
# true/false are booleans («NO» stays a short name, «ja» a yes) and «1:30» is not base 60.
_NoAliasLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_NoAliasLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))

_CLoader: Any = getattr(yaml, "CSafeLoader", None)
if _CLoader is not None:

    class _FastLoader(_CLoader):  # type: ignore[misc]
        """libyaml's parser (C) with the same scalar rules; used after the event walk has refused anchors."""

    _FastLoader.yaml_implicit_resolvers = _NoAliasLoader.yaml_implicit_resolvers
    _YAML_LOADER: Any = _FastLoader
else:  # PyYAML built without libyaml: the pure-Python loader, bounded all the same
    _YAML_LOADER = _NoAliasLoader


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:160]


def _load_toml(text: str) -> Any:
    return tomllib.loads(text)


def _load_yaml(text: str) -> Any:
    nodes = 0
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasRefused
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise _TooManyNodes
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a SafeLoader subclass (C or Python)


def _load_json(text: str) -> Any:
    return json.loads(text)


_LOADERS = {"TOML": _load_toml, "YAML": _load_yaml, "JSON": _load_json}
_PARSE_ERRORS = (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError, RecursionError, ValueError)


def parse_course_data(data: bytes, name: str) -> dict[str, Any]:
    """The bytes of a course file → its items as a mapping (format by extension, else tried in turn)."""
    if len(data) > MAX_COURSE_FILE:
        raise input_error("input.too_large", path=name, size=size_text(len(data)), limit=size_text(MAX_COURSE_FILE))
    if b"\x00" in data:
        raise input_error("input.not_text", path=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise input_error("input.not_text", path=name) from None
    fmt = FORMATS.get(Path(name).suffix.lower())
    try:
        if fmt is not None:
            try:
                loaded = _LOADERS[fmt](text)
            except _PARSE_ERRORS as exc:
                raise input_error("input.malformed", path=name, format=fmt, detail=_first_line(exc)) from None
        else:
            loaded = _sniff(text, name)
    except _AliasRefused:
        raise input_error("input.yaml_alias", path=name) from None
    except _TooManyNodes:
        raise input_error("input.yaml_too_many_nodes", path=name, limit=MAX_YAML_NODES) from None
    if not isinstance(loaded, dict) or not all(isinstance(key, str) for key in loaded):
        raise input_error("input.not_a_table", path=name)
    return loaded


def _sniff(text: str, name: str) -> Any:
    order = ("JSON", "TOML", "YAML") if text.lstrip().startswith("{") else ("TOML", "YAML", "JSON")
    last: BaseException | None = None
    for fmt in order:
        try:
            loaded = _LOADERS[fmt](text)
        except _PARSE_ERRORS as exc:
            last = exc
            continue
        if isinstance(loaded, dict):
            return loaded
    raise input_error("input.unknown_format", path=name, detail=_first_line(last) if last else "-")


def _suggestion(item: str, where: tuple[Any, ...]) -> str | None:
    if not where and (item in DESCRIPTION_PARTS or item in CourseDescription.ALIASES):
        return f"description.{CourseDescription.ALIASES.get(item, item)}"
    model: type[CourseInfo] | type[CourseDescription] | type[ProducedBy] = CourseInfo
    if where and where[0] == "description":
        model = CourseDescription
    elif where and where[0] == "produced_by":
        model = ProducedBy
    close = difflib.get_close_matches(item, model.accepted_names(), n=1, cutoff=0.6)
    if not close:
        return None
    return ".".join([*(str(w) for w in where), close[0]])


def _input_error(exc: ValidationError, name: str) -> InputError:
    error = exc.errors(include_url=False)[0]
    loc = tuple(part for part in error.get("loc", ()) if not (isinstance(part, str) and part.startswith("function-")))
    # union members show up in the location as type names: keep only the item names
    items = tuple(part for part in loc if isinstance(part, str) and not part[:1].isupper() and "[" not in part)
    kind = error.get("type", "")
    if kind == "extra_forbidden" and items:
        suggestion = _suggestion(items[-1], items[:-1])
        hint: str | Message = Message("input.hint", suggestion=suggestion) if suggestion else ""
        return input_error("input.unknown_item", path=name, item=".".join(map(str, items)), hint=hint)
    problem_code = _PROBLEMS.get(kind)
    problem = (Message(problem_code) if problem_code
               else Message.text(str(error.get("msg", kind)).removeprefix("Value error, ")))
    return input_error("input.bad_item", path=name, item=".".join(map(str, items)) or "-", problem=problem)


def course_info_from_mapping(data: Mapping[str, Any], name: str) -> CourseInfo:
    """Course items (English or Norwegian names) → CourseInfo; a schema violation is an InputError."""
    try:
        return CourseInfo.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc, name) from None
    except RecursionError:
        raise input_error("input.not_a_table", path=name) from None


def parse_course_file(data: bytes, name: str) -> CourseInfo:
    return course_info_from_mapping(parse_course_data(data, name), name)


def load_course_file(path: Path) -> CourseInfo:
    """Source 1: a course file (TOML, YAML or JSON) → CourseInfo."""
    return parse_course_file(read_file(path, MAX_COURSE_FILE), str(path))


__all__ = [
    "COURSE_FILE_SUFFIXES",
    "MAX_COURSE_FILE",
    "MAX_YAML_NODES",
    "course_info_from_mapping",
    "load_course_file",
    "parse_course_data",
    "parse_course_file",
]
