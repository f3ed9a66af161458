"""Vocabulary shared by every layer: platform roles, share directions, labels, licences.

Pure enums and constants only (no I/O, no imports from the rest of the package), so that both the
rules in ``lmsbridge.sharing`` and the adapters may use them without importing each other.
"""

from __future__ import annotations

from enum import StrEnum


class PlatformRole(StrEnum):
    """A platform's side in the agreement (../seeds/002: KS Læring vs. the HF's Læringsportal)."""

    MUNICIPAL = "municipal"  # KS Læring, the municipal sector's national platform
    HOSPITAL = "hospital"  # a hospital trust's (HF in Helse Sør-Øst) Læringsportal


class ShareFlow(StrEnum):
    """The three workflows of the agreement (seed 002, «Bestiller-rutiner/kontaktpunkter»)."""

    #: «Når HSØ-foretak vil legge kurs ut i KS læring»: the HF asks, owner-initiated.
    HOSPITAL_TO_KS = "hospital-to-ks"
    #: «Når KS vil bestille kurs fra HSØ»: the municipality orders from the owning HF.
    KS_ORDERS_FROM_HOSPITAL = "ks-orders-from-hospital"
    #: «Når HSØ-foretak vil dele kurs fra KS Læring»: a link to the KS course in the Læringsportal.
    HOSPITAL_SHARES_KS_COURSE = "hospital-shares-ks-course"


class Label(StrEnum):
    """The labels the agreement prescribes, exactly as written in seed 002."""

    SHARED_TO_KS = "delt til KS Læring"
    SHARED_FROM_KS = "delt fra KS"


# Licence names as the platforms' «lisens» select field spells them (seed_data.json select_options).
CC_BY_SA = "CC BY-SA"
KNOWN_LICENCES: tuple[str, ...] = (
    "Alle rettigheter reservert",
    "CC BY-SA",
    "CC BY",
    "CC BY-NC-SA",
    "CC BY-NC",
    "CC BY-ND",
    "CC BY-NC-ND",
    "CC0",
)
