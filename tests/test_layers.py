"""The import contract: data flows one way (CLI → workflows/sync → rules, ledger, adapters → HTTP).

Every package and top-level module of lmsbridge has a layer; a module may import only from layers below its
own (and from its own package). Packages on one layer are siblings that never import each other: the rules
(``sharing``) know nothing of the platforms or the ledger, the adapters nothing of the rules. A new package
must be given a layer here, or this test fails. Checked on the source with ast, so it cannot drift silently.
docs/ARCHITECTURE.md draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lmsbridge

PACKAGE = Path(lmsbridge.__file__).parent

#: Bottom to top. A unit is a sub-package or a top-level module of lmsbridge ("lmsbridge" itself: __init__).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"lmsbridge", "i18n"}),  # the version, and messages: imports nothing of lmsbridge
    frozenset({"domain", "errors"}),  # the vocabulary and the exception tree
    frozenset({"sharing", "adapters", "ledger", "sandbox"}),  # rules (pure), Moodle's wire, the local state,
    # and the Moodle stand-in (it answers as Moodle does and must not borrow lmsbridge's own understanding)
    frozenset({"config", "readers"}),  # the configuration (platform profiles); readers of course information
    frozenset({"mail", "health", "sync", "schemas", "keystore"}),  # e-mail, doctor, the completion sync, JSON
    # Schemas, and where each person's own key to a platform is kept
    frozenset({"certificates", "workflows"}),  # certificate groups (after a sync); the share workflows
    frozenset({"report"}),  # the partners' quarterly report: reads the ledger, the sync's status, certificates
    frozenset({"cli"}),  # the command line, thin
    frozenset({"__main__"}),
)

#: Third-party imports kept to one layer: only the adapters (and the Moodle stand-in) speak HTTP; only the
#: ledger speaks SQL.
ONLY_IN: dict[str, frozenset[str]] = {
    "requests": frozenset({"adapters", "sandbox"}),
    "tenacity": frozenset({"adapters"}),
    "sqlite3": frozenset({"ledger", "sandbox"}),
    "psycopg": frozenset({"ledger"}),
    "keyring": frozenset({"keystore"}),
}

RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lmsbridge"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "lmsbridge" and node.level == 0:
            # from lmsbridge import i18n / __version__
            names.update(f"lmsbridge.{alias.name}" if alias.name != "__version__" else "lmsbridge"
                         for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_package_has_a_layer() -> None:
    units = {unit_of(module_name(path)) for path in MODULES}
    assert units - set(RANK) == set(), "give these a layer in tests/test_layers.py (and docs/ARCHITECTURE.md)"
    assert set(RANK) - units == set(), "layers name units that no longer exist"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_imports_only_from_layers_below(path: Path) -> None:
    name = module_name(path)
    unit = unit_of(name)
    for imported in imports_of(path):
        if imported == "lmsbridge" or imported.startswith("lmsbridge."):
            other = unit_of(imported)
            if other == unit:
                continue
            assert RANK[other] < RANK[unit], (
                f"{name} imports {imported}: {other} is on layer {RANK[other]}, {unit} on {RANK[unit]}; "
                "a module may import only from layers below its own")
        else:
            top = imported.split(".")[0]
            allowed = ONLY_IN.get(top)
            assert allowed is None or unit in allowed, f"{name} imports {imported}: only {sorted(allowed)} may"


def test_the_check_sees_what_it_should() -> None:
    """The rule itself: an upward or sideways import is caught, a downward one is not."""
    assert RANK["sharing"] == RANK["adapters"] == RANK["ledger"]  # siblings: neither may import the other
    assert RANK["errors"] < RANK["sharing"] < RANK["readers"] < RANK["sync"] < RANK["cli"]
    assert unit_of("lmsbridge.sync.engine") == "sync" and unit_of("lmsbridge") == "lmsbridge"
