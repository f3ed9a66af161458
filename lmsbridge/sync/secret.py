"""The HMAC key that turns identities into the ledger's learner pseudonyms, the ledger's record of which key
that is, and re-keying the ledger to another key (issue 11 item 4).

* **Fingerprint.** The ledger keeps ``fingerprint(secret)``, an HMAC of a constant under the secret: equal for
  equal secrets, and telling nothing of the secret. A run whose secret has another fingerprint refuses (exit
  2): with another key every pseudonym differs, so every completion would look new, be written to the owner
  again and double the ledger. A ledger from before fingerprints has none: the first secret a run uses is
  taken as the ledger's (an event says so).
* **Rotation** (``sync run --rotate-secret --old-secret-env …``). A pseudonym is
  HMAC(secret, platform, user id): it cannot be turned back into the id, only found again by computing it. So
  re-keying needs the old secret: for each platform the ledger has pseudonyms of, the user ids from 1 up are
  tried under the old secret until each pseudonym is found (``max_user_id`` bounds the search; a few seconds
  per million ids), then every pseudonym is moved to the new secret's for the same id, in completions,
  certificate notices and failed items, in one transaction with one event. Nothing is asked of the
  platforms. A pseudonym the old secret does not give for any id up to the bound refuses the whole re-keying:
  nothing changes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lmsbridge.config import SyncConfig, read_secret
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import N_, Message
from lmsbridge.ledger import Ledger
from lmsbridge.sync.identity import learner_key, pseudonym_message

MIN_SECRET_LENGTH = 16
#: What the fingerprint is an HMAC of (never a learner's message: ``pseudonym_message`` has a user id in it).
FINGERPRINT_MESSAGE = b"lmsbridge-fingerprint"
#: How far ``rotate_secret`` looks for the user id behind a pseudonym, by default.
MAX_USER_ID = 10_000_000
ACTOR = "lmsbridge sync"


def pseudonym_secret(settings: SyncConfig, base: Path | None = None) -> bytes:
    """The key from ``sync.pseudonym_secret_file`` when set, else from ``sync.pseudonym_secret_env``.

    Missing, empty or short → a configuration error (exit 2) naming where it was looked for, never the value.
    """
    if settings.pseudonym_secret_file is not None:
        return _secret(None, settings.pseudonym_secret_file, "pseudonym secret", base)
    return _secret(settings.pseudonym_secret_env, None, "pseudonym secret", base)


def old_pseudonym_secret(*, env: str | None, file: Path | None) -> bytes:
    """The secret the ledger was written with, for ``--rotate-secret`` (``--old-secret-env`` / ``-file``)."""
    return _secret(env, file, Message("secret.what.old_pseudonym"), None)


def _secret(env: str | None, file: Path | None, what: str | Message, base: Path | None) -> bytes:
    secret = read_secret(env=env, file=file, what=what, base=base)
    value = secret.get_secret_value()
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(Message("sync.secret.short", where=str(file) if file else f"${env}", n=MIN_SECRET_LENGTH))
    return value.encode("utf-8")


def fingerprint(secret: bytes) -> str:
    """Tells two secrets apart without revealing either: HMAC-SHA256(secret, a constant), hex."""
    return hmac.new(secret, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def check_secret(ledger: Ledger, secret: bytes, *, adopt: bool) -> None:
    """Refuse a secret that is not the one the ledger's pseudonyms were made with (exit 2). A ledger without a
    fingerprint takes this one when ``adopt`` (a run that writes); a dry run only checks."""
    stored = ledger.secret_fingerprint()
    mine = fingerprint(secret)
    if stored is None and adopt:
        stored = ledger.adopt_secret_fingerprint(mine, actor=ACTOR)
    if stored is not None and stored != mine:
        raise ConfigError(Message("sync.secret.mismatch", ledger=stored[:8], mine=mine[:8]),
                          key="sync.pseudonym_secret")


@dataclass
class Rotation:
    """What re-keying did (or, ``planned``, would do): rows per table moved to the new secret's pseudonyms."""

    rows: dict[str, int] = field(default_factory=dict)
    already: bool = False  # the ledger was under the new secret already: nothing to do
    planned: bool = False  # a dry run: nothing written

    @property
    def message(self) -> Message:
        if self.already:
            return Message("sync.secret.already")
        code = N_("sync.secret.planned") if self.planned else N_("sync.secret.rotated")
        return Message(code, completions=self.rows.get("completions", 0),
                       notices=self.rows.get("certificate_notices", 0), failures=self.rows.get("failed_items", 0))

    def as_dict(self) -> dict[str, Any]:
        return {"already": self.already, "planned": self.planned, "rows": dict(self.rows)}


