"""Bounded concurrency per platform: a worker pool each, one HTTP session per worker (``WorkerClients``).

Every web-service call of a run goes through its platform's pool, so ``concurrency`` bounds the calls in
flight on that platform whatever else is running. After a call gives up on transient failures (the
transport's retries are spent), the platform is marked unreachable and later calls to it fail at once
instead of each waiting out its own retries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from lmsbridge.adapters import MoodleClient, WorkerClients
from lmsbridge.errors import LmsbridgeError, RecordError, RetriableError
from lmsbridge.i18n import Message
from lmsbridge.sync.reason import UnexpectedError, cause

logger = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")

#: The cause a run gives its pools when it is interrupted (Ctrl-C, an error): never shown as unreachable.
INTERRUPTED = Message("sync.interrupted")


def down_reason(platform: str, cause: Message) -> Message:
    """Why a share stopped on a platform that cannot be reached, naming the platform once."""
    return Message("sync.platform_down", where="" if cause.placed else f"{platform}: ", cause=cause)


class PlatformUnreachable(RetriableError):
    """A platform already failed with transient errors in this run: its remaining work is not tried."""

    code = "unreachable"

    def __init__(self, platform: str, cause: Message) -> None:
        self.platform = platform
        self.cause = cause
        self.reason = down_reason(platform, cause)
        super().__init__(self.reason)


class PlatformPool:
    """Workers for one platform; each worker thread holds its own client clone (its own session)."""

    def __init__(self, client: MoodleClient, workers: int, on_down: Callable[[str, Message], None], *,
                 settings: Mapping[str, str] | None = None) -> None:
        self.name = client.name
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"lmsbridge-{self.name}")
        self._clients = WorkerClients(client, settings=settings)
        self._lock = threading.Lock()
        self._on_down = on_down
        self.down: Message | None = None  # why the platform is taken to be down

    def _run(self, fn: Callable[[MoodleClient], T]) -> T:
        down = self.down
        if down is not None:
            raise PlatformUnreachable(self.name, down)
        try:
            return fn(self._clients.get())
        except PlatformUnreachable:
            raise
        except RetriableError as exc:
            reason = cause(exc)
            self.mark_down(reason)
            raise PlatformUnreachable(self.name, reason) from exc

    def mark_down(self, reason: Message) -> None:
        with self._lock:
            if self.down is None:
                self.down = reason
        self._on_down(self.name, reason)

    def submit(self, fn: Callable[[MoodleClient], T]) -> Future[T]:
        return self._executor.submit(self._run, fn)

    def call(self, fn: Callable[[MoodleClient], T]) -> T:
        return self.submit(fn).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._clients.close()


class Pools:
    """One PlatformPool per platform, sized by ``concurrency`` (override) or each profile's own; ``settings``
    are session settings every worker's calls carry (unless the platform's client sets its own)."""

    def __init__(self, clients: Mapping[str, MoodleClient], sizes: Mapping[str, int], *,
                 settings: Mapping[str, str] | None = None) -> None:
        self.unreachable: dict[str, Message] = {}
        self._lock = threading.Lock()
        self.pools = {name: PlatformPool(client, sizes[name], self._down, settings=settings)
                      for name, client in clients.items()}

    def _down(self, platform: str, cause: Message) -> None:
        with self._lock:
            self.unreachable.setdefault(platform, cause)

    def __getitem__(self, platform: str) -> PlatformPool:
        return self.pools[platform]

    def __contains__(self, platform: object) -> bool:
        return platform in self.pools

    def interrupt(self) -> None:
        """The run stops (Ctrl-C, an error): later calls on every platform fail at once."""
        for pool in self.pools.values():
            pool.mark_down(INTERRUPTED)

    def shutdown(self) -> None:
        for pool in self.pools.values():
            pool.shutdown()


def results(jobs: Iterable[tuple[K, Future[T]]], record_failed: Callable[[K, RecordError], None],
            errors: list[LmsbridgeError]) -> Iterator[tuple[K, T]]:
    """Each job's result in order, as it comes. A ``RecordError`` (this item is bad) goes to ``record_failed``,
    and so does an exception lmsbridge did not foresee (``UnexpectedError``: the item fails, not the run); any
    other lmsbridge error is collected in ``errors`` (it stops the share once the rest is done)."""
    for key, future in jobs:
        try:
            result = future.result()
        except RecordError as exc:
            record_failed(key, exc)
            continue
        except LmsbridgeError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # one item's surprise is that item's failure
            logger.warning("unexpected error in one item of a sync", exc_info=exc)
            record_failed(key, UnexpectedError(exc))
            continue
        yield key, result


class Memo:
    """Compute each key once per run, even when several share workers ask at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future[Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._futures[key] = future
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        result: T = future.result()
        return result


__all__ = ["INTERRUPTED", "Memo", "PlatformPool", "PlatformUnreachable", "Pools", "down_reason", "results"]
