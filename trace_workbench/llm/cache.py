"""An on-disk response cache in SQLite, shared safely by threads and processes.

Each operation opens its own connection and writes in one transaction; the database runs in WAL
mode, so readers never block the writer and two processes can fill the same cache.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = ["ResponseCache"]

_BUSY_TIMEOUT = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Chat Completions responses (as JSON) stored by request key in a SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def _connect(self) -> sqlite3.Connection:
        import sqlite3  # imported here to keep ``import trace_workbench.llm`` cheap

        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)
        deadline = time.monotonic() + _BUSY_TIMEOUT
        while True:
            try:
                # Switching to WAL needs the database to itself and ignores the busy timeout: another
                # process opening the same new file may hold it for a moment, so wait and try again.
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                return conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    conn.close()
                    raise
                time.sleep(0.01)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response for ``key``, or None."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, request: Any, response: dict[str, Any]) -> None:
        """Store (or replace) the response for ``key``, with the request it answers, for inspection."""
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO responses (key, model, request, response, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, model, json.dumps(request, ensure_ascii=False),
                 json.dumps(response, ensure_ascii=False), time.time()),
            )

    def __len__(self) -> int:
        with closing(self._connect()) as conn:
            return conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self) -> None:
        """Delete every stored response."""
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM responses")

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"
