"""The pseudonym secret and the ledger (issue 11 item 4): the ledger keeps the secret's fingerprint; a run with
another secret refuses (exit 2) instead of writing every completion again; ``--rotate-secret`` re-keys the
ledger in one transaction with the old secret. Over the in-process sandbox (tests/sync/test_engine.py)."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from lmsbridge.errors import ConfigError
from lmsbridge.ledger import Ledger
from lmsbridge.sandbox import Sandbox
from lmsbridge.sync import SyncOptions, run_sync
from lmsbridge.sync.identity import learner_key
from lmsbridge.sync.secret import FINGERPRINT_MESSAGE, fingerprint, rotate_secret
from tests.sync.helpers import SECRET, Clock, make_clients, make_config, publish_seeded

NEW = "a-brand-new-pseudonym-secret-9876"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db") as led:
        publish_seeded(led)
        yield led


def run(sandbox: Sandbox, ledger: Ledger, tmp: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, secret: str,
        **kw: object) -> object:
    monkeypatch.setenv("TEST_PSEUDONYM", secret)
    urls = {name: site.url for name, site in sandbox.sites.items()}
    clients = make_clients(urls, tokens={n: s.token for n, s in sandbox.sites.items()},
                           dry_run=bool(kw.get("dry_run")))
    options = SyncOptions(dry_run=bool(kw.pop("dry_run", False)))
    return run_sync(config=make_config(urls, tmp=tmp), clients=clients, ledger=ledger, options=options, clock=clock,
                    **kw)  # type: ignore[arg-type]


def calls(sandbox: Sandbox) -> int:
    return sum(site.state.call_count for site in sandbox.sites.values())


def test_the_fingerprint_tells_secrets_apart_and_reveals_none() -> None:
    assert fingerprint(SECRET.encode()) == fingerprint(SECRET.encode()) != fingerprint(NEW.encode())
    assert fingerprint(SECRET.encode()) == hmac.new(SECRET.encode(), FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()
    assert SECRET not in fingerprint(SECRET.encode())


def test_another_secret_refuses_instead_of_writing_everything_again(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: another pseudonym secret silently rewrote all completions to the owner and doubled the ledger."""
    run(sandbox, ledger, tmp_path, clock, monkeypatch, SECRET)
    assert ledger.secret_fingerprint() == fingerprint(SECRET.encode())  # the first secret used is the ledger's
    assert [e.action for e in ledger.events()].count("sync.secret.adopted") == 1
    before, made = len(ledger.completions()), calls(sandbox)
    clock.tick(minutes=15)
    for dry_run in (False, True):
        with pytest.raises(ConfigError) as refused:
            run(sandbox, ledger, tmp_path, clock, monkeypatch, NEW, dry_run=dry_run)
        assert refused.value.exit_code == 2 and "--rotate-secret" in str(refused.value)
        assert NEW not in str(refused.value) and SECRET not in str(refused.value)
    assert len(ledger.completions()) == before and calls(sandbox) == made  # nothing asked, nothing written


def test_a_ledger_from_before_fingerprints_adopts_the_first_secret(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sandbox, ledger, tmp_path, clock, monkeypatch, SECRET, dry_run=True)  # a dry run only checks
    assert ledger.secret_fingerprint() is None
    clock.tick(minutes=15)
    run(sandbox, ledger, tmp_path, clock, monkeypatch, SECRET)
    assert ledger.secret_fingerprint() == fingerprint(SECRET.encode())


def test_rotation_rekeys_every_pseudonym_in_one_event_and_the_next_run_writes_nothing(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sandbox, ledger, tmp_path, clock, monkeypatch, SECRET)
    ledger.record_certificate_notice(course_key="lp:HBHF-SMITTE-01", learner_key=learner_key(SECRET.encode(), "lp", 10),
                                     due_date=date(2026, 12, 31))
    old_pairs = {(c.learner_key, c.owner_activity) for c in ledger.completions()}
    lp = sandbox.sites["lp"].state
    writes = lp.calls_by_function.get("core_completion_override_activity_completion_status", 0)
    clock.tick(minutes=15)
    # a dry run says what would be re-keyed and changes nothing
    planned = run(sandbox, ledger, tmp_path, clock, monkeypatch, NEW, dry_run=True, rotate_from=SECRET.encode())
    assert planned.rotation.planned and planned.rotation.rows == {  # type: ignore[attr-defined]
        "completions": 5, "certificate_notices": 1, "failed_items": 2}
    assert planned.written == 0 and planned.shares[0].planned_writes == 0  # type: ignore[attr-defined]
    assert {(c.learner_key, c.owner_activity) for c in ledger.completions()} == old_pairs
    summary = run(sandbox, ledger, tmp_path, clock, monkeypatch, NEW, rotate_from=SECRET.encode())
    assert summary.exit_code == 0 and summary.written == 0  # type: ignore[attr-defined]
    assert summary.rotation.rows == {  # type: ignore[attr-defined]
        "completions": 5, "certificate_notices": 1, "failed_items": 2}
    new = NEW.encode()
    assert {(c.learner_key, c.owner_activity) for c in ledger.completions()} == {
        (learner_key(new, "lp", uid), cmid) for uid, cmid in ((4, "12"), (4, "13"), (10, "12"), (10, "13"), (12, "12"))}
    assert [n.learner_key for n in ledger.certificate_notices()] == [learner_key(new, "lp", 10)]
    assert {f.item_key for f in ledger.list_failures()} == {learner_key(new, "ks", 18), learner_key(new, "ks", 19)}
    assert ledger.secret_fingerprint() == fingerprint(new)
    assert ledger.verify().ok  # the moved rows are vouched for: old keys stamped as removed, new ones stamped
    assert [e.action for e in ledger.events()].count("sync.secret.rotated") == 1
    assert ledger.path is not None
    with sqlite3.connect(ledger.path) as raw:  # a row put back under an old key by hand: it is seen
        raw.execute("INSERT INTO completions SELECT share_id, ?, owner_activity, borrower_activity, time_completed, "
                    "synced_at FROM completions LIMIT 1", (learner_key(SECRET.encode(), "lp", 4),))
    assert [p.code for p in ledger.verify().row_problems] == ["ledger.verify.row.unrecorded"]
    with sqlite3.connect(ledger.path) as raw:
        raw.execute("DELETE FROM completions WHERE learner_key = ?", (learner_key(SECRET.encode(), "lp", 4),))
    assert lp.calls_by_function.get("core_completion_override_activity_completion_status", 0) == writes
    clock.tick(minutes=15)
    again = run(sandbox, ledger, tmp_path, clock, monkeypatch, NEW, rotate_from=SECRET.encode())
    assert again.rotation.already and again.written == 0  # type: ignore[attr-defined]


def test_rotation_refuses_a_wrong_old_secret_or_pseudonyms_it_cannot_find(
    tmp_path: Path, sandbox: Sandbox, ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sandbox, ledger, tmp_path, clock, monkeypatch, SECRET)
    before = [(c.learner_key, c.owner_activity) for c in ledger.completions()]
    with pytest.raises(ConfigError, match="gamle hemmeligheten er ikke"):
        rotate_secret(ledger, old=b"not-the-old-secret-at-all", new=NEW.encode())
    with pytest.raises(ConfigError, match=r"3 pseudonymer .* opp til 11"):  # lp 12, ks 18 and 19 are above 11
        rotate_secret(ledger, old=SECRET.encode(), new=NEW.encode(), max_user_id=11)
    assert [(c.learner_key, c.owner_activity) for c in ledger.completions()] == before
    assert ledger.secret_fingerprint() == fingerprint(SECRET.encode())
