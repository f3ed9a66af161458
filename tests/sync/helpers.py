"""Shared set-up for sync tests: a config, clients with no-wait retries, a ledger with published shares."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.config import Config, parse_config
from lmsbridge.ledger import Ledger, Share
from lmsbridge.sync.identity import learner_key

SECRET = "test-pseudonym-secret-0123456789"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def borrower_key(userid: int, platform: str = "ks") -> str:
    """A borrower learner's pseudonym: what failed_items keeps instead of its user id."""
    return learner_key(SECRET.encode(), platform, userid)


def make_config(urls: dict[str, str], *, tmp: Path, report: dict[str, int | None] | None = None,
                sync: dict[str, Any] | None = None, certificates: dict[str, Any] | None = None) -> Config:
    platforms: dict[str, Any] = {}
    for name, url in urls.items():
        platforms[name] = {
            "title": name, "url": url, "role": "municipal" if name == "ks" else "hospital",
            "organisation": "KS" if name == "ks" else "Helse Bergen HF", "token_env": f"TOKEN_{name.upper()}",
            "completion_report_id": (report or {}).get(name),
        }
    data: dict[str, Any] = {"ledger": str(tmp / "ledger.db"), "platforms": platforms,
                            "sync": {"pseudonym_secret_env": "TEST_PSEUDONYM", **(sync or {})}}
    if certificates:
        data["certificates"] = certificates
    return parse_config(data)


def no_wait() -> RetryPolicy:
    return RetryPolicy(attempts=3, max_time=60, sleep=lambda _s: None, clock=lambda: 0.0)


def make_clients(urls: dict[str, str], *, dry_run: bool = False, tokens: dict[str, str] | None = None,
                 retry: RetryPolicy | None = None) -> dict[str, MoodleClient]:
    return {
        name: MoodleClient(MoodleTransport(url, (tokens or {}).get(name, f"token-{name}"), retry=retry or no_wait(),
                                           name=name), dry_run=dry_run)
        for name, url in urls.items()
    }


def publish(ledger: Ledger, *, owner: str, owner_course: int | None, owner_shortname: str, borrower: str,
            borrower_course: int | None, borrower_shortname: str | None, key: str = "k1") -> Share:
    flow = "hospital-to-ks" if owner == "lp" else "hospital-shares-ks-course"
    share = ledger.create_share(
        flow=flow, owner_platform=owner, owner_course_id=owner_course, owner_course_shortname=owner_shortname,
        owner_org="Helse Bergen HF" if owner == "lp" else "KS", borrower_platform=borrower,
        borrower_org="KS" if borrower == "ks" else "Helse Bergen HF", initiator="Ola Hansen",
        licence_at_share="CC BY", label="delt til KS Læring", owner_support="owner support",
        borrower_support="borrower support", contact_point="kslaring@ks.no", request_key=key, now=T0,
    )
    ledger.update_share_state(share.id, "approved", now=T0)
    return ledger.update_share_state(share.id, "published", now=T0, borrower_course_id=borrower_course,
                                     borrower_course_shortname=borrower_shortname)


def publish_seeded(ledger: Ledger) -> Share:
    """The sandbox's seeded share: lp owns HBHF-SMITTE-01 (course 5), ks borrows it as KSL-HBHF-SMITTE-01 (course
    3) (seed_data.json)."""
    return publish(ledger, owner="lp", owner_course=5, owner_shortname="HBHF-SMITTE-01", borrower="ks",
                   borrower_course=3, borrower_shortname="KSL-HBHF-SMITTE-01")


def kill_when(process: subprocess.Popen[Any], event: threading.Event, *, timeout: float = 120) -> None:
    """SIGKILL ``process`` as soon as ``event`` is set (it must be, within ``timeout`` seconds)."""
    try:
        assert event.wait(timeout=timeout), process.communicate(timeout=5)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def ticking(start: datetime = T0) -> Iterator[datetime]:
    now = start
    while True:
        yield now
        now += timedelta(seconds=1)
