"""A stateful stand-in for two Moodle sites behind ``responses``: the course functions the share
workflows call, answering in the recorded shapes (tests/fixtures/moodle). Not a sandbox: just enough
state (courses with custom fields) to run every share flow end to end."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import responses

from tests.conftest import fixture

Handler = Callable[[dict[str, Any]], Any]


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style form keys back to nested dicts (lists stay dicts keyed by index strings)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=int)]
    return list(value or [])


#: The receipt field (issue 12), made by each site's admin: in every course's custom fields.
RECEIPT_FIELD = {"name": "lmsbridge-kvittering", "shortname": "lmsbridge_kvittering", "type": "text", "valueraw": "",
                 "value": None}


@dataclass
class Person:
    """Who holds a token on a fake site, and what the site lets them do."""

    userid: int
    username: str
    fullname: str
    update: bool = False
    create: bool = False


class FakeSite:
    def __init__(self, url: str, courses: list[dict[str, Any]], options: dict[str, list[str]],
                 people: dict[str, Person] | None = None) -> None:
        self.url = url
        self.courses = {c["id"]: c for c in courses}
        for course in self.courses.values():
            if not any(f["shortname"] == RECEIPT_FIELD["shortname"] for f in course["customfields"]):
                course["customfields"].append(dict(RECEIPT_FIELD))
        self.options = options
        self.people = people or {}
        self.calls: list[str] = []
        self.next_id = max(self.courses) + 1 if self.courses else 2
        self.fail_on: str | None = None
        self.caller = Person(3, "lmsbridge", "LMS Bridge", update=True, create=True)

    def field_template(self) -> list[dict[str, Any]]:
        sample = next(iter(self.courses.values()))
        return [{**f, "valueraw": 0 if f["type"] in ("select", "date") else "", "value": None}
                for f in sample["customfields"]]

    def apply_fields(self, course: dict[str, Any], fields: list[dict[str, str]]) -> None:
        for entry in fields:
            for custom in course["customfields"]:
                if custom["shortname"] == entry["shortname"]:
                    if custom["type"] in ("select", "date"):
                        custom["valueraw"] = int(entry["value"])
                        opts = self.options.get(custom["shortname"], [])
                        index = int(entry["value"])
                        custom["value"] = opts[index] if custom["type"] == "select" and 0 < index < len(opts) else None
                    else:
                        custom["valueraw"] = custom["value"] = entry["value"]

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        pairs = parse_qsl(str(request.body), keep_blank_values=True)
        params = unflatten(pairs)
        fn = params.pop("wsfunction")
        self.caller = self.people.get(str(params.get("wstoken")),
                                      Person(3, "lmsbridge", "LMS Bridge", update=True, create=True))
        self.calls.append(fn)
        if self.fail_on == fn:
            raise ConnectionError("killed")
        result = getattr(self, fn)(params)
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    def core_webservice_get_site_info(self, params: dict[str, Any]) -> Any:
        person = self.caller
        return {"sitename": self.url, "siteurl": self.url, "userid": person.userid, "username": person.username,
                "fullname": person.fullname, "functions": []}

    def core_course_get_user_administration_options(self, params: dict[str, Any]) -> Any:
        ids = [int(v) for v in as_list(params.get("courseids"))]
        return {"courses": [{"id": i, "options": [{"name": "update", "available": self.caller.update}]}
                            for i in ids if i in self.courses], "warnings": []}

    def core_course_get_courses_by_field(self, params: dict[str, Any]) -> Any:
        field, value = params.get("field", ""), params.get("value", "")
        found = [c for c in self.courses.values() if not field or str(c.get(field if field != "id" else "id")) == value]
        return {"courses": copy.deepcopy(found), "warnings": []}

    def core_course_create_courses(self, params: dict[str, Any]) -> Any:
        if not self.caller.create:
            return {"exception": "core\\exception\\required_capability_exception", "errorcode": "nopermissions",
                    "message": "Sorry, but you do not currently have permissions to do that (Create courses)."}
        out = []
        for spec in as_list(params["courses"]):
            course_id = self.next_id
            self.next_id += 1
            course = {"id": course_id, "fullname": spec["fullname"], "shortname": spec["shortname"],
                      "idnumber": spec.get("idnumber", ""), "categoryid": int(spec["categoryid"]),
                      "summary": spec.get("summary", ""), "summaryformat": 1, "visible": int(spec.get("visible", 1)),
                      "format": "topics", "customfields": self.field_template()}
            self.apply_fields(course, as_list(spec.get("customfields")))
            self.courses[course_id] = course
            out.append({"id": course_id, "shortname": spec["shortname"]})
        return out

    def core_course_update_courses(self, params: dict[str, Any]) -> Any:
        warnings = []
        for spec in as_list(params["courses"]):
            course = self.courses.get(int(spec["id"]))
            if course is None:
                warnings.append({"item": "course", "itemid": int(spec["id"]), "warningcode": "invalidrecord",
                                 "message": "Can't find data record in database table course."})
                continue
            if not self.caller.update:
                warnings.append({"item": "course", "itemid": course["id"], "warningcode": "nopermissions",
                                 "message": "Sorry, but you do not currently have permissions to do that."})
                continue
            for key in ("summary", "fullname", "shortname"):
                if key in spec:
                    course[key] = spec[key]
            if "visible" in spec:
                course["visible"] = int(spec["visible"])
            self.apply_fields(course, as_list(spec.get("customfields")))
        return {"warnings": warnings}


def recorded_course(name: str) -> dict[str, Any]:
    course: dict[str, Any] = copy.deepcopy(fixture(name)["response"]["courses"][0])
    return course


def install(mock: responses.RequestsMock, *sites: FakeSite) -> None:
    for site in sites:
        mock.add_callback(responses.POST, site.url + "/webservice/rest/server.php", callback=site.handle)
