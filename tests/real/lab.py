"""The Moodle lab as the real-site suite sees it.

* ``Lab``: the two sites and the lab's own commands, from the variables ``lab env`` prints (never a path
  written here): ``reset`` between modules, ``aggregate`` (Moodle's completion cron task), ``admin``
  (service functions), and stopping and starting one site's PHP server.
* ``Moodle``: a small web-service reader written for these tests with plain ``requests``, independent of
  lmsbridge's adapters, so that every outcome is read back from Moodle itself.
* ``Bridge``: ``python -m lmsbridge`` with a configuration for the two lab sites, in a subprocess, as a
  coordinator or cron would run it. Tokens reach it through ``token_env`` only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import requests

REST_PATH = "/webservice/rest/server.php"
HERE = Path(__file__).parent

#: what ``lab env`` exports and the suite needs
LAB_VARIABLES = (
    "LAB_DIR", "LAB_CMD", "LAB_SCALE_JSON",
    "LAB_KS_URL", "LAB_KS_TOKEN", "LAB_KS_ADMIN_TOKEN", "LAB_KS_LEARNER_TOKEN",
    "LAB_LP_URL", "LAB_LP_TOKEN", "LAB_LP_ADMIN_TOKEN", "LAB_LP_LEARNER_TOKEN",
)

#: the custom course fields of both lab sites (seed_data.json custom_field_ids) by agreement item
FIELDS: dict[str, str] = {
    "goals": "maal", "content": "innhold", "target_groups": "malgrupper", "study_category": "studiekategori",
    "study_start": "studiestart", "summary": "kurssammendrag", "prerequisites": "forutsetninger",
    "produced_by": "produsert_av", "time_needed": "tidsbruk", "course_coordinator": "kurskoordinator",
    "licence": "lisens", "owner": "eier", "label": "delingsstatus",
}
SELECT_OPTIONS: dict[str, list[str]] = {
    "studiekategori": ["", "Helse og velferd", "Skolesektor", "Annet"],
    "lisens": ["", "Alle rettigheter reservert", "CC BY-SA", "CC BY", "CC BY-NC-SA"],
    "delingsstatus": ["", "delt til KS Læring", "delt fra KS"],
}
#: lmsbridge's label paragraph in a course summary (lmsbridge/sharing/labels.py). Moodle's HTML cleaning
#: drops its data attribute on the way in and keeps the class, so the paragraph is found by its class and
#: read by its visible text.
LABEL_PARAGRAPH = re.compile(r'<p\b[^>]*\bclass="[^"]*\blmsbridge-label\b[^"]*"[^>]*>(.*?)</p>', re.S)
LABEL_TEXTS = {"delt til ks læring": "delt til KS Læring", "delt fra ks": "delt fra KS"}

T = TypeVar("T")
R = TypeVar("R")


def missing_variables(environ: Mapping[str, str]) -> list[str]:
    return [name for name in LAB_VARIABLES if not environ.get(name)]


class MoodleException(Exception):
    """An error body from Moodle (HTTP 200 with ``exception``)."""

    def __init__(self, function: str, body: Mapping[str, Any]) -> None:
        self.function = function
        self.exception = str(body.get("exception", ""))
        self.errorcode = str(body.get("errorcode", ""))
        self.message = str(body.get("message", ""))
        super().__init__(f"{function}: {self.exception}/{self.errorcode}: {self.message}")


def form_pairs(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested parameters → PHP-style form keys (``courses[0][customfields][1][value]``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_pairs(name, value))
    return pairs


def _pairs(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return form_pairs(value, name)
    if isinstance(value, list | tuple):
        return [pair for n, item in enumerate(value) for pair in _pairs(f"{name}[{n}]", item)]
    if isinstance(value, bool):
        return [(name, "1" if value else "0")]
    return [(name, str(value))]


@dataclass(frozen=True)
class Site:
    name: str
    url: str
    token: str
    admin_token: str
    learner_token: str

    @property
    def token_env(self) -> str:
        """The variable ``lab env`` exports this site's lmsbridge token in (the config names it)."""
        return f"LAB_{self.name.upper()}_TOKEN"


