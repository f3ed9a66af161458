"""A platform profile: everything site-specific the adapters need to speak about a course.

Which custom course fields hold the agreement's course-information items (shortnames), the option
lists of select fields (Moodle stores the 1-based option index, 0 = unset; seed_data.json
``select_options``), the study categories, and where the label lives.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from lmsbridge.adapters.redact import Credentials, split_credentials
from lmsbridge.domain import PlatformRole
from lmsbridge.i18n import Message

#: The agreement's course-information items → the custom field shortnames the recorded sites use.
DEFAULT_FIELDS: dict[str, str] = {
    "goals": "maal",
    "content": "innhold",
    "target_groups": "malgrupper",
    "study_category": "studiekategori",
    "study_start": "studiestart",
    "summary": "kurssammendrag",
    "prerequisites": "forutsetninger",
    "produced_by": "produsert_av",
    "time_needed": "tidsbruk",
    "course_coordinator": "kurskoordinator",
    "licence": "lisens",
    "owner": "eier",
    "label": "delingsstatus",
}

#: Option lists as recorded (index 0 is the empty "not set" option).
DEFAULT_SELECT_OPTIONS: dict[str, list[str]] = {
    "studiekategori": ["", "Helse og velferd", "Skolesektor", "Annet"],
    "lisens": ["", "Alle rettigheter reservert", "CC BY-SA", "CC BY", "CC BY-NC-SA"],
    "delingsstatus": ["", "delt til KS Læring", "delt fra KS"],
}


class PlatformProfile(BaseModel):
    """One platform as configured under ``[platforms.<name>]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", description="Key of the platform in the config (filled in by the loader).")
    title: str = Field(description="Display name, e.g. «KS Læring» or «Læringsportal Helse Bergen».")
    url: str = Field(description="Base URL of the Moodle site, e.g. https://laring.ks.no")
    role: PlatformRole = Field(description="'municipal' (KS Læring) or 'hospital' (a Læringsportal).")
    organisation: str = Field(description="The organisation that runs or owns courses on it, e.g. «Helse Bergen HF».")
    token_env: str | None = Field(default=None, description="Environment variable holding the web-service token.")
    token_file: Path | None = Field(default=None, description="File holding the web-service token (mode 600).")
    format: str = Field(default="json", pattern="^(json|xml)$", description="Response format to ask for.")
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    retry_attempts: int = Field(default=5, ge=1, le=20, description="Tries per call for transient failures.")
    retry_max_seconds: float = Field(default=120.0, ge=0, le=3600, description="Time bound of one call's retries.")
    contact_point: str = Field(default="", description="E-mail of this party's contact point for sharing/notices.")
    support_contact: str = Field(default="", description="Where this platform's own users get support.")
    fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELDS))
    select_options: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_SELECT_OPTIONS.items()}
    )
    categories: dict[str, int] = Field(
        default_factory=dict, description="Study category name → course category id on this site."
    )
    share_category_id: int | None = Field(
        default=None, description="Category where course shells of borrowed courses are created."
    )
    completion_report_id: int | None = Field(
        default=None, description="Custom report (participants datasource) for bulk completion reads."
    )
    receipt_field: str = Field(
        default="lmsbridge_kvittering",
        description="Course custom field (text, visible to teachers, locked) where lmsbridge writes its receipts.")
    coordinators: list[str] = Field(
        default_factory=list,
        description="The organisation's e-learning coordinators («e-læringsansvarlige»): names, e-mail addresses or "
        "«Name <address>». When given, a course's «Kurskoordinator» must be one of them.",
    )
    max_minutes: int | None = Field(
        default=None, ge=1, le=100_000,
        description="Warn when a course's «Tidsbruk» is longer than this (e.g. 30: «Max 30 min lengde»).",
    )
    student_role_id: int = 5
    concurrency: int = Field(default=4, ge=1, le=32)
    #: A user and password written in ``url`` (for a proxy in front of the site): never shown, sent only
    #: as HTTP basic auth. ``url`` itself is the address without them, safe to print.
    _credentials: Credentials | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _url_credentials(cls, data: Any, handler: ModelWrapValidatorHandler[PlatformProfile]) -> PlatformProfile:
        credentials = None
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            url, credentials = split_credentials(data["url"])
            data = {**data, "url": url}
        profile = handler(data)
        if credentials is not None:
            profile._credentials = credentials
        return profile

    @property
    def credentials(self) -> Credentials | None:
        """The user and password of ``url`` as configured, if any (HTTP basic auth)."""
        return self._credentials

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(Message("profile.url_scheme"))
        return value.rstrip("/")

    @field_validator("fields")
    @classmethod
    def _items(cls, value: dict[str, str]) -> dict[str, str]:
        # A mistyped item ("goal") would leave "goals" unmapped without a word: name the nearest item.
        unknown = sorted(set(value) - set(DEFAULT_FIELDS))
        if unknown:
            near = difflib.get_close_matches(unknown[0], list(DEFAULT_FIELDS), n=1)
            raise ValueError(Message("profile.unknown_item", item=unknown[0], items=", ".join(DEFAULT_FIELDS),
                                     near=Message("config.near", near=f"«{near[0]}»") if near else ""))
        return value

    @model_validator(mode="after")
    def _token_source(self) -> PlatformProfile:
        if self.token_env and self.token_file:
            raise ValueError(Message("profile.token_both"))
        for shortname, options in self.select_options.items():
            if not options or options[0] != "":
                raise ValueError(Message("profile.select_first", shortname=shortname))
        return self

    def shortname(self, item: str) -> str | None:
        """Custom field shortname holding course-information ``item`` on this site, if mapped."""
        return self.fields.get(item)

    def options(self, item: str) -> list[str] | None:
        shortname = self.shortname(item)
        return self.select_options.get(shortname) if shortname else None

    def option_index(self, item: str, text: str | None) -> int:
        """Text → 1-based option index (0 for unset). Raises KeyError for an unknown option."""
        if not text:
            return 0
        options = self.options(item) or []
        for index, option in enumerate(options):
            if option.casefold() == text.casefold():
                return index
        raise KeyError(text)

    def option_text(self, item: str, index: int) -> str | None:
        """1-based option index → text; 0 or out of range → None."""
        options = self.options(item) or []
        return options[index] if 0 < index < len(options) else None
