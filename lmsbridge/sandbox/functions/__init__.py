"""The web-service functions the sandbox serves; importing this package registers them all."""

from __future__ import annotations

from lmsbridge.sandbox.functions import (  # noqa: F401 - imported for their @ws registrations
    access,
    completion,
    courses,
    enrol,
    groups,
    messages,
    misc,
    reports,
    site,
    users,
)
from lmsbridge.sandbox.registry import REGISTRY

#: Every web-service function name the sandbox answers.
SERVED_FUNCTIONS: frozenset[str] = frozenset(REGISTRY)

__all__ = ["SERVED_FUNCTIONS"]
