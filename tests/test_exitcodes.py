"""One exit-code table (``lmsbridge.errors.ExitCode``): what each outcome exits with, and no number of its own elsewhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lmsbridge
from lmsbridge import errors
from lmsbridge.errors import ExitCode, combined_exit_code, exit_code_for
from lmsbridge.ledger import LockedError

PACKAGE = Path(lmsbridge.__file__).parent


def test_the_table() -> None:
    assert [int(c) for c in (ExitCode.OK, ExitCode.FAILED, ExitCode.CONFIG, ExitCode.UNREACHABLE,
                             ExitCode.PARTIAL, ExitCode.LOCKED)] == [0, 1, 2, 3, 4, 75]
    assert ExitCode.USAGE == ExitCode.INPUT == ExitCode.CONFIG


@pytest.mark.parametrize(("error", "code"), [
    (errors.ConfigError, ExitCode.CONFIG), (errors.InputError, ExitCode.INPUT),
    (errors.RetriableError, ExitCode.UNREACHABLE), (errors.RecordError, ExitCode.FAILED),
    (LockedError, ExitCode.LOCKED),
])
def test_errors_exit_by_the_table(error: type[errors.LmsbridgeError], code: ExitCode) -> None:
    assert error.exit_code == code


def test_the_worst_outcome_wins() -> None:
    assert exit_code_for() == ExitCode.OK
    assert exit_code_for(failed=True) == ExitCode.PARTIAL
    assert exit_code_for(unreachable=True, failed=True) == ExitCode.UNREACHABLE
    assert exit_code_for(config=True, unreachable=True, failed=True) == ExitCode.CONFIG
    assert combined_exit_code(ExitCode.PARTIAL, ExitCode.UNREACHABLE) == ExitCode.UNREACHABLE
    assert combined_exit_code(ExitCode.OK, ExitCode.FAILED) == ExitCode.FAILED and combined_exit_code() == ExitCode.OK


def test_no_exit_code_is_a_bare_number_outside_the_table() -> None:
    """``ctx.exit(3)``, ``exit_code = 2`` or ``return 4`` from an ``exit_code`` would say again what the table says."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "exit":
                values = node.args
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                named = any(isinstance(t, ast.Name | ast.Attribute) and "exit_code" in ast.unparse(t) for t in targets)
                values = [node.value] if named and node.value is not None else []
            elif isinstance(node, ast.FunctionDef) and node.name == "exit_code":
                values = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
            else:
                continue
            found += [f"{path.relative_to(PACKAGE)}:{v.lineno}" for v in values
                      if isinstance(v, ast.Constant) and isinstance(v.value, int)]
    assert found == []
