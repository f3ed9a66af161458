"""core_user_get_users_by_field and core_user_create_users.

Recorded behaviour: the email lookup is case-sensitive (ks stores Nils.Kristiansen@Helse-Bergen.no and
a lower-case lookup finds nobody); unknown values are silently left out; a duplicate username or a
missing password is ``invalidparameter``; a weak password is a moodle_exception whose errorcode is
the policy text in HTML (ks__core_user_create_users__err_password_policy.json).
"""

from __future__ import annotations

import re
from typing import Any

from lmsbridge.sandbox.exceptions import MOODLE_EXCEPTION, MoodleError, coding_error, invalid_parameter, no_permission
from lmsbridge.sandbox.functions.common import add_place_and_pictures, user_details
from lmsbridge.sandbox.models import User
from lmsbridge.sandbox.params import DEFAULT, OPTIONAL, Multiple, Single, Value
from lmsbridge.sandbox.registry import Call, ws

_USERNAME = re.compile(r"^[a-z0-9_\-.@+]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _user_description(call: Call, user: User) -> dict[str, Any]:
    caller = call.caller
    if not caller.is_manager and caller.id != user.id:
        record: dict[str, Any] = {"id": user.id, "fullname": user.fullname}
        return add_place_and_pictures(call, record, user)
    record = user_details(call, user)
    record.update({
        "auth": user.auth, "suspended": user.suspended, "confirmed": user.confirmed, "lang": user.lang, "theme": "",
        "timezone": user.timezone, "mailformat": 1, "trackforums": 0,
    })
    record = add_place_and_pictures(call, record, user)
    if not caller.is_manager:
        # A learner reading their own record (the lab, u01's token): no firstname/lastname, but their preferences
        # (values are text, but for the int "_lastloaded" of the preference cache)
        record.pop("firstname", None)
        record.pop("lastname", None)
        record["preferences"] = [{"name": "auth_manual_passwordupdatetime", "value": str(user.timecreated)},
                                 {"name": "_lastloaded", "value": call.now}]
    return record


def _visible_to(call: Call, user: User) -> bool:
    """A learner finds only their own record, even of someone in a course they share (the lab: u01's token asking
    for HB10001 and HB10009, both in HBHF-SMITTE-01, gets u01 alone)."""
    caller = call.caller
    return caller.is_manager or caller.id == user.id


@ws("core_user_get_users_by_field", Single({"field": Value("alpha"), "values": Multiple(Value("raw"))}))
def get_users_by_field(call: Call) -> list[dict[str, Any]]:
    field = call.params["field"]
    if field not in ("id", "idnumber", "username", "email"):
        raise coding_error("invalid field parameter")
    wanted: set[Any] = set()
    for value in call.params["values"]:
        text = str(value)
        if field == "id":
            if not re.fullmatch(r"-?\d+", text.strip()):
                raise invalid_parameter(f"The value '{text}' is not valid for the field 'id'.")
            wanted.add(int(text))
        elif field == "username" and text != text.strip().lower():
            raise invalid_parameter(f"The value '{text}' is not valid for the field 'username'.")
        else:
            wanted.add(text)
    found = [u for u in call.state.users.values() if getattr(u, field) in wanted and getattr(u, field) != ""]
    return [_user_description(call, u) for u in sorted(found, key=lambda u: u.id) if _visible_to(call, u)]


PASSWORD_RULES = (
    (lambda p: len(p) >= 8, "<div>Passwords must be at least 8 characters long.</div>"),
    (lambda p: sum(c.isdigit() for c in p) >= 1, "<div>Passwords must have at least 1 digit(s).</div>"),
    (lambda p: sum(c.islower() for c in p) >= 1, "<div>Passwords must have at least 1 lower case letter(s).</div>"),
    (lambda p: sum(c.isupper() for c in p) >= 1, "<div>Passwords must have at least 1 upper case letter(s).</div>"),
    (lambda p: sum(not c.isalnum() for c in p) >= 1,
     "<div>The password must have at least 1 special character(s) such as *, -, or #.</div>"),
)


def password_policy_error(password: str) -> MoodleError | None:
    problems = "".join(text for rule, text in PASSWORD_RULES if not rule(password))
    return MoodleError(MOODLE_EXCEPTION, problems, f"error/{problems}") if problems else None


NEW_USER = Single({
    "createpassword": Value("bool", OPTIONAL),
    "username": Value("raw"),
    "auth": Value("plugin", DEFAULT, "manual"),
    "password": Value("raw", OPTIONAL),
    "firstname": Value("notags"),
    "lastname": Value("notags"),
    "email": Value("raw"),
    "maildisplay": Value("int", OPTIONAL),
    "city": Value("notags", OPTIONAL),
    "country": Value("alpha", OPTIONAL),
    "timezone": Value("raw", OPTIONAL),
    "description": Value("raw", OPTIONAL),
    "firstnamephonetic": Value("notags", OPTIONAL),
    "lastnamephonetic": Value("notags", OPTIONAL),
    "middlename": Value("notags", OPTIONAL),
    "alternatename": Value("notags", OPTIONAL),
    "interests": Value("raw", OPTIONAL),
    "idnumber": Value("raw", DEFAULT, ""),
    "institution": Value("text", OPTIONAL),
    "department": Value("text", OPTIONAL),
    "phone1": Value("notags", OPTIONAL),
    "phone2": Value("notags", OPTIONAL),
    "address": Value("text", OPTIONAL),
    "lang": Value("raw", DEFAULT, "en"),
    "calendartype": Value("plugin", DEFAULT, "gregorian"),
    "theme": Value("plugin", OPTIONAL),
    "mailformat": Value("int", OPTIONAL),
    "customfields": Multiple(Single({"type": Value("alphanumext"), "value": Value("raw")}), required=OPTIONAL),
    "preferences": Multiple(Single({"type": Value("raw"), "value": Value("raw")}), required=OPTIONAL),
})


@ws("core_user_create_users", Single({"users": Multiple(NEW_USER)}), writes=True)
def create_users(call: Call) -> list[dict[str, Any]]:
    state = call.state
    if not call.caller.is_manager:
        raise no_permission("Create users", "moodle/user:create")
    pending: list[dict[str, Any]] = []
    for item in call.params["users"]:
        for name in ("username", "firstname", "lastname"):
            if not str(item[name]).strip():
                raise invalid_parameter(f"The field {name} cannot be blank")
        if not _USERNAME.match(item["username"]):
            raise invalid_parameter(f"The username must be in lower case: {item['username']}")
        if state.user_by_username(item["username"]) or any(p["username"] == item["username"] for p in pending):
            raise invalid_parameter(f"Username already exists: {item['username']}")
        if item["auth"] not in ("manual", "nologin", "email", "oauth2", "saml2", "ldap"):
            raise invalid_parameter(f"Invalid authentication type: {item['auth']}")
        if item["lang"] not in ("en", "nb", "no", "nn"):
            raise invalid_parameter(f"Invalid language code: {item['lang']}")
        if not _EMAIL.match(item["email"]):
            raise invalid_parameter(f"Email address is invalid: {item['email']}")
        if any(u.email.lower() == item["email"].lower() for u in state.users.values()):
            raise invalid_parameter(f"Email address already exists: {item['email']}")
        if item["auth"] == "manual" and not item.get("createpassword") and not item.get("password"):
            raise invalid_parameter("Invalid password: you must provide a password, or set createpassword.")
        if item.get("password") and not item.get("createpassword"):
            weak = password_policy_error(item["password"])
            if weak is not None:
                raise weak
        pending.append(item)
    created = []
    for item in pending:
        user = state.add_user(
            item["username"], item["firstname"], item["lastname"], item["email"], idnumber=item["idnumber"],
            password=item.get("password", ""), department=item.get("department", ""),
            institution=item.get("institution", ""), city=item.get("city", ""), country=item.get("country", ""),
            lang=item["lang"], auth=item["auth"],
        )
        if item.get("timezone"):
            user.timezone = item["timezone"]
        created.append({"id": user.id, "username": user.username})
    return created
