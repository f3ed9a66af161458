"""The HTTP side: ``/webservice/rest/server.php`` and ``/login/token.php`` for one site.

``handle_rest`` and ``handle_token`` turn a decoded form into a ``Reply`` (status, content type, body)
without sockets, in Moodle's order of checks (REFERENCE.md §1): token, then the function (unknown:
``dml_missing_record_exception``; not in the service: ``webservice_access_exception``), then the
parameters, then the function itself. Every error is an HTTP 200 Moodle error body; a Python
exception inside a function becomes one too, so nothing a client sends can stop the server.

``answer`` is one whole request as a web server sees it (target, content type, body → ``Reply``):
the site's latency, its seeded share of faults (``RandomFaults``), the test hooks
(``lmsbridge.sandbox.hooks``), then the path's handler. Both front doors use it: ``SiteServer``
(127.0.0.1, a ``ThreadingHTTPServer``, keep-alive, one thread per connection) and the in-process
transport adapter (``lmsbridge.sandbox.inprocess``). Latency is a sleep in the request's own thread
before it is handled, so other clients are not held up; faults answer HTTP 503, or drop the connection
before (``drop``) or after (``drop_after``: the call ran, the answer is lost) handling: a ``Reply``
with ``drop`` set, which each front door turns into its own kind of cut connection.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import logging
import random
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lmsbridge.sandbox import functions as _functions  # noqa: F401 - registers the functions
from lmsbridge.sandbox.exceptions import (
    MOODLE_EXCEPTION,
    MoodleError,
    access_exception,
    invalid_parameter,
    missing_record,
    moodle_error,
)
from lmsbridge.sandbox.hooks import Fault, HookCall, Raw
from lmsbridge.sandbox.models import Token
from lmsbridge.sandbox.params import validate
from lmsbridge.sandbox.registry import KNOWN_FUNCTIONS, REGISTRY, RETURNS, Call
from lmsbridge.sandbox.state import SiteState
from lmsbridge.sandbox.wire import (
    decode_form,
    render_exception_json,
    render_exception_xml,
    render_json,
    render_xml,
)

__all__ = [
    "FAULT_MODES",
    "RandomFaults",
    "Reply",
    "SiteServer",
    "answer",
    "handle_request",
    "handle_rest",
    "handle_token",
    "parse_request",
]

log = logging.getLogger(__name__)

REST_PATH = "/webservice/rest/server.php"
TOKEN_PATH = "/login/token.php"  # noqa: S105 - a URL path
RESERVED = ("wstoken", "wsfunction", "moodlewsrestformat")
JSON_TYPE = "application/json"
XML_TYPE = "application/xml; charset=utf-8"
TOKEN_TYPE = "application/json; charset=utf-8"  # noqa: S105 - a content type
FAULT_MODES = ("503", "drop", "drop_after", "mixed")


HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    #: cut the connection instead of sending this reply (a "drop" fault)
    drop: bool = False


DROPPED = Reply(0, "", b"", drop=True)
NOT_FOUND = Reply(404, HTML_TYPE, b"<html><body><h1>404 Not Found</h1></body></html>")


def _status_reply(status: int) -> Reply:
    phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    return Reply(status, HTML_TYPE, f"<html><body><h1>{status} {phrase}</h1></body></html>".encode())


def _error_reply(error: MoodleError, fmt: str, debug: bool) -> Reply:
    debuginfo = error.debuginfo if debug else None
    if fmt == "json":
        return Reply(200, JSON_TYPE, render_exception_json(error.exception_class, error.errorcode, error.message, debuginfo))
    return Reply(200, XML_TYPE, render_exception_xml(error.exception_class, error.errorcode, error.message, debuginfo))


def _format(form: dict[str, Any]) -> str:
    return "json" if form.get("moodlewsrestformat") == "json" else "xml"


def handle_rest(state: SiteState, form: dict[str, Any]) -> Reply:
    """One REST call, answered the way Moodle's REST server does (with the function's hooks)."""
    fmt = _format(form)
    if not state.settings.enablewebservices:
        return Reply(403, "text/html", b"")
    wsfunction = form.get("wsfunction")
    name = wsfunction if isinstance(wsfunction, str) else ""
    faulted = False  # answered with a fault instead: not a served call
    lost = False  # the call runs, then its answer (an error too) is lost
    try:
        token = form.get("wstoken")
        caller = state.user_for_token(token) if isinstance(token, str) else None
        if caller is None:
            raise MoodleError(MOODLE_EXCEPTION, "invalidtoken", "Invalid token - token not found")
        if caller.suspended:
            raise moodle_error("wsaccessusersuspended", f"Refused web service access for suspended username: {caller.username}")
        if not name:
            raise invalid_parameter("Missing parameter wsfunction")
        function = REGISTRY.get(name)
        if function is None and name not in KNOWN_FUNCTIONS:
            raise missing_record("external_functions")
        listed = state.settings.service_functions
        if function is None or (listed is not None and name not in listed):
            raise access_exception(name)
        timezone = form.get("moodlewssettingtimezone")
        lang = form.get("moodlewssettinglang")
        raw = {k: v for k, v in form.items() if k not in RESERVED and not k.startswith("moodlewssetting")}
        params = validate(function.params, raw)
        seen = HookCall(name, params)
        fault = state.hooks.fault(seen)
        if fault is not None and fault.error is not None:
            raise fault.error
        if fault is not None and fault.drop != "after":
            faulted = True
            state.record_fault(name)
            return DROPPED if fault.drop else _status_reply(fault.status or 503)
        lost = fault is not None
        seconds = state.hooks.delay(seen)
        if seconds > 0:
            time.sleep(seconds)
        state.log_call(name, caller.id, params)
        call = Call(state, caller, name, params, timezone if isinstance(timezone, str) and timezone else None,
                    lang if isinstance(lang, str) and lang else "en")
        with state.lock:
            try:
                result = function.handler(call)
            finally:
                if function.writes:
                    state.commit()
        if lost:
            state.record_fault(name)
            return DROPPED
        result = state.hooks.rewrite(seen, result)
        if isinstance(result, Raw):
            return Reply(200, result.content_type, result.body)
        body = render_json(result) if fmt == "json" else render_xml(result, RETURNS.get(name))
        return Reply(200, JSON_TYPE if fmt == "json" else XML_TYPE, body)
    except MoodleError as error:
        if lost:
            state.record_fault(name)
            return DROPPED
        return _error_reply(error, fmt, state.settings.debug)
    except Exception as exc:  # a bug in the sandbox: answer like Moodle's default exception handler
        log.exception("sandbox %s: %s failed", state.name, name)
        general = MoodleError(MOODLE_EXCEPTION, "generalexceptionmessage", f"Error: {exc}", repr(exc))
        return _error_reply(general, fmt, state.settings.debug)
    finally:
        if not faulted:
            state.record_call(name)


def _token_error(errorcode: str, message: str) -> Reply:
    body = {"error": message, "errorcode": errorcode, "stacktrace": None, "debuginfo": None, "reproductionlink": None}
    return Reply(200, TOKEN_TYPE, render_json(body))


def handle_token(state: SiteState, form: dict[str, Any]) -> Reply:
    """/login/token.php: the existing token of user+service, or a new one for users who may create one."""
    for required in ("username", "password", "service"):
        if not isinstance(form.get(required), str):
            return _token_error("missingparam", f"A required parameter ({required}) was missing")
    if not state.settings.enablewebservices:
        return _token_error("enablewsdescription", "Web services must be enabled in Advanced features.")
    with state.lock:
        user = state.user_by_username(str(form["username"]))
        if user is None or user.role == "guest" or not user.password or user.password != form["password"] or user.suspended:
            return _token_error("invalidlogin", "Invalid login, please try again")
        service = str(form["service"])
        if service != state.settings.service:
            return _token_error("servicenotavailable", "Web service is not available. (It doesn't exist or might be disabled.)")
        token = state.token_of(user.id, service)
        if token is None:
            if user.is_admin or not (user.can_create_token or user.role == "ws"):
                return _token_error("cannotcreatetoken", f"No permission to create web service token for the service {service}.")
            token = secrets.token_hex(16)
            state.tokens[token] = Token(token, user.id, service)
            state.commit()
    return Reply(200, TOKEN_TYPE, render_json({"token": token, "privatetoken": None}))


def _multipart(body: bytes, content_type: str) -> list[tuple[str, str]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, str]] = []
    if not message.is_multipart():
        return pairs
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        pairs.append((name, payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""))
    return pairs


def parse_request(target: str, content_type: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """The path and the form of a request: the query and the body (urlencoded or multipart) merged, as
    PHP fills ``$_REQUEST`` (``$_POST`` wins)."""
    url = urlsplit(target)
    form = decode_form(parse_qsl(url.query, keep_blank_values=True))
    if body:
        if content_type.startswith("multipart/form-data"):
            posted = decode_form(_multipart(body, content_type))
        else:
            posted = decode_form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        form.update(posted)
    return url.path, form


def _fault_reply(fault: Fault, form: dict[str, Any], state: SiteState) -> Reply:
    if fault.error is not None:
        return _error_reply(fault.error, _format(form), state.settings.debug)
    return DROPPED if fault.drop else _status_reply(fault.status or 503)


def handle_request(state: SiteState, path: str, form: dict[str, Any]) -> Reply:
    """One decoded request: the site-wide hooks, then REST, token.php or 404."""
    wsfunction = form.get("wsfunction") if path == REST_PATH else None
    name = wsfunction if isinstance(wsfunction, str) else ""
    seen = HookCall(name, form)
    seconds = state.hooks.delay(seen, site_wide=True)
    if seconds > 0:
        time.sleep(seconds)
    fault = state.hooks.site_fault(seen)
    if fault is not None and fault.drop != "after":
        if fault.error is None:
            state.record_fault(name)
        return _fault_reply(fault, form, state)
    if path == REST_PATH:
        reply = handle_rest(state, form)
    elif path == TOKEN_PATH:
        reply = handle_token(state, form)
    else:
        reply = NOT_FOUND
    if fault is not None:  # the request was handled, its answer is lost
        state.record_fault(name)
        return DROPPED
    return reply


class RandomFaults:
    """The site's seeded share of faults (``SiteState.fault_rate``): which fault, if any, a request gets."""

    def __init__(self, mode: str = "503", seed: int = 0) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"fault_mode must be one of {FAULT_MODES}")
        self.mode = mode
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, rate: float) -> str | None:
        if rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= rate:
                return None
            if self.mode == "mixed":
                return self._rng.choice(("503", "drop", "drop_after"))
        return self.mode


