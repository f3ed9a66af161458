"""What most sync tests share: the pseudonym secret in the environment, a hand-moved clock, and the two sandbox
sites in process on that clock (a module that needs them over real HTTP has its own ``sandbox``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sandbox.state import SiteState
from tests.sync.helpers import SECRET, Clock, publish_seeded


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PSEUDONYM", SECRET)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[Sandbox]:
    with Sandbox.in_process(clock=lambda: clock.now.timestamp()) as sb:
        yield sb


@pytest.fixture
def ks(sandbox: Sandbox) -> SiteState:
    return sandbox.sites["ks"].state


@pytest.fixture
def lp(sandbox: Sandbox) -> SiteState:
    return sandbox.sites["lp"].state


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A ledger with the seeded share published (lp HBHF-SMITTE-01 borrowed as ks KSL-HBHF-SMITTE-01)."""
    led = Ledger.open(tmp_path / "ledger.db")
    publish_seeded(led)
    return led
