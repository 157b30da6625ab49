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

from trace_workbench.trace.text import shorten
from trace_workbench.trace.values import clean_text, to_jsonable, unified_diff

__all__ = ["DEFAULT_HISTORY_PATH", "ENV_HISTORY", "SCHEMA_VERSION", "History", "HistoryError", "Step", "ValueChange",
           "decode_value", "encode_value"]

ENV_HISTORY = "TRACE_WORKBENCH_HISTORY"
DEFAULT_HISTORY_PATH = Path(".trace_workbench") / "history.sqlite"
BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 1
"""The layout of the tables, kept in the file's PRAGMA user_version (0: a file from before it was versioned)."""
MAX_TEXT_CHARS = 100_000
"""A step's reply, reasoning, feedback or note longer than this is stored cut, saying how much was cut
(a 10 MB reply stored 20 MB a step, as the raw reply and as the reasoning). Values are stored whole."""

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
CREATE TABLE IF NOT EXISTS training_runs (
    notebook TEXT NOT NULL,
    run TEXT NOT NULL,
    step INTEGER REFERENCES steps(id),
    updated REAL NOT NULL,
    next INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    stopped TEXT,
    best_score REAL,
    parameters TEXT NOT NULL,
    best_parameters TEXT NOT NULL,
    PRIMARY KEY (notebook, run)
);
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
_COLUMNS = {
    "steps": {"cell": "TEXT", "feedback": "TEXT", "score": "REAL", "optimizer": "TEXT", "proposal": "TEXT",
              "usage": "TEXT", "ref": "INTEGER", "note": "TEXT"},
    "changes": {"cell": "TEXT", "before": "TEXT", "after": "TEXT"},
}
"""The columns an older file may lack (all may be NULL), added when it is opened."""


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
            parts.append(f"feedback: {shorten(text, 60)}")
        if self.tokens:
            parts.append(f"{self.tokens} tokens")
        if self.note:
            parts.append(self.note)
        return "  ".join(parts)

    def __repr__(self) -> str:
        """One line (a notebook's text/plain): the summary."""
        return f"<Step {self.summary()}>"

    def _repr_html_(self) -> str:
        """A notebook's rich view: the summary, the reasoning and each parameter's diff."""
        from trace_workbench.optimizers.rendering import as_html, step_view

        return f'<div class="trace-workbench-step">{as_html(step_view(self))}</div>'


class HistoryError(RuntimeError):
    """The history file cannot be used (damaged, locked, read-only, a directory, from a newer version):
    the message names the file and what to do. Nothing was written when it is raised."""

    def __init__(self, path: Path, problem: str, advice: str) -> None:
        super().__init__(f"The history file {path} {problem}. {advice}")
        self.path = path


_OUR_MISTAKES = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)
"""Errors in what was asked of SQLite, not in the file: raised as they are."""


_ELSEWHERE = (f"or use another history file (%trace_config history=PATH, Session(history=PATH) or "
              f"{ENV_HISTORY}=PATH)")


