"""The HMAC key that turns owner-side identities into the ledger's learner pseudonyms."""

from __future__ import annotations

from pathlib import Path

from lmsbridge.config import SyncConfig, read_secret
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import Message

MIN_SECRET_LENGTH = 16


def pseudonym_secret(settings: SyncConfig, base: Path | None = None) -> bytes:
    """The key from ``sync.pseudonym_secret_file`` when set, else from ``sync.pseudonym_secret_env``.

    Missing, empty or short → a configuration error (exit 2) naming where it was looked for, never the value.
    """
    if settings.pseudonym_secret_file is not None:
        secret = read_secret(env=None, file=settings.pseudonym_secret_file, what="pseudonym secret", base=base)
        where = str(settings.pseudonym_secret_file)
    else:
        secret = read_secret(env=settings.pseudonym_secret_env, file=None, what="pseudonym secret")
        where = f"${settings.pseudonym_secret_env}"
    value = secret.get_secret_value()
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(Message("sync.secret.short", where=where, n=MIN_SECRET_LENGTH))
    return value.encode("utf-8")


__all__ = ["MIN_SECRET_LENGTH", "pseudonym_secret"]
