"""Keeping sandbox sites between runs: one SQLite file, one row per site (its snapshot as JSON).

Named, ordered migrations run in a transaction each (STYLE.md). A save replaces the site's row in one
statement, so a crash mid-save leaves the previous snapshot intact.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["MIGRATIONS", "StateStore"]

#: (name, SQL), applied in order, each once.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "001_site_state",
        "CREATE TABLE site_state (name TEXT PRIMARY KEY, data TEXT NOT NULL, saved_at REAL NOT NULL)",
    ),
)


class StateStore:
    """A SQLite file holding the sandbox sites' state. Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
            done = {row[0] for row in self._db.execute("SELECT name FROM schema_migrations")}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                self._db.execute("BEGIN")
                try:
                    self._db.execute(sql)
                    self._db.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def load(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM site_state WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    def save(self, name: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT INTO site_state (name, data, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
                (name, text, time.time()),
            )

    def sites(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT name FROM site_state ORDER BY name")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
