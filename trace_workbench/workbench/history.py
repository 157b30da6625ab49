"""The workbench's history: every step (feedback, proposal, decision, values before and after) in SQLite.

One file may serve several notebooks and kernels at once: each step is one transaction, the
database runs in WAL mode with a busy timeout, so concurrent writers wait for each other instead
of failing or corrupting the file. Values are stored as their repr (read back with
`ast.literal_eval`) and as JSON, so a later session can restore any parameter version.
"""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trace_workbench.optimizers.values import to_jsonable, unified_diff

__all__ = ["DEFAULT_HISTORY_PATH", "ENV_HISTORY", "History", "Step", "ValueChange", "decode_value", "encode_value"]

ENV_HISTORY = "TRACE_WORKBENCH_HISTORY"
DEFAULT_HISTORY_PATH = Path(".trace_workbench") / "history.sqlite"
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    session TEXT NOT NULL,
    notebook TEXT NOT NULL,
    cell TEXT,
    decision TEXT NOT NULL,
    names TEXT NOT NULL,
    feedback TEXT,
    score REAL,
    optimizer TEXT,
    proposal TEXT,
    usage TEXT,
    ref INTEGER,
    note TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    step INTEGER NOT NULL REFERENCES steps(id),
    name TEXT NOT NULL,
    cell TEXT,
    kind TEXT NOT NULL,
    before TEXT,
    after TEXT,
    diff TEXT NOT NULL,
    PRIMARY KEY (step, name)
);
CREATE INDEX IF NOT EXISTS steps_by_notebook ON steps(notebook, id);
"""


def encode_value(value: Any) -> str:
    """A parameter value as JSON text: its repr (exact for literals) and its JSON form."""
    return json.dumps({"repr": repr(value), "json": to_jsonable(value)})


def decode_value(text: str | None) -> Any:
    """The value `encode_value` stored: from its repr when that is a literal, else from its JSON form."""
    if text is None:
        return None
    stored = json.loads(text)
    try:
        return ast.literal_eval(stored["repr"])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return stored["json"]


@dataclass(frozen=True)
class ValueChange:
    """One parameter's value before and after a step (`kind` is "code" or the value's type name)."""

    name: str
    kind: str
    before: Any
    after: Any
    cell: str | None = None

    @property
    def diff(self) -> str:
        return unified_diff(self.name, self.before, self.after)


@dataclass(frozen=True)
class Step:
    """One row of the history, with the values it changed."""

    id: int
    created: float
    session: str
    notebook: str
    cell: str | None
    decision: str
    names: list[str]
    feedback: str | None = None
    score: float | None = None
    optimizer: str | None = None
    proposal: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    ref: int | None = None
    note: str | None = None
    changes: list[ValueChange] = field(default_factory=list)

    @property
    def reasoning(self) -> str:
        return (self.proposal or {}).get("reasoning") or ""

    @property
    def tokens(self) -> int:
        return int((self.usage or {}).get("total_tokens") or 0)

    def summary(self) -> str:
        """One line: number, time, decision, names, cell and a cut of the feedback."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        parts = [f"#{self.id}", when, self.decision]
        if self.names:
            parts.append(", ".join(self.names))
        if self.cell:
            parts.append(f"cell {self.cell}")
        if self.ref is not None:
            parts.append(f"(step #{self.ref})")
        if self.feedback:
            text = " ".join(self.feedback.split())
            parts.append(f"feedback: {text[:60]}{'…' if len(text) > 60 else ''}")
        if self.tokens:
            parts.append(f"{self.tokens} tokens")
        if self.note:
            parts.append(self.note)
        return "  ".join(parts)


