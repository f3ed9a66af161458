"""``doctor``: can lmsbridge do its work on each configured platform?"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmsbridge.adapters import FEATURE_FUNCTIONS, REPORT_FUNCTIONS, REQUIRED_FUNCTIONS, MoodleClient, PlatformProfile
from lmsbridge.errors import ExitCode, LmsbridgeError, RetriableError
from lmsbridge.i18n import Message


@dataclass
class PlatformHealth:
    platform: str
    url: str
    reachable: bool = False
    sitename: str = ""
    release: str = ""
    ws_user: str = ""
    missing_functions: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    #: feature name -> functions it needs that the token may not call (not a failure).
    missing_optional: dict[str, list[str]] = field(default_factory=dict)
    fields_checked: bool = False
    error: Message | None = None
    error_code: str = ""
    #: What the error ends ``doctor`` with: not reachable (3), or a token the platform rejects (2).
    exit_code: int = ExitCode.OK

    @property
    def ok(self) -> bool:
        # An error after the site answered (the course listing could not be read) is not «all is well».
        return self.reachable and not self.missing_functions and not self.missing_fields and self.error is None

    def as_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "url": self.url,
            "ok": self.ok,
            "reachable": self.reachable,
            "sitename": self.sitename,
            "release": self.release,
            "ws_user": self.ws_user,
            "missing_functions": self.missing_functions,
            "missing_fields": self.missing_fields,
            "missing_optional": self.missing_optional,
            "fields_checked": self.fields_checked,
            "error": self.error.render() if self.error else "",
            "error_code": self.error_code,
        }


def check_platform(profile: PlatformProfile, client: MoodleClient) -> PlatformHealth:
    """Site info, functions the token may NOT call, mapped custom fields missing on the site."""
    health = PlatformHealth(platform=profile.name, url=profile.url)
    try:
        info = client.site_info()
    except LmsbridgeError as exc:
        health.error = exc.message
        health.error_code = exc.code
        health.exit_code = exc.exit_code
        return health
    health.reachable = True
    health.sitename = info.sitename
    health.release = info.release
    health.ws_user = info.username
    needed = set(REQUIRED_FUNCTIONS)
    if profile.completion_report_id:
        needed |= REPORT_FUNCTIONS
    health.missing_functions = sorted(needed - info.function_names)
    for feature, functions in FEATURE_FUNCTIONS.items():
        lacking = sorted(functions - info.function_names)
        if lacking:
            health.missing_optional[feature] = lacking
    try:
        if profile.share_category_id:
            courses = client.courses_in_category(profile.share_category_id)
        else:
            courses = client.all_courses()
    except RetriableError:
        raise
    except LmsbridgeError as exc:
        health.error = Message("doctor.cannot_list", error=exc.message)
        health.error_code = exc.code
        return health
    # Moodle lists every visible custom field on every course, empty ones too (INDEX.md), so any one
    # course shows which fields exist on the site.
    present = {custom.shortname for course in courses[:1] for custom in course.customfields}
    if courses:
        health.fields_checked = True
        # the receipt field too: without it the share acts are not witnessed (ledger verify --witnesses)
        wanted = set(profile.fields.values()) | ({profile.receipt_field} if profile.receipt_field else set())
        health.missing_fields = sorted(wanted - present)
    return health
