"""The course rules a platform's profile adds to «Krav til kursinfo i KS Læring» (``requirements``).

Pure, like the base check; each returns findings in the same form (``requirements.Finding``):

* ``check_length``: «Max 30 min lengde» (seed 003, the joint KS/Helse Bergen programme's design rule) as a
  warning when the profile sets ``max_minutes``: «Tidsbruk» such as «20 min», «1 time», «1,5 t» is read
  with ``requirements.parse_minutes``; an unreadable one is already an error of the base check.
* ``check_coordinator``: «Kurskoordinator: Lokal elæringsansvarlig i HF-et» (seed 002): when the owner's
  profile lists its e-learning coordinators, the course's coordinator must be one of them.
* ``check_cc_marking``: «Kurs som er delt fra KS læring … skal være merket dersom det er tilgjengelig for
  deling og gjenbruk under Creative Commons» (seed 002): ``licence.creative_commons_marking`` as findings,
  for a KS Læring course offered for sharing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lmsbridge.domain import PlatformRole
from lmsbridge.i18n import Message
from lmsbridge.sharing.courseinfo import CourseInfo
from lmsbridge.sharing.licence import creative_commons_marking
from lmsbridge.sharing.requirements import FINDING_CODES, Finding, format_minutes, parse_minutes, plain_text


def _finding(code: str, item: str, message: Message) -> Finding:
    return Finding(code, FINDING_CODES[code], item, message)


def check_length(time_needed: str | None, max_minutes: int | None) -> list[Finding]:
    """``time_needed.too_long`` (a warning) when the course takes longer than ``max_minutes``."""
    minutes = parse_minutes(time_needed) if time_needed and max_minutes else None
    if minutes is None or max_minutes is None or minutes <= max_minutes:
        return []
    return [_finding("time_needed.too_long", "time_needed",
                     Message("time_needed.too_long", value=format_minutes(minutes), limit=format_minutes(max_minutes)))]


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Coordinator:
    """One entry of a profile's ``coordinators``: «Kari Nordmann», «kari@hf.no» or «Kari Nordmann <kari@hf.no>»."""

    name: str
    address: str

    @classmethod
    def parse(cls, entry: str) -> Coordinator:
        found = _ADDRESS.search(entry)
        address = found.group(0).casefold() if found else ""
        name = _ADDRESS.sub(" ", entry).replace("<", " ").replace(">", " ")
        return cls(_fold(name), address)

    def named_in(self, text: str, addresses: set[str]) -> bool:
        if self.address and self.address in addresses:
            return True
        # «Per Olsen» in «Per Olsen, e-læringsansvarlig»; not «Per Olsen» in «Per Olsenius».
        return bool(self.name) and re.search(rf"(?<!\w){re.escape(self.name)}(?!\w)", text) is not None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold().strip(" ,;")


def check_coordinator(coordinator: str | None, coordinators: Sequence[str], *, organisation: str) -> list[Finding]:
    """``course_coordinator.not_listed`` when ``coordinators`` is given and names nobody the course names."""
    text = plain_text(coordinator) if coordinator else ""
    if not coordinators or not text:  # a missing coordinator is the base check's finding
        return []
    # From the raw value too: «Ola <ola@hf.no>» would lose its address to the HTML tag stripping.
    addresses = {a.casefold() for a in _ADDRESS.findall(f"{coordinator} {text}")}
    folded = _fold(text)
    if any(Coordinator.parse(entry).named_in(folded, addresses) for entry in coordinators):
        return []
    return [_finding("course_coordinator.not_listed", "course_coordinator",
                     Message("course_coordinator.not_listed", value=text, organisation=organisation,
                             known=", ".join(f"«{entry}»" for entry in coordinators)))]


def check_cc_marking(info: CourseInfo, *, owner_role: PlatformRole, offered_for_sharing: bool) -> list[Finding]:
    """The Creative Commons marking of a KS Læring course offered for sharing, as findings on the licence:
    refused (an error) or allowed with a warning; nothing when it is marked, or the rule does not apply."""
    answer = creative_commons_marking(owner_role=owner_role, offered_for_sharing=offered_for_sharing,
                                      licence=info.licence, summary_html=info.summary)
    if answer.allowed and not answer.warning:
        return []
    return [_finding(answer.code, "licence", answer.message)]


def without_superseded(findings: Iterable[Finding]) -> list[Finding]:
    """A Creative Commons marking finding says more about the licence than «licence.missing»: keep one."""
    found = list(findings)
    if any(f.code.startswith("cc_marking.") for f in found):
        return [f for f in found if f.code != "licence.missing"]
    return found


__all__ = ["Coordinator", "check_cc_marking", "check_coordinator", "check_length", "without_superseded"]