def rotate_secret(ledger: Ledger, *, old: bytes, new: bytes, max_user_id: int = MAX_USER_ID,
                  at: datetime | None = None, dry_run: bool = False) -> Rotation:
    """Re-key every learner pseudonym of the ledger from ``old`` to ``new`` (see the module docstring). Call it
    holding the ledger's locks exclusively: no run or notice may write pseudonyms meanwhile."""
    stored = ledger.secret_fingerprint()
    if stored == fingerprint(new):
        return Rotation(already=True)
    if stored is not None and stored != fingerprint(old):
        raise ConfigError(Message("sync.secret.old_mismatch", ledger=stored[:8], old=fingerprint(old)[:8]),
                          key="--old-secret")
    wanted = _platforms_of(ledger)
    found = _find_user_ids(old, wanted, max_user_id)
    missing = sorted(key for keys in wanted.values() for key in keys if key not in found)
    if missing:
        raise ConfigError(Message("sync.secret.unresolved", n=len(missing), max=max_user_id), key="--old-secret")
    new_keys = {key: learner_key(new, platform, userid) for key, (platform, userid) in found.items()}
    if dry_run:
        rows: dict[str, int] = {}
        for table, _, key in ledger.learner_pseudonyms():
            rows[table] = rows.get(table, 0) + (key in new_keys)
        return Rotation(rows, planned=True)
    return Rotation(ledger.rekey_pseudonyms(new_keys, fingerprint=fingerprint(new), actor=ACTOR, at=at))


def _platforms_of(ledger: Ledger) -> dict[str, set[str]]:
    """Each platform's pseudonyms in the ledger: a completion is the owner's account, a certificate notice
    the course platform's (``platform:course``), a failed learner the borrower's. Failed items an earlier
    version kept by user id (``user:18``) are no pseudonyms: the next run keys them with the new secret."""
    shares = {share.id: share for share in ledger.list_shares()}
    wanted: dict[str, set[str]] = {}
    for table, owner, key in ledger.learner_pseudonyms():
        if table == "certificate_notices":
            platform = owner.split(":", 1)[0]
        elif owner in shares:
            share = shares[owner]
            platform = share.owner_platform if table == "completions" else share.borrower_platform
        else:
            continue
        if table == "failed_items" and key.startswith("user:"):
            continue
        wanted.setdefault(platform, set()).add(key)
    return wanted


def _find_user_ids(secret: bytes, wanted: Mapping[str, set[str]], max_user_id: int) -> dict[str, tuple[str, int]]:
    """The (platform, user id) behind each wanted pseudonym: ids 1, 2, … under ``secret`` until all are found."""
    found: dict[str, tuple[str, int]] = {}
    base = hmac.new(secret, digestmod=hashlib.sha256)
    for platform, keys in wanted.items():
        left = set(keys)
        for userid in range(1, max_user_id + 1):
            if not left:
                break
            digest = base.copy()
            digest.update(pseudonym_message(platform, userid))
            key = digest.hexdigest()
            if key in left:
                left.discard(key)
                found[key] = (platform, userid)
    return found


__all__ = [
    "FINGERPRINT_MESSAGE",
    "MAX_USER_ID",
    "MIN_SECRET_LENGTH",
    "Rotation",
    "check_secret",
    "fingerprint",
    "old_pseudonym_secret",
    "pseudonym_secret",
    "rotate_secret",
]
