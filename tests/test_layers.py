"""The import contract: data flows one way (CLI → workflows/sync → rules, ledger, adapters → HTTP).

Rules never import adapters or the CLI; adapters never import sharing; nothing below imports anything
above. Checked on the source with ast, so it cannot drift silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lmsbridge

PACKAGE = Path(lmsbridge.__file__).parent

# module prefix -> prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "lmsbridge.sharing": (
        "lmsbridge.adapters",
        "lmsbridge.cli",
        "lmsbridge.ledger",
        "lmsbridge.config",
        "lmsbridge.sync",
        "lmsbridge.workflows",
        "lmsbridge.validation",
        "lmsbridge.sandbox",
        "requests",
        "sqlite3",
    ),
    "lmsbridge.adapters": (
        "lmsbridge.sharing",
        "lmsbridge.cli",
        "lmsbridge.ledger",
        "lmsbridge.config",
        "lmsbridge.sync",
        "lmsbridge.workflows",
        "lmsbridge.validation",
        "lmsbridge.sandbox",
    ),
    "lmsbridge.ledger": (
        "lmsbridge.adapters",
        "lmsbridge.sharing",
        "lmsbridge.cli",
        "lmsbridge.sync",
        "lmsbridge.workflows",
        "lmsbridge.validation",
        "requests",
    ),
    "lmsbridge.errors": ("lmsbridge.",),
    "lmsbridge.domain": ("lmsbridge.",),
    "lmsbridge.i18n": ("lmsbridge.",),
    "lmsbridge.sandbox": (
        "lmsbridge.sharing",
        "lmsbridge.ledger",
        "lmsbridge.sync",
        "lmsbridge.workflows",
        "lmsbridge.validation",
        "lmsbridge.adapters.client",
    ),
    "lmsbridge.sync": ("lmsbridge.cli",),
    "lmsbridge.workflows": ("lmsbridge.cli",),
    "lmsbridge.validation": ("lmsbridge.cli",),
}

# module prefix -> imports it may make despite FORBIDDEN: the errors frame Moodle's text in the user's
# language, and i18n is itself a leaf (it imports nothing of lmsbridge), so no cycle can come of it.
EXCEPTIONS: dict[str, frozenset[str]] = {
    "lmsbridge.errors": frozenset({"lmsbridge.i18n"}),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "lmsbridge" and node.level == 0:
            names.update(f"lmsbridge.{alias.name}" for alias in node.names)  # from lmsbridge import i18n
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_respects_the_layers(path: Path) -> None:
    name = module_name(path)
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            allowed = EXCEPTIONS.get(prefix, frozenset())
            for imported in imports_of(path) - allowed:
                for bad in banned:
                    hit = imported == bad.rstrip(".") or imported.startswith(bad if bad.endswith(".") else bad + ".")
                    assert not hit, f"{name} imports {imported} (forbidden by the layering)"


def test_only_adapters_speak_http() -> None:
    for path in MODULES:
        name = module_name(path)
        if "requests" in imports_of(path):
            assert name.startswith(("lmsbridge.adapters", "lmsbridge.sandbox")), f"{name} imports requests"
