"""The sandbox without sockets: a ``requests`` transport adapter that hands each request to a site.

``InProcessAdapter`` is a ``requests.adapters.BaseAdapter``: ``send`` gives the prepared request's
target, content type and body to the same ``answer`` the HTTP server uses (latency, seeded faults, the
test hooks, Moodle's order of checks) and turns the ``Reply`` into a ``requests.Response``; a dropped
connection becomes ``requests.ConnectionError``, as over the wire. So ``MoodleTransport`` and
``MoodleClient`` run unchanged through their one HTTP choke point, only without a server thread,
a port or a TCP round trip per call.

Two ways to reach it:

* ``session.mount(site.url + "/", site.adapter)`` (``Sandbox.session()`` does it for every site):
  explicit, for code that is handed a session.
* ``routed({prefix: adapter})``, which ``Sandbox.in_process()`` opens for its lifetime: every
  ``requests`` session in the process (new ones, those the CLI builds, ``MoodleTransport.clone()``'s
  per-thread ones) sends requests under those prefixes to the adapter, the way ``responses`` intercepts
  ``requests``. The sites' URLs are ``http://<site>.sandbox.invalid``: a reserved name that never
  resolves, so a request that somehow bypasses the routing fails at once instead of going anywhere.

Why here and not under tests/: the benchmarks (bench/) and anything else that wants the sandbox's
data and hooks without a network can use it; it needs nothing from the product code, which keeps no
test-only branch for it (the adapters' session is the seam ``requests`` already has).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.response import HTTPResponse

from lmsbridge.sandbox.server import RandomFaults, answer
from lmsbridge.sandbox.state import SiteState

__all__ = ["InProcessAdapter", "routed", "site_url"]


def site_url(name: str) -> str:
    """Where an in-process site answers (never resolvable: ``.invalid`` is reserved, RFC 2606)."""
    return f"http://{name}.sandbox.invalid"


class InProcessAdapter(BaseAdapter):
    """Answers requests from one sandbox site in the calling thread."""

    def __init__(self, state: SiteState, faults: RandomFaults | None = None) -> None:
        super().__init__()
        self.state = state
        self.faults = faults or RandomFaults()

    def __repr__(self) -> str:
        return f"InProcessAdapter({self.state.name!r})"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        target = str(request.path_url)
        content_type = str(request.headers.get("Content-Type", ""))
        reply = answer(self.state, self.faults, target, content_type, bytes(body))
        if reply.drop:
            raise requests.ConnectionError(f"sandbox {self.state.name}: connection dropped", request=request)
        return self._response(request, reply.status, reply.content_type, reply.body)

    def _response(self, request: requests.PreparedRequest, status: int, content_type: str,
                  body: bytes) -> requests.Response:
        # The site's clock, as a web server sends it (a pinned clock shows here too).
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)),
                   "Date": formatdate(self.state.now(), usegmt=True)}
        raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False,
                           decode_content=False, reason=_reason(status))
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = _reason(status)
        response.url = str(request.url)
        response.request = request
        response.connection = self  # type: ignore[assignment]  # the stubs say HTTPAdapter; requests only calls .send
        return response

    def close(self) -> None:
        """Nothing to release: no connections."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- process-wide routing ------------------------------------------------------------------------------

_routes: dict[str, BaseAdapter] = {}
_routes_lock = threading.Lock()
_original_get_adapter: Any = None


def _get_adapter(session: requests.Session, url: str) -> BaseAdapter:
    lowered = url.lower()
    with _routes_lock:
        for prefix, routed_to in _routes.items():
            if lowered.startswith(prefix):
                return routed_to
    adapter: BaseAdapter = _original_get_adapter(session, url)
    return adapter


@contextmanager
def routed(routes: Mapping[str, BaseAdapter]) -> Iterator[None]:
    """While open, every ``requests.Session`` sends requests whose URL starts with a prefix to its
    adapter. Nests; the patch on ``requests.Session.get_adapter`` goes when the last route does."""
    global _original_get_adapter
    wanted = {prefix.lower(): adapter for prefix, adapter in routes.items()}
    with _routes_lock:
        taken = set(wanted) & set(_routes)
        if taken:
            raise ValueError(f"already routed: {sorted(taken)}")
        if not _routes:
            _original_get_adapter = requests.Session.get_adapter
            requests.Session.get_adapter = _get_adapter  # type: ignore[method-assign,assignment]
        _routes.update(wanted)
    try:
        yield
    finally:
        with _routes_lock:
            for prefix in wanted:
                _routes.pop(prefix, None)
            if not _routes:
                requests.Session.get_adapter = _original_get_adapter  # type: ignore[method-assign]
                _original_get_adapter = None
