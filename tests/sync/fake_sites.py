"""Two small stateful Moodle stand-ins behind ``responses``, seeded from the recorded lab sites.

Just the functions the sync and the certificate groups call, answering in the recorded shapes
(tests/fixtures/moodle): errors as HTTP 200 exception bodies, report cells as display strings with ids in
links, dates in UTC when asked. Unit tests use it for exit codes and failure handling; the end-to-end tests
run against the real-HTTP sandbox instead.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import requests
import responses

from tests.conftest import fixture

REST = "/webservice/rest/server.php"
STUDENT = 5
NOW = 1795435200  # 2026-11-23 12:00 UTC (tests/sync/helpers.py T0), after the recorded completions


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
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
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def error(errorcode: str, message: str = "error", exception: str = "core\\exception\\moodle_exception") -> dict[str, str]:
    return {"exception": exception, "errorcode": errorcode, "message": message}


class Fault(Exception):
    """Raise from a hook to answer with this body (a Moodle error)."""

    def __init__(self, body: dict[str, str]) -> None:
        self.body = body


class FakeSite:
    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.users: dict[int, dict[str, Any]] = {}
        self.courses: dict[int, dict[str, Any]] = {}
        self.enrolled: dict[int, dict[int, dict[str, int]]] = {}
        self.done: dict[tuple[int, int], int] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        self.members: dict[int, set[int]] = {}
        self.messages: list[tuple[int, str]] = []
        self.no_message: set[int] = set()
        self.calls: Counter[str] = Counter()
        self.hooks: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.status_code: int | None = None  # answer every call with this HTTP status (503: down)
        self.connection_down = False
        self.report_id: int | None = 1
        self.report_denied = False
        self.filter_from: int | None = None
        self.now = NOW
        self.next_id = 1000

    # -- seeding ------------------------------------------------------------------------------------------

    def add_user(self, uid: int, username: str, email: str, idnumber: str, name: str) -> None:
        first, _, last = name.partition(" ")
        self.users[uid] = {"id": uid, "username": username, "email": email, "idnumber": idnumber,
                           "firstname": first, "lastname": last or "-", "fullname": name, "suspended": False}

    def add_course(self, cid: int, shortname: str, fullname: str, modules: list[tuple[int, str, int, str]]) -> None:
        self.courses[cid] = {"id": cid, "shortname": shortname, "fullname": fullname,
                             "modules": [{"id": m, "name": n, "completion": c, "idnumber": i} for m, n, c, i in modules]}
        self.enrolled.setdefault(cid, {})

    def enrol_user(self, cid: int, uid: int, *, role: int = STUDENT, lastaccess: int = 0) -> None:
        self.enrolled.setdefault(cid, {})[uid] = {"role": role, "lastaccess": lastaccess}

    def complete(self, uid: int, cmid: int, when: int | None = None, *, visit: bool = True) -> None:
        self.done[(cmid, uid)] = when or self.now
        if visit:
            for cid, course in self.courses.items():
                if any(m["id"] == cmid for m in course["modules"]) and uid in self.enrolled.get(cid, {}):
                    self.enrolled[cid][uid]["lastaccess"] = when or self.now

    def tracked(self, cid: int) -> list[dict[str, Any]]:
        return [m for m in self.courses[cid]["modules"] if m["completion"] > 0]

    def course_of(self, cmid: int) -> int:
        for cid, course in self.courses.items():
            if any(m["id"] == cmid for m in course["modules"]):
                return cid
        raise Fault(error("invalidcoursemodule", "Invalid course module ID", "dml_missing_record_exception"))

    # -- HTTP -----------------------------------------------------------------------------------------------

    def handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        params = unflatten(parse_qsl(str(request.body), keep_blank_values=True))
        fn = params.pop("wsfunction")
        self.calls[fn] += 1
        if self.connection_down:
            raise requests.ConnectionError("connection refused")
        if self.status_code is not None:
            return self.status_code, {"Content-Type": "text/html"}, "<h1>Service Unavailable</h1>"
        try:
            hook = self.hooks.get(fn)
            if hook is not None:
                hook(params)
            handler = getattr(self, fn, None)
            if handler is None:
                raise Fault(error("invalidrecord", "Can't find data record in database table external_functions.",
                                  "dml_missing_record_exception"))
            result = handler(params)
        except Fault as fault:
            result = fault.body
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    # -- functions --------------------------------------------------------------------------------------------

    def core_course_get_courses_by_field(self, p: dict[str, Any]) -> Any:
        field, value = p.get("field", ""), str(p.get("value", ""))
        found = [c for c in self.courses.values() if not field or str(c.get(field)) == value]
        return {"courses": [{k: v for k, v in c.items() if k != "modules"} for c in found], "warnings": []}

    def core_course_get_contents(self, p: dict[str, Any]) -> Any:
        cid = int(p["courseid"])
        if cid not in self.courses:
            raise Fault(error("invalidrecord", "Can't find data record", "dml_missing_record_exception"))
        modules = [{"id": m["id"], "name": m["name"], "modname": "page", "completion": m["completion"], "visible": 1}
                   for m in self.courses[cid]["modules"]]
        return [{"id": 1, "name": "General", "section": 0, "modules": []},
                {"id": 2, "name": "Innhold", "section": 1, "modules": modules}]

    def core_course_get_course_module(self, p: dict[str, Any]) -> Any:
        cmid = int(p["cmid"])
        cid = self.course_of(cmid)
        module = next(m for m in self.courses[cid]["modules"] if m["id"] == cmid)
        return {"cm": {"id": cmid, "course": cid, "name": module["name"], "modname": "page",
                       "idnumber": module["idnumber"], "completion": module["completion"]}, "warnings": []}

    def core_enrol_get_enrolled_users(self, p: dict[str, Any]) -> Any:
        cid = int(p["courseid"])
        if cid not in self.courses:
            raise Fault(error("invalidrecord", "Can't find data record", "dml_missing_record_exception"))
        options = {o["name"]: o["value"] for o in as_list(p.get("options"))}
        rows = []
        for uid in sorted(self.enrolled[cid]):
            user = self.users[uid]
            info = self.enrolled[cid][uid]
            rows.append({**{k: user[k] for k in ("id", "username", "email", "idnumber", "firstname", "lastname",
                                                 "fullname")},
                         "lastcourseaccess": info["lastaccess"],
                         "roles": [{"roleid": info["role"], "shortname": "student" if info["role"] == STUDENT
                                    else "editingteacher", "name": "", "sortorder": 0}]})
        start = int(options.get("limitfrom", 0))
        count = int(options.get("limitnumber", 0))
        return rows[start:start + count] if count else rows[start:]

    def core_user_get_users_by_field(self, p: dict[str, Any]) -> Any:
        field = p["field"]
        values = [str(v) for v in as_list(p.get("values"))]
        if field == "username" and any(v != v.lower() for v in values):
            raise Fault(error("invalidparameter", "Invalid parameter value detected",
                              "core\\exception\\invalid_parameter_exception"))
        return [dict(u) for u in self.users.values() if str(u.get(field)) in values and str(u.get(field))]

    def core_user_create_users(self, p: dict[str, Any]) -> Any:
        out = []
        for user in as_list(p.get("users")):
            if any(u["username"] == user["username"] for u in self.users.values()):
                raise Fault(error("invalidparameter", "Invalid parameter value detected",
                                  "core\\exception\\invalid_parameter_exception"))
            self.next_id += 1
            self.add_user(self.next_id, user["username"], user["email"], user.get("idnumber", ""),
                          f"{user['firstname']} {user['lastname']}")
            out.append({"id": self.next_id, "username": user["username"]})
        return out

    def enrol_manual_enrol_users(self, p: dict[str, Any]) -> Any:
        for item in as_list(p.get("enrolments")):
            cid, uid = int(item["courseid"]), int(item["userid"])
            if cid not in self.courses or uid not in self.users:
                raise Fault(error("invalidparameter", "Invalid parameter value detected",
                                  "core\\exception\\invalid_parameter_exception"))
        for item in as_list(p.get("enrolments")):
            self.enrol_user(int(item["courseid"]), int(item["userid"]), role=int(item["roleid"]))
        return None

    def core_completion_get_activities_completion_status(self, p: dict[str, Any]) -> Any:
        cid, uid = int(p["courseid"]), int(p["userid"])
        if uid not in self.enrolled.get(cid, {}):
            raise Fault(error("usernotenroled", "User is not enrolled in this course"))
        statuses = []
        for module in self.tracked(cid):
            when = self.done.get((module["id"], uid), 0)
            statuses.append({"cmid": module["id"], "modname": "page", "instance": module["id"], "state": 1 if when else 0,
                             "timecompleted": when, "tracking": module["completion"], "overrideby": None,
                             "hascompletion": True, "isautomatic": module["completion"] == 2})
        return {"statuses": statuses, "warnings": []}

    def core_completion_override_activity_completion_status(self, p: dict[str, Any]) -> Any:
        uid, cmid, state = int(p["userid"]), int(p["cmid"]), int(p["newstate"])
        cid = self.course_of(cmid)
        if uid not in self.enrolled.get(cid, {}):
            raise Fault(error("usernotenroled", "User is not enrolled in this course"))
        if state:
            self.done[(cmid, uid)] = self.now
        else:
            self.done.pop((cmid, uid), None)
        return {"cmid": cmid, "userid": uid, "state": state, "timecompleted": self.now if state else 0,
                "overrideby": 3, "tracking": 1}

    # report builder (participants datasource layout of the recorded report)
    def _report_rows(self) -> list[list[str]]:
        rows = []
        for cid in sorted(self.courses, key=lambda c: self.courses[c]["shortname"]):
            course = self.courses[cid]
            tracked = self.tracked(cid)
            for uid in sorted(self.enrolled[cid], key=lambda u: self.users[u]["username"]):
                user = self.users[uid]
                times = [self.done.get((m["id"], uid), 0) for m in tracked]
                done = sum(1 for t in times if t)
                completed_at = max(times) if tracked and done == len(tracked) else 0
                if self.filter_from is not None and (not completed_at or completed_at < self.filter_from):
                    continue
                shown = datetime.fromtimestamp(completed_at, tz=UTC).strftime("%A, %d %B %Y, %I:%M %p") \
                    if completed_at else ""
                shown = re.sub(r" 0(\d) ", r" \1 ", re.sub(r", 0(\d):", r", \1:", shown))
                progress = f"{100.0 * done / len(tracked):.1f}%" if tracked else ""
                rows.append([
                    course["shortname"],
                    f'<a href="{self.url}/course/view.php?id={cid}">{course["shortname"]}</a>',
                    f'<a href="{self.url}/user/profile.php?id={uid}">{user["fullname"]}</a>',
                    user["username"], user["idnumber"], user["email"],
                    "Yes" if completed_at else "No", shown, progress, "Never",
                ])
        return rows

    def _check_report(self, p: dict[str, Any]) -> None:
        if self.report_denied:
            raise Fault(error("errorreportview", "Sorry, but you do not currently have permissions to view this report.",
                              "core_reportbuilder\\exception\\report_access_exception"))
        if self.report_id is None or int(p["reportid"]) != self.report_id:
            raise Fault(error("invalidrecord", "Can't find data record in database table reportbuilder_report.",
                              "dml_missing_record_exception"))

    def core_reportbuilder_retrieve_report(self, p: dict[str, Any]) -> Any:
        self._check_report(p)
        rows = self._report_rows()
        page, perpage = int(p.get("page", 0)), int(p.get("perpage", 10))
        recorded = fixture("lp__core_reportbuilder_retrieve_report__ok_perpage5_tz_utc_lang_en")["response"]
        return {"details": recorded["details"],
                "data": {"headers": recorded["data"]["headers"],
                         "rows": [{"columns": r} for r in rows[page * perpage:(page + 1) * perpage]],
                         "totalrowcount": len(rows)},
                "warnings": []}

    def core_reportbuilder_set_filters(self, p: dict[str, Any]) -> Any:
        self._check_report(p)
        values = json.loads(p["values"])
        self.filter_from = int(values["completion:timecompleted_from"])
        return True

    def core_reportbuilder_filters_reset(self, p: dict[str, Any]) -> Any:
        self._check_report(p)
        self.filter_from = None
        return True

    # groups and messages
    def core_group_get_course_groups(self, p: dict[str, Any]) -> Any:
        cid = int(p["courseid"])
        return [{"id": gid, "courseid": cid, "name": g["name"], "description": g["description"], "idnumber": ""}
                for gid, g in sorted(self.groups.items()) if g["courseid"] == cid]

    def core_group_create_groups(self, p: dict[str, Any]) -> Any:
        out = []
        for group in as_list(p.get("groups")):
            cid = int(group["courseid"])
            if any(g["courseid"] == cid and g["name"] == group["name"] for g in self.groups.values()):
                raise Fault(error("invalidparameter", "Invalid parameter value detected",
                                  "core\\exception\\invalid_parameter_exception"))
            self.next_id += 1
            self.groups[self.next_id] = {"courseid": cid, "name": group["name"], "description": group["description"]}
            self.members[self.next_id] = set()
            out.append({"id": self.next_id, "courseid": cid, "name": group["name"],
                        "description": group["description"], "idnumber": ""})
        return out

    def core_group_get_group_members(self, p: dict[str, Any]) -> Any:
        return [{"groupid": int(g), "userids": sorted(self.members.get(int(g), set()))}
                for g in as_list(p.get("groupids"))]

    def core_group_add_group_members(self, p: dict[str, Any]) -> Any:
        for m in as_list(p.get("members")):
            gid, uid = int(m["groupid"]), int(m["userid"])
            if uid not in self.enrolled.get(self.groups[gid]["courseid"], {}):
                raise Fault(error("invalidparameter", "Invalid parameter value detected",
                                  "core\\exception\\invalid_parameter_exception"))
        for m in as_list(p.get("members")):
            self.members[int(m["groupid"])].add(int(m["userid"]))
        return None

    def core_group_delete_group_members(self, p: dict[str, Any]) -> Any:
        for m in as_list(p.get("members")):
            self.members[int(m["groupid"])].discard(int(m["userid"]))
        return None

    def core_message_send_instant_messages(self, p: dict[str, Any]) -> Any:
        out = []
        for n, m in enumerate(as_list(p.get("messages")), start=1):
            uid = int(m["touserid"])
            if uid not in self.users:
                out.append({"msgid": -1, "clientmsgid": m.get("clientmsgid", ""),
                            "errormessage": f"You cannot send a message to a user ID ({uid}) that doesn't exist."})
            elif uid in self.no_message:
                out.append({"msgid": -1, "clientmsgid": m.get("clientmsgid", ""),
                            "errormessage": "You can't message this user due to their message preferences."})
            else:
                self.messages.append((uid, m["text"]))
                out.append({"msgid": len(self.messages), "clientmsgid": m.get("clientmsgid", ""),
                            "text": f"<p>{m['text']}</p>", "timecreated": int(time.time()) + n})
        return out


STATES = {"C": None, "C+self": None, "N": 0}


def recorded_sites() -> dict[str, FakeSite]:
    """ks and lp as seeded before the capture (seed_data.json): users, courses, activities, completions."""
    seed = fixture("seed_data")["sites"]
    sites = {}
    for name, url in (("ks", "http://ks.test"), ("lp", "http://lp.test")):
        site = FakeSite(name, url)
        data = seed[name]
        for user in data["users"].values():
            site.add_user(user["id"], user["username"], user["email"], user["idnumber"], user["name"])
        for course in data["courses"].values():
            modules = [(a["cmid"], a["name"], 2 if a["completion"].startswith("automatic") else 1, "")
                       for a in course["activities"]]
            site.add_course(course["id"], course["shortname"], course["fullname"], modules)
            for enrolment in course["enrolments"].values():
                uid = enrolment["userid"]
                site.enrol_user(course["id"], uid, lastaccess=NOW - 86400)
                state = enrolment["seeded_state"]
                count = len(modules) if state.startswith("C") else (int(state[1:]) if state.startswith("P") else 0)
                for cmid, *_ in modules[:count]:
                    site.done[(cmid, uid)] = NOW - 86400
        sites[name] = site
    return sites


@contextmanager
def serve(sites: dict[str, FakeSite]) -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for site in sites.values():
            mock.add_callback(responses.POST, site.url + REST, callback=site.handle)
        yield mock
