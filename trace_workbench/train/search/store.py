"""A search's saved state in its own tables of the session's history file, for resuming after an interruption.

Each write (the run's state plus the candidates that changed) is one transaction, so an interrupt
leaves either the state before a unit of work or the one after it, never half of one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from trace_workbench.workbench.history import BUSY_TIMEOUT_S

__all__ = ["SearchStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_runs (
    notebook TEXT NOT NULL,
    name TEXT NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (notebook, name)
);
CREATE TABLE IF NOT EXISTS search_candidates (
    notebook TEXT NOT NULL,
    run TEXT NOT NULL,
    id INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (notebook, run, id)
);
"""


class SearchStore:
    """Save and load named search runs (state dict + candidate dicts) of one notebook in an SQLite file."""

    def __init__(self, path: str | os.PathLike[str], notebook: str = "") -> None:
        self.path = Path(path)
        self.notebook = notebook
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                         check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    def save(self, name: str, state: dict[str, Any], candidates: list[dict[str, Any]]) -> None:
        """Write the run's state and these candidates (new or changed) in one transaction."""
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("INSERT OR REPLACE INTO search_runs (notebook, name, updated, state) "
                                   "VALUES (?, ?, ?, ?)", (self.notebook, name, time.time(), json.dumps(state)))
                connection.executemany("INSERT OR REPLACE INTO search_candidates (notebook, run, id, data) "
                                       "VALUES (?, ?, ?, ?)",
                                       [(self.notebook, name, c["id"], json.dumps(c)) for c in candidates])
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def load(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The run's saved state and all its candidates (by id), or None if it was never saved."""
        with self._lock:
            connection = self._connect()
            row = connection.execute("SELECT state FROM search_runs WHERE notebook = ? AND name = ?",
                                     (self.notebook, name)).fetchone()
            if row is None:
                return None
            rows = connection.execute("SELECT data FROM search_candidates WHERE notebook = ? AND run = ? ORDER BY id",
                                      (self.notebook, name)).fetchall()
        return json.loads(row[0]), [json.loads(r[0]) for r in rows]

    def runs(self) -> list[str]:
        """The names of this notebook's saved runs, most recently updated first."""
        with self._lock:
            rows = self._connect().execute("SELECT name FROM search_runs WHERE notebook = ? ORDER BY updated DESC",
                                           (self.notebook,)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
