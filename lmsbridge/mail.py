"""E-mail to contact points: an ``.eml`` file in the outbox folder always, and SMTP when configured.

The agreement routes all contact about sharing through one address (seed 002: kslaring@ks.no), and
downtime notices to the other party's contact point. The ``.eml`` copy is written atomically (temp file
+ rename) so an interrupted run never leaves half a message; the Message-ID is derived from a stable
key so re-running the same request produces the same message, not a second one.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import socket
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from pydantic import SecretStr

from lmsbridge import i18n
from lmsbridge.config import SmtpConfig
from lmsbridge.errors import ConfigError, InputError, RetriableError, TransportError
from lmsbridge.i18n import Message
from lmsbridge.sharing.notices import header_text

#: Addresses (and the key header) are cleaned like a subject, but not cut as short.
MAX_ADDRESS_TEXT = 900


@dataclass(frozen=True)
class Delivery:
    path: Path
    message_id: str
    sent: bool


def message_id_for(key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@lmsbridge>"


def build_message(
    *, sender: str, to: str, subject: str, body: str, key: str, when: datetime, cc: tuple[str, ...] = (),
    reply_to: str = "",
) -> EmailMessage:
    """The message, every header cleaned (``header_text``): a line break in a course's name or in a notice's
    text never stops a message from being written, nor adds a header to it."""
    message = EmailMessage()
    message["From"] = header_text(sender, MAX_ADDRESS_TEXT)
    message["To"] = header_text(to, MAX_ADDRESS_TEXT)
    if cc:
        message["Cc"] = header_text(", ".join(cc), MAX_ADDRESS_TEXT)
    if reply_to:
        message["Reply-To"] = header_text(reply_to, MAX_ADDRESS_TEXT)
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id_for(key)
    message["X-Lmsbridge-Key"] = header_text(key, MAX_ADDRESS_TEXT)
    message.set_content(body, charset="utf-8")
    return message


def _safe_name(key: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in key)
    return keep.strip("-.")[:80] or "message"


def write_eml(outbox: Path, message: EmailMessage, key: str) -> Path:
    """Write the message to ``outbox/<key>.eml`` atomically; an existing copy is left as it is."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(Message("mail.outbox_failed", path=outbox, reason=i18n.os_reason(exc))) from None
    target = outbox / f"{_safe_name(key)}.eml"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(dir=outbox, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(Message("mail.write_failed", path=target, reason=i18n.os_reason(exc))) from None
    return target


def send_smtp(
    config: SmtpConfig, message: EmailMessage, password: SecretStr | None = None, *, saved: Path | None = None
) -> None:
    """Send over SMTP (STARTTLS when configured). Network failures are retriable errors.

    ``saved`` is where the copy of the message was written (the messages say so); never the password."""
    where = str(saved) if saved is not None else "outbox/"
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username and password is not None:
                smtp.login(config.username, password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise RetriableError(
            Message("mail.login_refused", host=config.host, port=config.port, code=exc.smtp_code, saved=where)
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = _smtp_reason(exc)
        raise TransportError(
            Message("mail.send_failed", host=config.host, port=config.port, reason=reason, saved=where)
        ) from None


def _smtp_reason(exc: smtplib.SMTPException | OSError) -> Message:
    """Why sending failed, in the user's language (the server's own text is left out: it may quote the message)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return Message("mail.reason.refused", code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return Message("mail.reason.recipients")
    if isinstance(exc, socket.gaierror):
        return Message("mail.reason.unknown_host")
    if isinstance(exc, TimeoutError):
        return Message("mail.reason.timeout")
    if isinstance(exc, ConnectionRefusedError):
        return Message("mail.reason.connection_refused")
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException) and exc.errno is not None:
        return i18n.os_reason(exc)
    return Message.text(exc.__class__.__name__)


class Mailer:
    """Writes every message to the outbox, and sends it when SMTP is configured."""

    def __init__(self, outbox: Path, smtp: SmtpConfig | None = None, *, sender: str | None = None,
                 operator_name: str = "", operator_email: str = "") -> None:
        """``operator_name`` and ``operator_email`` (``[operator]``): the person the contact point answers. The
        name shows as the sender, the address stays the configured one (the SMTP server's domain vouches for
        it), and replies go to the operator."""
        self.outbox = outbox
        self.smtp = smtp
        address = sender or (smtp.sender if smtp else "") or operator_email or "lmsbridge@localhost"
        name = operator_name.strip()
        self.sender = formataddr((name, address)) if name and "<" not in address else address
        self.reply_to = operator_email.strip()

    def _password(self) -> SecretStr | None:
        if self.smtp and self.smtp.password_env:
            value = os.environ.get(self.smtp.password_env, "")
            return SecretStr(value) if value else None
        return None

    def deliver(
        self, *, to: str, subject: str, body: str, key: str, when: datetime, cc: tuple[str, ...] = (), send: bool = True
    ) -> Delivery:
        message = build_message(sender=self.sender, to=to, subject=subject, body=body, key=key, when=when, cc=cc,
                                reply_to=self.reply_to)
        path = write_eml(self.outbox, message, key)
        sent = False
        if self.smtp and send:
            send_smtp(self.smtp, message, self._password(), saved=path)
            sent = True
        return Delivery(path=path, message_id=str(message["Message-ID"]), sent=sent)


def probe_smtp(config: SmtpConfig) -> Message:
    """``doctor``: connect, STARTTLS and log in as a send would, then say goodbye without sending anything.
    What it found, or the error a send would meet: a password not set or refused is configuration (exit 2),
    a server that does not answer a transport error (exit 3)."""
    password = os.environ.get(config.password_env, "") if config.password_env else ""
    if config.username and not password:
        raise ConfigError(Message("mail.probe.no_password", env=config.password_env or "password_env"),
                          key="smtp.password_env")
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, password)
            smtp.noop()
    except smtplib.SMTPAuthenticationError as exc:
        raise ConfigError(Message("mail.probe.login_refused", host=config.host, port=config.port,
                                  code=exc.smtp_code), key="smtp.username") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(Message("mail.probe.failed", host=config.host, port=config.port,
                                     reason=_smtp_reason(exc))) from None
    return Message("mail.probe.ok", host=config.host, port=config.port, starttls="STARTTLS" if config.starttls else "-",
                   user=config.username or "-")
