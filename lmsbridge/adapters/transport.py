"""The one choke point for every HTTP request to a Moodle site.

``MoodleTransport.call(wsfunction, **params)`` POSTs form-encoded parameters to
``/webservice/rest/server.php`` with ``wstoken``, ``wsfunction`` and ``moodlewsrestformat``, retries
transient failures (connection errors, timeouts, HTTP 5xx, 429 with Retry-After) with tenacity —
bounded in attempts AND total time, jittered, never for a Moodle exception — and decodes the body with
the pure functions in :mod:`lmsbridge.adapters.wire`.

The token lives in a ``SecretStr``: it is sent in the POST body only, never in a URL, a log line,
an exception message or a repr. Whatever the platform answers passes a ``Redactor`` that knows the token
and every other secret the caller names (``secrets=``): a server that echoes the request in an error
cannot make lmsbridge show, log or store a secret. A user and password in the base URL
(``https://user:pw@host``, for a proxy in front of the site) are sent as HTTP basic auth and appear
nowhere else: ``base_url`` is the URL without them.

An answer larger than ``MAX_ANSWER_BYTES`` (as declared, or as read) is refused while it is read.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from lmsbridge import __version__
from lmsbridge.adapters.clock import PlatformClock
from lmsbridge.adapters.redact import Credentials, Redactor, split_credentials
from lmsbridge.adapters.wire import decode_response, decode_token_response, encode_params, where_of
from lmsbridge.errors import LmsbridgeError, ProtocolError, TransportError
from lmsbridge.i18n import Message

log = logging.getLogger("lmsbridge.adapters")

REST_PATH = "/webservice/rest/server.php"
TOKEN_PATH = "/login/token.php"  # noqa: S105 - a URL path, not a secret
#: The largest answer read: a listing of every course of a big site is tens of MB.
MAX_ANSWER_BYTES = 128 * 1024 * 1024
_CHUNK = 1024 * 1024


def read_body(response: requests.Response, where: str, limit: int | None = None) -> bytes:
    """The body of a streamed response, refused past ``limit`` bytes (declared or read; default
    ``MAX_ANSWER_BYTES``); always closed."""
    limit = MAX_ANSWER_BYTES if limit is None else limit
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            raise ProtocolError(Message("wire.too_large", where=where, limit=f"{limit // (1024 * 1024)} MB"))
        if response.raw is None:  # a response built in memory (tests, benchmarks): nothing to stream
            body = response.content or b""
        else:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
            body = b"".join(chunks)
        if len(body) > limit:
            raise ProtocolError(Message("wire.too_large", where=where, limit=f"{limit // (1024 * 1024)} MB"))
        return body
    except requests.RequestException as exc:
        raise TransportError(Message("transport.cut_off", where=where)) from exc
    finally:
        if response.raw is not None:
            response.close()


def _unreachable_reason(exc: requests.RequestException, connect_timeout: float) -> Message:
    """Why a request did not get through (the exception's class when unknown)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return Message("transport.reason.tls")
    if isinstance(exc, requests.exceptions.ProxyError):
        return Message("transport.reason.proxy")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Message("transport.reason.connect_timeout", seconds=connect_timeout)
    if isinstance(exc, requests.ConnectionError):
        return Message("transport.reason.refused")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema |
                  requests.exceptions.InvalidSchema):
        return Message("transport.reason.bad_url")
    return Message.text(exc.__class__.__name__)


def _unreachable(where: str, url: str, exc: requests.RequestException, connect_timeout: float) -> TransportError:
    return TransportError(Message("transport.unreachable", where=where, url=url,
                                  reason=_unreachable_reason(exc, connect_timeout)))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, jittered retries for transient failures only.

    ``attempts`` counts every try (the first included); ``max_time`` bounds the whole call including
    the waits. ``sleep``/``clock`` are injectable so tests never wait.
    """

    attempts: int = 5
    max_time: float = 60.0
    initial_wait: float = 0.5
    max_wait: float = 10.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @classmethod
    def none(cls) -> RetryPolicy:
        """One attempt, no retry."""
        return cls(attempts=1, max_time=0.0)

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        base = min(self.initial_wait * float(2 ** (attempt - 1)), self.max_wait)
        return min(base + self.rng.uniform(0, self.jitter), self.max_wait)


class _Budget:
    """tenacity stop/wait callables that honour both bounds with the policy's own clock.

    The wait for an attempt is computed once and cached, whichever of wait/stop tenacity asks first.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.started = policy.clock()
        self.next_wait = 0.0
        self._computed_for = 0

    def _wait_after(self, state: RetryCallState) -> float:
        if self._computed_for != state.attempt_number:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, TransportError) else None
            self.next_wait = self.policy.wait_for(state.attempt_number, retry_after)
            self._computed_for = state.attempt_number
        return self.next_wait

    def wait(self, state: RetryCallState) -> float:
        return float(self._wait_after(state))

    def stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.policy.attempts:
            return True
        elapsed = self.policy.clock() - self.started
        return elapsed + self._wait_after(state) > self.policy.max_time


