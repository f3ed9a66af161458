"""The ledger's public names stay importable, and it stays a low layer (after httpx's test_exported_members)."""

from __future__ import annotations

import ast
from pathlib import Path

import lmsbridge.ledger

PACKAGE = Path(lmsbridge.ledger.__file__).parent


def test_every_exported_name_exists() -> None:
    for name in lmsbridge.ledger.__all__:
        assert hasattr(lmsbridge.ledger, name), name


def test_the_ledger_imports_nothing_above_it_and_no_driver_eagerly_but_sqlite() -> None:
    above = ("lmsbridge.adapters", "lmsbridge.sharing", "lmsbridge.cli", "lmsbridge.sync", "lmsbridge.workflows",
             "lmsbridge.config", "requests")
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: psycopg is imported lazily, inside a function
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(above), f"{path.name} imports {name}"
                assert not name.startswith("psycopg"), f"{path.name} imports psycopg at module level"
