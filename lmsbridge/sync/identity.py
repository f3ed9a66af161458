"""Who a borrower-side learner is on the owner platform, and the pseudonym the ledger keeps for them.

Pure functions: no I/O. The recorded sites show why matching is careful (tests/fixtures/moodle/seed_data.json):
the same nurse has different usernames on the two sites (ks ``kari.nordmann@helse-bergen.no`` vs lp
``hb10001``); u09's email differs only in case (ks ``Nils.Kristiansen@Helse-Bergen.no``), and Moodle's email
lookup is case-sensitive (``ks__core_user_get_users_by_field__ok_email_case.json``: 0 hits); u10 has no
idnumber on ks. So keys are tried in the configured order, compared case-insensitively, an empty value never
matches, and a key that points at two different people is not used.

A match needs every configured key present on both sides to agree (issue 11 item 5): a learner whose username
names an owner account with another idnumber is an identity *conflict*, for a person to resolve, never a
match. Usernames belong to each site, so ``username`` is used only between two platforms configured to share
them (``sync.username_pairs``; :func:`usable_keys`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lmsbridge.adapters.models import EnrolledUser, User
from lmsbridge.i18n import Message

IdentityKey = Literal["idnumber", "email", "username"]
KEYS: tuple[IdentityKey, ...] = ("idnumber", "email", "username")

# The keys are the names of Moodle's user fields (and of the sync.identity_keys values): not translated.


@dataclass(frozen=True)
class Person:
    """A user as far as matching needs: the ids and the three keys (never stored in the ledger)."""

    id: int
    username: str = ""
    idnumber: str = ""
    email: str = ""
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    suspended: bool = False

    def key(self, name: IdentityKey) -> str:
        return normalise(getattr(self, name))


def normalise(value: str | None) -> str:
    """Keys compare without case and surrounding blanks (email case differs between sites)."""
    return (value or "").strip().casefold()


@dataclass(frozen=True)
class Match:
    """The owner-side person a learner matched, and by which key; or why there is none.

    ``conflict``: the keys present on both sides that disagree with the account ``key`` found (or that name
    another account): no match, a person has to look. ``tried``: the keys compared."""

    person: Person | None
    key: IdentityKey | None = None
    ambiguous: tuple[IdentityKey, ...] = ()
    conflict: tuple[IdentityKey, ...] = ()
    tried: tuple[IdentityKey, ...] = KEYS

    @property
    def found(self) -> bool:
        return self.person is not None

    @property
    def reason(self) -> Message:
        if self.person is not None:
            return Message("sync.match.by", key=str(self.key))
        if self.conflict:
            return Message("sync.match.conflict", by=str(self.key), keys="/".join(self.conflict))
        if self.ambiguous:
            return Message("sync.match.ambiguous", keys="/".join(self.ambiguous))
        return Message("sync.match.none", keys="/".join(self.tried))


@dataclass
class Directory:
    """People of one platform indexed by every identity key (normalised)."""

    people: dict[int, Person] = field(default_factory=dict)
    _index: dict[IdentityKey, dict[str, set[int]]] = field(default_factory=lambda: {k: {} for k in KEYS})

    @classmethod
    def of(cls, people: Iterable[Person]) -> Directory:
        directory = cls()
        directory.add(people)
        return directory

    def add(self, people: Iterable[Person]) -> None:
        for person in people:
            self.people[person.id] = person
            for key in KEYS:
                value = person.key(key)
                if value:
                    self._index[key].setdefault(value, set()).add(person.id)

    def __contains__(self, userid: object) -> bool:
        return userid in self.people

    def __len__(self) -> int:
        return len(self.people)

    def lookup(self, key: IdentityKey, value: str) -> list[Person]:
        ids = self._index[key].get(normalise(value), set())
        return [self.people[i] for i in sorted(ids)]


def match(learner: Person, directory: Directory, keys: Sequence[IdentityKey] = KEYS) -> Match:
    """The person the keys (in ``keys`` order) find in ``directory``, when every key present on both sides
    agrees with them; a key that names two people finds nobody."""
    tried = tuple(keys)
    found_by: dict[int, tuple[Person, IdentityKey]] = {}
    ambiguous: list[IdentityKey] = []
    for key in keys:
        value = learner.key(key)
        if not value:
            continue
        found = directory.lookup(key, value)
        if len(found) == 1:
            found_by.setdefault(found[0].id, (found[0], key))
        elif len(found) > 1:
            ambiguous.append(key)
    if not found_by:
        return Match(None, None, tuple(ambiguous), tried=tried)
    (person, by), *others = found_by.values()
    disagree = {key for key in keys if learner.key(key) and person.key(key) and learner.key(key) != person.key(key)}
    disagree |= {key for _, key in others}  # a key that names someone else
    if disagree:
        return Match(None, by, tuple(ambiguous), conflict=tuple(k for k in keys if k in disagree), tried=tried)
    return Match(person, by, tried=tried)


def usable_keys(keys: Sequence[IdentityKey], *, usernames: bool) -> tuple[IdentityKey, ...]:
    """The configured keys that may match across two platforms: ``username`` only where the pair shares one
    username namespace (``sync.username_pairs``); elsewhere a username names someone on one site only."""
    return tuple(key for key in keys if key != "username" or usernames)


def lookup_values(learners: Iterable[Person], key: IdentityKey) -> list[str]:
    """Values to ask ``core_user_get_users_by_field`` for: the exact value AND its lower-case form.

    Moodle compares emails case-sensitively, so a learner stored as ``Nils.Kristiansen@…`` on one site is
    found on the other only if we ask for the form stored there; the exact and lower-case forms cover the
    usual cases (the owner course's own participant list, matched without case, covers the rest).
    Values Moodle would clean differently (``invalidparameter``) are left out.
    """
    values: dict[str, None] = {}
    for learner in learners:
        raw = getattr(learner, key).strip()
        if not raw:
            continue
        for candidate in (raw, raw.lower()):
            if _clean_for(key, candidate):
                values.setdefault(candidate, None)
    return list(values)


def _clean_for(key: IdentityKey, value: str) -> bool:
    # core_user_get_users_by_field refuses a value that PARAM cleaning would change (REFERENCE.md §2).
    if any(ch.isspace() for ch in value) or "<" in value or ">" in value:
        return False
    if key == "username":
        return value == value.lower()
    return True


def learner_key(secret: bytes, platform: str, userid: int) -> str:
    """Pseudonym of an owner-side identity: HMAC-SHA256 with the configured secret, hex.

    Stable across runs (so the ledger can tell what was already brought back) and meaningless without the
    secret: no name, email or username is ever stored.
    """
    return hmac.new(secret, pseudonym_message(platform, userid), hashlib.sha256).hexdigest()


def pseudonym_message(platform: str, userid: int) -> bytes:
    """What a learner's pseudonym is the HMAC of: the platform and the user id there."""
    return f"{platform}\x1fuser\x1f{userid}".encode()


def person_of(user: EnrolledUser | User) -> Person:
    """A Person from a participant listing's or a user lookup's record (only a lookup says ``suspended``)."""
    return Person(
        id=user.id,
        username=user.username,
        idnumber=user.idnumber,
        email=user.email,
        firstname=user.firstname,
        lastname=user.lastname,
        fullname=user.fullname,
        suspended=isinstance(user, User) and user.suspended,
    )


__all__ = [
    "KEYS",
    "Directory",
    "IdentityKey",
    "Match",
    "Person",
    "learner_key",
    "lookup_values",
    "match",
    "normalise",
    "person_of",
    "pseudonym_message",
    "usable_keys",
]