class MoodleTransport:
    """HTTP for one Moodle site and one token. Thread-safe for counting; one session per instance."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        fmt: str = "json",
        timeout: tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        settings: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        name: str = "",
        secrets: Iterable[SecretStr | str] = (),
        credentials: Credentials | None = None,
    ) -> None:
        url, in_url = split_credentials(base_url)
        credentials = credentials or in_url
        self.base_url = url.rstrip("/")
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        #: Removes the token, the URL's password and ``secrets`` from all the platform says.
        self.redactor = Redactor([self._token, *secrets, *(credentials[1:] if credentials else ())])
        self.fmt = fmt
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        #: ``moodlewssetting*`` values sent with every call, e.g. {"timezone": "UTC"}.
        self.settings = dict(settings or {})
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", f"lmsbridge/{__version__}")
        self._credentials = credentials
        if credentials is not None:
            self.session.auth = (credentials[0], credentials[1].get_secret_value())
        self.name = name or self.base_url
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        #: The platform's clock from its answers' Date headers (shared with clones).
        self.clock = PlatformClock()

    def __repr__(self) -> str:
        return f"MoodleTransport({self.name!r}, {self.base_url!r}, token=SecretStr('**********'))"

    def clone(self, *, settings: Mapping[str, str] | None = None) -> MoodleTransport:
        """Same site and token, a new HTTP session (one per worker thread); shares the call counter.

        ``settings`` are session settings the clone adds where this transport has none of its own.
        """
        twin = MoodleTransport(
            self.base_url,
            self._token,
            fmt=self.fmt,
            timeout=self.timeout,
            retry=self.retry,
            settings={**(settings or {}), **self.settings},
            name=self.name,
            credentials=self._credentials,
        )
        twin.redactor = self.redactor
        twin.calls = self.calls
        twin._lock = self._lock
        twin.clock = self.clock
        return twin

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    def calls_so_far(self) -> Counter[str]:
        """A copy of the calls made per function (by this transport and its clones), taken under the lock."""
        with self._lock:
            return Counter(self.calls)

    def form(self, wsfunction: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The exact form pairs for a call, token included (never log this)."""
        pairs = [
            ("wstoken", self._token.get_secret_value()),
            ("wsfunction", wsfunction),
            ("moodlewsrestformat", self.fmt),
        ]
        pairs.extend(encode_params(params))
        pairs.extend((f"moodlewssetting{key}", value) for key, value in self.settings.items())
        return pairs

    def call(self, wsfunction: str, /, **params: Any) -> Any:
        """Call one web-service function; returns decoded data or raises an LmsbridgeError."""
        return self._with_retries(wsfunction, lambda: self._post_once(wsfunction, params))

    def _with_retries(self, what: str, attempt: Callable[[], Any]) -> Any:
        budget = _Budget(self.retry)
        retrying = Retrying(
            retry=retry_if_exception_type(TransportError),
            stop=budget.stop,
            wait=budget.wait,
            sleep=self.retry.sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "%s %s: transient failure (attempt %d), retrying in %.1fs",
                self.name,
                what,
                state.attempt_number,
                budget.next_wait,
            ),
        )
        return retrying(attempt)

    def _post_once(self, wsfunction: str, params: Mapping[str, Any]) -> Any:
        with self._lock:
            self.calls[wsfunction] += 1
        started = time.perf_counter()
        where = where_of(self.name, wsfunction)
        try:
            response = self.session.post(
                self.base_url + REST_PATH, data=self.form(wsfunction, params), timeout=self.timeout, stream=True
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise _unreachable(where, self.base_url, exc, self.timeout[0]) from exc
        except requests.Timeout as exc:
            raise TransportError(Message("transport.timeout", where=where, seconds=self.timeout[1])) from exc
        except requests.RequestException as exc:
            raise _unreachable(where, self.base_url, exc, self.timeout[0]) from exc
        self.clock.seen(response.headers.get("Date"), datetime.now(UTC))
        body = read_body(response, where)
        log.debug("%s %s -> HTTP %s in %.0f ms", self.name, wsfunction, response.status_code,
                  (time.perf_counter() - started) * 1000)
        try:
            return decode_response(
                response.status_code,
                response.headers,
                body,
                fmt=self.fmt,
                wsfunction=wsfunction,
                site=self.name,
                redactor=self.redactor,
            )
        except LmsbridgeError as exc:
            self.redactor.error(exc)
            raise

    @staticmethod
    def login(
        base_url: str,
        username: str,
        password: SecretStr | str,
        service: str,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
    ) -> SecretStr:
        """``/login/token.php``: username + password → the service token (its own error shape)."""
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        url, credentials = split_credentials(base_url)
        redactor = Redactor([secret, *(credentials[1:] if credentials else ())])
        http = session or requests.Session()
        if credentials is not None:
            http.auth = (credentials[0], credentials[1].get_secret_value())
        try:
            response = http.post(
                url.rstrip("/") + TOKEN_PATH,
                data={"username": username, "password": secret, "service": service},
                timeout=timeout,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise _unreachable("", url, exc, timeout[0]) from exc
        except requests.Timeout as exc:
            raise TransportError(Message("transport.timeout", where=f"{url}: ", seconds=timeout[1])) from exc
        except requests.RequestException as exc:
            raise _unreachable("", url, exc, timeout[0]) from exc
        body = read_body(response, f"{url}: ")
        try:
            token = decode_token_response(response.status_code, response.headers, body, site=url)
        except LmsbridgeError as exc:
            redactor.error(exc)
            raise
        return SecretStr(token)
