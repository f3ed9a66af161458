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


def service_functions(call: Call) -> list[str]:
    listed = call.state.settings.service_functions
    return sorted(REGISTRY) if listed is None else [name for name in listed if name in REGISTRY]


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
