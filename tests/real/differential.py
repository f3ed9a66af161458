"""Requests for the differential test, and how two answers to one request are compared.

A ``Probe`` is one request to one site (ks or lp): form pairs without a token, which token kind to send
(the site's lmsbridge token ``ws``, ``admin``, ``learner`` u01, an ``invalid`` one or ``none``), and the
path (REST or ``/login/token.php``). The same probe goes to the lab site and to the sandbox site of the
same name; both are seeded alike, with the same ids and tokens.

Two answers agree when they have the same HTTP status and content type, and

* both are Moodle errors with the same exception class, errorcode and keys (messages name ids and
  differ in wording only where the ids differ: not compared), or
* both are data with the same *shape*: the same keys, the same kinds of value (null, bool, int, float,
  string, list, object) at each place. Lists are compared by the shape of all their items together (a
  list of course custom fields holds ints and strings on both sites), never by length: the lab holds the
  scale dataset as well, so a listing of every course or every report row is longer there. An empty list
  says nothing about its items. A value that is null in some items and set in others must be so on both.

XML bodies (``moodlewsrestformat=xml``, or no format at all: XML is Moodle's default) are read into the
same structure first (every scalar is a string or null there).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from tests.real.lab import form_pairs

REST = "/webservice/rest/server.php"
TOKEN = "/login/token.php"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "moodle"


@dataclass(frozen=True)
class Probe:
    name: str
    site: str
    pairs: tuple[tuple[str, str], ...]
    token: str = "ws"  # ws | admin | learner | invalid | none
    path: str = REST
    invalid_token: str = "0" * 32

    def form(self, tokens: Mapping[str, str]) -> list[tuple[str, str]]:
        if self.path != REST or self.token == "none":
            return list(self.pairs)
        value = self.invalid_token if self.token == "invalid" else tokens[self.token]
        return [("wstoken", value), *self.pairs]


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def data(self) -> Any:
        """The body as data: JSON, or XML read into the same structure; ``{"EXCEPTION": …}`` for XML errors."""
        if self.content_type.startswith("application/xml"):
            return xml_data(self.body)
        if not self.body:
            return None
        return json.loads(self.body)


def xml_data(body: bytes) -> Any:
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))

    def walk(node: Any) -> Any:
        if node.tag == "SINGLE":
            return {key.get("name"): (walk(key[0]) if len(key) else None) for key in node}
        if node.tag == "MULTIPLE":
            return [walk(child) for child in node]
        if node.tag == "VALUE":
            return None if node.get("null") == "null" else (node.text or "")
        raise ValueError(f"unexpected element {node.tag}")

    if root.tag == "EXCEPTION":
        return {"exception": root.get("class"), **{child.tag.lower(): child.text for child in root}}
    if root.tag != "RESPONSE":
        raise ValueError(f"unexpected root {root.tag}")
    return walk(root[0]) if len(root) else None


# -- shapes -----------------------------------------------------------------------------------------------


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


@dataclass
class Shape:
    """The kinds of value seen at one place, and for objects and lists what they hold."""

    kinds: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    objects: int = 0  # objects seen here
    key_counts: dict[str, int] = field(default_factory=dict)
    items: Shape | None = None  # None: no list here had an item

    def add(self, value: Any) -> Shape:
        self.kinds.add(kind(value))
        if isinstance(value, dict):
            self.objects += 1
            for key, sub in value.items():
                self.keys.setdefault(key, Shape()).add(sub)
                self.key_counts[key] = self.key_counts.get(key, 0) + 1
        elif isinstance(value, list):
            for item in value:
                if self.items is None:
                    self.items = Shape()
                self.items.add(item)
        return self

    def always(self) -> set[str]:
        return {k for k, n in self.key_counts.items() if n == self.objects}


def shape_of(value: Any) -> Shape:
    return Shape().add(value)


def shape_differences(real: Shape, sandbox: Shape, path: str = "$") -> list[str]:
    out: list[str] = []
    if real.kinds != sandbox.kinds:
        out.append(f"{path}: {'/'.join(sorted(real.kinds))} on Moodle, {'/'.join(sorted(sandbox.kinds))} in the sandbox")
    if real.objects and sandbox.objects:
        missing, extra = set(real.keys) - set(sandbox.keys), set(sandbox.keys) - set(real.keys)
        if missing:
            out.append(f"{path}: keys missing in the sandbox {sorted(missing)}")
        if extra:
            out.append(f"{path}: keys only in the sandbox {sorted(extra)}")
        sometimes = (real.always() ^ sandbox.always()) & set(real.keys) & set(sandbox.keys)
        if sometimes:
            out.append(f"{path}: keys present in every object on one side only {sorted(sometimes)}")
        for key in sorted(set(real.keys) & set(sandbox.keys)):
            out.extend(shape_differences(real.keys[key], sandbox.keys[key], f"{path}.{key}"))
    if real.items is not None and sandbox.items is not None:
        out.extend(shape_differences(real.items, sandbox.items, f"{path}[]"))
    return out


def is_error(data: Any) -> bool:
    return isinstance(data, dict) and "exception" in data and ("errorcode" in data or "message" in data)


def is_token_error(data: Any) -> bool:
    return isinstance(data, dict) and "error" in data and "errorcode" in data and "token" not in data


def compare(real: Answer, sandbox: Answer) -> list[str]:
    """Why the sandbox's answer does not pass for Moodle's (nothing when it does)."""
    out: list[str] = []
    if real.status != sandbox.status:
        out.append(f"HTTP {real.status} on Moodle, {sandbox.status} in the sandbox")
    if real.content_type != sandbox.content_type:
        out.append(f"Content-Type {real.content_type!r} on Moodle, {sandbox.content_type!r} in the sandbox")
    if out:
        return out
    try:
        theirs, ours = real.data(), sandbox.data()
    except (ValueError, etree.XMLSyntaxError) as exc:
        return [f"unreadable body: {exc}"]
    if is_error(theirs) or is_error(ours):
        if not (is_error(theirs) and is_error(ours)):
            return [f"{describe(theirs)} on Moodle, {describe(ours)} in the sandbox"]
        if (theirs["exception"], theirs.get("errorcode")) != (ours["exception"], ours.get("errorcode")):
            out.append(f"{describe(theirs)} on Moodle, {describe(ours)} in the sandbox")
        if set(theirs) != set(ours):
            out.append(f"error keys {sorted(theirs)} on Moodle, {sorted(ours)} in the sandbox")
        return out
    both_token_errors = is_token_error(theirs) and is_token_error(ours)
    if (is_token_error(theirs) or is_token_error(ours)) and (
            not both_token_errors or theirs["errorcode"] != ours["errorcode"]):
        return [f"{describe(theirs)} on Moodle, {describe(ours)} in the sandbox"]
    return shape_differences(shape_of(theirs), shape_of(ours))


def describe(data: Any) -> str:
    if is_error(data):
        return f"{data['exception']}/{data.get('errorcode')}"
    if is_token_error(data):
        return f"token.php error {data['errorcode']}"
    return f"data ({kind(data)})"


# -- the requests ------------------------------------------------------------------------------------------


def recorded() -> list[Probe]:
    """Every recorded request (tests/fixtures/moodle), per site in the order it was captured; an ``.xml``
    twin of those recorded in XML too."""
    found: list[tuple[str, float, str, Probe]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name == "seed_data.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        moment = datetime.fromisoformat(data["captured_at"]).timestamp()
        site = str(data["site"])
        if data.get("encoded_params") is not None:
            pairs = tuple((str(k), str(v)) for k, v in data["encoded_params"] if k != "wstoken")
            token = {"lmsbridge": "ws", "admin": "admin", "learner": "learner", "invalid": "invalid"}[data["token_user"]]
            invalid = str(data.get("wstoken") or "0" * 32)
            found.append((site, moment, path.stem, Probe(f"recorded:{path.stem}", site, pairs, token,
                                                         invalid_token=invalid)))
            if (FIXTURES / f"{path.stem}.xml").exists():
                xml = tuple((k, "xml" if k == "moodlewsrestformat" else v) for k, v in pairs)
                found.append((site, moment, path.stem + ".xml",
                              Probe(f"recorded:{path.stem}.xml", site, xml, token, invalid_token=invalid)))
        else:
            pairs = tuple(form_pairs(data["params"]))
            found.append((site, moment, path.stem, Probe(f"recorded:{path.stem}", site, pairs, "none",
                                                         path=str(data.get("endpoint") or TOKEN))))
    return [probe for *_, probe in sorted(found, key=lambda f: (f[0], f[1], f[2]))]


@dataclass(frozen=True)
class Function:
    """A read-only function with parameters that work on a site, for the variants."""

    site: str
    name: str
    params: Mapping[str, Any]
    label: str = ""
    int_param: str | None = None  # a parameter of type int, for the wrong-type variant
    tokens: tuple[str, ...] = ("ws", "admin", "learner")


READS: tuple[Function, ...] = (
    Function("lp", "core_webservice_get_site_info", {}),
    # a learner's answer depends on the first course Moodle checks, in the database's row order (incidental:
    # updated rows move), so the learner asks for one course at a time
    Function("lp", "core_course_get_courses", {"options": {"ids": [5, 6]}}, "ids", tokens=("ws", "admin")),
    Function("lp", "core_course_get_courses", {"options": {"ids": [7]}}, "LP3"),
    Function("lp", "core_course_get_courses", {"options": {"ids": [6]}}, "LP2"),
    Function("ks", "core_course_get_courses", {}, "all", tokens=("ws", "admin")),
    Function("lp", "core_course_get_courses_by_field", {"field": "shortname", "value": "HBHF-SMITTE-01"}, "shortname"),
    Function("lp", "core_course_get_courses_by_field", {"field": "id", "value": "999999"}, "missing id"),
    Function("ks", "core_course_get_courses_by_field", {"field": "category", "value": "2"}, "category"),
    # (on lp: the lab's ks holds scale courses a learner sees only the public part of, the sandbox none)
    Function("lp", "core_course_get_courses_by_field", {}, "no field"),
    Function("lp", "core_course_search_courses", {"criterianame": "search", "criteriavalue": "smitte"}),
    Function("lp", "core_course_get_categories", {"criteria": [{"key": "id", "value": "3"}]}),
    Function("lp", "core_course_get_contents", {"courseid": 5}, "", "courseid"),
    Function("lp", "core_course_get_contents", {"courseid": 7}, "LP3"),
    Function("lp", "core_course_get_contents", {"courseid": 999999}, "missing course"),
    Function("lp", "core_course_get_course_module", {"cmid": 12}, "", "cmid"),
    Function("lp", "core_course_get_course_module", {"cmid": 999999}, "missing cm"),
    Function("lp", "core_enrol_get_enrolled_users", {"courseid": 5}, "", "courseid"),
    Function("lp", "core_enrol_get_enrolled_users",
             {"courseid": 5, "options": [{"name": "userfields", "value": "id, username, idnumber, email"}]},
             "userfields"),
    Function("lp", "core_enrol_get_enrolled_users", {"courseid": 999999}, "missing course"),
    Function("lp", "core_enrol_get_users_courses", {"userid": 4}, "", "userid"),
    Function("ks", "core_user_get_users_by_field", {"field": "email", "values": ["kari.nordmann@helse-bergen.no"]},
             "email"),
    Function("lp", "core_user_get_users_by_field", {"field": "idnumber", "values": ["HB10001", "HB10009"]}, "idnumber"),
    Function("lp", "core_user_get_users_by_field", {"field": "username", "values": ["hb10001"]}, "username"),
    Function("lp", "core_user_get_users_by_field", {"field": "id", "values": ["4", "999999"]}, "id"),
    Function("lp", "core_completion_get_course_completion_status", {"courseid": 5, "userid": 4}, "", "userid"),
    Function("lp", "core_completion_get_course_completion_status", {"courseid": 5, "userid": 10}, "not started"),
    Function("lp", "core_completion_get_course_completion_status", {"courseid": 999999, "userid": 4}, "missing course"),
    Function("lp", "core_completion_get_activities_completion_status", {"courseid": 5, "userid": 4}, "", "courseid"),
    Function("lp", "core_completion_get_activities_completion_status", {"courseid": 7, "userid": 5}, "LP3"),
    Function("lp", "core_completion_get_activities_completion_status", {"courseid": 5, "userid": 999999},
             "missing user"),
    Function("lp", "core_group_get_course_groups", {"courseid": 5}, "", "courseid"),
    Function("lp", "core_group_get_course_groups", {"courseid": 999999}, "missing course"),
    Function("lp", "core_group_get_group_members", {"groupids": [999999]}, "missing group"),
    Function("lp", "core_tag_get_tagindex", {"tagindex": {"tag": "smittevern", "tc": 1, "ta": 1}}),
    Function("lp", "gradereport_user_get_grade_items", {"courseid": 5, "userid": 4}, "", "courseid"),
    Function("lp", "core_reportbuilder_list_reports", {}),
    Function("lp", "core_reportbuilder_retrieve_report", {"reportid": 1, "page": 0, "perpage": 5}, "", "reportid"),
    Function("lp", "core_reportbuilder_retrieve_report", {"reportid": 999}, "missing report"),
    Function("ks", "core_backup_get_copy_progress", {"copies": [{"backupid": "0" * 32, "restoreid": "0" * 32,
                                                                 "operation": "restore"}]}, "unknown copy"),
)

#: functions that exist in Moodle 4.5 but not in the lab's service lmsbridge, and one that does not exist
NOT_IN_SERVICE = ("core_group_delete_group_members", "core_user_delete_users", "core_role_assign_roles",
                  "core_user_update_users", "core_course_delete_modules")
NO_SUCH_FUNCTION = "core_nonexistent_function"


def _call(function: str, params: Mapping[str, Any], fmt: str | None) -> tuple[tuple[str, str], ...]:
    pairs = [("wsfunction", function)]
    if fmt is not None:
        pairs.append(("moodlewsrestformat", fmt))
    return tuple(pairs + form_pairs(params))


def variants() -> Iterator[Probe]:
    """Each read in every format and with every token kind; then missing, extra and wrong-typed parameters;
    then functions outside the service, an unknown function, no function and a wrong token."""
    for fn in READS:
        base = f"{fn.site}:{fn.name}" + (f"[{fn.label}]" if fn.label else "")
        for token in fn.tokens:
            for fmt in ("json", "xml", None):
                yield Probe(f"{base}:{token}:{fmt or 'noformat'}", fn.site, _call(fn.name, fn.params, fmt), token)
        if not fn.label or fn.int_param:
            for key in fn.params:
                rest = {k: v for k, v in fn.params.items() if k != key}
                yield Probe(f"{base}:missing-{key}", fn.site, _call(fn.name, rest, "json"))
            yield Probe(f"{base}:extra-param", fn.site, _call(fn.name, {**fn.params, "bogus": "1"}, "json"))
        if fn.int_param:
            wrong = {**fn.params, fn.int_param: "abc"}
            yield Probe(f"{base}:{fn.int_param}-not-int", fn.site, _call(fn.name, wrong, "json"))
            yield Probe(f"{base}:{fn.int_param}-not-int:xml", fn.site, _call(fn.name, wrong, "xml"))
            listed = {**fn.params, fn.int_param: [1, 2]}
            yield Probe(f"{base}:{fn.int_param}-a-list", fn.site, _call(fn.name, listed, "json"))
    for site in ("ks", "lp"):
        for name in NOT_IN_SERVICE:
            for fmt in ("json", "xml"):
                yield Probe(f"{site}:{name}:not-in-service:{fmt}", site, _call(name, {}, fmt))
        yield Probe(f"{site}:{NO_SUCH_FUNCTION}:json", site, _call(NO_SUCH_FUNCTION, {}, "json"))
        yield Probe(f"{site}:no-wsfunction:json", site, (("moodlewsrestformat", "json"),))
        for fmt in ("json", "xml", None):
            yield Probe(f"{site}:core_webservice_get_site_info:invalid-token:{fmt or 'noformat'}", site,
                        _call("core_webservice_get_site_info", {}, fmt), "invalid")
        yield Probe(f"{site}:core_webservice_get_site_info:no-token:json", site,
                    _call("core_webservice_get_site_info", {}, "json"), "none")
    yield Probe("lp:token.php:learner", "lp", tuple(form_pairs(
        {"username": "hb10001", "password": "Sykepleier#2024", "service": "lmsbridge"})), "none", TOKEN)
    yield Probe("lp:token.php:wrong-password", "lp", tuple(form_pairs(
        {"username": "hb10001", "password": "feil", "service": "lmsbridge"})), "none", TOKEN)
    yield Probe("lp:token.php:no-service", "lp", tuple(form_pairs({"username": "hb10001", "password": "x"})),
                "none", TOKEN)


def probes() -> list[Probe]:
    found = [*recorded(), *variants()]
    names = [p.name for p in found]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"probe names must be unique: {sorted(duplicates)}")
    return found


def table(rows: Iterable[tuple[str, list[str]]]) -> str:
    """A markdown table of the requests whose answers differ."""
    lines = ["| request | difference |", "|---|---|"]
    for name, problems in rows:
        for problem in problems:
            lines.append(f"| `{name}` | {problem.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