class Moodle:
    """Web-service calls to one lab site; thread-safe (one HTTP session per thread)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def post(self, pairs: Sequence[tuple[str, str]], *, timeout: float = 120.0) -> requests.Response:
        return self._session().post(self.site.url + REST_PATH, data=list(pairs), timeout=timeout)

    def call(self, function: str, *, token: str | None = None, **params: Any) -> Any:
        pairs = [("wstoken", token or self.site.token), ("wsfunction", function), ("moodlewsrestformat", "json")]
        response = self.post(pairs + form_pairs(params))
        response.raise_for_status()
        body = response.json()
        if isinstance(body, dict) and "exception" in body:
            raise MoodleException(function, body)
        return body

    # -- reads -----------------------------------------------------------------------------------------

    def site_info(self, token: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = self.call("core_webservice_get_site_info", token=token)
        return info

    def course(self, shortname: str) -> dict[str, Any] | None:
        found = self.call("core_course_get_courses_by_field", field="shortname", value=shortname)["courses"]
        return dict(found[0]) if found else None

    def courses_in_category(self, category: int) -> list[dict[str, Any]]:
        return list(self.call("core_course_get_courses_by_field", field="category", value=category)["courses"])

    def all_courses(self) -> list[dict[str, Any]]:
        """Every course but the site's front page (``core_course_get_courses`` without ids)."""
        return [c for c in self.call("core_course_get_courses") if int(c["id"]) != 1]

    def enrolled(self, courseid: int) -> list[dict[str, Any]]:
        """Participants with id, username, idnumber and email."""
        options = [{"name": "userfields", "value": "id, username, idnumber, email"}]
        return list(self.call("core_enrol_get_enrolled_users", courseid=courseid, options=options))

    def users_by(self, field_name: str, values: Iterable[str]) -> list[dict[str, Any]]:
        return list(self.call("core_user_get_users_by_field", field=field_name, values=list(values)))

    def activity_states(self, courseid: int, userid: int) -> dict[int, int]:
        """cmid → completion state (0 incomplete, 1 complete, 2 pass, 3 fail) of one learner."""
        body = self.call("core_completion_get_activities_completion_status", courseid=courseid, userid=userid)
        return {int(s["cmid"]): int(s["state"]) for s in body["statuses"]}

    def completed_activities(self, courseid: int, userid: int) -> frozenset[int]:
        return frozenset(cmid for cmid, state in self.activity_states(courseid, userid).items() if state in (1, 2))

    def course_completed(self, courseid: int, userid: int) -> bool:
        body = self.call("core_completion_get_course_completion_status", courseid=courseid, userid=userid)
        return bool(body["completionstatus"]["completed"])

    def groups(self, courseid: int) -> dict[str, int]:
        return {str(g["name"]): int(g["id"]) for g in self.call("core_group_get_course_groups", courseid=courseid)}

    def group_members(self, groupids: Iterable[int]) -> dict[int, set[int]]:
        ids = list(groupids)
        if not ids:
            return {}
        body = self.call("core_group_get_group_members", groupids=ids)
        return {int(g["groupid"]): {int(u) for u in g["userids"]} for g in body}

    def report_rows(self, reportid: int = 1, *, perpage: int = 1000) -> list[list[str]]:
        """Every row of a custom report (the lmsbridge token's own filters reset first)."""
        self.call("core_reportbuilder_filters_reset", reportid=reportid)
        rows: list[list[str]] = []
        page = 0
        while True:
            data = self.call("core_reportbuilder_retrieve_report", reportid=reportid, page=page, perpage=perpage)["data"]
            rows.extend([str(c) for c in row["columns"]] for row in data["rows"])
            if not data["rows"] or len(rows) >= int(data["totalrowcount"]):
                return rows
            page += 1

    # -- what people on the platform do ----------------------------------------------------------------

    def set_activity(self, userid: int, cmid: int, *, done: bool = True) -> None:
        """A teacher marks a learner's activity (``core_completion_override_activity_completion_status``)."""
        self.call("core_completion_override_activity_completion_status", userid=userid, cmid=cmid,
                  newstate=1 if done else 0)


