"""What most sync tests share: the pseudonym secret in the environment, a hand-moved clock, and the two sandbox
sites in process on that clock (a module that needs them over real HTTP has its own ``sandbox``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lmsbridge.sandbox import Sandbox
from tests.sync.helpers import SECRET, Clock


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
