"""``Sandbox``: start one local Moodle-compatible server per site, stop them together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from lmsbridge.sandbox.seed import SeedSpec, build_site
from lmsbridge.sandbox.server import SiteServer
from lmsbridge.sandbox.state import Clock, SiteState
from lmsbridge.sandbox.store import StateStore

__all__ = ["Sandbox", "SiteHandle"]


@dataclass
class SiteHandle:
    """One running site: where it answers, its tokens, and its state."""

    name: str
    url: str
    token: str
    state: SiteState
    server: SiteServer = field(repr=False)
    admin_token: str = ""
    learner_token: str = ""

    @property
    def rest_url(self) -> str:
        return f"{self.url}/webservice/rest/server.php"

    @property
    def token_url(self) -> str:
        return f"{self.url}/login/token.php"


class Sandbox:
    """Running sandbox sites. Use ``Sandbox.start(...)`` as a context manager."""

    def __init__(self, sites: Mapping[str, SiteHandle], store: StateStore | None = None) -> None:
        self.sites: dict[str, SiteHandle] = dict(sites)
        self.store = store
        self._stopped = False

    @classmethod
    def start(
        cls,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        state_path: str | Path | None = None,
        seed: str | SeedSpec = "default",
        *,
        fault_mode: str = "503",
        fault_seed: int = 0,
        ports: Mapping[str, int] | None = None,
        clock: Clock | None = None,
        debug: bool = False,
    ) -> Sandbox:
        """Start one server per site.

        ``latency``: seconds added to every request (in its own thread); ``fault_rate``: share of
        requests answered with a fault (``fault_mode``: "503", "drop", "drop_after" or "mixed"; the
        draws come from ``random.Random(fault_seed)``); ``state_path``: SQLite file that keeps the
        sites between runs (an existing file wins over ``seed``); ``seed``: "default" (the recorded
        lab sites), "empty", or a ``SeedSpec`` for bulk data; ``ports``: fixed ports per site
        (default: ephemeral); ``clock``: time source (tests pin it); ``debug``: error bodies carry
        ``debuginfo`` as with Moodle's debugging on.
        """
        spec = seed if isinstance(seed, SeedSpec) else SeedSpec(base=seed)
        store = StateStore(state_path) if state_path is not None else None
        handles: dict[str, SiteHandle] = {}
        try:
            for name in spec.sites:
                saved = store.load(name) if store is not None else None
                if saved is not None:
                    state = SiteState(name, clock=clock)
                    state.restore(saved)
                else:
                    state = build_site(name, clock=clock, base=spec.base)
                    if spec.courses and spec.enrolments:
                        state.bulk_seed(spec.courses, spec.enrolments, activities=spec.activities, seed=spec.rng_seed)
                state.settings.debug = debug or state.settings.debug
                state.set_latency(latency)
                state.set_fault_rate(fault_rate)
                server = SiteServer(state, port=(ports or {}).get(name, 0), fault_mode=fault_mode, fault_seed=fault_seed)
                state.store = store
                state.commit()
                handles[name] = SiteHandle(
                    name=name, url=server.url, token=_token(state, "ws"), state=state, server=server,
                    admin_token=_token(state, "admin"), learner_token=_token(state, "learner"),
                )
                server.start()
        except BaseException:
            for handle in handles.values():
                handle.server.stop()
            if store is not None:
                store.close()
            raise
        return cls(handles, store)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for handle in self.sites.values():
            handle.server.stop()
            handle.state.commit()
        if self.store is not None:
            self.store.close()

    def __getitem__(self, name: str) -> SiteHandle:
        return self.sites[name]

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Sandbox({', '.join(f'{n}={h.url}' for n, h in self.sites.items())})"


def _token(state: SiteState, kind: str) -> str:
    """The site's lmsbridge token (kind "ws"), the admin's, or the recorded learner's (u01)."""
    for token in state.tokens.values():
        user = state.users.get(token.userid)
        if user is None:
            continue
        if kind == "ws" and user.role == "ws":
            return token.token
        if kind == "admin" and user.role == "admin":
            return token.token
        if kind == "learner" and user.role == "user":
            return token.token
    return ""

