"""A line break in a course's full name or in a notice's text never stops an e-mail, nor adds a header to it.

Once, a CR/LF in a course's full name ended ``share request`` in a traceback (``Header values may not contain
linefeed``) AFTER the share was committed, and no e-mail was ever written. Over the in-process sandbox, through
the CLI: the e-mail is written, its headers are clean, the text is still there (as spaces).
"""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from lmsbridge.sandbox import Sandbox
from lmsbridge.sharing.notices import MAX_HEADER_TEXT, header_text
from tests.sandbox_cli import run, write_config

HOSTILE = "Smittevern\r\nBcc: angriper@example.com\r\n\r\nFalsk innhold\x00\x1b[31m\u2028slutt"
AGREEMENT = ("[agreement]\nstart = 2016-07-01\nrenewals = [" + ", ".join(f"{y}-07-01" for y in range(2017, 2027)) +
             ']\n[operator]\nname = "Ola Hansen"\norganisation = "Helse Bergen HF"')


@pytest.fixture
def config(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_config(sandbox, tmp_path, monkeypatch, extra=AGREEMENT)


def read_eml(path: str | Path) -> email.message.EmailMessage:
    message = email.message_from_bytes(Path(path).read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def assert_clean_headers(message: email.message.EmailMessage) -> None:
    assert message["Bcc"] is None and message.defects == []
    for name, value in message.items():
        assert "\r" not in value and "\n" not in value and "\x00" not in value, name


def test_share_request_with_a_line_break_in_the_full_name_writes_a_clean_email(sandbox: Sandbox,
                                                                                config: Path) -> None:
    lp = sandbox.sites["lp"].state
    with lp.changing():
        lp.courses[5].fullname = HOSTILE
    result = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01", "--json")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    message = read_eml(json.loads(result.output)["email"])
    assert_clean_headers(message)
    assert message["Subject"].startswith("Forespørsel om deling av kurs: Smittevern Bcc: angriper@example.com")
    assert message["To"] == "kslaring@ks.no"
    again = run(config, "share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01", "--json")
    assert json.loads(again.output)["created"] is False  # the one share, the one e-mail
    assert len(list((config.parent / "outbox").glob("*.eml"))) == 1


def test_notify_downtime_with_a_line_break_in_affected_writes_a_clean_email(config: Path) -> None:
    result = run(config, "notify", "downtime", "--from", "lp", "--start", "2026-12-01T18:00",
                 "--end", "2026-12-01T22:00", "--affected", HOSTILE, "--json")
    assert result.exit_code == 0, result.output
    (notice,) = json.loads(result.output)["notices"]
    message = read_eml(notice["path"])
    assert_clean_headers(message)
    assert "Smittevern Bcc: angriper@example.com Falsk innhold" in message["Subject"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Smittevern – basale rutiner", "Smittevern – basale rutiner"),
    ("a\r\nb\rc\nd\te\x00f\x7fg\x85h\u2028i\u2029j", "a b c d e f g h i j"),
    ("  spaces   inside  ", "spaces inside"),
    ("", ""),
])
def test_header_text(text: str, expected: str) -> None:
    assert header_text(text) == expected


def test_header_text_is_bounded() -> None:
    long = header_text("Kurs " * 200)
    assert len(long) == MAX_HEADER_TEXT and long.endswith("…")