def answer(state: SiteState, faults: RandomFaults, target: str, content_type: str, body: bytes) -> Reply:
    """One request as the web server sees it: latency, a drawn fault, then ``handle_request``."""
    if state.latency > 0:
        time.sleep(state.latency)
    fault = faults.draw(state.fault_rate)
    if fault == "503":
        state.record_fault()
        return _status_reply(503)
    if fault == "drop":
        state.record_fault()
        return DROPPED
    try:
        path, form = parse_request(target, content_type, body)
        reply = handle_request(state, path, form)
    except Exception as exc:  # never let one request take the site down
        log.exception("sandbox %s: request failed", state.name)
        reply = Reply(200, JSON_TYPE, render_exception_json(MOODLE_EXCEPTION, "generalexceptionmessage", f"Error: {exc}", None))
    if fault == "drop_after":
        state.record_fault()
        return DROPPED
    return reply


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, state: SiteState, port: int, fault_mode: str, fault_seed: int) -> None:
        self.state = state
        self.faults = RandomFaults(fault_mode, fault_seed)
        super().__init__(("127.0.0.1", port), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed, timed out) is routine for a web server, not a traceback on stderr."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("sandbox %s: client %s went away", self.state.name, client_address, exc_info=True)
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SiteHTTPServer
    server_version = "Apache"
    sys_version = ""
    # buffered writes: headers and body leave in one segment when handle_one_request flushes
    wbufsize = 1 << 16

    def setup(self) -> None:
        super().setup()
        # one write per response and no Nagle delay: otherwise each call waits ~40 ms for a delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length) if length > 0 else b"")

    def _serve(self, body: bytes) -> None:
        reply = answer(self.server.state, self.server.faults, self.path, self.headers.get("Content-Type", ""), body)
        if reply.drop:
            self._drop()
        else:
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "private, must-revalidate, pre-check=0, post-check=0, max-age=0")
        self.end_headers()
        self.wfile.write(reply.body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SiteServer:
    """One site served on 127.0.0.1 (an ephemeral port unless ``port`` is given)."""

    def __init__(self, state: SiteState, *, port: int = 0, fault_mode: str = "503", fault_seed: int = 0) -> None:
        if fault_mode not in FAULT_MODES:
            raise ValueError(f"fault_mode must be one of {FAULT_MODES}")  # before the port is bound
        self.state = state
        self._httpd = _SiteHTTPServer(state, port, fault_mode, fault_seed)
        self.port: int = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        state.settings.siteurl = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{state.name}", daemon=True)

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

