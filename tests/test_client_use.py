"""Above the adapters a client is used through its own methods, never by reaching inside it.

``MoodleClient`` shows what the rest needs — ``call_counts()``, ``settings``, ``clone(settings=…)`` (one per
worker, :class:`lmsbridge.adapters.WorkerClients`), ``close()`` — so nothing outside ``lmsbridge.adapters``
touches ``client.transport`` (its session, its counters, its settings), nor do the benchmarks. The sandbox
speaks HTTP itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lmsbridge

PACKAGE = Path(lmsbridge.__file__).parent
BENCH = PACKAGE.parent / "bench"


def test_only_adapters_reach_inside_a_client() -> None:
    reached = []
    for path in sorted([*PACKAGE.rglob("*.py"), *BENCH.glob("*.py")]):
        if path.is_relative_to(PACKAGE) and path.relative_to(PACKAGE).parts[0] in ("adapters", "sandbox"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reached += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}" for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and node.attr == "transport"]
    assert reached == [], "use the client's own methods (call_counts, settings, clone, close)"
