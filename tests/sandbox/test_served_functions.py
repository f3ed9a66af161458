"""Every web-service function lmsbridge calls is served by the sandbox.

Every call goes through ``lmsbridge.adapters.client`` (the one choke point), so the function names written
there, with the sets ``doctor`` checks, are what lmsbridge may call."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lmsbridge
from lmsbridge.adapters import FEATURE_FUNCTIONS, REPORT_FUNCTIONS, REQUIRED_FUNCTIONS
from lmsbridge.sandbox import SERVED_FUNCTIONS

PACKAGE = Path(lmsbridge.__file__).parent
WSFUNCTION = re.compile(r"^(core|enrol|mod|tool|report|block|local)_[a-z0-9_]+$")


def called_functions() -> dict[str, set[str]]:
    """Web-service function names written in the client, by file."""
    found: dict[str, set[str]] = {}
    for path in [PACKAGE / "adapters" / "client.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and WSFUNCTION.match(node.value):
                found.setdefault(node.value, set()).add(str(path.relative_to(PACKAGE)))
    return found


def declared() -> set[str]:
    return set(REQUIRED_FUNCTIONS) | set(REPORT_FUNCTIONS) | {f for fs in FEATURE_FUNCTIONS.values() for f in fs}


def test_the_source_scan_finds_the_client_functions() -> None:
    called = called_functions()
    assert "core_completion_override_activity_completion_status" in called
    assert len(called) >= 20


def test_every_function_lmsbridge_calls_is_served_by_the_sandbox() -> None:
    wanted = set(called_functions()) | declared()
    missing = sorted(wanted - set(SERVED_FUNCTIONS))
    assert not missing, f"the sandbox does not serve: {missing}"