def custom_fields(course: Mapping[str, Any]) -> dict[str, Any]:
    """shortname → ``valueraw`` of a course's custom fields (Moodle lists empty ones too)."""
    return {str(f["shortname"]): f.get("valueraw") for f in course.get("customfields", [])}


def label_field(course: Mapping[str, Any]) -> str | None:
    """The label the course's select field holds (option text), None when unset."""
    raw = custom_fields(course).get(FIELDS["label"])
    index = int(raw) if isinstance(raw, int | str) and str(raw).strip().isdigit() else 0
    options = SELECT_OPTIONS[FIELDS["label"]]
    return options[index] if 0 < index < len(options) else None


def summary_labels(course: Mapping[str, Any]) -> list[str]:
    """Labels in the course summary (lmsbridge's label paragraphs, by their visible text)."""
    found = LABEL_PARAGRAPH.findall(str(course.get("summary", "")))
    return [LABEL_TEXTS.get(re.sub(r"<[^>]*>", "", text).strip().casefold(), text) for text in found]


def parallel(function: Callable[[T], R], items: Iterable[T], *, workers: int = 8) -> list[R]:
    """``function`` over ``items`` with a few calls in flight (the lab serves 4 per site)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


@dataclass(frozen=True)
class Lab:
    ks: Site
    lp: Site
    command: Path  # the lab script (LAB_CMD)
    directory: Path  # LAB_DIR
    scale_json: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Lab:
        def site(name: str) -> Site:
            upper = name.upper()
            return Site(name, environ[f"LAB_{upper}_URL"].rstrip("/"), environ[f"LAB_{upper}_TOKEN"],
                        environ[f"LAB_{upper}_ADMIN_TOKEN"], environ[f"LAB_{upper}_LEARNER_TOKEN"])

        return cls(site("ks"), site("lp"), Path(environ["LAB_CMD"]), Path(environ["LAB_DIR"]),
                   Path(environ["LAB_SCALE_JSON"]))

    def site(self, name: str) -> Site:
        return {"ks": self.ks, "lp": self.lp}[name]

    def moodle(self, name: str) -> Moodle:
        return Moodle(self.site(name))

    def scale(self) -> dict[str, Any]:
        facts: dict[str, Any] = json.loads(self.scale_json.read_text(encoding="utf-8"))
        return facts

    def _lab(self, *args: str, timeout: float = 600.0) -> str:
        done = subprocess.run([str(self.command), *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LAB_DIR": str(self.directory)}, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"lab {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def reset(self) -> None:
        """Back to the seeded state (both sites, about 5 s)."""
        self._lab("reset")

    def admin(self, site: str, *options: str) -> str:
        return self._lab("admin", site, *options)

    def prepare_owner_acts(self) -> dict[str, str]:
        """What each site's admin does for the owner acts (README «Hvem kan gjøre hva»), which the lab's seed
        leaves out: the function ``core_course_get_user_administration_options`` in the service, the receipt
        field ``lmsbridge_kvittering``, and an e-læringsansvarlig (manager) with a personal token
        (tests/real/staff.php, idempotent; gone again after the next reset). Returns each site's URL → token."""
        parallel(lambda person: self._lab("php", person.site, str(HERE / "staff.php"), person.username,
                                          person.firstname, person.lastname, person.email, person.token),
                 STAFF, workers=len(STAFF))
        return {self.site(person.site).url: person.token for person in STAFF}

    def aggregate(self, site: str) -> None:
        """Moodle's completion cron task (``\\core\\task\\completion_regular_task``). The task aggregates only
        what was flagged before the second it starts in (lib/completionlib.php aggregate_completions: reaggregate
        < timestarted), so it starts in a later second than the last write."""
        deadline = int(time.time()) + 1
        while time.time() < deadline:
            time.sleep(0.05)
        self._lab("php", site, "admin/cli/scheduled_task.php", "--execute=\\core\\task\\completion_regular_task")

    def visit(self, site: str, userid: int, courseid: int) -> None:
        """A learner's visit to a course now, as a page view records it (tests/real/visit.php)."""
        self._lab("php", site, str(HERE / "visit.php"), str(userid), str(courseid))

    def add_visits_filter(self, site: str) -> None:
        """What the README asks of an administrator for faster runs: report 1 gets «Last access to course»."""
        if "report 1 filter: access:timeaccess" not in self.admin(site, "--list"):
            self.admin(site, "--add-filter=access:timeaccess")

    # -- one site's PHP server -------------------------------------------------------------------------

    def server_pid(self, site: str) -> int | None:
        try:
            return int((self.directory / "run" / f"php-{site}.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_site(self, site: str, *, deadline: float = 30.0) -> None:
        """Stop that site's PHP server (its process group, by the id the lab recorded) and wait until it
        no longer answers."""
        pid = self.server_pid(site)
        if pid is None:
            raise RuntimeError(f"no running PHP server recorded for {site}")
        os.killpg(pid, signal.SIGTERM)
        until = time.monotonic() + deadline
        while time.monotonic() < until:
            if not self.answers(site):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{site} still answers {deadline:.0f} s after SIGTERM")

    def start_sites(self) -> None:
        """Start whatever is stopped, without touching the data (the lab's start_all.sh, beside LAB_CMD)."""
        done = subprocess.run(["bash", str(self.command.parent / "start_all.sh")], capture_output=True, text=True,
                              timeout=180, env={**os.environ, "LAB_DIR": str(self.directory)}, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"start_all.sh exited {done.returncode}: {done.stderr[-2000:]}")

    def answers(self, site: str) -> bool:
        try:
            self.moodle(site).site_info()
        except (requests.RequestException, ValueError):
            return False
        return True


# -- lmsbridge, as a user runs it ------------------------------------------------------------------------------


def renewals(today: date, start: date = date(2016, 7, 1)) -> list[date]:
    """A renewal on every anniversary up to today: the agreement is in force."""
    return [date(y, start.month, start.day) for y in range(start.year + 1, today.year + 1)
            if date(y, start.month, start.day) <= today]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_document(data: Mapping[str, Any], prefix: str = "") -> str:
    """Scalars first, then one [table] per nested mapping (dotted names)."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, Mapping):
            name = f"{prefix}.{toml_key(key)}" if prefix else toml_key(key)
            text += f"\n[{name}]\n" + toml_document(value, name)
    return text


PSEUDONYM_ENV = "LMSBRIDGE_REAL_PSEUDONYM_SECRET"


@dataclass(frozen=True)
class Staff:
    """An e-læringsansvarlig with a personal token (lab tokens, not secrets; fixed so runs are comparable)."""

    site: str
    username: str
    firstname: str
    lastname: str
    email: str
    token: str


STAFF = (
    Staff("ks", "kari.as", "Kari", "Ås", "kari.as@ks.no", "5f1c2a9e7b3d4c6e8a0b1d2f3e4a5b6c"),
    Staff("lp", "ingrid.hauge", "Ingrid", "Hauge", "ingrid.hauge@helse-bergen.no", "7a2b3c4d5e6f708192a3b4c5d6e7f809"),
)


@dataclass
class Bridge:
    """lmsbridge with its own folder (config, ledger, outbox) for the lab's two sites."""

    lab: Lab
    folder: Path
    certificates: dict[str, Any] = field(default_factory=dict)
    sync: dict[str, Any] = field(default_factory=dict)
    platform_options: dict[str, Any] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_hex(32))

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config = self.folder / "lmsbridge.toml"
        self.keys = self.folder / "personal-tokens.json"
        self.log_in(self.lab.prepare_owner_acts())
        self.write()
        self.run("init", "--ledger-only").expect(0)  # as a new installation does: the empty ledger and the outbox

    def log_in(self, keys: Mapping[str, str]) -> None:
        """The coordinators' personal keys, where ``lmsbridge login`` with ``[login] store = "file"`` keeps them."""
        self.keys.write_text(json.dumps({"keys": dict(keys)}), encoding="utf-8")
        self.keys.chmod(0o600)

    @contextmanager
    def logged_in_as(self, **tokens: str | None) -> Iterator[None]:
        """Other keys for a while, by site name (``lp=lab.lp.learner_token``; None: logged out there)."""
        saved = self.keys.read_text(encoding="utf-8")
        keys = {url: token for url, token in json.loads(saved)["keys"].items()}
        for name, token in tokens.items():
            keys.pop(self.lab.site(name).url, None)
            if token is not None:
                keys[self.lab.site(name).url] = token
        self.log_in(keys)
        try:
            yield
        finally:
            self.keys.write_text(saved, encoding="utf-8")

    def profile(self, site: Site) -> dict[str, Any]:
        hospital = site.name == "lp"
        return {
            "title": "Læringsportal Helse Bergen (lab)" if hospital else "KS Læring (lab)",
            "url": site.url,
            "role": "hospital" if hospital else "municipal",
            "organisation": "Helse Bergen HF" if hospital else "KS",
            "token_env": site.token_env,
            "contact_point": "elaring@helse-bergen.no" if hospital else "kslaring@ks.no",
            "support_contact": "Sykehuspartner brukerstøtte" if hospital else "KS Læring brukerstøtte",
            # the lab's categories «Helse Bergen HF» (lp 3) and «Helse og velferd» (ks 2); report 1 on both.
            # KS Læring's study categories (rule 7) map to its course categories; the hospital's study
            # categories are the select field's options (as in lmsbridge's demo configuration).
            "share_category_id": 3 if hospital else 2,
            "completion_report_id": 1,
            **({} if hospital else {"categories": {"Helse og velferd": 2}}),
            **self.platform_options,
            "fields": dict(FIELDS),
            "select_options": {k: list(v) for k, v in SELECT_OPTIONS.items()},
        }

    def write(self) -> None:
        data: dict[str, Any] = {
            "ledger": "ledger.db",
            "outbox": "outbox",
            "agreement": {"contact_point": "kslaring@ks.no", "start": date(2016, 7, 1), "term_months": 12,
                          "renewals": renewals(date.today())},
            "login": {"store": "file", "file": str(self.keys)},
            "operator": {"name": "Ola Hansen", "email": "ola.hansen@helse-bergen.no",
                         "organisation": "Helse Bergen HF"},
            "platforms": {"ks": self.profile(self.lab.ks), "lp": self.profile(self.lab.lp)},
            "sync": {"identity_keys": ["idnumber", "email", "username"], "unmatched": "skip",
                     "pseudonym_secret_env": PSEUDONYM_ENV, **self.sync},
        }
        if self.certificates:
            data["certificates"] = self.certificates
        self.config.write_text(toml_document(data), encoding="utf-8")

    @property
    def ledger(self) -> Path:
        return self.folder / "ledger.db"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LMSBRIDGE_")}
        env[PSEUDONYM_ENV] = self.secret
        env.update(extra or {})
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lmsbridge", "--config", str(self.config), "--lang", "en", *args]

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900.0) -> Ran:
        started = time.monotonic()
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout,
                              env=self.environment(env), cwd=self.folder, check=False)
        return Ran(list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.environment(env), cwd=self.folder)

    def json(self, *args: str, env: Mapping[str, str] | None = None, expect: int = 0) -> Any:
        ran = self.run(*args, "--json", env=env)
        ran.expect(expect)
        return json.loads(ran.stdout)

    def publish_hospital_share(self, owner_course: str, borrower_course: str) -> str:
        """A hospital course shared to KS Læring through lmsbridge's commands: requested, approved by the
        owner, published onto ``borrower_course``. Returns the share's id."""
        share = str(self.json("share", "request", "--flow", "hospital-to-ks", "--course", owner_course)["share"]["id"])
        self.run("share", "approve", share).expect(0)
        self.run("share", "publish", share, "--borrower-course", borrower_course).expect(0)
        return share


@dataclass(frozen=True)
class Ran:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float

    def expect(self, code: int = 0) -> Ran:
        assert self.code == code, (
            f"lmsbridge {' '.join(self.args)}: exit {self.code}, expected {code}\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )
        return self