class History:
    """The SQLite file of steps: `record()` writes one step in one transaction; `steps()` reads them.

    The file is checked when it is first used (`check()` does it at once): it must be a readable,
    writable SQLite history of a schema this version knows (older ones are migrated). A step is
    written only after it reads back, and a file changed under an open History is checked again.
    """

    def __init__(self, path: str | os.PathLike[str], notebook: str = "", session: str = "") -> None:
        self.path = Path(path)
        self.notebook = notebook
        self.session = session
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._seen: tuple[int, int] | None = None

    def check(self) -> None:
        """Open the file now and check it (HistoryError saying what is wrong), instead of at the first step."""
        with self._lock:
            self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None and self._stat() != self._seen:  # moved, cut or rewritten under us
            self._connection.close()
            self._connection = None
        if self._connection is None:
            self._connection = self._open()
            self._seen = self._stat()
        return self._connection

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_ino, info.st_size

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise HistoryError(self.path, "is a directory", f"Give the path of a file inside it, {_ELSEWHERE}.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HistoryError(self.path, f"cannot be created ({e.strerror})",
                               f"Check the folder's permissions, {_ELSEWHERE}.") from None
        if self.path.exists() and not os.access(self.path, os.R_OK):
            raise HistoryError(self.path, "cannot be read (permission denied)",
                               f"Give this user read and write permission, {_ELSEWHERE}.")
        connection = None
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                         check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            connection.execute("PRAGMA foreign_keys = ON")
            _retry_while_locked(lambda: connection.execute("PRAGMA journal_mode = WAL"))
            self._verify(connection)
            _retry_while_locked(lambda: self._create_schema(connection))
        except BaseException as e:
            if connection is not None:
                connection.close()
            if isinstance(e, sqlite3.Error) and not isinstance(e, _OUR_MISTAKES):
                raise self._error(e, "could not be opened") from None
            raise
        return connection

    def _verify(self, connection: sqlite3.Connection) -> None:
        """Refuse a damaged file, or one from a newer version, before anything is written to it."""
        found = [row[0] for row in connection.execute("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            raise HistoryError(self.path, f"is damaged (SQLite's check says: {'; '.join(found)[:300]})",
                               "Nothing was written to it. Move it aside (e.g. rename it to history.damaged.sqlite) "
                               "to start a new history there, try `sqlite3 FILE .recover` to save its steps, "
                               f"{_ELSEWHERE}.")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(self.path, f"was written by a newer trace_workbench (history schema {version}; this "
                                          f"version reads up to {SCHEMA_VERSION})",
                               f"Upgrade trace_workbench (pip install -U trace-workbench), {_ELSEWHERE}.")

    @staticmethod
    def _create_schema(connection: sqlite3.Connection) -> None:
        """Create the tables, or migrate an older file's (columns added since), and stamp the schema version."""
        with _transaction(connection):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            for table, columns in _COLUMNS.items():
                present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns.items():
                    if column not in present:
                        connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # also proves the file takes writes

    def _error(self, error: sqlite3.Error, doing: str) -> HistoryError:
        """A HistoryError for an SQLite error: what it means for this file and what to do."""
        text = str(error)
        if "locked" in text or "busy" in text:
            return HistoryError(self.path, f"{doing}: another program has held it locked for over "
                                           f"{BUSY_TIMEOUT_S:g} s (SQLite: {text})",
                                f"Close the kernel or program that holds it, then try again, {_ELSEWHERE}.")
        if "readonly" in text or "read-only" in text:
            return HistoryError(self.path, f"{doing}: it is read-only (SQLite: {text})",
                                f"Make the file and its folder writable, {_ELSEWHERE}.")
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return HistoryError(self.path, f"{doing}: it is damaged or not a history file (SQLite: {text})",
                                "Nothing was written to it. Move it aside to start a new history there, "
                                f"{_ELSEWHERE}.")
        if "unable to open" in text:
            return HistoryError(self.path, f"{doing}: it cannot be opened (SQLite: {text})",
                                f"Check that its folder exists and is writable, {_ELSEWHERE}.")
        return HistoryError(self.path, f"{doing} (SQLite: {text})", f"Check the file, {_ELSEWHERE}.")

    def record(self, decision: str, names: Iterable[str] = (), *, cell: str | None = None,
               feedback: str | None = None, score: float | None = None, optimizer: str | None = None,
               proposal: dict[str, Any] | None = None, usage: dict[str, Any] | None = None,
               ref: int | None = None, note: str | None = None,
               changes: Iterable[ValueChange] = ()) -> int:
        """Write one step and its value changes in one transaction; returns the step's number.

        The step is committed only once it reads back whole; HistoryError (nothing written) otherwise.
        Long texts are cut (see MAX_TEXT_CHARS); the proposal says what was cut under "cut".
        """
        changes = list(changes)
        rows = [(c.name, c.cell, c.kind, encode_value(c.before), encode_value(c.after), _text(c.diff))
                for c in changes]
        cut: dict[str, int] = {}
        feedback, note = _bounded(feedback, "feedback", cut), _bounded(note, "note", cut)
        if proposal is not None:
            proposal = dict(proposal)
            for name in ("raw", "reasoning", "error"):
                if isinstance(proposal.get(name), str):
                    proposal[name] = _bounded(proposal[name], name, cut)
            if cut:
                proposal["cut"] = cut
        with self.connection(f"could not record the {decision} step (nothing was written)", write=True) as connection:
            cursor = connection.execute(
                "INSERT INTO steps (created, session, notebook, cell, decision, names, feedback, score, "
                "optimizer, proposal, usage, ref, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), self.session, self.notebook, _text(cell), decision, json.dumps(list(names)),
                 feedback, score, optimizer, _json(proposal), _json(usage), ref, note))
            step = int(cursor.lastrowid or 0)
            connection.executemany("INSERT INTO changes (step, name, cell, kind, before, after, diff) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [(step, *row) for row in rows])
            self._read_back(connection, step, rows)
        return step

    @contextmanager
    def connection(self, doing: str, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The file's connection (rows as sqlite3.Row) for one read, or with write=True one transaction
        (BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises). An SQLite error is raised as a
        HistoryError saying what could not be done (`doing`)."""
        with self._lock:
            try:
                connection = self._connect()
                connection.row_factory = sqlite3.Row
                try:
                    if write:
                        with _transaction(connection):
                            yield connection
                    else:
                        yield connection
                finally:
                    connection.row_factory = None
            except sqlite3.DatabaseError as e:
                if isinstance(e, _OUR_MISTAKES):
                    raise
                raise self._error(e, doing) from None
            if write:
                self._seen = self._stat()

    def _read_back(self, connection: sqlite3.Connection, step: int, rows: list[tuple[Any, ...]]) -> None:
        """Inside the step's transaction: the step and its changes must read back as written."""
        found = connection.execute("SELECT id FROM steps WHERE id = ?", (step,)).fetchone()
        values = connection.execute("SELECT name, cell, kind, before, after, diff FROM changes WHERE step = ? "
                                    "ORDER BY rowid", (step,)).fetchall()
        if found is None or [tuple(v) for v in values] != rows:
            raise sqlite3.DatabaseError("database disk image is malformed (the step did not read back)")

    def steps(self, notebook: str | None = None, all_notebooks: bool = False) -> list[Step]:
        """The steps of `notebook` (default: this history's), or of every notebook, oldest first."""
        query = "SELECT * FROM steps"
        arguments: tuple[Any, ...] = ()
        if not all_notebooks:
            query += " WHERE notebook = ?"
            arguments = (self.notebook if notebook is None else notebook,)
        with self.connection("could not be read") as connection:
            rows = connection.execute(query + " ORDER BY id", arguments).fetchall()
            changes = self._changes(connection, [row["id"] for row in rows])
        return [_step(row, changes.get(row["id"], [])) for row in rows]

    def notebooks(self) -> dict[str, int]:
        """How many steps each notebook recorded in this file (several notebooks may share it)."""
        with self.connection("could not be read") as connection:
            rows = connection.execute("SELECT notebook, COUNT(*) FROM steps GROUP BY notebook ORDER BY MIN(id)")
            return {row[0]: row[1] for row in rows}

    def step(self, number: int) -> Step:
        """The step numbered `number` (of any notebook); KeyError if there is none."""
        with self.connection("could not be read") as connection:
            row = connection.execute("SELECT * FROM steps WHERE id = ?", (number,)).fetchone()
            if row is None:
                raise KeyError(f"the history {self.path} has no step #{number}")
            changes = self._changes(connection, [number])
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

    def _repr_html_(self) -> str:
        """A notebook's rich view: this notebook's steps, each with its diffs."""
        from trace_workbench.optimizers.rendering import history_html

        steps = self.steps()
        return history_html(f"History {self.path}: {len(steps)} step(s) of this notebook", steps)


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


def _text(text: str | None) -> str | None:
    """Text SQLite can store: lone surrogates (invalid Unicode, unencodable) become U+FFFD."""
    return None if text is None else clean_text(text)[0]


def _bounded(text: str | None, name: str, cut: dict[str, int]) -> str | None:
    """`text` cut to MAX_TEXT_CHARS with a visible mark (its full length noted in `cut`)."""
    text = _text(text)
    if text is None or len(text) <= MAX_TEXT_CHARS:
        return text
    cut[name] = len(text)
    return shorten(text, MAX_TEXT_CHARS, mark="…[cut: {cut:,} more characters of {total:,}]")


def _step(row: sqlite3.Row, changes: list[ValueChange]) -> Step:
    return Step(id=row["id"], created=row["created"], session=row["session"], notebook=row["notebook"],
                cell=row["cell"], decision=row["decision"], names=json.loads(row["names"]),
                feedback=row["feedback"], score=row["score"], optimizer=row["optimizer"],
                proposal=json.loads(row["proposal"]) if row["proposal"] else None,
                usage=json.loads(row["usage"]) if row["usage"] else None, ref=row["ref"], note=row["note"],
                changes=changes)
