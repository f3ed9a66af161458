"""``Sandbox``: the seeded sites, served over HTTP (``start``) or in this process (``in_process``)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests

from lmsbridge.sandbox.inprocess import InProcessAdapter, routed, site_url
from lmsbridge.sandbox.seed import SeedSpec, build_site
from lmsbridge.sandbox.server import RandomFaults, SiteServer
from lmsbridge.sandbox.state import Clock, SiteState
from lmsbridge.sandbox.store import StateStore

__all__ = ["Sandbox", "SiteHandle"]


@dataclass
class SiteHandle:
    """One running site: where it answers, its tokens, and its state; ``server`` over HTTP, ``adapter``
    in process (the other one is None)."""

    name: str
    url: str
    token: str
    state: SiteState
    server: SiteServer | None = field(default=None, repr=False)
    admin_token: str = ""
    learner_token: str = ""
    adapter: InProcessAdapter | None = field(default=None, repr=False)

    @property
    def rest_url(self) -> str:
        return f"{self.url}/webservice/rest/server.php"

    @property
    def token_url(self) -> str:
        return f"{self.url}/login/token.php"


class Sandbox:
    """Running sandbox sites. Use ``Sandbox.start(...)`` or ``Sandbox.in_process(...)`` as a context manager."""

    def __init__(self, sites: Mapping[str, SiteHandle], store: StateStore | None = None,
                 cleanup: ExitStack | None = None) -> None:
        self.sites: dict[str, SiteHandle] = dict(sites)
        self.store = store
        self._cleanup = cleanup or ExitStack()
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
            for name, state in _seeded(spec, store, latency, fault_rate, clock, debug):
                server = SiteServer(state, port=(ports or {}).get(name, 0), fault_mode=fault_mode, fault_seed=fault_seed)
                state.store = store
                state.commit()
                handles[name] = _handle(name, server.url, state, server=server)
                server.start()
        except BaseException:
            for handle in handles.values():
                if handle.server is not None:
                    handle.server.stop()
            if store is not None:
                store.close()
            raise
        return cls(handles, store)

    @classmethod
    def in_process(
        cls,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        state_path: str | Path | None = None,
        seed: str | SeedSpec = "default",
        *,
        fault_mode: str = "503",
        fault_seed: int = 0,
        clock: Clock | None = None,
        debug: bool = False,
        route: bool = True,
    ) -> Sandbox:
        """The same sites without sockets (``lmsbridge.sandbox.inprocess``): each site answers at
        ``site_url(name)`` (``http://ks.sandbox.invalid``) through its ``InProcessAdapter``, in the
        calling thread. With ``route`` (the default) every ``requests`` session in the process reaches
        them while the sandbox is open, so a config pointing at ``sites[name].url`` just works (the CLI,
        ``MoodleTransport.clone()``); without it, mount the adapters yourself (``session()``).
        The other arguments are ``start``'s."""
        spec = seed if isinstance(seed, SeedSpec) else SeedSpec(base=seed)
        store = StateStore(state_path) if state_path is not None else None
        handles: dict[str, SiteHandle] = {}
        for name, state in _seeded(spec, store, latency, fault_rate, clock, debug):
            state.settings.siteurl = site_url(name)
            state.store = store
            state.commit()
            adapter = InProcessAdapter(state, RandomFaults(fault_mode, fault_seed))
            handles[name] = _handle(name, site_url(name), state, adapter=adapter)
        cleanup = ExitStack()
        if route:
            cleanup.enter_context(routed({h.url + "/": h.adapter for h in handles.values() if h.adapter}))
        return cls(handles, store, cleanup)

    def session(self) -> requests.Session:
        """A new session with every in-process site's adapter mounted (no process-wide routing needed)."""
        session = requests.Session()
        for handle in self.sites.values():
            if handle.adapter is None:
                raise ValueError("session() is for an in-process sandbox; a served one is reached over HTTP")
            session.mount(handle.url + "/", handle.adapter)
        return session

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._cleanup.close()
        for handle in self.sites.values():
            if handle.server is not None:
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


def _seeded(spec: SeedSpec, store: StateStore | None, latency: float, fault_rate: float, clock: Clock | None,
            debug: bool) -> list[tuple[str, SiteState]]:
    """Each site's state: loaded from the store when it has the site, else seeded."""
    out = []
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
        out.append((name, state))
    return out


def _handle(name: str, url: str, state: SiteState, *, server: SiteServer | None = None,
            adapter: InProcessAdapter | None = None) -> SiteHandle:
    return SiteHandle(name=name, url=url, token=_token(state, "ws"), state=state, server=server,
                      admin_token=_token(state, "admin"), learner_token=_token(state, "learner"), adapter=adapter)


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

