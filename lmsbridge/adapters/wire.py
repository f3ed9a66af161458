"""Moodle's REST wire format, as pure functions: no network, no state.

* ``encode_params`` turns nested parameters into PHP-style form pairs
  (``courses[0][customfields][3][shortname]``), in the order Moodle's own clients send them.
* ``decode_response`` turns (status, headers, body) into Python data or a typed error. Moodle reports
  errors inside HTTP 200 bodies (``exception``/``errorcode``/``message``), in JSON or in XML
  (tests/fixtures/moodle/INDEX.md); both decode to the same structures.
* ``parse_xml_response`` reads Moodle's RESPONSE/SINGLE/MULTIPLE/KEY/VALUE layout with a parser that
  refuses DTDs and entity expansion and never touches the network.

Decoding is bounded: Python's ``json`` recurses once per level of nesting, so a body nested deeper than
``MAX_DEPTH`` is refused before it is parsed (``nesting_exceeds``: a scan of the bytes at C speed, no
recursion); a whole number too long to be any id or time is kept as its text, for the wire models to
refuse with the field's name (``int()`` of 5,000 digits raises); lxml's own limits (no ``huge_tree``)
bound the XML's depth (256) and text nodes. Whatever still goes wrong while decoding is a
``ProtocolError``, never a ``RecursionError`` or ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from lmsbridge.adapters.bounds import MAX_NUMBER_TEXT
from lmsbridge.adapters.redact import Redactor
from lmsbridge.errors import (
    LmsbridgeError,
    LoginError,
    ProtocolError,
    TransportError,
    moodle_error_from,
)
from lmsbridge.i18n import N_, Message

FormPairs = list[tuple[str, str]]

# ``where`` in these messages is a prefix naming the site and the call ("ks: core_…: "), or "".


def _scalar(value: object) -> str:
    # PARAM_BOOL accepts only 0/1 (REFERENCE.md §0: the string "true" is rejected).
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_params(params: Mapping[str, Any], prefix: str = "") -> FormPairs:
    """Flatten nested parameters into PHP bracket form keys. ``None`` values are left out.

    >>> encode_params({"courses": [{"fullname": "A", "customfields": [{"shortname": "x", "value": 1}]}]})
    [('courses[0][fullname]', 'A'), ('courses[0][customfields][0][shortname]', 'x'), \
('courses[0][customfields][0][value]', '1')]
    """
    pairs: FormPairs = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_encode_value(name, value))
    return pairs


def _encode_value(name: str, value: Any) -> FormPairs:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return encode_params(value, name)
    if isinstance(value, list | tuple):
        out: FormPairs = []
        for index, item in enumerate(value):
            out.extend(_encode_value(f"{name}[{index}]", item))
        return out
    return [(name, _scalar(value))]


# --- decoding -----------------------------------------------------------------------------------

_XML_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that never expands entities, loads DTDs or reaches the network."""
    return etree.XMLParser(**_XML_PARSER_OPTIONS)


