"""Hooks a test puts on one sandbox site: faults, delays and hostile answers for chosen calls.

A hook matches a web-service function (or, with ``function=None``, every request to the site,
``/login/token.php`` included), optionally only the calls a ``when`` predicate picks; it lets the first
``after`` matching calls through, then acts on the next ``times`` (``None``: all of them, until
removed). ``nth=N`` is short for ``after=N-1, times=1``. Three kinds, installed through ``SiteState``:

* ``state.fail(function, fault)``: answer with a ``Fault`` instead: an HTTP status (``Fault.http(503)``),
  a connection dropped before the call ran (``Fault.dropped()``) or after it ran so its answer is
  lost (``Fault.dropped(after=True)``), or a Moodle error body (``Fault.moodle(errorcode, message)``).
* ``state.delay(function, seconds)``: the call waits first (in the caller's thread, outside the
  site's lock, so other calls are not held up).
* ``state.rewrite(function, change)``: ``change(answer)`` turns the function's answer (the decoded
  structure, before it is written as JSON or XML) into another one: the hook for hostile values.
  ``replace_key``, ``Raw`` and ``deeply_nested`` cover the usual cases.

A rewrite is any function of the answer; a report cell of 400 nines, for instance::

    def nines(answer):
        for row in answer["data"]["rows"]:
            row["columns"][8] = "9" * 400 + "%"   # «Student progress»
        return answer

    ks.rewrite("core_reportbuilder_retrieve_report", nines)

``when`` sees a ``HookCall``: the function's name and its parameters as the function receives them
(validated and typed, e.g. ``call.params["userid"] == 10``). Site-wide ``fail`` and ``delay`` hooks act
on the request before any check (token, function, parameters), so theirs are the decoded form as sent
(strings; ``function`` is "" for token.php); a site-wide ``rewrite`` changes every function's answer. Each install returns the
``Hook``: ``hook.seen`` (matching calls), ``hook.hits`` (calls it acted on), ``hook.remove()``;
``state.clear_hooks()`` removes them all. Hooks live in memory only (never saved with the state).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lmsbridge.sandbox.exceptions import MOODLE_EXCEPTION, MoodleError

__all__ = [
    "Fault",
    "Hook",
    "HookCall",
    "HookSet",
    "Raw",
    "deeply_nested",
    "replace_key",
]


@dataclass(frozen=True)
class Fault:
    """What a call gets instead of its answer. Build one with ``http``, ``dropped`` or ``moodle``."""

    #: an HTTP status answered with a small HTML page (the web server's, not Moodle's)
    status: int | None = None
    #: "before": the connection is cut before the call runs; "after": the call runs, its answer is lost
    drop: Literal["before", "after"] | None = None
    #: a Moodle exception answered as Moodle does (an HTTP 200 error body)
    error: MoodleError | None = None

    @classmethod
    def http(cls, status: int = 503) -> Fault:
        return cls(status=status)

    @classmethod
    def dropped(cls, *, after: bool = False) -> Fault:
        return cls(drop="after" if after else "before")

    @classmethod
    def moodle(cls, errorcode: str, message: str, exception: str = MOODLE_EXCEPTION,
               debuginfo: str | None = None) -> Fault:
        return cls(error=MoodleError(exception, errorcode, message, debuginfo))

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.status, self.drop, self.error)) != 1:
            raise ValueError("a Fault is exactly one of: an HTTP status, a dropped connection, a Moodle error")


@dataclass(frozen=True)
class Raw:
    """A rewrite may return this to send these bytes as the body, unencoded (broken or huge JSON)."""

    body: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class HookCall:
    """The call a hook looks at: the function's name and its parameters."""

    function: str
    params: Mapping[str, Any]


Kind = Literal["fail", "delay", "rewrite"]


@dataclass(eq=False)
class Hook:
    """One installed hook; see the module docstring. Counters are read-only for tests."""

    kind: Kind
    function: str | None
    fault: Fault | None = None
    seconds: float = 0.0
    change: Callable[[Any], Any] | None = None
    when: Callable[[HookCall], bool] | None = None
    after: int = 0
    times: int | None = None
    seen: int = 0
    hits: int = 0
    _owner: HookSet | None = field(default=None, repr=False)

    def remove(self) -> None:
        if self._owner is not None:
            self._owner.remove(self)

    def _take(self, call: HookCall) -> bool:
        """Count a call; True when this hook acts on it (called under the set's lock)."""
        if self.function is not None and self.function != call.function:
            return False
        if self.when is not None and not self.when(call):
            return False
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.hits >= self.times):
            return False
        self.hits += 1
        return True


class HookSet:
    """The hooks of one site, in the order they were added. Thread-safe."""

    def __init__(self) -> None:
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._hooks)

    def add(self, hook: Hook, *, nth: int | None = None) -> Hook:
        if nth is not None:
            if nth < 1:
                raise ValueError("nth counts from 1")
            hook.after, hook.times = nth - 1, 1
        if hook.after < 0 or (hook.times is not None and hook.times < 0):
            raise ValueError("after and times must not be negative")
        hook._owner = self
        with self._lock:
            self._hooks.append(hook)
        return hook

    def remove(self, hook: Hook) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)

    def clear(self) -> None:
        with self._lock:
            self._hooks.clear()

    def _acting(self, kind: Kind, call: HookCall, *, site_wide: bool) -> list[Hook]:
        with self._lock:
            candidates = [h for h in self._hooks if h.kind == kind and (h.function is None) == site_wide]
            return [h for h in candidates if h._take(call)]

    def site_fault(self, call: HookCall) -> Fault | None:
        """The fault of the first site-wide ``fail`` hook acting on this request."""
        acting = self._acting("fail", call, site_wide=True)
        return acting[0].fault if acting else None

    def fault(self, call: HookCall) -> Fault | None:
        """The fault of the first ``fail`` hook of this function acting on this call."""
        acting = self._acting("fail", call, site_wide=False)
        return acting[0].fault if acting else None

    def delay(self, call: HookCall, *, site_wide: bool = False) -> float:
        """Seconds the call waits: the sum of the acting ``delay`` hooks (of the function, or site-wide)."""
        return sum(h.seconds for h in self._acting("delay", call, site_wide=site_wide))

    def rewrite(self, call: HookCall, answer: Any) -> Any:
        """The answer after every acting ``rewrite`` hook, in the order they were added."""
        acting = self._acting("rewrite", call, site_wide=False) + self._acting("rewrite", call, site_wide=True)
        for hook in acting:
            assert hook.change is not None
            answer = hook.change(answer)
        return answer


# -- ready-made rewrites ---------------------------------------------------------------------------------


def replace_key(key: str, value: Any) -> Callable[[Any], Any]:
    """A rewrite that sets every ``key`` in the answer, at any depth, to ``value``
    (e.g. ``replace_key("timecompleted", 10**13)``, ``replace_key("id", 2**70)``)."""

    def change(answer: Any) -> Any:
        if isinstance(answer, dict):
            return {k: value if k == key else change(v) for k, v in answer.items()}
        if isinstance(answer, list):
            return [change(v) for v in answer]
        return answer

    return change


def deeply_nested(depth: int, leaf: str = "0") -> Raw:
    """A JSON body of ``depth`` nested arrays: too deep for a recursive decoder at a few thousand."""
    return Raw(b"[" * depth + leaf.encode() + b"]" * depth)
