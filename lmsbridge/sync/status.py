"""``sync status``: the last run, each published share's cursor, and the failed items (from the ledger).

A failed item's reason is rendered when shown, in the reader's language (:mod:`lmsbridge.sync.reason`).

A failed learner is kept under its pseudonym on the borrower platform, never its user id (issue 11 item 8):
the ledger alone says which course and which kind of trouble, not who. To act, an operator who has the
pseudonym secret and the borrower platform's token asks ``sync status --reveal`` (:func:`reveal`): the
borrower course's participants are read live and their pseudonyms computed, so the learner is named on the
terminal and nowhere else; for an identity conflict the owner accounts its key finds are looked up as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmsbridge.adapters import MoodleClient
from lmsbridge.i18n import Message
from lmsbridge.ledger import LEARNER_FAILURE_KINDS, FailedItem, Ledger
from lmsbridge.sync.identity import KEYS, Person, learner_key, lookup_values, person_of
from lmsbridge.sync.outcome import reason_code


@dataclass(frozen=True)
class ShareCursor:
    share_id: str
    owner: str
    borrower: str
    course: str
    cursor: datetime | None
    completions: int
    #: Learners on the borrower side with no account on the owner (kept for the next try, not failures).
    without_owner_account: int = 0


@dataclass(frozen=True)
class Revealed:
    """Who a failed learner is, as the borrower platform says now; for an identity conflict, also the owner
    accounts the key it was found by names."""

    learner: Person
    owner_accounts: tuple[Person, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        def person(p: Person) -> dict[str, Any]:
            return {"userid": p.id, "name": p.fullname or f"{p.firstname} {p.lastname}".strip(),
                    "username": p.username, "idnumber": p.idnumber, "email": p.email}

        return {**person(self.learner), "owner_accounts": [person(p) for p in self.owner_accounts]}


@dataclass
class SyncStatus:
    last_run: dict[str, Any] | None
    shares: list[ShareCursor] = field(default_factory=list)
    failures: list[FailedItem] = field(default_factory=list)
    #: Borrower learners with no account on the owner: kept and tried again, listed apart (nothing failed).
    unmatched: list[FailedItem] = field(default_factory=list)
    #: Each share's borrower platform and course (where a failed learner is), every share, revoked ones too.
    borrowers: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: ``--reveal``: (share, kind, key) of a failed learner → who it is, None when the borrower course no longer
    #: has them; empty when not asked.
    revealed: dict[tuple[str, str, str], Revealed | None] = field(default_factory=dict)

    def borrower_of(self, failure: FailedItem) -> str:
        platform, course = self.borrowers.get(failure.share_id, ("?", "?"))
        return f"{platform} {course}"

    def who(self, failure: FailedItem) -> Revealed | None:
        return self.revealed.get((failure.share_id, str(failure.item_kind), failure.item_key))

    @staticmethod
    def reason(failure: FailedItem) -> Message:
        return Message.from_stored(failure.reason)

    def failure_dicts(self, items: list[FailedItem] | None = None) -> list[dict[str, Any]]:
        """The failed items (or ``items``) for ``--json``: the ledger's fields, the reason in the current language
        and its code (None for a reason stored as text)."""
        out = []
        for failure in self.failures if items is None else items:
            data = failure.model_dump(mode="json")
            reason = self.reason(failure)
            data["reason"] = reason.render()
            data["reason_code"] = reason_code(reason)
            data["borrower_platform"], data["borrower_course"] = self.borrowers.get(failure.share_id, (None, None))
            if self.revealed:
                who = self.who(failure)
                data["revealed"] = who.as_dict() if who else None
            out.append(data)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_run": self.last_run,
            "shares": [
                {
                    "share": s.share_id,
                    "owner": s.owner,
                    "borrower": s.borrower,
                    "course": s.course,
                    "cursor": s.cursor.isoformat() if s.cursor else None,
                    "completions": s.completions,
                    "without_owner_account": s.without_owner_account,
                }
                for s in self.shares
            ],
            "failures": self.failure_dicts(),
            "without_owner_account": self.failure_dicts(self.unmatched),
        }


def sync_status(ledger: Ledger) -> SyncStatus:
    """The last run, each published share's cursor, and the failed items of the published shares. Learners with
    no account on the owner are counted per share, not listed as failures (nothing failed: the run tries them
    again later); the items of a share that is no longer published are left out (no run will retry them)."""
    shares = ledger.list_shares(state="published")
    published = {s.id for s in shares}
    counts: dict[str, int] = {}
    for row in ledger.completions():
        counts[row.share_id] = counts.get(row.share_id, 0) + 1
    last = ledger.last_run()
    last_run = last.model_dump(mode="json") if last else None
    if last is not None and last_run is not None and last.status == "running" and not ledger.run_alive(last):
        last_run["status"] = "interrupted"  # its process is gone; the next run marks it so in the ledger
    kept = [f for f in ledger.list_failures() if f.share_id in published]
    unmatched: dict[str, int] = {}
    for failure in kept:
        if failure.item_kind == "unmatched" and failure.share_id:
            unmatched[failure.share_id] = unmatched.get(failure.share_id, 0) + 1
    return SyncStatus(
        last_run=last_run,
        shares=[
            ShareCursor(
                s.id,
                s.owner_platform,
                s.borrower_platform,
                s.owner_course_shortname,
                ledger.get_cursor(s.id),
                counts.get(s.id, 0),
                unmatched.get(s.id, 0),
            )
            for s in shares
        ],
        failures=[f for f in kept if f.item_kind != "unmatched"],
        unmatched=[f for f in kept if f.item_kind == "unmatched"],
        borrowers={s.id: (s.borrower_platform, s.borrower_course_shortname or "-") for s in ledger.list_shares()},
    )


#: Fields asked of a borrower course's participants to name a failed learner.
REVEAL_FIELDS: tuple[str, ...] = ("id", "username", "idnumber", "email", "firstname", "lastname")


def reveal(status: SyncStatus, ledger: Ledger, client_for: Callable[[str], MoodleClient], secret: bytes, *,
           page_size: int = 500) -> None:
    """Name each failed learner in ``status.revealed``: one participant listing per borrower course, each
    participant's pseudonym computed with ``secret``. Reads only; prints and stores nothing itself."""
    learners = [f for f in [*status.failures, *status.unmatched] if str(f.item_kind) in LEARNER_FAILURE_KINDS]
    shares = {s.id: s for s in ledger.list_shares()}
    people: dict[str, dict[str, Person]] = {}  # share → pseudonym → participant
    for failure in learners:
        share = shares.get(failure.share_id)
        if share is None or share.borrower_course_id is None:
            status.revealed[(failure.share_id, str(failure.item_kind), failure.item_key)] = None
            continue
        if share.id not in people:
            users = client_for(share.borrower_platform).enrolled_users(
                share.borrower_course_id, page_size=page_size, userfields=REVEAL_FIELDS)
            people[share.id] = {learner_key(secret, share.borrower_platform, u.id): person_of(u) for u in users}
        learner = people[share.id].get(failure.item_key)
        owners: tuple[Person, ...] = ()
        if learner is not None and str(failure.item_kind) == "conflict":
            owners = _found_by(client_for(share.owner_platform), learner, Message.from_stored(failure.reason))
        status.revealed[(failure.share_id, str(failure.item_kind), failure.item_key)] = (
            Revealed(learner, owners) if learner is not None else None)


def _found_by(owner: MoodleClient, learner: Person, reason: Message) -> tuple[Person, ...]:
    """The owner accounts the key an identity conflict was found by names (what a person compares)."""
    key = next((k for k in KEYS if k == reason.values.get("by")), None)
    if key is None:
        return ()
    values = lookup_values([learner], key)
    return tuple(person_of(u) for u in owner.users_by_field(key, values)) if values else ()


__all__ = ["REVEAL_FIELDS", "Revealed", "ShareCursor", "SyncStatus", "reveal", "sync_status"]
