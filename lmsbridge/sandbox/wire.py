"""Moodle's REST wire format as the server side sees it: pure functions, no sockets, no state.

* ``decode_form`` turns PHP-style form pairs (``courses[0][customfields][3][shortname]=…``,
  ``options[ids][0]=5``) into nested dicts and lists, the way PHP fills ``$_POST``.
* ``render_json`` / ``render_xml`` write a function's result the way ``webservice/rest/server.php``
  does: JSON through ``json_encode``; XML in the RESPONSE/SINGLE/MULTIPLE/KEY/VALUE layout with
  ``<VALUE null="null"/>`` and booleans as 1/0 (tests/fixtures/moodle/*.xml).
* ``ABSENT`` and ``ABSENT_LIST`` mark keys a function's return description lists but the value
  leaves out: JSON omits them, XML still writes them (``usersessionscount`` in
  lp__core_webservice_get_site_info__ok.xml, ``communicationroomurl`` in …ok_category.xml).
* Given the function's return description (``returns``: data/returns.json, dumped from Moodle 4.5 by
  scripts/moodle-returns.php), ``render_xml`` writes what Moodle's ``xmlize_result`` writes
  (webservice/rest/locallib.php): every described key in the description's order, a key the value lacks
  (or holds null) as ``<VALUE null="null"/>``, an empty ``<MULTIPLE>`` or a ``<SINGLE>`` of such keys, and
  no key the description does not name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "ABSENT",
    "ABSENT_LIST",
    "Absent",
    "decode_form",
    "render_exception_json",
    "render_exception_xml",
    "render_json",
    "render_xml",
    "strip_absent",
    "xml_escape",
]


class Absent:
    """A described-but-absent key (JSON leaves it out; XML writes a null VALUE or an empty MULTIPLE)."""

    __slots__ = ("as_list",)

    def __init__(self, as_list: bool) -> None:
        self.as_list = as_list

    def __repr__(self) -> str:
        return "ABSENT_LIST" if self.as_list else "ABSENT"


ABSENT: Final = Absent(as_list=False)
ABSENT_LIST: Final = Absent(as_list=True)

_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_name(name: str) -> list[str] | None:
    match = _NAME.match(name)
    if not match:
        return None
    return [match.group(1), *_PART.findall(match.group(2))]


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest form pairs like PHP does; a level whose keys are all integers becomes a list (in order)."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = _split_name(name)
        if not parts:
            continue
        node: dict[str, Any] = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":  # name[] appends, as in PHP
                part = str(sum(1 for key in node if key.isdigit()))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(root)  # type: ignore[no-any-return]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(re.fullmatch(r"-?\d+", key) for key in converted):
        # PHP keeps insertion order; Moodle's multiple_structure takes the values in that order.
        return list(converted.values())
    return converted


def strip_absent(value: Any) -> Any:
    """The value as JSON sees it: described-but-absent keys removed."""
    if isinstance(value, dict):
        return {k: strip_absent(v) for k, v in value.items() if not isinstance(v, Absent)}
    if isinstance(value, list):
        return [strip_absent(v) for v in value]
    return value


def render_json(value: Any) -> bytes:
    """``json_encode`` as PHP does it by default: ASCII only, slashes escaped."""
    text = json.dumps(strip_absent(value), ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def xml_escape(text: str) -> str:
    """htmlspecialchars with ENT_COMPAT: single quotes stay as they are (…err_nonexistent_course.xml)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _xml_scalar(value: Any) -> str:
    if value is None:
        return '<VALUE null="null"/>\n'
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, float):
        text = repr(value) if not value.is_integer() else str(int(value))
    else:
        text = str(value)
    return f"<VALUE>{xml_escape(text)}</VALUE>\n"


def _xmlize(value: Any, out: list[str]) -> None:
    if isinstance(value, Absent):
        out.append("<MULTIPLE>\n</MULTIPLE>\n" if value.as_list else '<VALUE null="null"/>\n')
    elif isinstance(value, Mapping):
        out.append("<SINGLE>\n")
        for key, item in value.items():
            out.append(f'<KEY name="{xml_escape(str(key))}">')
            _xmlize(item, out)
            out.append("</KEY>\n")
        out.append("</SINGLE>\n")
    elif isinstance(value, list | tuple):
        out.append("<MULTIPLE>\n")
        for item in value:
            _xmlize(item, out)
        out.append("</MULTIPLE>\n")
    else:
        out.append(_xml_scalar(value))


def _xmlize_described(value: Any, description: Mapping[str, Any], out: list[str]) -> None:
    """webservice_rest_server::xmlize_result: the description decides the layout."""
    if isinstance(value, Absent):
        value = None
    if "value" in description:
        out.append(_xml_scalar(value) if not isinstance(value, Mapping | list | tuple) else '<VALUE null="null"/>\n')
    elif "multiple" in description:
        out.append("<MULTIPLE>\n")
        for item in value if isinstance(value, list | tuple) else ():
            _xmlize_described(item, description["multiple"], out)
        out.append("</MULTIPLE>\n")
    else:
        given = value if isinstance(value, Mapping) else {}
        out.append("<SINGLE>\n")
        for key, sub in description["single"]:
            out.append(f'<KEY name="{xml_escape(str(key))}">')
            _xmlize_described(given.get(key), sub, out)
            out.append("</KEY>\n")
        out.append("</SINGLE>\n")


def render_xml(value: Any, returns: Mapping[str, Any] | None = None) -> bytes:
    """The XML body; laid out by the function's return description when there is one."""
    out = ['<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n']
    if value is not None and returns is not None:
        _xmlize_described(value, returns, out)
    elif value is not None:  # a function that returns null answers an empty RESPONSE
        _xmlize(value, out)
    out.append("</RESPONSE>\n")
    return "".join(out).encode("utf-8")


def render_exception_json(exception_class: str, errorcode: str | None, message: str, debuginfo: str | None) -> bytes:
    body: dict[str, Any] = {"exception": exception_class}
    if errorcode is not None:
        body["errorcode"] = errorcode
    body["message"] = message
    if debuginfo is not None:
        body["debuginfo"] = debuginfo
    return render_json(body)


def render_exception_xml(exception_class: str, errorcode: str | None, message: str, debuginfo: str | None) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8" ?>\n', f'<EXCEPTION class="{xml_escape(exception_class)}">\n']
    if errorcode is not None:
        out.append(f"<ERRORCODE>{xml_escape(errorcode)}</ERRORCODE>\n")
    out.append(f"<MESSAGE>{xml_escape(message)}</MESSAGE>\n")
    if debuginfo is not None:
        out.append(f"<DEBUGINFO>{xml_escape(debuginfo)}</DEBUGINFO>\n")
    out.append("</EXCEPTION>\n")
    return "".join(out).encode("utf-8")
