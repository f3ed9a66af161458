"""The share request e-mail carries the reason, the operator as sender and Reply-To, and the platforms' titles."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from tests.cli.test_exit_codes import World, world  # noqa: F401


def request_email(world: World) -> EmailMessage:  # noqa: F811
    found = sorted((world.folder / "outbox").glob("*.eml"))
    assert len(found) == 1
    message = email.message_from_bytes(found[0].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_request_email_says_why_who_sends_it_and_names_the_platforms(world: World) -> None:  # noqa: F811
    result = world.run(["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-SMITTE-01",
                        "--reason", "Kommunene ønsker kurset før sommeren"])
    assert result.exit_code == 0, result.output
    message = request_email(world)
    body = message.get_content()
    assert "Kommunene ønsker kurset før sommeren" in body
    # [operator] in the demo's configuration: Ola Hansen, ola.hansen@helse-bergen.no
    assert message["From"].addresses[0].display_name == "Ola Hansen"
    assert str(message["Reply-To"]) == "ola.hansen@helse-bergen.no"
    assert "Ola Hansen" in body
    assert "på Læringsportal Helse Bergen" in body and "på KS Læring" in body
    assert " på lp" not in body and " på ks" not in body
