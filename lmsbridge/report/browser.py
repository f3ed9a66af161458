"""Headless Chromium, driven over the DevTools protocol on a pipe: a page's screenshot, console errors and
network requests, and values read from it.

Used to check the report the way a person sees it (tests) and to draw its picture for the README
(``scripts/report-screenshot``). ``--remote-debugging-pipe`` speaks the protocol on file descriptors 3
(commands in) and 4 (answers and events out), one JSON message per NUL-terminated line: no port, no
websocket library, nothing another process on the machine could talk to. The browser runs with a throwaway
profile and without background networking, so a page that asks the network for anything is seen asking.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmsbridge.errors import LmsbridgeError
from lmsbridge.i18n import Message

#: Debian's package, then the other usual names.
EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """The Chromium to use: ``LMSBRIDGE_CHROMIUM``, else the first of ``EXECUTABLES`` on the PATH."""
    given = os.environ.get("LMSBRIDGE_CHROMIUM")
    if given:
        return given
    return next((found for name in EXECUTABLES if (found := shutil.which(name))), None)


class BrowserError(LmsbridgeError):
    """Chromium could not be started, answered with an error, or did not answer in time."""


@dataclass
class PageCheck:
    """What loading a page showed."""

    url: str
    #: Console errors, uncaught exceptions and failed loads, as the browser reported them.
    errors: list[str] = field(default_factory=list)
    #: Every URL the page requested besides itself (a self-contained page requests none).
    requests: list[str] = field(default_factory=list)
    #: The full-page screenshot (PNG).
    png: bytes = b""
    #: Values read with ``evaluate`` (name → result).
    values: dict[str, Any] = field(default_factory=dict)


class Chromium:
    """One headless Chromium process; use as a context manager."""

    def __init__(self, executable: str | None = None, *, timeout: float = 30.0) -> None:
        found = executable or find_chromium()
        if not found:
            raise BrowserError(Message("browser.missing"))
        self.executable = found
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._profile = tempfile.mkdtemp(prefix="lmsbridge-chromium-")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Chromium:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def pipes_as_3_and_4() -> None:  # in the child, before exec
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        try:
            self._process = subprocess.Popen(
                [self.executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(3, 4), preexec_fn=pipes_as_3_and_4,  # the child has no threads before exec
            )
        except OSError as exc:
            raise BrowserError(Message("browser.cannot_start", path=self.executable, error=str(exc))) from exc
        finally:
            os.close(to_browser_read)
            os.close(from_browser_write)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                with contextlib.suppress(BrowserError):
                    self.send("Browser.close", timeout=5)
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- the protocol ------------------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(Message("browser.timeout", seconds=self.timeout))
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError(Message("browser.gone"))
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, params: Mapping[str, Any] | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """One command; its result. Events that arrive meanwhile are kept for ``wait_for``/``events``."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": dict(params or {})}
        if session:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode("utf-8") + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise BrowserError(Message("browser.failed", method=method,
                                               error=str(message["error"].get("message", ""))))
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def wait_for(self, method: str, *, session: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == method and (session is None or event.get("sessionId") == session):
                    del self._events[index]
                    return event
            self._events.append(self._read_message(deadline))

    # -- a page --------------------------------------------------------------------------------------------

    def check_page(self, url: str, *, width: int = 1000, height: int = 1400,
                   evaluate: Mapping[str, str] | None = None, settle: float = 0.3) -> PageCheck:
        """Load ``url`` in a new tab; its console errors, requests, full-page screenshot and ``evaluate``d
        values (name → JavaScript expression, returned by value)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session=session)
        time.sleep(settle)  # let late console messages arrive
        check = PageCheck(url)
        for name, expression in (evaluate or {}).items():
            answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                               session=session)
            if "exceptionDetails" in answer:
                check.errors.append(f"evaluate {name}: {answer['exceptionDetails'].get('text', '')}")
            check.values[name] = answer.get("result", {}).get("value")
        metrics = self.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        }, session=session)
        check.png = base64.b64decode(shot["data"])
        self.send("Target.closeTarget", {"targetId": target})
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            check.errors.extend(_error_of(event))
            if event.get("method") == "Network.requestWillBeSent":
                requested = str(event["params"]["request"]["url"])
                if requested != url:
                    check.requests.append(requested)
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return check

    def pdf(self, url: str) -> bytes:
        """The page printed to PDF on A4 (its ``@page`` rules decide the margins)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session=session)
        printed = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True},
                            session=session)
        self.send("Target.closeTarget", {"targetId": target})
        return base64.b64decode(printed["data"])


def _error_of(event: Mapping[str, Any]) -> list[str]:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return [f"exception: {details.get('exception', {}).get('description') or details.get('text', '')}"]
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return ["console: " + " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])]
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        return [f"log: {params['entry'].get('text', '')} {params['entry'].get('url', '')}".strip()]
    if method == "Network.loadingFailed":
        return [f"load failed: {params.get('errorText', '')}"]
    return []


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


__all__ = ["EXECUTABLES", "BrowserError", "Chromium", "PageCheck", "file_url", "find_chromium"]
