"""core_webservice_get_site_info (lp__core_webservice_get_site_info__ok.json / .xml)."""

from __future__ import annotations

import hashlib
from typing import Any

from lmsbridge.sandbox.functions.common import image_url
from lmsbridge.sandbox.params import DEFAULT, Multiple, Single, Value
from lmsbridge.sandbox.registry import MOODLE_RELEASE, MOODLE_VERSION, REGISTRY, Call, ws
from lmsbridge.sandbox.wire import ABSENT

ADVANCED_FEATURES = (
    ("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1), ("enableblogs", 1),
    ("enablecompletion", 1), ("enablebadges", 1), ("messagingallusers", 0), ("enablecustomreports", 1),
    ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0), ("enablecompetencies", 1),
)


#: the order the recorded lmsbridge service lists its functions in (lp__core_webservice_get_site_info__ok)
SERVICE_ORDER = (
    "core_webservice_get_site_info", "core_course_get_courses", "core_course_get_courses_by_field",
    "core_course_search_courses", "core_course_create_courses", "core_course_update_courses",
    "core_course_delete_courses", "core_course_get_categories", "core_course_create_categories",
    "core_course_get_contents", "core_enrol_get_enrolled_users", "core_enrol_get_users_courses",
    "enrol_manual_enrol_users", "core_user_get_users_by_field", "core_user_create_users",
    "core_completion_get_course_completion_status", "core_completion_get_activities_completion_status",
    "core_completion_override_activity_completion_status", "core_completion_mark_course_self_completed",
    "core_group_create_groups", "core_group_get_course_groups", "core_group_add_group_members",
    "core_group_get_group_members", "core_course_get_course_module", "core_tag_get_tagindex",
    "core_course_edit_module", "core_files_upload", "core_course_import_course", "core_backup_get_copy_progress",
    "gradereport_user_get_grade_items",
)


def service_functions(call: Call) -> list[str]:
    listed = call.state.settings.service_functions
    names = list(REGISTRY) if listed is None else [name for name in listed if name in REGISTRY]
    rank = {name: n for n, name in enumerate(SERVICE_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


@ws("core_webservice_get_site_info",
    Single({"serviceshortnames": Multiple(Value("alphanumext"), required=DEFAULT, default=[])}))
def get_site_info(call: Call) -> dict[str, Any]:
    user = call.caller
    settings = call.state.settings
    features = [{"name": name, "value": (int(settings.messaging) if name == "messaging" else value)}
                for name, value in ADVANCED_FEATURES]
    return {
        "sitename": settings.sitename,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname,
        "lang": user.lang,
        "userid": user.id,
        "siteurl": settings.siteurl,
        "userpictureurl": image_url(call, "f1"),
        "functions": [{"name": name, "version": REGISTRY[name].version} for name in service_functions(call)],
        "downloadfiles": 1,
        "uploadfiles": 1,
        "release": MOODLE_RELEASE,
        "version": MOODLE_VERSION,
        "mobilecssurl": "",
        "advancedfeatures": features,
        "usercanmanageownfiles": True,
        "userquota": 104857600,
        "usermaxuploadfilesize": 2097152,
        "userhomepage": 1,
        "userprivateaccesskey": hashlib.md5(f"{call.state.name}:{user.id}".encode(), usedforsecurity=False).hexdigest(),
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": user.is_admin,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "usersessionscount": ABSENT,
        "policyagreed": 0,
    }
