from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.seed import add_receipt_field

FIXTURES = Path(__file__).parent / "fixtures" / "moodle"


def fixture(name: str) -> dict[str, Any]:
    """A recorded Moodle call (tests/fixtures/moodle/<name>.json)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never see the developer's own configuration (variables, ~/.config/lmsbridge, /etc/lmsbridge) or
    language."""
    for key in list(__import__("os").environ):
        if key.startswith("LMSBRIDGE_"):
            monkeypatch.delenv(key, raising=False)
    elsewhere = tmp_path_factory.mktemp("no-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere / "xdg"))
    monkeypatch.setattr("lmsbridge.config.SYSTEM_CONFIG", elsewhere / "etc" / "lmsbridge.toml")
    from lmsbridge import i18n

    i18n.set_language(None)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sandbox's two sites (``ks``, ``lp``), freshly seeded, in process: no sockets, with the receipt field
    their admins add for the owner's acts (so ``doctor`` finds all it needs). A module that needs them served
    over HTTP, or seeded otherwise, defines its own ``sandbox``."""
    with Sandbox.in_process() as sb:
        for site in sb.sites.values():
            add_receipt_field(site.state)
        yield sb
