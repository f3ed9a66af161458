"""One command, one transaction: all of it or none of it, also when the process is killed half-way."""

from __future__ import annotations

import pytest

from lmsbridge.errors import LedgerError
from lmsbridge.ledger import Ledger, LedgerConstraintError
from tests.ledger.support import NOW, child, kill_inside_transaction, new_share, wait_for


class Crash(Exception):
    pass


def test_an_exception_undoes_everything_the_command_wrote(ledger: Ledger) -> None:
    with pytest.raises(Crash), ledger.transaction() as tx:
        share = new_share(tx)
        tx.append_event(share_id=share.id, actor="Ola", action="request")
        tx.update_share_state(share.id, "approved")
        raise Crash
    assert ledger.list_shares() == []
    assert ledger.events() == []
    assert ledger.verify().ok


def test_a_refused_write_undoes_the_writes_before_it(ledger: Ledger) -> None:
    new_share(ledger, "same-key")
    with pytest.raises(LedgerConstraintError), ledger.transaction():
        ledger.append_event(share_id="S-0001", actor="Ola", action="approve")
        new_share(ledger, "same-key")  # the request key is unique
    assert [e.action for e in ledger.events()] == ["shares.recorded"]  # the first share's own event only
    assert ledger.verify().ok


def test_a_nested_transaction_is_a_savepoint(ledger: Ledger) -> None:
    with ledger.transaction():
        kept = new_share(ledger, "kept")
        with pytest.raises(Crash), ledger.transaction():
            new_share(ledger, "dropped")
            raise Crash
        ledger.append_event(share_id=kept.id, actor="Ola", action="request")
    assert [s.request_key for s in ledger.list_shares()] == ["kept"]
    assert [e.action for e in ledger.events()] == ["request"]


def test_writes_outside_a_transaction_commit_on_their_own(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as writer:
        new_share(writer)
        assert not writer.in_transaction
    with Ledger.open(ledger_url) as reader:
        assert [s.id for s in reader.list_shares()] == ["S-0001"]


def test_naive_times_are_refused(ledger: Ledger) -> None:
    from datetime import datetime

    with pytest.raises(LedgerError, match="timezone"):
        ledger.append_event(share_id=None, actor="a", action="b", at=datetime(2026, 1, 1))


def test_sigkill_before_commit_leaves_the_previous_state(ledger_url: str) -> None:
    with Ledger.open(ledger_url, clock=lambda: NOW) as ledger, ledger.transaction():
        new_share(ledger, "before")
        ledger.append_event(share_id="S-0001", actor="Ola", action="request")
    kill_inside_transaction(ledger_url, """
        ledger.update_share_state("S-0001", "approved")
        ledger.append_event(share_id="S-0001", actor="Kari", action="approve")
        ledger.create_share(**{**ledger.require_share("S-0001").model_dump(
            include={"flow", "owner_platform", "owner_course_id", "owner_course_shortname", "owner_org",
                     "borrower_platform", "borrower_org", "initiator", "licence_at_share", "label",
                     "owner_support", "borrower_support", "contact_point"}), "request_key": "during"})
    """)
    with Ledger.open(ledger_url) as ledger:
        share = ledger.require_share("S-0001")
        assert share.state == "requested"
        assert [s.request_key for s in ledger.list_shares()] == ["before"]
        assert [e.action for e in ledger.events()] == ["request"]
        assert ledger.verify().ok
        # … and the ledger takes writes again at once (no lock left behind).
        with ledger.transaction():
            ledger.update_share_state("S-0001", "approved")
            ledger.append_event(share_id="S-0001", actor="Kari", action="approve")
        assert ledger.verify().ok and ledger.verify().events == 2


def test_concurrent_writers_keep_one_chain(ledger_url: str) -> None:
    # A share command and a sync run writing at the same time: writers queue, the chain stays whole.
    Ledger.open(ledger_url).close()
    writers = [
        child(f"""
            import sys
            from lmsbridge.ledger import Ledger
            with Ledger.open({ledger_url!r}) as ledger:
                print("ready", flush=True)
                sys.stdin.readline()
                for i in range(25):
                    with ledger.transaction():
                        ledger.append_event(share_id=None, actor="writer-{n}", action=f"step-{{i}}")
        """)
        for n in (1, 2)
    ]
    for writer in writers:
        wait_for(writer, "ready")
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        _, err = writer.communicate()
        assert writer.returncode == 0, err
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
        assert (report.ok, report.events) == (True, 50)
        assert {e.actor for e in ledger.events()} == {"writer-1", "writer-2"}


def test_threads_sharing_one_ledger_keep_one_chain(ledger: Ledger) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(n: int) -> None:
        with ledger.transaction():
            ledger.append_event(share_id=None, actor=f"thread-{n % 4}", action="step")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(40)))
    assert ledger.verify().events == 40 and ledger.verify().ok


def test_a_writer_that_gave_up_waiting_takes_writes_again(ledger_url: str) -> None:
    # Another writer holds the ledger past busy_timeout: this one fails, and is usable once it is free.
    with Ledger.open(ledger_url, busy_timeout=0.2) as first, Ledger.open(ledger_url, busy_timeout=0.2) as second:
        with first.transaction():
            first.append_event(share_id=None, actor="first", action="hold")
            with pytest.raises(LedgerError):
                second.append_event(share_id=None, actor="second", action="too-early")
        assert not second.in_transaction
        second.append_event(share_id=None, actor="second", action="after")
        assert [e.action for e in second.events()] == ["hold", "after"]
        assert second.verify().ok