def parse_xml_document(body: bytes, *, where: str = "") -> etree._Element:
    """Parse untrusted XML; a document with a DOCTYPE (entity declarations) is refused outright."""
    try:
        root = etree.fromstring(body, parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(Message("wire.xml_malformed", where=where, detail=exc)) from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ProtocolError(Message("wire.xml_doctype", where=where))
    return root


def _xml_value(node: etree._Element, where: str) -> Any:
    tag = node.tag
    if tag == "VALUE":
        if node.get("null") == "null":
            return None
        return node.text or ""
    if tag == "MULTIPLE":
        return [_xml_value(child, where) for child in node if isinstance(child.tag, str)]
    if tag == "SINGLE":
        out: dict[str, Any] = {}
        for key in node:
            if key.tag != "KEY":
                continue
            children = [c for c in key if isinstance(c.tag, str)]
            out[str(key.get("name"))] = _xml_value(children[0], where) if children else None
        return out
    raise ProtocolError(Message("wire.xml_element", where=where, tag=tag))


def parse_xml_response(body: bytes, *, where: str = "") -> Any:
    """Moodle XML → the same structures JSON gives (scalars stay strings; XML has no types).

    An ``<EXCEPTION>`` root is returned as a dict with ``exception``, ``errorcode``, ``message`` and
    ``debuginfo`` (when present), exactly like the JSON error body.
    """
    root = parse_xml_document(body, where=where)
    if root.tag == "EXCEPTION":
        error: dict[str, Any] = {"exception": root.get("class", "")}
        for child in root:
            if isinstance(child.tag, str):
                error[child.tag.lower()] = child.text or ""
        return error
    if root.tag != "RESPONSE":
        raise ProtocolError(Message("wire.xml_root", where=where, tag=root.tag))
    children = [c for c in root if isinstance(c.tag, str)]
    if not children:
        return None  # a void function answers <RESPONSE>\n</RESPONSE>
    return _xml_value(children[0], where)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = _header(headers, "retry-after").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def where_of(site: str | None, wsfunction: str | None) -> str:
    """The prefix of a message about one call: "ks: core_webservice_get_site_info: " (or less, or "")."""
    return "".join(f"{part}: " for part in (site, wsfunction) if part)


def check_status(status: int, headers: Mapping[str, str], *, where: str = "") -> None:
    """Raise for HTTP-level failures (Moodle's own errors come with 200 and are handled later)."""
    if status == 429 or status >= 500:
        code = N_("wire.http_too_many") if status == 429 else N_("wire.http_unavailable")
        raise TransportError(Message(code, where=where, status=status), status=status,
                             retry_after=_retry_after(headers))
    if status == 403:
        # REST protocol disabled: HTTP 403 with an empty body (REFERENCE.md §1).
        raise ProtocolError(Message("wire.http_forbidden", where=where))
    if status != 200:
        raise ProtocolError(Message("wire.http_other", where=where, status=status))


def decode_body(body: bytes, fmt: str, *, where: str = "") -> Any:
    """Body bytes → data, without interpreting Moodle errors. ``fmt`` is ``json`` or ``xml``."""
    # Look at the head only: listings can be tens of MB and strip() would copy them.
    head = body[:64].lstrip()
    text = body
    if fmt == "json":
        if head.startswith(b"<"):
            text = body.strip()
            # Some proxies and maintenance pages answer HTML; Moodle itself answers XML by default.
            if text.startswith(b"<?xml") or text.startswith(b"<RESPONSE") or text.startswith(b"<EXCEPTION"):
                return parse_xml_response(text, where=where)
            raise ProtocolError(Message("wire.html", where=where))
        if nesting_exceeds(text, MAX_DEPTH):
            raise ProtocolError(Message("wire.too_deep", where=where, limit=MAX_DEPTH))
        try:
            return json.loads(text, parse_int=_json_int)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(Message("wire.json_malformed", where=where, detail=exc.__class__.__name__)) from exc
        except (RecursionError, ValueError) as exc:
            # Nesting the scan did not see (it reads malformed JSON leniently), a number Python refuses.
            raise ProtocolError(Message("wire.json_malformed", where=where, detail=exc.__class__.__name__)) from None
    return parse_xml_response(body.strip(), where=where)


#: Deepest nesting of a platform answer (Moodle's deepest, ``core_course_get_contents``, is about 6).
MAX_DEPTH = 64

_KEEP_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def nesting_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Is this JSON nested more than ``limit`` levels deep? Strings are skipped; no recursion, no parsing.

    Escapes go first (an escaped backslash, then an escaped quote; any other backslash is inside a string
    and harmless), then everything but quotes and brackets; of what is left, the quoted runs are string
    content. Each round of removing ``[]`` pairs takes away one level, so a body deeper than ``limit`` still
    has pairs after ``limit`` rounds. Malformed JSON (an odd number of quotes) is left to the decoder."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    compact = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_BRACES_AS_BRACKETS, _KEEP_STRUCTURE)
    # Empty (bracket-free) strings vanish at once; the few strings holding brackets are cut out by split.
    parts = compact.replace(b'""', b"").split(b'"')
    if len(parts) % 2 == 0:
        return False
    structure = b"".join(parts[::2])
    for _ in range(limit):
        shorter = structure.replace(b"[]", b"")
        if len(shorter) == len(structure):
            return False
        structure = shorter
    return b"[]" in structure


def _json_int(text: str) -> int | str:
    # A number longer than any id or time could be stays text: the models refuse it naming the field,
    # where int() would raise ValueError past 4,300 digits (and allocate on the way).
    return int(text) if len(text) <= MAX_NUMBER_TEXT else text


def is_error_body(data: Any) -> bool:
    return isinstance(data, Mapping) and "exception" in data and "message" in data


def decode_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    fmt: str = "json",
    wsfunction: str | None = None,
    site: str | None = None,
    redactor: Redactor | None = None,
) -> Any:
    """The pure heart of the client: (status, headers, body) → data, or raise a typed error.

    ``site`` (the platform's name) and ``wsfunction`` only go into the messages of the errors. With a
    ``redactor``, its secrets are taken out of the data before anything (an error included) is built on it."""
    where = where_of(site, wsfunction)
    check_status(status, headers, where=where)
    data = decode_body(body, fmt, where=where)
    if redactor is not None:
        data = redactor.answer(body, data)
    # Errors come back with HTTP 200: check for the ``exception`` key, never the status code.
    if is_error_body(data):
        raise moodle_error_from(data, wsfunction=wsfunction, site=site)
    return data


def decode_token_response(status: int, headers: Mapping[str, str], body: bytes, *, site: str | None = None) -> str:
    """/login/token.php: success ``{"token", "privatetoken"}``, errors ``{"error", "errorcode", …}``."""
    where = where_of(site, None)
    check_status(status, headers, where=where)
    data = decode_body(body, "json", where=where)
    if not isinstance(data, Mapping):
        raise ProtocolError(Message("wire.token_unexpected", where=where))
    if "errorcode" in data or "error" in data:
        raise LoginError(
            str(data.get("error") or ""),
            exception="login",
            errorcode=str(data.get("errorcode") or ""),
            debuginfo=str(data["debuginfo"]) if data.get("debuginfo") else None,
            wsfunction="login/token.php",
            site=site,
        )
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise ProtocolError(Message("wire.token_missing", where=where))
    return token


def iter_warnings(data: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        warnings = data.get("warnings")
        if isinstance(warnings, list):
            yield from (w for w in warnings if isinstance(w, Mapping))


__all__ = [
    "MAX_DEPTH",
    "FormPairs",
    "LmsbridgeError",
    "check_status",
    "decode_body",
    "decode_response",
    "decode_token_response",
    "encode_params",
    "is_error_body",
    "iter_warnings",
    "nesting_exceeds",
    "parse_xml_document",
    "parse_xml_response",
    "safe_xml_parser",
    "where_of",
]
