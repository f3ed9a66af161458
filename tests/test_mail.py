"""Request e-mails: an .eml in the outbox, and a real SMTP delivery on loopback."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from lmsbridge.config import SmtpConfig
from lmsbridge.errors import TransportError
from lmsbridge.mail import Mailer

WHEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_eml_written_in_outbox_and_idempotent(tmp_path: Path) -> None:
    mailer = Mailer(tmp_path / "outbox")
    first = mailer.deliver(to="kslaring@ks.no", subject="Deling", body="Hei æøå", key="share-S1-request", when=WHEN)
    second = mailer.deliver(to="kslaring@ks.no", subject="Deling", body="Hei æøå", key="share-S1-request", when=WHEN)
    assert first.path == second.path and first.message_id == second.message_id
    assert list((tmp_path / "outbox").iterdir()) == [first.path]
    parsed = email.message_from_bytes(first.path.read_bytes())
    assert parsed["To"] == "kslaring@ks.no"
    payload = parsed.get_payload(decode=True)
    assert isinstance(payload, bytes) and "æøå" in payload.decode("utf-8")
    assert first.sent is False


def test_sent_over_real_smtp_on_loopback(tmp_path: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    mailer = Mailer(tmp_path / "outbox", SmtpConfig(host="127.0.0.1", port=port, sender="lmsbridge@helse-bergen.no"))
    delivery = mailer.deliver(to="kslaring@ks.no", subject="Forespørsel om deling", body="Kurs X", key="k1", when=WHEN)
    assert delivery.sent
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == "Forespørsel om deling"
    assert inbox.messages[0]["Message-ID"] == delivery.message_id


def test_dead_smtp_server_is_a_readable_retriable_error(tmp_path: Path) -> None:
    mailer = Mailer(tmp_path / "outbox", SmtpConfig(host="127.0.0.1", port=9, timeout_seconds=2))
    with pytest.raises(TransportError, match=re.escape("kan ikke sende e-post via 127.0.0.1:9")) as caught:
        mailer.deliver(to="kslaring@ks.no", subject="s", body="b", key="k2", when=WHEN)
    assert f"e-posten er lagret i {tmp_path / 'outbox' / 'k2.eml'}" in str(caught.value)
    # The outbox copy is still there: nothing is lost.
    assert (tmp_path / "outbox" / "k2.eml").exists()
