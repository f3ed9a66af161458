"""What the share acts print: a repeated act says the share «var allerede …» and changes nothing; ``--json`` on
every act, revoke included."""

from __future__ import annotations

import json

from tests.cli.test_exit_codes import APPROVED, LOGIN_LP, PUBLISHED, REQUEST, World, world  # noqa: F401


def test_a_repeated_approve_says_it_was_already_approved_and_records_nothing(world: World) -> None:  # noqa: F811
    for step in APPROVED:
        step(world)
    with world.ledger() as ledger:
        before = len(ledger.events("S-0001"))
    again = world.run(["share", "approve", "S-0001"])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == "Deling S-0001 var allerede godkjent: ingenting er endret"
    english = world.run(["share", "approve", "S-0001", "--lang", "en", "--json"])
    assert json.loads(english.stdout)["already"] is True and json.loads(english.stdout)["event"] is None
    with world.ledger() as ledger:
        assert len(ledger.events("S-0001")) == before


def test_reject_twice_and_revoke_twice_say_var_allerede(world: World) -> None:  # noqa: F811
    for step in (REQUEST, LOGIN_LP):
        step(world)
    first = world.run(["share", "reject", "S-0001", "--reason", "Utdatert"])
    assert first.output.splitlines()[0] == "Deling S-0001 avslått"
    second = world.run(["share", "reject", "S-0001", "--reason", "Utdatert"])
    assert second.exit_code == 0 and second.output.splitlines()[0] == (
        "Deling S-0001 var allerede avslått: ingenting er endret")


def test_revoke_reports_in_json_and_a_second_revoke_was_already_done(world: World) -> None:  # noqa: F811
    for step in PUBLISHED:
        step(world)
    done = world.run(["share", "revoke", "S-0001", "--reason", "Erstattet", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["share"]["state"] == "revoked" and data["already"] is False and data["event"] > 0
    again = world.run(["share", "revoke", "S-0001", "--reason", "Erstattet"])
    assert again.exit_code == 0
    assert again.output.splitlines()[0] == "Deling S-0001 var allerede avsluttet: ingenting er endret"
    planned = world.run(["share", "revoke", "S-0001", "--reason", "Erstattet", "--dry-run", "--json"])
    assert json.loads(planned.stdout)["planned"] == []