class History:
    """The SQLite file of steps: `record()` writes one step in one transaction; `steps()` reads them."""

    def __init__(self, path: str | os.PathLike[str], notebook: str = "", session: str = "") -> None:
        self.path = Path(path)
        self.notebook = notebook
        self.session = session
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                         check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            connection.execute("PRAGMA foreign_keys = ON")
            _retry_while_locked(lambda: connection.execute("PRAGMA journal_mode = WAL"))
            _retry_while_locked(lambda: self._create_schema(connection))
            self._connection = connection
        return self._connection

    @staticmethod
    def _create_schema(connection: sqlite3.Connection) -> None:
        with _transaction(connection):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)

    def record(self, decision: str, names: Iterable[str] = (), *, cell: str | None = None,
               feedback: str | None = None, score: float | None = None, optimizer: str | None = None,
               proposal: dict[str, Any] | None = None, usage: dict[str, Any] | None = None,
               ref: int | None = None, note: str | None = None,
               changes: Iterable[ValueChange] = ()) -> int:
        """Write one step and its value changes in one transaction; returns the step's number."""
        with self._lock:
            connection = self._connect()
            with _transaction(connection):
                cursor = connection.execute(
                    "INSERT INTO steps (created, session, notebook, cell, decision, names, feedback, score, "
                    "optimizer, proposal, usage, ref, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (time.time(), self.session, self.notebook, cell, decision, json.dumps(list(names)), feedback,
                     score, optimizer, _json(proposal), _json(usage), ref, note))
                step = int(cursor.lastrowid or 0)
                connection.executemany(
                    "INSERT INTO changes (step, name, cell, kind, before, after, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(step, c.name, c.cell, c.kind, encode_value(c.before), encode_value(c.after), c.diff)
                     for c in changes])
            return step

    def steps(self, notebook: str | None = None, all_notebooks: bool = False) -> list[Step]:
        """The steps of `notebook` (default: this history's), or of every notebook, oldest first."""
        query = "SELECT * FROM steps"
        arguments: tuple[Any, ...] = ()
        if not all_notebooks:
            query += " WHERE notebook = ?"
            arguments = (self.notebook if notebook is None else notebook,)
        with self._lock:
            connection = self._connect()
            connection.row_factory = sqlite3.Row
            try:
                rows = connection.execute(query + " ORDER BY id", arguments).fetchall()
                changes = self._changes(connection, [row["id"] for row in rows])
            finally:
                connection.row_factory = None
        return [_step(row, changes.get(row["id"], [])) for row in rows]

    def step(self, number: int) -> Step:
        """The step numbered `number` (of any notebook); KeyError if there is none."""
        with self._lock:
            connection = self._connect()
            connection.row_factory = sqlite3.Row
            try:
                row = connection.execute("SELECT * FROM steps WHERE id = ?", (number,)).fetchone()
                if row is None:
                    raise KeyError(f"the history {self.path} has no step #{number}")
                changes = self._changes(connection, [number])
            finally:
                connection.row_factory = None
        return _step(row, changes.get(number, []))

    @staticmethod
    def _changes(connection: sqlite3.Connection, steps: list[int]) -> dict[int, list[ValueChange]]:
        found: dict[int, list[ValueChange]] = {}
        for start in range(0, len(steps), 500):
            chunk = steps[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in connection.execute(f"SELECT * FROM changes WHERE step IN ({marks}) ORDER BY rowid", chunk):
                found.setdefault(row["step"], []).append(ValueChange(
                    name=row["name"], kind=row["kind"], before=decode_value(row["before"]),
                    after=decode_value(row["after"]), cell=row["cell"]))
        return found

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps())

    def __len__(self) -> int:
        return len(self.steps())

    def __getitem__(self, number: int) -> Step:
        return self.step(number)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __repr__(self) -> str:
        return f"History({str(self.path)!r}, notebook={self.notebook!r})"


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock up front, waiting up to the busy timeout) ... COMMIT."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _retry_while_locked(action: Callable[[], Any]) -> None:
    """Run `action`, again while another connection holds the lock SQLite needs (switching to WAL
    returns "database is locked" at once instead of waiting), up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _step(row: sqlite3.Row, changes: list[ValueChange]) -> Step:
    return Step(id=row["id"], created=row["created"], session=row["session"], notebook=row["notebook"],
                cell=row["cell"], decision=row["decision"], names=json.loads(row["names"]),
                feedback=row["feedback"], score=row["score"], optimizer=row["optimizer"],
                proposal=json.loads(row["proposal"]) if row["proposal"] else None,
                usage=json.loads(row["usage"]) if row["usage"] else None, ref=row["ref"], note=row["note"],
                changes=changes)
