"""Keeping a notebook's %%trace cells in step with the values accepted in the kernel.

When parameters change (accepted, optimized, undone, restored), each cell that defines them gets its
new text from `writeback.write_back` and the trace_workbench JupyterLab extension (js/src/labextension.js)
puts it in the cell, over a comm, only if the cell still holds the text the kernel knows. A cell the
person edited since it ran is never overwritten: the magics say so, the widget asks. Without the
extension (a terminal, nbval, another front end) the person is told how to get the updated cell. The
extension also runs a cell when the widget's "Re-run the cell" asks (so its Out and number update).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from trace_workbench.jupyter.writeback import WritebackError, write_back
from trace_workbench.workbench.events import VALUE_EVENTS, Event
from trace_workbench.workbench.session import Session

__all__ = ["TARGET", "CellSync", "WriteStatus"]

TARGET = "trace_workbench.cells"
WRITTEN_EVENTS = VALUE_EVENTS - {Event.EDITED}
"""The value changes written into the cells (a person's edit came from the cell itself)."""
ANSWERS = ("overwrite", "below", "keep")


@dataclass(frozen=True)
class WriteStatus:
    """What became of the latest values of one traced cell, in words (the widget shows it).

    `state`: "writing" (sent to the front end), "written", "inserted" (a new cell below), "edited" (the
    person changed the cell since it ran: waiting for their answer), "kept" (they chose to keep their
    text), "refused" (the values cannot be written as literals), "unavailable" (no front end that edits
    cells) or "missing" (the cell is gone).
    """

    label: str
    state: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The status as the widget's `writeback` trait holds it."""
        return {"label": self.label, "state": self.state, "message": self.message}


@dataclass
class _Cell:
    cell_id: str
    label: str
    names: tuple[str, ...]
    text: str
    """The text the kernel last ran there or asked to write (what the front end should hold)."""
    confirmed: str
    """The text the front end last confirmed (ran, or written)."""
    current: str
    """The cell's text in the front end, as last reported."""
    waiting: bool = False
    """New values wait for the person's answer (the cell was edited since it ran)."""


def _unavailable(label: str) -> str:
    return (f"Cell {label}'s text still shows the old values: this front end does not edit cells (JupyterLab "
            "with the trace_workbench extension does).")


class CellSync:
    """Writes a session's value changes into the notebook cells that define the parameters."""

    def __init__(self, session: Session, kernel: Any = None, to_python: Callable[[str], str] | None = None) -> None:
        self.session = session
        self.kernel = kernel
        self.to_python = to_python
        """Makes a cell's body Python (IPython's input transformations), so cells with `!cmd` or `%magic` lines
        are rewritten too."""
        self.ready = False
        """Whether a front end that can edit cells answered (the JupyterLab extension is running)."""
        self.version = 0
        """The extension's protocol version (from 2 it also runs cells)."""
        self._told_queued = False
        """Whether the note on values sent before the front end answered was printed (once is enough)."""
        self.cells: dict[str, _Cell] = {}
        self.statuses: dict[str, WriteStatus] = {}
        self._cells_of: dict[str, dict[str, None]] = {}
        """Trained name -> the ids of the cells that assign it (every one is rewritten)."""
        self._sent: dict[int, tuple[str, str]] = {}
        """Write id -> (cell id, text sent), until the front end answers."""
        self._ids = itertools.count(1)
        self._comm: Any = None
        self._refused = False
        """The front end closed the comm without answering: it has no extension; do not open it again."""
        self._listeners: list[Callable[[WriteStatus], None]] = []
        self._runs: dict[str, Callable[[str], None]] = {}
        """Cell id -> what to do if the front end answers that it cannot run the cell it was asked to."""
        session.subscribe(self._on_session)
        self._open()

    # -- what the magics tell ------------------------------------------------------------------------------
    def ran(self, label: str, cell_id: str | None, text: str, names: Iterable[str]) -> None:
        """Cell `cell_id` (the front end's id) just ran `text` as traced cell `label`, training `names`."""
        if not cell_id:
            return
        names = tuple(names)
        self.cells[cell_id] = _Cell(cell_id, label, names, text, text, text)
        for name in names:
            self._cells_of.setdefault(name, {})[cell_id] = None
        self.statuses.pop(label, None)
        self._send({"type": "track", "cell": cell_id})

    def status(self, label: str) -> WriteStatus | None:
        """The latest write-back status of cell `label` (None before any change)."""
        return self.statuses.get(label)

    def subscribe(self, listener: Callable[[WriteStatus], None]) -> None:
        """Call `listener(status)` whenever a cell's write-back status changes."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[WriteStatus], None]) -> None:
        """Stop calling `listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def run(self, cell_id: str, otherwise: Callable[[str], None]) -> bool:
        """Ask the front end to run cell `cell_id` as the person would (its Out and number update); False when
        no front end that edits cells answered. `otherwise(why)` is called if it answers that it cannot
        ("missing": the cell is gone; "unavailable": it cannot run cells)."""
        if not self.ready or self.version < 2 or self._comm is None:
            return False
        self._runs[cell_id] = otherwise
        self._send({"type": "run", "cell": cell_id})
        return True

    def answer(self, label: str, answer: str) -> None:
        """The person's answer for an edited cell: "overwrite" (write the values into their text), "below"
        (the updated cell in a new cell below) or "keep" (leave the cell as they wrote it)."""
        if answer not in ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
        cell = next((c for c in self.cells.values() if c.label == label and c.waiting), None)
        if cell is None:
            raise ValueError(f"cell {label} has no values waiting to be written")
        cell.waiting = False
        if answer == "keep":
            self._tell(cell, "kept", f"Cell {label} keeps the text you wrote; the kernel keeps the accepted values "
                                     "until the cell runs again.")
            return
        try:
            new, _ = self._new_text(cell.current, cell.names, ())
        except WritebackError:  # the person's text does not parse: write into the text that ran
            new, _ = self._new_text(cell.text, cell.names, ())
        self._write(cell, new, "below" if answer == "below" else "replace", expected=cell.current)

    def close(self) -> None:
        """Stop following the session and close the comm."""
        self.session.unsubscribe(self._on_session)
        if self._comm is not None:
            self._comm.close()
            self._comm = None

    # -- values changed ---------------------------------------------------------------------------------
    def _on_session(self, event: str, payload: dict[str, Any]) -> None:
        values = payload.get("values")
        if event not in WRITTEN_EVENTS or not values:
            return
        touched: dict[str, list[str]] = {}
        for name in values:
            for cell_id in self._cells_of.get(name, ()):
                touched.setdefault(cell_id, []).append(name)
        for cell_id, changed in touched.items():
            self._update(self.cells[cell_id], changed)

    def _current(self, names: Iterable[str]) -> dict[str, tuple[bool, Any]]:
        """name -> (is it a function, its current value or code), for the names the session knows."""
        current: dict[str, tuple[bool, Any]] = {}
        for name in names:
            if name in self.session.functions:
                current[name] = (True, self.session.functions[name].parameter._data)
            elif name in self.session.parameters:
                current[name] = (False, self.session.parameters[name]._data)
        return current

    def rewritten(self, text: str, names: Iterable[str]) -> str:
        """`text` (a traced cell) with the current values of `names` written in; WritebackError if one cannot be."""
        return self._written_into(text, self._current(names))

    def _written_into(self, base: str, chosen: dict[str, tuple[bool, Any]]) -> str:
        values = {name: value for name, (is_function, value) in chosen.items() if not is_function}
        functions = {name: value for name, (is_function, value) in chosen.items() if is_function}
        return write_back(base, values, functions, self.to_python)

    def _new_text(self, base: str, names: Iterable[str], changed: Iterable[str]) -> tuple[str, list[str]]:
        """`base` with the current values of `names` written in; the reasons a changed name cannot be.

        One rewrite when every name can be written; else each is tried alone and the writable ones kept.
        """
        current = self._current(names)
        try:
            return self._written_into(base, current), []
        except WritebackError:
            pass
        writable: dict[str, tuple[bool, Any]] = {}
        problems: list[str] = []
        changed = set(changed)
        for name, entry in current.items():
            try:
                self._written_into(base, {name: entry})
            except WritebackError as e:
                if name in changed:
                    problems.append(str(e))
                continue
            writable[name] = entry
        return self._written_into(base, writable), problems

    def _update(self, cell: _Cell, changed: list[str]) -> None:
        label = cell.label
        hint = f"%trace_writeback {label} puts the updated cell below."
        try:
            new, problems = self._new_text(cell.text, cell.names, changed)
        except WritebackError as e:
            self._tell(cell, "refused", f"Cell {label} was not rewritten: {e}.")
            return
        note = f" Not written: {'; '.join(problems)}." if problems else ""
        if new == cell.text:
            if problems:
                self._tell(cell, "refused", f"Cell {label} was not rewritten: {'; '.join(problems)}.")
            return
        self._open()
        if not self.ready and self._comm is None:
            self._tell(cell, "unavailable", _unavailable(label), hint=hint)
            return
        if cell.waiting or cell.current != cell.text:
            cell.waiting = True
            self._tell(cell, "edited", f"Cell {label} was edited since it ran, so its text was not changed; the "
                                       "accepted values are in the kernel.",
                       hint="Re-run the cell to use your text, or " + hint)
            return
        if note:
            print(f"Cell {label}:{note}")
        self._write(cell, new, "replace", expected=cell.text)
        if not self.ready and not self._told_queued:  # Run All: the front end's hello waits behind the cells
            self._told_queued = True
            print(f"Cell {label}'s new values were sent to the front end to be written into its text (and so are "
                  f"later ones, silently); where the front end cannot edit cells, {hint}")

    def _write(self, cell: _Cell, new: str, mode: str, expected: str) -> None:
        number = next(self._ids)
        self._sent[number] = (cell.cell_id, new)
        if mode == "replace":
            cell.text = cell.current = new
        self._send({"type": "write", "id": number, "cell": cell.cell_id, "label": cell.label, "mode": mode,
                    "expected": expected, "source": new})
        self._tell(cell, "writing", f"Writing the new values into cell {cell.label}…", echo=False)

    def _tell(self, cell: _Cell, state: str, message: str, echo: bool = True, hint: str = "") -> None:
        """Record and announce a status; `echo` prints it (with `hint`, what to do in a magic) for the magics."""
        status = self.statuses[cell.label] = WriteStatus(cell.label, state, message)
        if echo:
            print(f"{message} {hint}".rstrip())
        for listener in list(self._listeners):
            listener(status)

    # -- the comm ------------------------------------------------------------------------------------
    def _open(self) -> None:
        if self.kernel is None or self._comm is not None or self._refused:
            return
        from comm import create_comm

        self._comm = create_comm(target_name=TARGET, data={"version": 1})
        self._comm.on_msg(self._on_msg)
        self._comm.on_close(self._on_close)

    def _on_close(self, _msg: Any) -> None:
        """The front end closed the comm: without a hello first, it has no extension, and the writes sent
        meanwhile (Run All sends them before the hello can be read) were not made."""
        self._comm = None
        self._refused = not self.ready
        if not self._refused:
            return
        unanswered = {cell_id for cell_id, _ in self._sent.values()}
        self._sent.clear()
        for cell_id in unanswered:
            cell = self.cells[cell_id]
            cell.text = cell.current = cell.confirmed
            self._tell(cell, "unavailable", _unavailable(cell.label), echo=False)

    def _send(self, data: dict[str, Any]) -> None:
        self._open()
        if self._comm is not None:
            self._comm.send(data)

    def _on_msg(self, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data") or {}
        kind = data.get("type")
        if kind == "hello":
            self.ready = True
            self.version = data.get("version") if isinstance(data.get("version"), int) else 1
            return
        if kind == "ran":
            otherwise = self._runs.pop(str(data.get("cell")), None)
            if otherwise is not None and data.get("status") != "running":
                otherwise(str(data.get("status")))
            return
        cell = self.cells.get(str(data.get("cell")))
        if cell is None:
            return
        if kind == "edited" and isinstance(data.get("source"), str):
            cell.current = data["source"]
        elif kind == "written":
            self._written(cell, data)

    def _written(self, cell: _Cell, data: dict[str, Any]) -> None:
        sent = self._sent.pop(int(data.get("id", 0)), None)
        if sent is None:
            return
        text = sent[1]
        status = data.get("status")
        if status == "written":
            cell.confirmed = text
            self._tell(cell, "written", f"Cell {cell.label}'s text now holds the new values.", echo=False)
        elif status == "inserted":
            self._tell(cell, "inserted", f"The updated cell {cell.label} is in a new cell below it.", echo=False)
        elif status == "conflict":
            cell.text = cell.confirmed
            if isinstance(data.get("source"), str):
                cell.current = data["source"]
            cell.waiting = True
            self._tell(cell, "edited", f"Cell {cell.label} was edited since it ran, so its text was not changed; "
                                       "the accepted values are in the kernel.", echo=False)
        elif status == "missing":
            self._tell(cell, "missing", f"Cell {cell.label} is no longer in the notebook; its new values were not "
                                        "written.", echo=False)
