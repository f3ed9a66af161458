"""core_message_send_instant_messages.

Recorded behaviour: per-message failures are not exceptions but items with ``msgid: -1`` and an
``errormessage`` (unknown user; recipient's privacy when the sender shares no course with them and
lacks moodle/site:messageanyuser); the site setting ``messaging`` = 0 raises ``disabled``; a message to
oneself is accepted in its own conversation (the ks/lp message fixtures).
"""

from __future__ import annotations

from typing import Any

from lmsbridge.sandbox.exceptions import moodle_error
from lmsbridge.sandbox.params import DEFAULT, OPTIONAL, Multiple, Single, Value
from lmsbridge.sandbox.present import format_text
from lmsbridge.sandbox.registry import Call, ws
from lmsbridge.sandbox.wire import ABSENT


def _may_message(call: Call, touserid: int) -> bool:
    caller = call.caller
    if caller.id == touserid or caller.is_admin:
        return True
    if caller.role == "ws" and call.state.settings.ws_can_message_any_user:
        return True
    # messagingallusers = 0: only contacts and people in a shared course
    mine = {c.id for c in call.state.courses_of(caller.id)}
    return any(c.id in mine for c in call.state.courses_of(touserid))


@ws("core_message_send_instant_messages",
    Single({"messages": Multiple(Single({
        "touserid": Value("int"),
        "text": Value("raw"),
        "textformat": Value("int", DEFAULT, 0),
        "clientmsgid": Value("alphanumext", OPTIONAL),
    }))}), writes=True)
def send_instant_messages(call: Call) -> list[dict[str, Any]]:
    state = call.state
    if not state.settings.messaging:
        raise moodle_error("disabled", "Messaging is disabled on this site")
    out = []
    for item in call.params["messages"]:
        clientmsgid = item.get("clientmsgid", ABSENT)
        recipient = state.user(item["touserid"])
        if recipient is None:
            error = f"You cannot send a message to a user ID ({item['touserid']}) that doesn't exist."
        elif not _may_message(call, recipient.id):
            error = f"You can't message {recipient.fullname} due to their message preferences. Try adding them as a contact."
        else:
            error = ""
        if error:
            out.append({"msgid": -1, "clientmsgid": clientmsgid, "text": ABSENT, "timecreated": ABSENT,
                        "conversationid": ABSENT, "useridfrom": ABSENT, "candeletemessagesforallusers": False,
                        "errormessage": error})
            continue
        text = format_text(str(item["text"]), item["textformat"])
        message = state.send_message(call.caller.id, item["touserid"], text,
                                     None if clientmsgid is ABSENT else str(clientmsgid))
        out.append({
            "msgid": message.id, "clientmsgid": clientmsgid, "text": text, "timecreated": message.timecreated,
            "conversationid": message.conversationid, "useridfrom": message.useridfrom,
            "candeletemessagesforallusers": False, "errormessage": ABSENT,
        })
    return out
