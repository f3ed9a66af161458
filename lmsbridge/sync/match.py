"""Match: who each borrower-side learner is on the owner platform, and making sure they can be written to.

Takes the run context, a share, the owner course's participants (a ``Directory``, :mod:`lmsbridge.sync.courses`)
and the learners. Gives:

* ``known_owners``: each learner matched against the owner course's participants by the configured keys
  (no call; ``username`` only between platforms that share usernames); a learner left unmatched last time is
  looked up on the owner site again before any read. Keys that disagree are an identity conflict.
* ``resolve_owners``: the learners with something new who are not participants, looked up on the owner site
  (``core_user_get_users_by_field``, batched per key); the rest, by policy, given a manual account
  (``create``) or counted as unmatched (``skip``).
* ``enrol``: who is not in the owner course yet, enrolled as a student when ``enrol_missing`` allows (one
  batch; one by one when the batch fails, to find the learner that spoils it).

A learner that cannot be matched, created or enrolled is a failed item in the share's outcome; one whose keys
disagree (found by one key, another key differs) is a failed item of kind ``conflict``, for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from lmsbridge.adapters import MoodleClient
from lmsbridge.errors import ConfigError, RecordError
from lmsbridge.i18n import Message
from lmsbridge.ledger import Share
from lmsbridge.sync.context import Learner, NewCompletions, RunContext
from lmsbridge.sync.identity import (
    Directory,
    IdentityKey,
    Match,
    Person,
    lookup_values,
    match,
    person_of,
    usable_keys,
)
from lmsbridge.sync.outcome import KIND_CONFLICT, KIND_UNMATCHED, ShareOutcome
from lmsbridge.sync.plan import SharePlan
from lmsbridge.sync.reason import cause


@dataclass
class Owners:
    """The owner-side match of each learner (by borrower user id), and who was found outside the course."""

    found: dict[int, Match] = field(default_factory=dict)
    enrol: set[int] = field(default_factory=set)  # found on the owner site, not among the course's participants


def share_keys(ctx: RunContext, share: Share) -> tuple[IdentityKey, ...]:
    """The identity keys compared between this share's two platforms (``username`` only where the pair shares
    usernames); none left is a configuration error (exit 2)."""
    shared = ctx.settings.usernames_shared(share.owner_platform, share.borrower_platform)
    keys = usable_keys(ctx.settings.identity_keys, usernames=shared)
    if not keys:
        raise ConfigError(Message("sync.match.no_keys", owner=share.owner_platform, borrower=share.borrower_platform),
                          key="sync.identity_keys")
    return keys


def known_owners(ctx: RunContext, plan: SharePlan, learners: Sequence[Learner], directory: Directory,
                 out: ShareOutcome) -> tuple[Owners, list[Learner]]:
    """Each learner's match among the owner course's participants; a learner unmatched last time is looked up
    again on the owner site. Returns the matches and the learners still worth going on with (not those left
    unmatched, nor those whose keys disagree: an identity conflict)."""
    keys = share_keys(ctx, plan.share)
    owners = Owners()
    with ctx.directory_lock:
        for learner in learners:
            owners.found[learner.person.id] = match(learner.person, directory, keys)
    stopped = {lr.person.id for lr in learners if _conflict(owners.found[lr.person.id], lr, out)}
    # A learner left unmatched last time had something to bring back: look them up before reading.
    retry = [lr for lr in learners if lr.person.id not in stopped and not owners.found[lr.person.id].found
             and plan.failed.before(lr.person.id, [KIND_UNMATCHED])]
    looked = lookup_owners(ctx, plan.share, [lr.person for lr in retry]) if retry else {}
    for learner in retry:
        hit = looked.get(learner.person.id, Match(None, tried=keys))
        if _conflict(hit, learner, out):
            stopped.add(learner.person.id)
        elif hit.person is None or hit.person.suspended:
            out.unmatched += 1
            reason = Message("sync.failure.owner_suspended") if hit.person else hit.reason
            out.item_failed(learner.item_key, reason, kind=KIND_UNMATCHED)
            stopped.add(learner.person.id)
        else:
            owners.found[learner.person.id] = hit
            owners.enrol.add(learner.person.id)
    return owners, [lr for lr in learners if lr.person.id not in stopped]


def _conflict(hit: Match, learner: Learner, out: ShareOutcome) -> bool:
    """An identity conflict is a failed item for a person to resolve (which keys disagree), never a match."""
    if hit.conflict:
        out.item_failed(learner.item_key, hit.reason, kind=KIND_CONFLICT)
    return bool(hit.conflict)


def lookup_owners(ctx: RunContext, share: Share, people: list[Person]) -> dict[int, Match]:
    """Look learners up on the owner site by each key in order (``core_user_get_users_by_field``, batched);
    emails are asked for in their exact and lower-case forms, since Moodle compares them with case. A learner
    whose account's keys disagree is kept as a conflict."""
    pool = ctx.pools[share.owner_platform]
    keys = share_keys(ctx, share)
    result: dict[int, Match] = {}
    for key in keys:
        still = [p for p in people if p.id not in result]
        values = lookup_values(still, key)
        if not values:
            continue
        users = pool.call(partial(MoodleClient.users_by_field, field=key, values=values))
        found = Directory.of(person_of(u) for u in users)
        for person in still:
            hit = match(person, found, keys)
            if hit.person is not None or hit.conflict:
                result[person.id] = hit
    return result


