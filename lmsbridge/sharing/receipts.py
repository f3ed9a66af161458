"""The e-mail of a share act to the contact point, with the act's receipt. Pure text building.

After each act (approve, reject, withdraw, publish, revoke) the share's contact point gets a short notice: who
acted on which platform, as the platform answered, and the receipt lmsbridge wrote onto the courses
(``lmsbridge.ledger.witnesses``), so a third party keeps the same witness of the ledger.
"""

from __future__ import annotations

from lmsbridge import i18n
from lmsbridge.i18n import N_
from lmsbridge.sharing.notices import Notice

#: What the act did to the share («… er godkjent»).
DONE: dict[str, str] = {
    "approve": N_("act_notice.done.approve"),
    "reject": N_("act_notice.done.reject"),
    "withdraw": N_("act_notice.done.withdraw"),
    "publish": N_("act_notice.done.publish"),
    "revoke": N_("act_notice.done.revoke"),
}

#: What the act means for the learners, in the other party's notice (issue 14: «with what happens to learners»).
LEARNERS: dict[str, str] = {
    "approve": N_("act_notice.learners.approve"),
    "reject": N_("act_notice.learners.reject"),
    "withdraw": N_("act_notice.learners.withdraw"),
    "publish": N_("act_notice.learners.publish"),
    "revoke": N_("act_notice.learners.revoke"),
}
#: A revoke made with ``--no-sync`` (or whose last sync did not go through): completions may be left behind.
LEARNERS_REVOKE_UNSYNCED = N_("act_notice.learners.revoke_unsynced")
#: A revoke whose last sync left items it could not bring back (exit 4).
LEARNERS_REVOKE_PARTLY = N_("act_notice.learners.revoke_partly")


def receipt_block(receipt: str, lang: str | None = None) -> str:
    """The receipt paragraph of an e-mail (the request's, and each act's)."""
    return i18n.t("act_notice.receipt", lang, receipt=receipt)


def act_notice(*, to: str, share_id: str, act: str, course: str, owner_org: str, borrower_org: str, who: str,
               platform: str, reason: str, receipt: str, signature: str = "", learners: str = "",
               lang: str | None = None) -> Notice:
    """The notice of one act to the contact point ``to``: what was done, by whom, what it means for the learners
    (``learners``: a code of ``LEARNERS``' kind, by default the act's own) and the act's receipt."""
    lang = i18n.normalise_language(lang) if lang else None
    done = i18n.t(DONE[act], lang)
    values = {"share": share_id, "course": course, "owner_org": owner_org, "borrower_org": borrower_org,
              "who": who, "platform": platform, "done": done}
    parts = [i18n.t("act_notice.body", lang, **values)]
    if reason.strip():
        parts.append(i18n.t("act_notice.reason", lang, reason=reason.strip()))
    parts.append(i18n.t(learners or LEARNERS[act], lang, **values))
    parts.append(receipt_block(receipt, lang))
    if signature.strip():
        parts.append(signature.strip())
    return Notice(to=to, subject=i18n.t("act_notice.subject", lang, **values), body="\n\n".join(parts) + "\n")


__all__ = ["DONE", "LEARNERS", "LEARNERS_REVOKE_PARTLY", "LEARNERS_REVOKE_UNSYNCED", "act_notice", "receipt_block"]
