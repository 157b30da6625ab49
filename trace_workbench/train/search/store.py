"""A search's saved state in the history's file (tables `search_runs` and `search_candidates`), for resuming
after an interruption.

Each write (the run's state plus the candidates that changed) is one transaction of the history's, so an
interrupt leaves either the state before a unit of work or the one after it, never half of one.
"""

from __future__ import annotations

import json
import time
from typing import Any

from trace_workbench.workbench.history import History

__all__ = ["SearchStore"]


class SearchStore:
    """Save and load named search runs (state dict + candidate dicts) of the history's notebook."""

    def __init__(self, history: History) -> None:
        self.history = history

    def save(self, name: str, state: dict[str, Any], candidates: list[dict[str, Any]]) -> None:
        """Write the run's state and these candidates (new or changed) in one transaction."""
        notebook = self.history.notebook
        with self.history.connection(f"could not save the state of search {name!r}", write=True) as connection:
            connection.execute("INSERT OR REPLACE INTO search_runs (notebook, name, updated, state) "
                               "VALUES (?, ?, ?, ?)", (notebook, name, time.time(), json.dumps(state)))
            connection.executemany("INSERT OR REPLACE INTO search_candidates (notebook, run, id, data) "
                                   "VALUES (?, ?, ?, ?)",
                                   [(notebook, name, c["id"], json.dumps(c)) for c in candidates])

    def load(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The run's saved state and all its candidates (by id), or None if it was never saved."""
        notebook = self.history.notebook
        with self.history.connection(f"could not read the state of search {name!r}") as connection:
            row = connection.execute("SELECT state FROM search_runs WHERE notebook = ? AND name = ?",
                                     (notebook, name)).fetchone()
            if row is None:
                return None
            rows = connection.execute("SELECT data FROM search_candidates WHERE notebook = ? AND run = ? ORDER BY id",
                                      (notebook, name)).fetchall()
        return json.loads(row["state"]), [json.loads(r["data"]) for r in rows]

    def runs(self) -> list[str]:
        """The names of this notebook's saved runs, most recently updated first."""
        with self.history.connection("could not list the saved searches") as connection:
            rows = connection.execute("SELECT name FROM search_runs WHERE notebook = ? ORDER BY updated DESC",
                                      (self.history.notebook,)).fetchall()
        return [r["name"] for r in rows]
