"""One client clone per worker thread, each with its own HTTP session, closed together at the end.

``requests.Session`` is not safe to share between threads, so concurrent reads (the sync's platform pools,
the certificate courses' completion reads) give each worker thread a clone of the platform's client; the
clones share the call counts and the planned calls of the client they came from.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from lmsbridge.adapters.client import MoodleClient


class WorkerClients:
    """``get()`` gives the calling thread its own clone of ``client`` (made on first use)."""

    def __init__(self, client: MoodleClient, *, settings: Mapping[str, str] | None = None) -> None:
        self.client = client
        self._settings = dict(settings or {})
        self._local = threading.local()
        self._clones: list[MoodleClient] = []
        self._lock = threading.Lock()

    def get(self) -> MoodleClient:
        clone: MoodleClient | None = getattr(self._local, "client", None)
        if clone is None:
            clone = self.client.clone(settings=self._settings)
            self._local.client = clone
            with self._lock:
                self._clones.append(clone)
        return clone

    def close(self) -> None:
        with self._lock:
            clones, self._clones = self._clones, []
        for clone in clones:
            clone.close()


__all__ = ["WorkerClients"]