def resolve_owners(ctx: RunContext, share: Share, unresolved: list[NewCompletions], directory: Directory,
                   out: ShareOutcome) -> None:
    """Learners with something new who are not among the owner course's participants."""
    if not unresolved:
        return
    looked = lookup_owners(ctx, share, [p.learner.person for p in unresolved])
    left: list[NewCompletions] = []
    for item in unresolved:
        hit = looked.get(item.learner.person.id)
        if hit is not None and _conflict(hit, item.learner, out):
            continue
        if hit is None or hit.person is None:
            left.append(item)
        elif hit.person.suspended:
            out.item_failed(item.learner.item_key, Message("sync.failure.owner_suspended"))
        else:
            item.owner, item.match = hit.person, hit
            item.needs_enrol = hit.person.id not in directory
    if not left:
        return
    if ctx.settings.unmatched == "skip":
        for item in left:
            out.unmatched += 1
            out.item_failed(item.learner.item_key, item.match.reason, kind=KIND_UNMATCHED)
        return
    _create_owners(ctx, share, left, out)


def _create_owners(ctx: RunContext, share: Share, left: list[NewCompletions], out: ShareOutcome) -> None:
    """Policy ``create``: a manual account on the owner site, with the learner's own idnumber and email."""
    pool = ctx.pools[share.owner_platform]
    for item in left:
        person = item.learner.person
        if not (person.firstname and person.lastname and person.email):
            users = ctx.pools[share.borrower_platform].call(
                partial(MoodleClient.users_by_field, field="id", values=[person.id])
            )
            if users:
                person = person_of(users[0])
        username = (person.email or person.username).strip().lower()
        record = {
            "username": username,
            "firstname": person.firstname or person.fullname or username,
            "lastname": person.lastname or "-",
            "email": person.email,
            "idnumber": person.idnumber,
            "createpassword": 1,
        }
        try:
            created = pool.call(partial(MoodleClient.create_users, users=[record]))
        except RecordError as exc:
            out.item_failed(item.learner.item_key, Message("sync.failure.creating", cause=cause(exc)))
            continue
        out.created += 1
        if not created:  # dry run: planned only, no id to write with
            out.planned_writes += len(item.new)
            continue
        item.owner = Person(id=created[0].id, username=created[0].username, idnumber=person.idnumber,
                            email=person.email)
        item.needs_enrol = True


def enrol(ctx: RunContext, share: Share, owner_course: int, items: list[NewCompletions], directory: Directory,
          out: ShareOutcome) -> list[NewCompletions]:
    """Enrol who is not yet in the owner course (when allowed); returns the items ready to write."""
    ready = [p for p in items if not p.needs_enrol]
    waiting = [p for p in items if p.needs_enrol]
    if not waiting:
        return ready
    if not ctx.settings.enrol_missing:
        for item in waiting:
            out.item_failed(item.learner.item_key, Message("sync.failure.not_enrolled"))
        return ready
    roleid = ctx.student_role(share.owner_platform)
    pool = ctx.pools[share.owner_platform]

    def enrolment(item: NewCompletions) -> dict[str, int]:
        assert item.owner is not None
        return {"roleid": roleid, "userid": item.owner.id, "courseid": owner_course}

    try:
        pool.call(lambda c: c.enrol([enrolment(p) for p in waiting]))
        done = waiting
    except RecordError:
        # enrol_manual_enrol_users is all-or-nothing: find the one that spoils the batch.
        done = []
        for item in waiting:
            try:
                pool.call(partial(MoodleClient.enrol, enrolments=[enrolment(item)]))
                done.append(item)
            except RecordError as exc:
                out.item_failed(item.learner.item_key, Message("sync.failure.enrolling", cause=cause(exc)))
    out.enrolled += len(done)
    if not ctx.options.dry_run:
        with ctx.directory_lock:
            directory.add(p.owner for p in done if p.owner is not None)
    return ready + done


__all__ = ["Owners", "enrol", "known_owners", "lookup_owners", "resolve_owners", "share_keys"]
