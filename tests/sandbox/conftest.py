"""Fixtures of the sandbox's tests. ``sandbox`` is in process (no sockets): most of these tests are about
what the functions answer. The tests about HTTP itself (test_server.py, test_concurrency_and_faults.py,
the contract replay on its own server) run on ``served_sandbox``, 127.0.0.1; test_inprocess.py shows that
both answer the same bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lmsbridge.adapters.wire import encode_params
from lmsbridge.sandbox import Sandbox, SiteHandle


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A freshly seeded sandbox (the two recorded lab sites), in process."""
    with Sandbox.in_process() as sb:
        yield sb


@pytest.fixture
def served_sandbox() -> Iterator[Sandbox]:
    """A freshly seeded sandbox served over HTTP on 127.0.0.1."""
    with Sandbox.start() as sb:
        yield sb


def ws_call(site: SiteHandle, wsfunction: str, *, fmt: str | None = "json", token: str | None = None,
            session: requests.Session | None = None, **params: Any) -> requests.Response:
    """POST one web-service call the way a Moodle client does; ``fmt=None`` sends no format."""
    pairs = [("wstoken", site.token if token is None else token), ("wsfunction", wsfunction)]
    if fmt is not None:
        pairs.append(("moodlewsrestformat", fmt))
    pairs.extend(encode_params(params))
    return (session or requests).post(site.rest_url, data=pairs, timeout=10)


def ws_json(site: SiteHandle, wsfunction: str, **params: Any) -> Any:
    response = ws_call(site, wsfunction, **params)
    assert response.status_code == 200
    return response.json()
